"""Voxels a lower probability threshold adds to a folder of masks: true blood and false, pooled.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl segment --model M --list SET/list.txt --out-dir DIR_HIGH --threshold 0.5   # no post-processing
     ichctl segment --model M --list SET/list.txt --out-dir DIR_LOW --threshold 0.3
     $PYTHON scripts/diag/threshold_voxels_added.py SET DIR_HIGH DIR_LOW [DIR_HIGH DIR_LOW ...]

SET is a dataset folder with `list.txt` (one scan per line, `data/NAME.nii.gz`, `.nii` or a
DICOM folder; blank lines and `#` comments skipped, as `ichctl` reads lists) and
`label/NAME.nii.gz`; the folders come in pairs (the same network at a higher and a lower
threshold, or any two folders), each holding `NAME.nii.gz` masks on the same grids. Prints for
each pair the true blood voxels pooled over all cases, each folder's true voxels (and their
share of the blood) and false voxels, the true and false voxels the second folder adds (true
ones also as a share of the blood: negative when it loses them), and the mean raw Dice over the
positive cases (a case is positive when its label holds a voxel) of the first folder and the
second. Checks that every mask has its label's shape.
Quoted in Docs/experiments/2026-12-07-refiner-threshold.md (the raw masks, 0.5 against 0.3).
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from mask_sets import list_names

data, dirs = Path(sys.argv[1]), [Path(d) for d in sys.argv[2:]]
if not dirs or len(dirs) % 2:
    sys.exit("usage: threshold_voxels_added.py SET DIR_HIGH DIR_LOW [DIR_HIGH DIR_LOW ...]")


def load(path, shape):
    mask = np.asarray(nib.load(path).dataobj) > 0
    assert mask.shape == shape, f"{path}: shape {mask.shape}, label {shape}"
    return mask


names = list_names(data)
for high, low in zip(dirs[::2], dirs[1::2]):
    blood = true_high = true_low = false_high = false_low = 0
    dice_high, dice_low = [], []
    for name in names:
        truth = np.asarray(nib.load(data / "label" / f"{name}.nii.gz").dataobj) > 0
        m_high, m_low = load(high / f"{name}.nii.gz", truth.shape), load(low / f"{name}.nii.gz", truth.shape)
        blood += truth.sum()
        true_high += (truth & m_high).sum()
        true_low += (truth & m_low).sum()
        false_high += (m_high & ~truth).sum()
        false_low += (m_low & ~truth).sum()
        if truth.any():
            dice_high.append(2 * (truth & m_high).sum() / (truth.sum() + m_high.sum()))
            dice_low.append(2 * (truth & m_low).sum() / (truth.sum() + m_low.sum()))
    print(f"{high.name} -> {low.name}: {blood:,} true voxels in {len(names)} cases; "
          f"{high.name} true {true_high:,} ({true_high / blood:.3f}) false {false_high:,}; "
          f"{low.name} true {true_low:,} ({true_low / blood:.3f}) false {false_low:,}; "
          f"true added {true_low - true_high:+,} ({(true_low - true_high) / blood:+.3f} of the blood), false added {false_low - false_high:+,}; "
          f"raw Dice {np.mean(dice_high):.3f} -> {np.mean(dice_low):.3f} ({len(dice_high)} positive cases)")
