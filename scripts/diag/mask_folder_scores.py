"""Score folders of masks against a dataset's true masks: the U-Net-alone row's measures, paired.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl segment --model M --list SET/list.txt --out-dir DIR_A [post-processing options]   # and B, ...
     $PYTHON scripts/diag/mask_folder_scores.py SET DIR_A DIR_B [DIR_C ...]

SET is a dataset folder with `list.txt` (one scan per line, `data/NAME.nii.gz`, `.nii` or a
DICOM folder; blank lines and `#` comments skipped, as `ichctl` reads lists) and
`label/NAME.nii.gz`; each DIR holds `NAME.nii.gz` masks on the same grids (`ichctl segment
--list` writes them so). Prints for each folder the mean Dice over the positive cases (a case is
positive when its label holds a voxel), the mL called blood per negative case and the negative
cases left clean; from the second folder on, the paired difference in mean Dice from the first
with a 95% interval from 2000 bootstrap resamples of the positive cases. The means are those of
`ichctl compare` (per-case Dice, averaged over positive cases), which checks it: on a run's own
row the numbers agree to the digit (Docs/experiments/2026-12-07-refiner-threshold.md).
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from mask_sets import list_names, folder_scores

data, dirs = Path(sys.argv[1]), [Path(d) for d in sys.argv[2:]]


names = list_names(data)
results = []
for d in dirs:
    dice, false_ml = folder_scores(d, names, lambda name: np.asarray(nib.load(data / "label" / f"{name}.nii.gz").dataobj) > 0)
    results.append((np.array(dice), np.array(false_ml)))

rng = np.random.default_rng(0)
for k, (d, (dice, false_ml)) in enumerate(zip(dirs, results)):
    line = (f"{d.name}: Dice {dice.mean():.3f} ({len(dice)} positive cases), "
            f"{false_ml.mean() if len(false_ml) else float('nan'):.2f} mL per negative case, "
            f"{(false_ml == 0).sum()} of {len(false_ml)} clean")
    if k > 0:
        difference = dice - results[0][0]
        resampled = [difference[rng.integers(0, len(difference), len(difference))].mean() for _ in range(2000)]
        line += f"; difference {difference.mean():+.3f} [{np.percentile(resampled, 2.5):+.3f}, {np.percentile(resampled, 97.5):+.3f}]"
    print(line)
