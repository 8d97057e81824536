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

source scripts/bench/side_by_side.sh
release_bench
"$PYTHON" scripts/bench/nifti.py --make "$TMP/ct.nii.gz"
"$PYTHON" -c "import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$TMP/ct.nii.gz" "$TMP/ct.nii"

for f in ct.nii.gz ct.nii; do
    side_by_side "$f (512x512x40 int16 -> float32 HU)" nibabel \
        "\"$BENCH\" nifti \"$TMP/$f\" --repeats $REPEATS" \
        "\"$PYTHON\" scripts/bench/nifti.py \"$TMP/$f\" --repeats $REPEATS"
done
