"""Where a run's rows call blood on negative cases (a diagnosis of bone partial volume).

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/negative_false_volume.py SET RUN [RUN ...] [--rows pipeline,upper-bound]
             [--ichctl .build/release/ichctl] [--intracranial DIR]

SET is a dataset folder with labels (an `ichctl synth` folder, or a run's data/cases); its
negative cases (no label voxel) are segmented with each run's rows by `ichctl segment --run RUN
--row ROW` (the masks its table scores), into a temporary folder. The intracranial masks come
from DIR (default RUN/data/intracranial/NAME.nii.gz, which holds a run's own training and
validation cases); a case without one is skipped, naming it. All volumes are brought to RAS
(nibabel `as_closest_canonical`). Prints per run and row, in mL per negative case: the volume
called blood, the part within 4 mm in-plane of the intracranial mask's edge (the inner table),
the part on the lowest quarter of the slices that hold intracranial voxels (the skull base), and
the cases left clean.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage


def canonical(path):
    return nib.as_closest_canonical(nib.load(str(path)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("set")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--rows", default="pipeline,upper-bound")
    ap.add_argument("--ichctl", default=str(Path(__file__).resolve().parents[2] / ".build" / "release" / "ichctl"))
    ap.add_argument("--intracranial", default=None)
    a = ap.parse_args()
    data, labels = Path(a.set) / "data", Path(a.set) / "label"
    negatives = []
    for f in sorted(labels.iterdir()):
        name = f.name.split(".")[0]
        if not np.asarray(nib.load(str(f)).dataobj).any():
            negatives.append(name)
    print(f"{len(negatives)} negative cases in {a.set}")
    with tempfile.TemporaryDirectory() as tmp:
        for run in a.runs:
            inside_dir = Path(a.intracranial or Path(run) / "data" / "intracranial")
            for row in a.rows.split(","):
                total = edge = base = 0.0
                clean = n = 0
                for name in negatives:
                    ic_path = inside_dir / f"{name}.nii.gz"
                    if not ic_path.exists():
                        print(f"  {name}: no intracranial mask in {inside_dir}, skipped", file=sys.stderr)
                        continue
                    out = os.path.join(tmp, f"{name}.nii.gz")
                    scan = next(data.glob(f"{name}.nii*"))
                    done = subprocess.run([a.ichctl, "segment", "--run", run, "--row", row, str(scan), "--out", out, "--force"],
                                          capture_output=True, text=True)
                    if done.returncode != 0:
                        sys.exit(f"ichctl segment --run {run} --row {row} {scan} failed:\n{done.stderr}")
                    m = canonical(out)
                    mask = m.get_fdata() > 0
                    ic = canonical(ic_path)
                    if not np.allclose(ic.affine, m.affine, atol=1e-3) or ic.shape != m.shape:
                        sys.exit(f"{name}: the intracranial mask's grid differs from the segmentation's")
                    inside = ic.get_fdata() > 0
                    sp = m.header.get_zooms()[:3]
                    depth = np.stack([ndimage.distance_transform_edt(inside[:, :, k], sampling=sp[:2])
                                      for k in range(inside.shape[2])], axis=2)
                    ks = np.where(inside.any(axis=(0, 1)))[0]
                    if ks.size == 0:
                        print(f"  {name}: empty intracranial mask, skipped", file=sys.stderr)
                        continue
                    low = ks.min() + (ks.max() - ks.min()) // 4
                    ml = float(np.prod(sp)) / 1000
                    total += mask.sum() * ml
                    edge += (mask & (depth <= 4)).sum() * ml
                    base += mask[:, :, :low + 1].sum() * ml
                    clean += int(mask.sum() == 0)
                    n += 1
                if n == 0:
                    print(f"{Path(run).name:12s} {row:12s} no case measured")
                    continue
                print(f"{Path(run).name:12s} {row:12s} {total / n:6.2f} mL per negative case; within 4 mm of the intracranial "
                      f"edge {edge / n:5.2f}; on the lowest quarter of the slices {base / n:5.2f}; clean {clean} of {n}")


if __name__ == "__main__":
    main()
