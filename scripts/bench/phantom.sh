#!/usr/bin/env bash
# Phantom benchmark: generation time of Phantom.generate and the threshold baseline's Dice on
# the default phantom set (no Python peer: the phantom is the project's own).
#
#   bash scripts/bench/phantom.sh [CASES] [SIZE] [PRESET]   # defaults 20 cases at 512, seed 2022, v1
#
# Prints the summary (mean Dice of the 50..90 HU threshold inside the true intracranial region,
# of a hand-made context baseline, false positives per negative case, seconds per case) and
# keeps the per-case JSON in ${OUT:-/tmp/phantom-bench.json}.
set -euo pipefail
cd "$(dirname "$0")/../.."
CASES=${1:-20}
SIZE=${2:-512}
PRESET=${3:-v1}
swift build -c release --product bench >/dev/null
BENCH=$(swift build -c release --show-bin-path 2>/dev/null)/bench
"$BENCH" phantom --preset "$PRESET" --cases "$CASES" --seed 2022 --size "$SIZE" --context --computed-mask > "${OUT:-/tmp/phantom-bench.json}"
OUT=${OUT:-/tmp/phantom-bench.json} python3 - <<'PY'
import json
import os
r = json.load(open(os.environ["OUT"]))
for k in ["cases", "positiveCases", "thresholdDiceMeanOverPositive", "thresholdDiceMeanAllCases",
          "computedMaskDiceMeanOverPositive", "computedMaskKeepsHemorrhageWorst", "contextDiceMeanOverPositive", "falsePositiveVoxelsPerNegativeCase", "secondsPerCaseMean",
          "secondsPer512x512x32"]:
    print(f"{k:40s} {r.get(k)}")
PY
