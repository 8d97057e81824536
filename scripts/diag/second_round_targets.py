"""Second-round targets: a run's masks of its training cases, gated by their slice labels (an experiment's tool).

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/second_round_targets.py DATA MASKS TEMPLATE OUT

DATA is a run's data folder (RUN/data: split.json, cases/label); MASKS a folder of masks of the
training cases on their scans' own grids (`ichctl segment --run ROUND1 --row pipeline --list
LIST --out-dir MASKS`); TEMPLATE a pseudo-mask stage's folder (RUN/pseudo-masks: one mask per
case in the pipeline's voxel order, and its stage.json). OUT becomes a copy of TEMPLATE in which
every training case's mask is replaced by its MASKS mask, emptied on the slices whose label has
no blood (the weak slice labels), reoriented to the template's axes (nibabel
`io_orientation`) and written with the template's affine and header. The other cases keep the
template's masks. Refuses an OUT that exists, and a mask whose grid does not match.
Docs/experiments/2026-12-06-second-round.md. The pipeline now makes the same targets itself with
`refiner.rounds: 2` (RUN/refiner/round-2/targets, Docs/experiments/2026-12-07-second-round-stage.md,
which compares them with this script's); the script stays to reproduce the experiment.
"""
import json
import shutil
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.orientations import io_orientation, ornt_transform


def reoriented(img, target):
    return img.as_reoriented(ornt_transform(io_orientation(img.affine), io_orientation(target.affine)))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    data, masks, template, out = (Path(p) for p in sys.argv[1:])
    if out.exists():
        sys.exit(f"{out}: exists; choose another folder")
    train = json.load(open(data / "split.json"))["train"]
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(template, tmp)
    kept = called = 0
    for name in train:
        t = nib.load(str(template / f"{name}.nii.gz"))
        seg = reoriented(nib.load(str(masks / f"{name}.nii.gz")), t)
        lab = reoriented(nib.load(str(data / "cases" / "label" / f"{name}.nii.gz")), t)
        if seg.shape != t.shape or lab.shape != t.shape or not np.allclose(seg.affine, t.affine, atol=1e-3):
            sys.exit(f"{name}: the mask's grid {seg.shape} does not match the template's {t.shape}")
        m = np.asarray(seg.dataobj) > 0
        positive = (np.asarray(lab.dataobj) > 0).any(axis=(0, 1))
        gated = m & positive[None, None, :]
        called += int(m.sum())
        kept += int(gated.sum())
        (tmp / f"{name}.nii.gz").unlink()
        nib.save(nib.Nifti1Image(gated.astype(np.uint8), t.affine, t.header), str(tmp / f"{name}.nii.gz"))
    tmp.rename(out)
    print(f"{len(train)} training cases: {kept} of {called} mask voxels on slices labelled positive kept")


if __name__ == "__main__":
    main()
