"""Where the pseudo-masks lose the true blood: the CAM, the blood range, or what follows (a diagnosis).

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/pseudo_mask_recall.py SET CAMS MASKS [MASKS ...] [--threshold 0.3] [--range 40:100]

SET is a dataset folder with labels (an `ichctl synth` folder, or a run's data/cases); CAMS a
folder of its cases' CAMs (NAME.nii.gz, e.g. RUN/cams); each MASKS a folder of pseudo-masks of
the same cases (RUN/pseudo-masks, or `ichctl pseudo-masks --out DIR`). Over the positive cases
(pooled voxels), prints the share of the true blood voxels that lie where the CAM reaches
--threshold, in the HU --range, in both; then, for each MASKS, the share inside the masks
(recall) and the masks' precision. Every volume is brought to RAS first (nibabel
`as_closest_canonical`: the pipeline stores its CAMs and masks in its own voxel order).
"""
import argparse
from pathlib import Path

import nibabel as nib
import numpy as np


def canonical(path):
    return np.asarray(nib.as_closest_canonical(nib.load(str(path))).dataobj)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("set")
    ap.add_argument("cams")
    ap.add_argument("masks", nargs="+")
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--range", default="40:100")
    a = ap.parse_args()
    lo, hi = (float(v) for v in a.range.split(":"))
    root = Path(a.set)
    total = in_cam = in_range = in_both = 0
    hits = {m: 0 for m in a.masks}
    called = {m: 0 for m in a.masks}
    positives = 0
    for f in sorted((root / "label").iterdir()):
        name = f.name.split(".")[0]
        truth = canonical(f) > 0
        if not truth.any():
            continue
        positives += 1
        hu = canonical(next((root / "data").glob(f"{name}.nii*")))
        cam = canonical(Path(a.cams) / f"{name}.nii.gz") >= a.threshold
        blood = (hu >= lo) & (hu <= hi)
        total += truth.sum()
        in_cam += (truth & cam).sum()
        in_range += (truth & blood).sum()
        in_both += (truth & cam & blood).sum()
        for m in a.masks:
            mask = canonical(Path(m) / f"{name}.nii.gz") > 0
            if mask.shape != truth.shape:
                raise SystemExit(f"{m}/{name}.nii.gz: grid {mask.shape} differs from the label's {truth.shape}")
            hits[m] += (truth & mask).sum()
            called[m] += mask.sum()
    if positives == 0:
        raise SystemExit(f"{a.set}: no positive case")
    print(f"{positives} positive cases, {total} true blood voxels: CAM >= {a.threshold:g} covers {in_cam / total:.3f}, "
          f"{lo:g}..{hi:g} HU {in_range / total:.3f}, both {in_both / total:.3f}")
    for m in a.masks:
        print(f"{m}: recall {hits[m] / total:.3f}, precision {hits[m] / max(called[m], 1):.3f}")


if __name__ == "__main__":
    main()
