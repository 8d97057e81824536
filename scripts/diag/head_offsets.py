"""How far off the centre of their slices the heads of a set of scans lie.

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/head_offsets.py RUN [SPLIT]          (a run's split: train by default)
     $PYTHON scripts/diag/head_offsets.py SET --list           (a dataset's list.txt)

For each scan the head's box (`head_box` in geometry_probes.py, as `HeadExtent` finds it) and
its centre's offset from the slice centre along each in-plane voxel axis, as a share of the
square's side (`head_offsets`). Prints one line per scan and, last, the distribution of the
larger of the two offsets' magnitudes (least, 5%, median, 95%, most).
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from geometry_probes import head_offsets
from mask_sets import scan_files

root = Path(sys.argv[1])
files = scan_files(root, sys.argv[2] if len(sys.argv) > 2 else None)
largest = []
for f in files:
    offsets = head_offsets(np.asarray(nib.load(f).dataobj, dtype=np.float32))
    if offsets is None:
        sys.exit(f"{f}: no head (no voxel above -500 HU)")
    largest.append(max(abs(o) for o in offsets))
    print(f"{f.name.removesuffix('.nii.gz')} x {offsets[0]:+.4f} y {offsets[1]:+.4f}")
v = np.array(largest)
print(f"{len(v)} scans, larger offset: least {v.min():.4f}, 5% {np.percentile(v, 5):.4f}, median {np.median(v):.4f}, "
      f"95% {np.percentile(v, 95):.4f}, most {v.max():.4f}")
