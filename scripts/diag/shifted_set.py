"""A copy of a dataset whose heads are moved in their matrix, towards the back or one side.

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/shifted_set.py SET DIRECTION SHARE OUT

DIRECTION is an anatomical direction, `P` (posterior), `A`, `L` or `R`, read from each case's
affine (nibabel's axis codes), so every case moves the same way in the body whatever its stored
orientation. Every axial slice of every case of SET (`list.txt`, `data/`, `label/`, optional
`lesions/`) is moved by d whole voxels along that axis: d = SHARE of the square's side
max(X, Y), or less where the head (`head_box`, as `HeadExtent` finds it) would come closer than
2 voxels to the matrix's edge. Scan, label and lesion map move alike, exactly (no interpolation),
with air (-1000 HU) and 0 where the slice has no data; whatever leaves the matrix (air, or a head
holder past the head) is dropped. The origin moves so every voxel keeps its world position:
the same head, reconstructed off-centre. `slices.csv` is copied from the moved labels.
`shifts.json` records each case's d and its head's centre offsets before and after (share of
the side, per in-plane axis x, y). OUT must not exist.
"""
import csv
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from geometry_probes import head_box, head_offsets
from mask_sets import list_names

source, direction, share, out = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
if direction not in ("P", "A", "L", "R"):
    sys.exit(f"direction {direction!r}: give P, A, L or R")
if not 0 < share < 0.5:
    sys.exit(f"share {share}: give a share of the side between 0 and 0.5")
if out.exists():
    sys.exit(f"{out}: exists; give a new folder")


def axis_and_sign(affine):
    """The voxel axis (0 or 1) along `direction` and the index step (+1 or -1) that moves towards it."""
    codes = nib.aff2axcodes(affine)
    opposite = {"P": "A", "A": "P", "L": "R", "R": "L"}[direction]
    for axis in (0, 1):
        if codes[axis] == direction:
            return axis, 1
        if codes[axis] == opposite:
            return axis, -1
    sys.exit(f"axis codes {codes}: no in-plane axis along {direction}")


def moved(volume, axis, step, fill):
    out = np.full_like(volume, fill)
    n = volume.shape[axis]
    src = [slice(None)] * volume.ndim
    dst = [slice(None)] * volume.ndim
    if step > 0:
        src[axis], dst[axis] = slice(0, n - step), slice(step, n)
    elif step < 0:
        src[axis], dst[axis] = slice(-step, n), slice(0, n + step)
    out[tuple(dst)] = volume[tuple(src)]
    return out


names = list_names(source)
plans = {}
for name in names:
    image = nib.load(source / "data" / f"{name}.nii.gz")
    scan = np.asarray(image.dataobj, dtype=np.float32)
    box = head_box(scan)
    if box is None:
        sys.exit(f"{source / 'data' / (name + '.nii.gz')}: no head (no voxel above -500 HU)")
    axis, sign = axis_and_sign(image.affine)
    lo, hi = box[axis]
    room = (scan.shape[axis] - 1 - hi if sign > 0 else lo) - 2
    d = max(0, min(int(round(share * max(scan.shape[:2]))), room))
    plans[name] = (axis, sign * d)
for folder in ("data", "label", "lesions"):
    if folder != "lesions" or (source / folder).is_dir():
        (out / folder).mkdir(parents=True)
rows, record = [], {}
for name in names:
    axis, step = plans[name]
    image = nib.load(source / "data" / f"{name}.nii.gz")
    affine = image.affine.copy()
    affine[:3, 3] -= step * image.affine[:3, axis]

    def save(values, dtype, folder, like):
        header = like.header.copy()
        header.set_data_dtype(dtype)
        header.set_slope_inter(1, 0)
        nib.save(nib.Nifti1Image(values.astype(dtype), affine, header), out / folder / f"{name}.nii.gz")

    scan = np.asarray(image.dataobj, dtype=np.float32)
    shifted = moved(np.round(scan), axis, step, -1000)
    save(shifted, np.int16, "data", image)
    label_image = nib.load(source / "label" / f"{name}.nii.gz")
    label = moved(np.asarray(label_image.dataobj) > 0, axis, step, False)
    if label.sum() != (np.asarray(label_image.dataobj) > 0).sum():
        sys.exit(f"{source / 'label' / (name + '.nii.gz')}: label voxels would leave the matrix")
    save(label, np.uint8, "label", label_image)
    if (source / "lesions" / f"{name}.nii.gz").exists():
        lesion_image = nib.load(source / "lesions" / f"{name}.nii.gz")
        lesions = np.asarray(lesion_image.dataobj)
        save(moved(lesions, axis, step, 0), lesions.dtype, "lesions", lesion_image)
    rows += [(name, k, int(label[:, :, k].any())) for k in range(label.shape[2])]
    record[name] = {"axis": int(axis), "voxels": int(step), "share": abs(step) / max(scan.shape[:2]),
                    "offsets_before": [float(o) for o in head_offsets(scan)],
                    "offsets_after": [float(o) for o in head_offsets(shifted)]}
    print(name, step, file=sys.stderr, flush=True)
(out / "list.txt").write_text("".join(f"data/{n}.nii.gz\n" for n in names))
with open(out / "slices.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["case", "slice", "label"])
    w.writerows(rows)
(out / "shifts.json").write_text(json.dumps(record, indent=1))
shares = np.array([r["share"] for r in record.values()])
print(f"{len(shares)} cases moved {direction}: share of the side min {shares.min():.3f}, median "
      f"{np.median(shares):.3f}, max {shares.max():.3f}; {(shares < share - 1e-9).sum()} moved less than {share:g}")
