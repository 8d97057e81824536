#!/usr/bin/env bash
# Data-parallel training on one machine: 2 ranks x 1 thread (mpirun -np 2 ... --distributed)
# against 1 process x 2 threads, the same global batch, alternated in one run.
#
#   bash scripts/bench/distributed.sh [REPEATS]        # default 2
#
# Each configuration trains for 5 and for 25 steps; (time at 25 − time at 5) / 20 is the time
# of a step without the start-up and data preparation. Networks and batches are the full
# preset's as it stood until 2026-12-06: the classifier at input 128 (width 16, blocks 1,1,1,1,
# hidden 32, sequences of 16, batch 2) and the refiner at input 128 (widths 16-128, batch 8;
# the preset's refiner now trains on crops of 128 at widths 8-64), on 16 phantom cases of
# 256 x 256 x 28 (seed 11) in ${WORK:-/tmp/ichct-bench-distributed}.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS=${1:-2}
WORK=${WORK:-/tmp/ichct-bench-distributed}
swift build -c release --product ichctl >/dev/null
ICHCTL=$(swift build -c release --show-bin-path 2>/dev/null)/ichctl
mkdir -p "$WORK"
cd "$WORK"
[ -f data/slices.csv ] || "$ICHCTL" synth --out data --cases 16 --size 256 --slices 28 --seed 11 >/dev/null
C="train classifier --data data --size 128 --width 16 --blocks 1,1,1,1 --hidden 32 --seq-len 16 --batch-size 2 --val-fraction 0.13 --seed 1 --quiet --force --epochs 1"
R="train refiner --data data --masks data/label --size 128 --widths 16,32,64,128 --batch-size 8 --val-fraction 0.13 --seed 1 --quiet --force --epochs 1 --negative-fraction 0.2"
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N); python3 -c "print($e - $s)"; }
declare -A total
for net in C R; do
    args=${!net}
    for ((rep = 1; rep <= REPEATS; rep++)); do
        for steps in 5 25; do
            one=$(seconds "$ICHCTL" $args --steps $steps --threads 2 --out one.safetensors)
            two=$(seconds mpirun --allow-run-as-root --oversubscribe -np 2 "$ICHCTL" $args --steps $steps --out two.safetensors --distributed)
            echo "$net repeat $rep, $steps steps: 1 process x 2 threads $one s, 2 ranks x 1 thread $two s"
            total[$net.one.$steps]=$(python3 -c "print(${total[$net.one.$steps]:-0} + $one)")
            total[$net.two.$steps]=$(python3 -c "print(${total[$net.two.$steps]:-0} + $two)")
        done
    done
    python3 - "$net" "$REPEATS" "${total[$net.one.5]}" "${total[$net.one.25]}" "${total[$net.two.5]}" "${total[$net.two.25]}" <<'PY'
import sys
net, n = {"C": "ResNet-LSTM", "R": "UNetLite"}[sys.argv[1]], int(sys.argv[2])
o5, o25, t5, t25 = (float(x) / n for x in sys.argv[3:])
one, two = (o25 - o5) / 20, (t25 - t5) / 20
print(f"{net}: step {one * 1000:.0f} ms (1 process x 2 threads), {two * 1000:.0f} ms (2 ranks x 1 thread); 2 ranks / 1 process = {two / one:.2f}")
PY
done
