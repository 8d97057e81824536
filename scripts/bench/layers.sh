#!/usr/bin/env bash
# NeuralCore layers vs PyTorch, side by side in one run: forward + backward median times and
# the ratio torch_ms / swift_ms (> 1: NeuralCore faster). Usage: scripts/bench/layers.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS="${1:-2}"
PY="${PYTHON:-$(bash scripts/python-env.sh)}"
swift build -c release --product bench >/dev/null
SWIFT_JSON="$(.build/release/bench layers --threads "$THREADS")"
TORCH_JSON="$("$PY" scripts/bench/layers.py --threads "$THREADS")"
"$PY" - "$SWIFT_JSON" "$TORCH_JSON" <<'PYEOF'
import json, sys
s, t = json.loads(sys.argv[1])["ms"], json.loads(sys.argv[2])["ms"]
print(f"{'case':32s} {'swift ms':>10s} {'torch ms':>10s} {'torch/swift':>12s}")
for k in sorted(s):
    print(f"{k:32s} {s[k]:10.2f} {t[k]:10.2f} {t[k] / s[k]:12.2f}")
PYEOF
