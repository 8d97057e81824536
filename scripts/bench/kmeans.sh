#!/usr/bin/env bash
# k-means on synthetic intracranial HU: WeakSupervision.KMeans (release) against scikit-learn,
# side by side in one run, both on 2 threads. Prints both JSON lines and the time ratio.
#   bash scripts/bench/kmeans.sh [voxels]        (default 10000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-$(bash scripts/python-env.sh)}"
N=${1:-10000000}
swift build -c release --product bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/bench
for args in "" "--continuous" "--features 2"; do
  s=$("$BENCH" kmeans --voxels "$N" $args)
  p=$(OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$PY" scripts/bench/kmeans.py --voxels "$N" $args)
  echo "$s"; echo "$p"
  "$PY" -c "import json,sys; s=json.loads(sys.argv[1]); p=json.loads(sys.argv[2]); print(f'  {sys.argv[3] or \"integer HU\"}: swift {s[\"seconds\"]:.2f} s, sklearn {p[\"seconds\"]:.2f} s, ratio sklearn/swift {p[\"seconds\"]/s[\"seconds\"]:.1f}')" "$s" "$p" "$args"
done
