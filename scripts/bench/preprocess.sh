#!/usr/bin/env bash
# Preprocessing side by side: Swift (release) and PyTorch (2 threads) in one run, with ratios.
#   bash scripts/bench/preprocess.sh [--slices 40 --height 512 --width 512 --size 256]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-$(bash scripts/python-env.sh)}"
swift build -c release --product bench >&2
swift_json=$("$(swift build -c release --show-bin-path)/bench" preprocess "$@")
torch_json=$("$PYTHON" scripts/bench/preprocess.py "$@")
echo "swift: $swift_json"
echo "torch: $torch_json"
"$PYTHON" - "$swift_json" "$torch_json" <<'PY'
import json, sys
s, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for k in ("preprocessSeconds", "resizeBackSeconds"):
    print(f"{k}: swift {s[k]:.4f} s, torch {t[k]:.4f} s, torch/swift = {t[k] / s[k]:.2f}")
print(f"intracranialMaskSeconds: swift {s['intracranialMaskSeconds']:.3f} s (no peer)")
PY
