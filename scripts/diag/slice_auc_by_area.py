"""Slice AUC of saved slice calls, all slices and by the true blood area of the positive ones.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl classify --model M --list SET/list.txt --out-dir SCORES     # or --run RUN
     $PYTHON scripts/diag/slice_auc_by_area.py SET SCORES

SET is a dataset folder with `list.txt` and `label/NAME.nii.gz`; SCORES holds `NAME.json` with
the per-slice `logits` that `ichctl classify --out-dir` writes, in the file's slice order (as
the labels). Each band's AUC sets the positive slices whose blood area (voxels x in-plane
voxel area, mm^2) lies in the band against every negative slice, so a band's AUC says how well
the calls find slices with that much blood.
"""
import json
import sys

import nibabel as nib
import numpy as np
from sklearn.metrics import roc_auc_score

from mask_sets import list_names

data, scores = sys.argv[1], sys.argv[2]
labels, areas, logits = [], [], []
for name in list_names(data):
    calls = json.load(open(f"{scores}/{name}.json"))
    image = nib.load(f"{data}/label/{name}.nii.gz")
    truth = np.asarray(image.dataobj) > 0
    area = truth.sum(axis=(0, 1)) * float(np.prod(image.header.get_zooms()[:2]))
    assert len(calls["logits"]) == len(area), f"{name}: {len(calls['logits'])} calls, {len(area)} slices"
    labels += list(area > 0)
    areas += list(area)
    logits += calls["logits"]
labels, areas, logits = map(np.array, (labels, areas, logits))
negative = ~labels
print(f"all slices: AUC {roc_auc_score(labels, logits):.3f} ({labels.sum()} positive, {negative.sum()} negative)")
for low, high in [(0, 10), (10, 50), (50, 200), (200, np.inf)]:
    band = labels & (areas >= low) & (areas < high)
    if band.any():
        keep = negative | band
        print(f"blood area {low:g} to {high:g} mm^2: {band.sum()} slices, AUC {roc_auc_score(labels[keep], logits[keep]):.3f}")
