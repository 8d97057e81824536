"""Slice AUC of a run's two classifiers on its sealed test cases, paired.

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/slice_calls_paired.py RUN

RUN is a pipeline run with `classifier.sliceCalls` whose CAM stage has finished: its
`cams/cam-probabilities.json` (the CAM classifier's slice probabilities) and
`cams/probabilities.json` (the slice-call classifier's). Both are stored in the networks' voxel
order (LAS: slices inferior to superior), so each case's labels are read from
RUN/data/test-cases/label/NAME.nii.gz brought to the closest canonical orientation (RAS, the
same slice order); a slice is positive when its mask holds a voxel. Prints both AUCs over all
slices of all sealed cases and the difference (slice calls − CAM classifier) with a 95%
interval from 1000 bootstrap resamples of the cases (the cases, not the slices, are the unit).
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from sklearn.metrics import roc_auc_score

run = Path(sys.argv[1])
cam = json.load(open(run / "cams" / "cam-probabilities.json"))
calls = json.load(open(run / "cams" / "probabilities.json"))
cases = []
for f in sorted((run / "data" / "test-cases" / "label").glob("*.nii.gz")):
    name = f.name[:-7]
    labels = (np.asarray(nib.as_closest_canonical(nib.load(f)).dataobj) > 0).any(axis=(0, 1))
    assert len(labels) == len(cam[name]) == len(calls[name]), f"{name}: slice counts differ"
    cases.append((labels, np.array(cam[name]), np.array(calls[name])))


def auc(indices, k):
    return roc_auc_score(np.concatenate([cases[i][0] for i in indices]), np.concatenate([cases[i][k] for i in indices]))


n = len(cases)
everything = np.arange(n)
rng = np.random.default_rng(0)
differences = [auc(r, 2) - auc(r, 1) for r in (rng.integers(0, n, n) for _ in range(1000))]
print(f"{n} sealed cases: CAM classifier AUC {auc(everything, 1):.3f}, slice calls {auc(everything, 2):.3f}, "
      f"difference {auc(everything, 2) - auc(everything, 1):+.3f} "
      f"[{np.percentile(differences, 2.5):+.3f}, {np.percentile(differences, 97.5):+.3f}]")
