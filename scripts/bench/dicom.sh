#!/usr/bin/env bash
# DICOM series read benchmark: ichct `DICOMSeriesReader.read(folder:)` vs pydicom + numpy,
# side by side in one run, on a generated CT-like 512x512x40 int16 series (uncompressed, and
# RLE), files in shuffled order.
#
#   bash scripts/bench/dicom.sh [REPEATS] [ROUNDS]     # defaults 5 reads x 3 alternating rounds
#   PYTHON=/path/to/python bash scripts/bench/dicom.sh
#
# Prints each tool's best median over the rounds and the ratio ichct / pydicom (< 1: ichct faster).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS=${1:-5}
ROUNDS=${2:-3}
PYTHON="${PYTHON:-$(bash scripts/python-env.sh)}"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
swift build -c release --product bench >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; exit 1; }
BENCH=$(swift build -c release --show-bin-path 2>/dev/null)/bench
"$PYTHON" scripts/bench/dicom.py --make "$TMP/explicit" --syntax explicit
"$PYTHON" scripts/bench/dicom.py --make "$TMP/rle" --syntax rle

median() { "$PYTHON" -c "import json,sys; print(json.loads(sys.stdin.read())['result']['median_s'])"; }
for f in explicit rle; do
    best_swift=1e9; best_py=1e9
    for _ in $(seq "$ROUNDS"); do
        s=$("$BENCH" dicom "$TMP/$f" --repeats "$REPEATS" | median)
        p=$("$PYTHON" scripts/bench/dicom.py "$TMP/$f" --repeats "$REPEATS" | median)
        best_swift=$("$PYTHON" -c "print(min($best_swift, $s))")
        best_py=$("$PYTHON" -c "print(min($best_py, $p))")
    done
    "$PYTHON" -c "
s, p = $best_swift, $best_py
print(f'$f (512x512x40 int16 series -> float32 HU): ichct {s*1e3:7.1f} ms   pydicom {p*1e3:7.1f} ms   ratio ichct/pydicom {s/p:.2f}')"
done
