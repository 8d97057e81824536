"""Where a run's pseudo-masks put their volume, against the true masks (a diagnosis: the pipeline never reads these).

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/pseudo_mask_volumes.py RUN [N]

RUN is a pipeline run folder (`ichctl demo --out RUN`); the first N (default 120) of its
training cases (RUN/data/split.json) are read: RUN/pseudo-masks/NAME.nii.gz against
RUN/data/cases/label/NAME.nii.gz, with RUN/data/intracranial/NAME.nii.gz for the distance to
the intracranial edge. The pseudo-masks are stored in the pipeline's voxel order and the labels
in the files' own, so every volume is brought to RAS first (nibabel `as_closest_canonical`) and
the grids are checked to agree. Prints, in mL: true blood inside the pseudo-masks, false volume
on positive cases (and the parts of it within 4 mm in-plane of the intracranial edge, on slices
without blood, and within 5 mm in-plane of true blood on its slice), volume on negative cases;
and slices holding a pseudo-mask, and those of them without blood.
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage


def canonical(path):
    img = nib.as_closest_canonical(nib.load(path))
    return img, np.asarray(img.dataobj) > 0


run, count = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 120
names = json.load(open(run / "data/split.json"))["train"][:count]
totals = dict(true_ml=0.0, false_ml_positive_cases=0.0, false_ml_within_4mm_of_edge=0.0,
              false_ml_on_slices_without_blood=0.0, false_ml_within_5mm_of_blood=0.0, ml_negative_cases=0.0,
              slices=0, slices_with_pseudo_mask=0, of_them_without_blood=0)
for name in names:
    pimg, p = canonical(run / "pseudo-masks" / f"{name}.nii.gz")
    timg, t = canonical(run / "data/cases/label" / f"{name}.nii.gz")
    _, inside = canonical(run / "data/intracranial" / f"{name}.nii.gz")
    if p.shape != t.shape or not np.allclose(pimg.affine, timg.affine, atol=1e-2):
        sys.exit(f"{name}: the pseudo-mask and the label are not on one grid after reorientation")
    zooms = pimg.header.get_zooms()[:3]
    voxel_ml = float(np.prod(zooms)) / 1000
    if t.any():
        edge = np.stack([ndimage.distance_transform_edt(inside[:, :, k], sampling=zooms[:2]) for k in range(inside.shape[2])], axis=2)
        totals["true_ml"] += (p & t).sum() * voxel_ml
        totals["false_ml_positive_cases"] += (p & ~t).sum() * voxel_ml
        totals["false_ml_within_4mm_of_edge"] += (p & ~t & (edge <= 4)).sum() * voxel_ml
        bleeding_slice = t.any(axis=(0, 1))
        totals["false_ml_on_slices_without_blood"] += (p[:, :, ~bleeding_slice]).sum() * voxel_ml
        near = np.zeros_like(t)
        for k in np.flatnonzero(bleeding_slice):
            near[:, :, k] = ndimage.distance_transform_edt(~t[:, :, k], sampling=zooms[:2]) <= 5
        totals["false_ml_within_5mm_of_blood"] += (p & ~t & near).sum() * voxel_ml
    else:
        totals["ml_negative_cases"] += p.sum() * voxel_ml
    marked, bleeding = p.any(axis=(0, 1)), t.any(axis=(0, 1))
    totals["slices"] += len(marked)
    totals["slices_with_pseudo_mask"] += int(marked.sum())
    totals["of_them_without_blood"] += int((marked & ~bleeding).sum())
print(f"{run} ({len(names)} training cases):", ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in totals.items()))
