"""Folders of masks as a slice score, alone and added to a classifier's slice calls.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl classify --model M --list SET/list.txt --out-dir CALLS
     ichctl segment --model R --list SET/list.txt --out-dir MASKS_A [post-processing options]   # and B, ...
     $PYTHON scripts/diag/mask_area_slice_score.py SET CALLS MASKS_A [MASKS_B ...]

SET is a dataset folder with `list.txt` (one scan per line, `data/NAME.nii.gz`, `.nii` or a
DICOM folder; blank lines and `#` comments skipped, as `ichctl` reads lists) and
`label/NAME.nii.gz` (a slice is positive when its mask holds a voxel); CALLS holds `ichctl
classify --list ... --out-dir` records (NAME.json, logits in stored slice order); each MASKS
folder holds `NAME.nii.gz` masks on the same grids. Prints the calls' slice AUC over all slices
of all cases, then for each mask folder the slice AUC of the mask's area in the slice (voxels),
of the calls' probability plus 1 where the mask is not empty, and of the calls' logit plus
log(1 + area). No interval: a diagnosis of whether the masks carry what the calls miss. Checks
that the logits, labels and masks agree in slice count and grid.
Quoted in Docs/experiments/2026-12-07-flip-averaged-slice-calls.md (the refiner's masks as a
slice score).
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from mask_sets import list_names
from sklearn.metrics import roc_auc_score

data, calls, dirs = Path(sys.argv[1]), Path(sys.argv[2]), [Path(d) for d in sys.argv[3:]]


names = list_names(data)
labels, logits, areas = [], [], {d: [] for d in dirs}
for name in names:
    truth = np.asarray(nib.load(data / "label" / f"{name}.nii.gz").dataobj) > 0
    labels.append(truth.any(axis=(0, 1)))
    logits.append(np.array(json.load(open(calls / f"{name}.json"))["logits"]))
    assert len(logits[-1]) == truth.shape[2], f"{calls / name}.json: {len(logits[-1])} logits for {truth.shape[2]} slices"
    for d in dirs:
        mask = np.asarray(nib.load(d / f"{name}.nii.gz").dataobj) > 0
        assert mask.shape == truth.shape, f"{d / name}.nii.gz: shape {mask.shape}, label {truth.shape}"
        areas[d].append(mask.sum(axis=(0, 1)))
labels, logits = np.concatenate(labels), np.concatenate(logits)
probabilities = 1 / (1 + np.exp(-logits))
print(f"{calls.name}: slice calls AUC {roc_auc_score(labels, logits):.3f} ({len(names)} cases, {len(labels)} slices)")
for d in dirs:
    area = np.concatenate(areas[d]).astype(float)
    print(f"{d.name}: area AUC {roc_auc_score(labels, area):.3f}, "
          f"calls' probability + [area > 0] {roc_auc_score(labels, probabilities + (area > 0)):.3f}, "
          f"calls' logit + log(1 + area) {roc_auc_score(labels, logits + np.log1p(area)):.3f}")
