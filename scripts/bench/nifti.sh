#!/usr/bin/env bash
# NIfTI read benchmark: ichct `NIfTI.readScan` vs nibabel `get_fdata(dtype=np.float32)`,
# side by side in one run, on a generated CT-like 512x512x40 int16 .nii.gz (slope 1,
# intercept -1024) and its uncompressed .nii.
#
#   bash scripts/bench/nifti.sh [REPEATS] [ROUNDS]     # defaults 10 reads x 3 alternating rounds
#   PYTHON=/path/to/python bash scripts/bench/nifti.sh
#
# Prints each tool's best median over the rounds and the ratio ichct / nibabel (< 1: ichct faster).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS=${1:-10}
ROUNDS=${2:-3}
PYTHON="${PYTHON:-$(bash scripts/python-env.sh)}"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
swift build -c release --product bench >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; exit 1; }
BENCH=$(swift build -c release --show-bin-path 2>/dev/null)/bench
"$PYTHON" scripts/bench/nifti.py --make "$TMP/ct.nii.gz"
"$PYTHON" -c "import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$TMP/ct.nii.gz" "$TMP/ct.nii"

median() { "$PYTHON" -c "import json,sys; print(json.loads(sys.stdin.read())['result']['median_s'])"; }
for f in ct.nii.gz ct.nii; do
    best_swift=1e9; best_py=1e9
    for _ in $(seq "$ROUNDS"); do
        s=$("$BENCH" nifti "$TMP/$f" --repeats "$REPEATS" | median)
        p=$("$PYTHON" scripts/bench/nifti.py "$TMP/$f" --repeats "$REPEATS" | median)
        best_swift=$("$PYTHON" -c "print(min($best_swift, $s))")
        best_py=$("$PYTHON" -c "print(min($best_py, $p))")
    done
    "$PYTHON" -c "
import sys
s, p = $best_swift, $best_py
print(f'$f (512x512x40 int16 -> float32 HU): ichct {s*1e3:7.1f} ms   nibabel {p*1e3:7.1f} ms   ratio ichct/nibabel {s/p:.2f}')"
done
