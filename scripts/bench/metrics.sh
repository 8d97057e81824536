#!/usr/bin/env bash
# Metrics benchmark: `bench metrics` (release) and MedPy hd95 / surface-distance NSD on the
# same 512x512x40 pair, run one after the other in one go; prints both and the ratios.
#   bash scripts/bench/metrics.sh            (PYTHON=... to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-$(bash scripts/python-env.sh)}"
swift build -c release --product bench >&2
swift_json="$(.build/release/bench metrics --repeats 5)"
python_json="$("$PYTHON" scripts/bench/metrics.py --repeats 3)"
echo "swift:  $swift_json"
echo "python: $python_json"
"$PYTHON" - "$swift_json" "$python_json" <<'PY'
import json, sys
s, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert s["voxels_pred"] == p["voxels_pred"] and s["voxels_truth"] == p["voxels_truth"], "different pairs"
print(f"values: hd95 swift {s['medpy_hd95']:.12g} medpy {p['medpy_hd95']:.12g}; "
      f"nsd swift {s['sd_nsd']:.12g} surface-distance {p['sd_nsd']:.12g}")
print(f"all metrics (swift) {s['all_metrics_s']*1e3:.1f} ms | MedPy hd95 {p['medpy_hd95_s']*1e3:.1f} ms "
      f"| surface-distance NSD {p['sd_nsd_s']*1e3:.1f} ms")
print(f"ratio MedPy hd95 / swift all metrics:           {p['medpy_hd95_s'] / s['all_metrics_s']:.1f}x")
print(f"ratio surface-distance NSD / swift all metrics: {p['sd_nsd_s'] / s['all_metrics_s']:.1f}x")
print(f"ratio like for like: hd95 {p['medpy_hd95_s'] / s['medpy_hd95_s']:.1f}x, NSD {p['sd_nsd_s'] / s['sd_nsd_s']:.1f}x")
PY
