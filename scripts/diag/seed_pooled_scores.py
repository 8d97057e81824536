"""Two arms of mask folders, one folder per seed, scored against true masks and paired, pooled over seeds.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl segment --model M_S --list SET/list.txt --out-dir BASE_S [options]         # every seed S
     ichctl segment --model M_S --list SET/list.txt --out-dir ARM_S [other options]
     $PYTHON scripts/diag/seed_pooled_scores.py SET 'BASE_{s}' 'ARM_{s}' [--seeds 1,2,3,4]

SET is a dataset folder with `list.txt` (one scan per line, `data/NAME.nii.gz`, `.nii` or a
DICOM folder; blank lines and `#` comments skipped, as `ichctl` reads lists) and
`label/NAME.nii.gz`; the two patterns name a folder per seed with `{s}` (quote them), each
holding `NAME.nii.gz` masks on the same grids. For every case, the Dice (positive cases: the
label holds a voxel) or the mL called blood (negative cases) of each arm in each seed; each
arm's per-seed means are those of `mask_folder_scores.py` (the U-Net-alone row of `ichctl
compare`). The per-case difference arm − base is averaged over the seeds, then bootstrapped
over the cases (4000 resamples each for Dice and mL, one generator seeded 0, Dice first).
Prints the set's name; each arm's mean Dice over seeds and cases, with each seed's; the Dice
difference with its 95% interval; the mL per negative case of both arms and their difference
with its interval; and the negative cases left clean in every seed by each arm. Checks that
every mask has its label's shape.
Quoted in Docs/experiments/2026-12-07-refiner-threshold.md (the refiner's flip averaging).
"""
import argparse
from pathlib import Path

import nibabel as nib
import numpy as np

from mask_sets import list_names, folder_scores

parser = argparse.ArgumentParser(description="Two arms of per-seed mask folders, paired and pooled over seeds.")
parser.add_argument("set", type=Path)
parser.add_argument("base", help="folder pattern with {s} for the seed")
parser.add_argument("arm", help="folder pattern with {s} for the seed")
parser.add_argument("--seeds", default="1,2,3,4", help="comma-separated seeds (default 1,2,3,4)")
args = parser.parse_args()
data, seeds = args.set, [s.strip() for s in args.seeds.split(",")]
for pattern in (args.base, args.arm):
    if "{s}" not in pattern:
        parser.error(f"pattern {pattern!r} has no {{s}}")


names = list_names(data)
truths = {name: np.asarray(nib.load(data / "label" / f"{name}.nii.gz").dataobj) > 0 for name in names}


def scores(pattern):
    """Dice (seeds × positive cases) and mL called blood (seeds × negative cases), in list order."""
    dice, false_ml = [], []
    for s in seeds:
        seed_dice, seed_ml = folder_scores(Path(pattern.format(s=s)), names, truths.__getitem__)
        dice.append(seed_dice)
        false_ml.append(seed_ml)
    return np.array(dice), np.array(false_ml)


base_dice, base_ml = scores(args.base)
arm_dice, arm_ml = scores(args.arm)
rng = np.random.default_rng(0)
dice_diff = (arm_dice - base_dice).mean(0)
dice_resampled = [dice_diff[rng.integers(0, len(dice_diff), len(dice_diff))].mean() for _ in range(4000)]
ml_diff = (arm_ml - base_ml).mean(0)
if len(ml_diff):
    ml_resampled = [ml_diff[rng.integers(0, len(ml_diff), len(ml_diff))].mean() for _ in range(4000)]
    ml_interval = f"[{np.percentile(ml_resampled, 2.5):+.2f}, {np.percentile(ml_resampled, 97.5):+.2f}]"
else:
    ml_interval = "(no negative cases)"
print(f"{data.name}: {len(seeds)} seeds, {base_dice.shape[1]} positive cases: "
      f"base Dice {base_dice.mean():.3f} (seeds {', '.join(f'{x:.3f}' for x in base_dice.mean(1))}), "
      f"arm {arm_dice.mean():.3f} (seeds {', '.join(f'{x:.3f}' for x in arm_dice.mean(1))}); "
      f"difference {dice_diff.mean():+.3f} [{np.percentile(dice_resampled, 2.5):+.3f}, {np.percentile(dice_resampled, 97.5):+.3f}]; "
      f"mL per negative case {base_ml.mean():.2f} -> {arm_ml.mean():.2f} ({ml_diff.mean():+.2f} {ml_interval}); "
      f"clean in every seed {(base_ml.max(0) == 0).sum()} -> {(arm_ml.max(0) == 0).sum()} of {base_ml.shape[1]}")
