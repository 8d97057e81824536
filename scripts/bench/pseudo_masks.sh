#!/usr/bin/env bash
# The pseudo-mask stage on a synthetic 512 x 512 x 40 case: PseudoMaskBuilder (release) against
# the same recipe in numpy / scikit-learn / scipy, side by side in one run, 2 threads each.
#   bash scripts/bench/pseudo_masks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-$(bash scripts/python-env.sh)}"
swift build -c release --product bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/bench
for mm in 0 1; do
  s=$("$BENCH" pseudo-masks --smooth-mm "$mm")
  p=$(OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$PY" scripts/bench/pseudo_masks.py --smooth-mm "$mm")
  echo "$s"; echo "$p"
  "$PY" -c "import json,sys; s=json.loads(sys.argv[1]); p=json.loads(sys.argv[2]); print(f'  smooth {sys.argv[3]} mm: swift {s[\"seconds\"]:.2f} s, python {p[\"seconds\"]:.2f} s, ratio python/swift {p[\"seconds\"]/s[\"seconds\"]:.1f}')" "$s" "$p" "$mm"
done
