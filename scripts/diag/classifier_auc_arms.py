"""Slice AUC of two arms of classifiers, each with several seeds, on the same cases.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl classify --run RUN --list DATA/list.txt --out-dir SCORES      # for every seed of both arms
     $PYTHON scripts/diag/classifier_auc_arms.py DATA BASE_1,BASE_2,... ARM_1,ARM_2,...

DATA and the SCORES folders are as for classifier_auc_paired.py. Prints each folder's slice AUC,
each arm's mean over its seeds, and arm − base (means over seeds) with a 95% interval from 1000
bootstrap resamples of the cases, the same resamples for every folder (cases, not slices, are
the unit).
"""
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from mask_sets import slice_scores

data = Path(sys.argv[1])
arms = {"base": [Path(d) for d in sys.argv[2].split(",")], "arm": [Path(d) for d in sys.argv[3].split(",")]}
folders = arms["base"] + arms["arm"]
cases = [(labels, dict(zip(folders, logits))) for labels, logits in slice_scores(data, folders)]


def auc(indices, folder):
    y = np.concatenate([cases[i][0] for i in indices])
    x = np.concatenate([cases[i][1][folder] for i in indices])
    return roc_auc_score(y, x)


def difference(indices):
    return np.mean([auc(indices, d) for d in arms["arm"]]) - np.mean([auc(indices, d) for d in arms["base"]])


every = list(range(len(cases)))
for d in folders:
    print(f"{d}: AUC {auc(every, d):.3f}")
means = {k: np.mean([auc(every, d) for d in v]) for k, v in arms.items()}
rng = np.random.default_rng(20261207)
boots = [difference(rng.integers(0, len(cases), len(cases))) for _ in range(1000)]
low, high = np.percentile(boots, [2.5, 97.5])
print(f"base mean {means['base']:.3f} ({len(arms['base'])} seeds), arm mean {means['arm']:.3f} ({len(arms['arm'])} seeds), "
      f"arm - base {difference(every):+.3f} [{low:+.3f}, {high:+.3f}] ({len(cases)} cases)")
