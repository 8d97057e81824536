"""Does `ichctl segment --run` keep its masks when a scan's slices are not square?

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/non_square_probe.py ICHCTL RUN SET [CASES] [OUT]

For the first CASES (default 10) positive cases of SET (`list.txt`, `data/`, `label/`), cuts an
eighth of the matrix off each side of the second axis when that margin is air (at most 1% of
its voxels above -500 HU), so that only the matrix's shape changes and the head stays whole.
Segments the scan and the cut copy with `ICHCTL segment --run RUN` and prints each one's Dice
against the (cut) label and its voxel count. OUT (default a temporary folder) keeps the copies.
"""
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from geometry_probes import dice
from geometry_probes import segment as run_segment
from mask_sets import list_names

ichctl, run, data = sys.argv[1], sys.argv[2], Path(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 10
out = Path(sys.argv[5]) if len(sys.argv) > 5 else Path(tempfile.mkdtemp(prefix="non-square-"))
out.mkdir(parents=True, exist_ok=True)


def segment(scan):
    return run_segment(ichctl, run, scan, out)[0]


names = [n for n in list_names(data) if (np.asarray(nib.load(data / "label" / f"{n}.nii.gz").dataobj) > 0).any()][:count]
for name in names:
    image = nib.load(data / "data" / f"{name}.nii.gz")
    scan = np.asarray(image.dataobj)
    truth = np.asarray(nib.load(data / "label" / f"{name}.nii.gz").dataobj) > 0
    cut = scan.shape[1] // 8
    margin = np.concatenate([scan[:, :cut].ravel(), scan[:, -cut:].ravel()])
    if (margin > -500).mean() > 0.01:
        print(f"{name}: head in the margin, left out")
        continue
    # the cut copy keeps the affine: voxel (i, j, k) of the copy is voxel (i, j + cut, k) of the
    # scan, a shift of the field of view that segment does not read
    copy = out / f"{name}-cut.nii.gz"
    nib.save(nib.Nifti1Image(scan[:, cut:-cut], image.affine), copy)
    square, narrow = segment(data / "data" / f"{name}.nii.gz"), segment(copy)
    print(f"{name} {scan.shape[0]}x{scan.shape[1]} -> {scan.shape[0]}x{scan.shape[1] - 2 * cut}: "
          f"Dice {dice(square, truth):.3f} ({square.sum()} voxels) -> {dice(narrow, truth[:, cut:-cut]):.3f} ({narrow.sum()} voxels)")
