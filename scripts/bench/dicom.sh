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

source scripts/bench/side_by_side.sh
release_bench
"$PYTHON" scripts/bench/dicom.py --make "$TMP/explicit" --syntax explicit
"$PYTHON" scripts/bench/dicom.py --make "$TMP/rle" --syntax rle

for f in explicit rle; do
    side_by_side "$f (512x512x40 int16 series -> float32 HU)" pydicom \
        "\"$BENCH\" dicom \"$TMP/$f\" --repeats $REPEATS" \
        "\"$PYTHON\" scripts/bench/dicom.py \"$TMP/$f\" --repeats $REPEATS"
done
