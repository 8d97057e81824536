"""Slice AUC of a run's two classifiers on its validation cases, and of the mean of their logits.

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/cam_call_logit_mean.py RUN [RUN ...]

RUN is a pipeline run with `classifier.sliceCalls` whose CAM stage has finished: its
`cams/cam-probabilities.json` (the CAM classifier's slice probabilities) and
`cams/probabilities.json` (the slice-call classifier's), keyed by case name. The validation cases
are those of RUN/data/split.json; the probabilities are stored in the networks' voxel order
(LAS: slices inferior to superior), so each case's labels are read from
RUN/data/cases/label/NAME.nii.gz brought to the closest canonical orientation (RAS, the same
slice order); a slice is positive when its mask holds a voxel. Prints for each run the slice AUC
over all slices of all validation cases of the CAM classifier, of the slice calls, of the mean
of the two logits (probabilities clipped to [1e-7, 1 - 1e-7] first) and of the mean of the two
probabilities: a check of whether the two-classifier ensemble is worth an experiment, so no
interval. Checks that each case has as many probabilities in both files as its label has slices.
Quoted in Docs/experiments/2026-12-07-flip-averaged-slice-calls.md (mean of logits 0.858 against
the calls' 0.868).
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from sklearn.metrics import roc_auc_score


def logit(p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


for run in (Path(r) for r in sys.argv[1:]):
    split = json.load(open(run / "data" / "split.json"))
    cam = json.load(open(run / "cams" / "cam-probabilities.json"))
    calls = json.load(open(run / "cams" / "probabilities.json"))
    labels, a, b = [], [], []
    for name in split["validation"]:
        slices = (np.asarray(nib.as_closest_canonical(nib.load(run / "data" / "cases" / "label" / f"{name}.nii.gz")).dataobj) > 0).any(axis=(0, 1))
        assert len(slices) == len(cam[name]) == len(calls[name]), f"{run}: {name}: slice counts differ"
        labels.append(slices)
        a.append(np.array(cam[name]))
        b.append(np.array(calls[name]))
    labels, a, b = np.concatenate(labels), np.concatenate(a), np.concatenate(b)
    print(f"{run.name}: {len(split['validation'])} validation cases: CAM classifier AUC {roc_auc_score(labels, a):.3f}, "
          f"slice calls {roc_auc_score(labels, b):.3f}, mean of logits {roc_auc_score(labels, (logit(a) + logit(b)) / 2):.3f}, "
          f"mean of probabilities {roc_auc_score(labels, (a + b) / 2):.3f}")
