"""A copy of a dataset whose heads span FACTOR times their pixels in the same matrix.

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/scaled_set.py SET FACTOR OUT

The field-of-view probe (field_of_view_probe.py) as a whole dataset that `ichctl compare --data`
reads: every case of SET (`list.txt`, `data/`, `label/`, optional `lesions/`) has each axial
slice scaled about the matrix centre by FACTOR, the matrix kept: the scan with linear
interpolation and air (-1000 HU) where it has no data, rounded to int16; the label linearly and
thresholded at 0.5; the lesion instances by nearest neighbour, kept to the scaled label's
voxels (each label voxel left without one takes the nearest one's). The pixel spacing is divided by
FACTOR, so millimetres and millilitres stay true. `slices.csv` is written from the scaled
labels. The origin moves so the matrix centre keeps its world position. A FACTOR above 1 pushes
the rim out of the matrix; a set with a case whose head would leave it (more than 1% of the cut
rim above -500 HU) is refused before anything is written, naming the case. OUT must not exist.
"""
import csv
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from geometry_probes import head_leaves, scale_slices, scaled_affine
from mask_sets import list_names

source, factor, out = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
if out.exists():
    sys.exit(f"{out}: exists; give a new folder")


def scaled(volume, fill, order):
    return scale_slices(volume, factor, fill, order)


names = list_names(source)
# refuse before writing anything
for name in names:
    if head_leaves(np.asarray(nib.load(source / "data" / f"{name}.nii.gz").dataobj, dtype=np.float32), factor):
        sys.exit(f"{source / 'data' / (name + '.nii.gz')}: the head would leave the matrix at factor {factor:g}")
for folder in ("data", "label", "lesions"):
    if folder != "lesions" or (source / folder).is_dir():
        (out / folder).mkdir(parents=True)
rows = []
for name in names:
    image = nib.load(source / "data" / f"{name}.nii.gz")
    scan = np.asarray(image.dataobj, dtype=np.float32)
    affine = scaled_affine(image.affine, scan.shape, factor)

    def save(values, dtype, folder, like):
        header = like.header.copy()
        header.set_data_dtype(dtype)
        header.set_slope_inter(1, 0)
        nib.save(nib.Nifti1Image(values.astype(dtype), affine, header), out / folder / f"{name}.nii.gz")

    save(np.round(scaled(scan, -1000, 1)), np.int16, "data", image)
    label_image = nib.load(source / "label" / f"{name}.nii.gz")
    label = scaled(np.asarray(label_image.dataobj) > 0, 0, 1) >= 0.5
    save(label, np.uint8, "label", label_image)
    if (source / "lesions" / f"{name}.nii.gz").exists():
        lesion_image = nib.load(source / "lesions" / f"{name}.nii.gz")
        lesions = np.asarray(lesion_image.dataobj)
        moved = np.round(scaled(lesions, 0, 0)).astype(lesions.dtype)
        moved[~label] = 0
        # a lesion map labels exactly the mask's voxels: a label voxel that nearest-neighbour
        # sampling left unlabelled takes the label of the nearest labelled voxel, in millimetres
        missing = label & (moved == 0)
        if missing.any():
            if not (moved > 0).any():
                sys.exit(f"{source / 'lesions' / (name + '.nii.gz')}: no lesion voxel left at factor {factor:g} to label the scaled mask")
            _, nearest = ndimage.distance_transform_edt(moved == 0, sampling=nib.affines.voxel_sizes(affine), return_indices=True)
            moved[missing] = moved[tuple(index[missing] for index in nearest)]
        save(moved, lesions.dtype, "lesions", lesion_image)
    rows += [(name, k, int(label[:, :, k].any())) for k in range(label.shape[2])]
    print(name, file=sys.stderr, flush=True)
(out / "list.txt").write_text("".join(f"data/{n}.nii.gz\n" for n in names))
with open(out / "slices.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["case", "slice", "label"])
    w.writerows(rows)
