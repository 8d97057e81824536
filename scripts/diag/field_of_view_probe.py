"""Does `ichctl segment --run` keep its masks when the same head fills more or less of the matrix?

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/field_of_view_probe.py ICHCTL RUN SET [CASES] [FACTORS] [OUT]

A scanner's field of view sets how many pixels a head spans in a fixed matrix: the same head at
a 250 mm field of view in 512 pixels spans 1.25 times as many as at 312 mm. The networks resample
each slice's matrix to 256 x 256 whatever its pixel spacing, so they see the head larger or
smaller. For the first CASES (default 10) positive cases of SET (`list.txt`, `data/`,
`label/`), this scales each slice about its centre by each of FACTORS (default 0.8,1.25: the
head spans that many times its pixels) in the same matrix, with linear interpolation, air
(-1000 HU) where the scaled scan has no data, and the pixel spacing divided by the factor so
millimetres stay true. The label is scaled the same way and thresholded at 0.5. A factor whose
scaled head would leave the matrix (more than 1% of the cropped rim above -500 HU) is skipped
for that case. Prints each case's Dice and mL called, at factor 1 and at each factor.
"""
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from geometry_probes import dice, head_leaves, scale_slices, scaled_affine
from geometry_probes import segment as run_segment
from mask_sets import list_names

ichctl, run, data = sys.argv[1], sys.argv[2], Path(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 10
factors = [float(f) for f in (sys.argv[5] if len(sys.argv) > 5 else "0.8,1.25").split(",")]
out = Path(sys.argv[6]) if len(sys.argv) > 6 else Path(tempfile.mkdtemp(prefix="fov-"))
out.mkdir(parents=True, exist_ok=True)


def segment(scan):
    return run_segment(ichctl, run, scan, out)


names = [n for n in list_names(data) if (np.asarray(nib.load(data / "label" / f"{n}.nii.gz").dataobj) > 0).any()][:count]
print("case " + " ".join(f"{f:g}" for f in [1.0, *factors]) + "   (Dice / mL called)")
for name in names:
    image = nib.load(data / "data" / f"{name}.nii.gz")
    scan = np.asarray(image.dataobj, dtype=np.float32)
    truth = np.asarray(nib.load(data / "label" / f"{name}.nii.gz").dataobj) > 0
    mask, voxel_ml = segment(data / "data" / f"{name}.nii.gz")
    cells = [f"{dice(mask, truth):.3f}/{mask.sum() * voxel_ml:.2f}"]
    for factor in factors:
        if head_leaves(scan, factor):
            cells.append("head leaves")
            continue
        affine = scaled_affine(image.affine, scan.shape, factor)
        copy = out / f"{name}-x{factor:g}.nii.gz"
        nib.save(nib.Nifti1Image(np.round(scale_slices(scan, factor, -1000, 1)).astype(np.int16), affine), copy)
        label = scale_slices(truth, factor, 0, 1) >= 0.5
        mask, voxel_ml = segment(copy)
        cells.append(f"{dice(mask, label):.3f}/{mask.sum() * voxel_ml:.2f}")
    print(name, " ".join(cells), flush=True)
