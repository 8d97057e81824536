"""Where do a set's slice labels say blood lies on the HU scale? (diagnosis, issue 16 item 3)

Run: PYTHON=$(bash scripts/python-env.sh); $PYTHON scripts/diag/label_excess_hu.py SET
SET is an INSTANCE-layout folder with data/, label/ and slices.csv (e.g. a phantom set from
`ichctl synth`). The HU histogram (1 HU bins, -100..150, every voxel of the slice in that range:
no intracranial mask) of the slices labelled positive minus that of the slices labelled
negative, each normalised, clipped at 0, is the intensity the labels would call blood; its
quantiles are printed beside those of the true masks' voxels (a check the method could not make:
it has no masks). Needs numpy, nibabel.
"""
import collections
import csv
import sys

import nibabel as nib
import numpy as np

root = sys.argv[1]
labels = collections.defaultdict(dict)
for r in csv.DictReader(open(f"{root}/slices.csv")):
    labels[r["case"]][int(r["slice"])] = float(r["label"])
bins = np.arange(-100, 151, 1.0)
positive = np.zeros(len(bins) - 1)
negative = np.zeros(len(bins) - 1)
blood = np.zeros(len(bins) - 1)
for case in sorted(labels):
    hu = np.asarray(nib.load(f"{root}/data/{case}.nii.gz").dataobj, dtype=np.float32)
    truth = np.asarray(nib.load(f"{root}/label/{case}.nii.gz").dataobj) > 0
    for z in range(hu.shape[2]):
        s = hu[:, :, z]
        h, _ = np.histogram(s[(s > -100) & (s < 150)], bins)
        if labels[case].get(z, 0) >= 0.5:
            positive += h
        else:
            negative += h
        blood += np.histogram(s[truth[:, :, z]], bins)[0]
excess = np.clip(positive / positive.sum() - negative / negative.sum(), 0, None)


def quantiles(h, qs=(0.05, 0.25, 0.5, 0.75, 0.95)):
    c = np.cumsum(h) / h.sum()
    return [float(bins[np.searchsorted(c, q)]) for q in qs]


print("quantiles 5/25/50/75/95 %")
print("excess of labelled-positive slices:", quantiles(excess), f"(mass {excess.sum():.3f})")
print("true blood voxels:                 ", quantiles(blood))
