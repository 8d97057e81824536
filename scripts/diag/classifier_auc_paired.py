"""Slice AUC of several classifiers on the same cases, and each one's paired difference from the first.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl classify --run RUN_A --list DATA/list.txt --out-dir SCORES_A     # and B, C, ...
     $PYTHON scripts/diag/classifier_auc_paired.py DATA SCORES_A SCORES_B [SCORES_C ...]

DATA is an INSTANCE-layout folder (DATA/label/NAME.nii.gz: a slice is positive when its mask
holds a voxel); SCORES_* folders of `ichctl classify --list ... --out-dir` records (NAME.json,
logits in stored slice order). Prints each folder's slice AUC over all slices of all cases and,
for the second folder on, the difference from the first with a 95% interval from 1000
bootstrap resamples of the cases (the same resamples for every folder, so the interval is
paired; cases, not slices, are the unit, since a case's slices are not independent).
"""
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from mask_sets import slice_scores

data, dirs = Path(sys.argv[1]), [Path(d) for d in sys.argv[2:]]
cases = slice_scores(data, dirs)


def auc(indices, k):
    return roc_auc_score(np.concatenate([cases[i][0] for i in indices]), np.concatenate([cases[i][1][k] for i in indices]))


n = len(cases)
everything = np.arange(n)
rng = np.random.default_rng(0)
resamples = [rng.integers(0, n, n) for _ in range(1000)]
first = np.array([auc(r, 0) for r in resamples])
print(f"{dirs[0]}: AUC {auc(everything, 0):.3f} ({n} cases)")
for k in range(1, len(dirs)):
    diff = np.array([auc(r, k) for r in resamples]) - first
    print(f"{dirs[k]}: AUC {auc(everything, k):.3f}  difference {auc(everything, k) - auc(everything, 0):+.3f} "
          f"[{np.quantile(diff, 0.025):+.3f}, {np.quantile(diff, 0.975):+.3f}]")
