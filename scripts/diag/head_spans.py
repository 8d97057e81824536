"""The head spans of a set of scans, as `ichctl inspect` measures them (`headSpan`).

Run: python3 scripts/diag/head_spans.py ICHCTL RUN [SPLIT]          (a run's split: train by default)
     python3 scripts/diag/head_spans.py ICHCTL SET --list             (a dataset's list.txt)

Prints one line per scan (name and span) and, last, the least, the 5%, median and 95% points
and the most, and the spans as fractions of 256 when they are. The least and most of a run's
training split are what `HeadSpanRule(trainingSpans:)` makes of them: the presets'
`comparison.headSpans` came from the training split of the full preset's run this way.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from mask_sets import scan_files

ichctl, root = sys.argv[1], Path(sys.argv[2])
files = scan_files(root, sys.argv[3] if len(sys.argv) > 3 else None)
spans = []
for f in files:
    out = subprocess.run([ichctl, "inspect", "--json", str(f)], check=True, capture_output=True, text=True).stdout
    span = json.loads(out).get("headSpan")
    if span is None:
        sys.exit(f"{f}: no head (no voxel above -500 HU)")
    spans.append(span)
    print(f"{f.name.removesuffix('.nii.gz')} {span:.6f}")
v = np.array(spans)
print(f"{len(v)} scans: least {v.min():.6f} ({v.min() * 256:g}/256), 5% {np.percentile(v, 5):.3f}, "
      f"median {np.median(v):.3f}, 95% {np.percentile(v, 95):.3f}, most {v.max():.6f} ({v.max() * 256:g}/256)")
