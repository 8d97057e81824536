"""Helpers shared by the geometry probes here (non_square_probe.py, field_of_view_probe.py,
scaled_set.py): Dice of two masks, `ichctl segment --run` on one scan, and scaling each axial
slice of a volume about the matrix centre."""
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage


def dice(mask, truth):
    """2|A ∩ B| / (|A| + |B|), 0 when both are empty."""
    return 2 * (mask & truth).sum() / max(mask.sum() + truth.sum(), 1)


def segment(ichctl, run, scan, out):
    """`ICHCTL segment --run RUN SCAN` into OUT/mask.nii.gz: (mask as bool array, mL per voxel)."""
    result = Path(out) / "mask.nii.gz"
    subprocess.run([ichctl, "segment", "--run", run, str(scan), "--out", str(result), "--force"], check=True, capture_output=True)
    image = nib.load(result)
    return np.asarray(image.dataobj) > 0, float(np.prod(image.header.get_zooms()[:3])) / 1000


def scale_slices(volume, factor, fill, order):
    """Each axial slice of an (X, Y, Z) array scaled by `factor` about the matrix centre, the
    matrix kept (interpolation `order`, `fill` where there is no data)."""
    centre = (np.array(volume.shape[:2]) - 1) / 2
    matrix = np.diag([1 / factor, 1 / factor, 1.0])
    offset = np.array([*(centre - centre / factor), 0.0])
    return ndimage.affine_transform(volume.astype(np.float32), matrix, offset=offset, order=order, mode="constant", cval=fill)


def scaled_affine(affine, shape, factor):
    """The affine of `scale_slices(volume, factor, ...)`: in-plane columns divided by `factor`,
    and the origin moved so that the matrix centre keeps its world position (the scaled head
    stays where it was; its millimetres stay true)."""
    out = affine.copy()
    centre = (np.array(shape[:2]) - 1) / 2
    out[:3, :2] = affine[:3, :2] / factor
    out[:3, 3] = affine[:3, 3] + affine[:3, :2] @ centre * (1 - 1 / factor)
    return out


def head_leaves(scan, factor):
    """True when scaling by `factor` > 1 pushes head voxels (more than 1% of the cut rim above
    -500 HU) out of the matrix."""
    if factor <= 1:
        return False
    nx, ny = scan.shape[:2]
    kx, ky = int(np.ceil(nx / factor)), int(np.ceil(ny / factor))
    inside = np.zeros((nx, ny), bool)
    inside[(nx - kx) // 2:(nx - kx) // 2 + kx, (ny - ky) // 2:(ny - ky) // 2 + ky] = True
    return (scan[~inside] > -500).mean() > 0.01


def head_box(scan):
    """The head's box as `HeadExtent.measure` finds it: in each axial slice of an (X, Y, Z) array
    the largest 8-connected component above -500 HU; the box over the slices whose component
    holds at least a quarter of the widest one's area. ((x0, x1), (y0, y1)) inclusive, or None."""
    boxes = []
    for k in range(scan.shape[2]):
        labels, count = ndimage.label(scan[:, :, k] > -500, structure=np.ones((3, 3), bool))
        if count == 0:
            continue
        sizes = np.bincount(labels.ravel())[1:]
        xs, ys = np.nonzero(labels == 1 + int(np.argmax(sizes)))
        boxes.append((sizes.max(), xs.min(), xs.max(), ys.min(), ys.max()))
    if not boxes:
        return None
    widest = max(b[0] for b in boxes)
    kept = [b for b in boxes if b[0] >= 0.25 * widest]
    return ((min(b[1] for b in kept), max(b[2] for b in kept)), (min(b[3] for b in kept), max(b[4] for b in kept)))


def head_offsets(scan):
    """The head box's centre from the slice centre, per in-plane axis (x, y), as a share of the
    square's side max(X, Y) (the share of the networks' input the head sits off-centre)."""
    box = head_box(scan)
    if box is None:
        return None
    side = max(scan.shape[:2])
    return tuple(((lo + hi) / 2 - (n - 1) / 2) / side for (lo, hi), n in zip(box, scan.shape[:2]))
