"""Dice of a run's saved comparison masks grown into a HU window, per window and step count (diagnosis).

Run: PYTHON=$(bash scripts/python-env.sh); $PYTHON scripts/diag/growth_sweep.py RUN [ROW ...]
RUN is a pipeline run whose comparison saved its masks (RUN/comparison/masks/ROW/NAME.nii.gz; the
rows default to pipeline-gated, pipeline, upper-bound and pseudo-masks). Each test case's mask
is grown slice by slice, k times, into the 4-neighbours inside the intracranial mask whose HU lie
in the window (scipy.ndimage.binary_dilation, one step at a time: the rule of IntensityGrowth),
and the mean Dice over the positive test cases is printed per row, window and k. Independent of
the Swift code; the numbers behind the growth settings in Docs/pipeline.md (run on a run
made without growth, e.g. one whose config.json has "growth" removed).
"""
import json, sys
import numpy as np, nibabel as nib
from scipy import ndimage

run = sys.argv[1]
rows = sys.argv[2:] or ["pipeline-gated", "pipeline", "upper-bound", "pseudo-masks"]
windows = [(50, 90), (45, 90), (50, 100), (55, 90), (40, 100)]
steps = [0, 1, 2, 3, 4]
test = json.load(open(f"{run}/data/split.json"))["test"]
plane = np.zeros((3, 3, 3), bool)
plane[1, 1, 1] = plane[0, 1, 1] = plane[2, 1, 1] = plane[1, 0, 1] = plane[1, 2, 1] = True   # 4-neighbours in x, y


def load(path):
    return np.asarray(nib.load(path).dataobj)


def dice(a, b):
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else 2.0 * (a & b).sum() / total


scores = {}
for name in test:
    truth = load(f"{run}/data/cases/label/{name}.nii.gz") > 0
    if not truth.any():
        continue
    hu = load(f"{run}/data/cases/data/{name}.nii.gz").astype(np.float32)
    inside = load(f"{run}/data/intracranial/{name}.nii.gz") > 0
    for row in rows:
        mask = load(f"{run}/comparison/masks/{row}/{name}.nii.gz") > 0
        for lo, hi in windows:
            eligible = inside & (hu >= lo) & (hu <= hi)
            grown = mask.copy()
            for k in steps:
                if k > 0:
                    grown |= ndimage.binary_dilation(grown, plane) & eligible
                scores.setdefault((row, lo, hi, k), []).append(dice(grown, truth))

for row in rows:
    print(row)
    print("  window    " + "  ".join(f"k={k}  " for k in steps))
    for lo, hi in windows:
        print(f"  {lo:3d}..{hi:<3d}  " + "  ".join(f"{np.mean(scores[(row, lo, hi, k)]):.4f}" for k in steps))
