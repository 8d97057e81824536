#!/usr/bin/env bash
# Side-by-side benchmark of the two networks: Swift (NeuralCore, release build) and PyTorch
# (the reference modules), 2 threads each, one after the other in the same run.
#
#   bash scripts/bench/networks.sh            # the method's defaults (slow: minutes)
#   bash scripts/bench/networks.sh --small    # a small configuration (seconds), to check the scripts
#
# Default shapes: ResNetLSTM width 64, blocks [2,2,2,2], hidden 128, 3x256x256, one sequence of
# 8 slices; UNetLite [16,32,64,128], batch 8 of 3x256x256. Each line: training step (forward,
# backward, Adam) or inference, ITER timed iterations after a warm-up; slices/s from the median
# and from the best iteration (the machine is shared: the best is the least disturbed), the
# ratio Swift/PyTorch of the best, GFLOP/s (median), peak RSS.
#
# ROUNDS (default 2) alternates the two sides that many times per row (Swift, PyTorch, Swift,
# PyTorch, ...), so that a disturbance of the shared machine, or its drift, does not fall on one
# side only: each side's best is its best iteration over all rounds, its median the median of
# its rounds' medians, its peak RSS the largest. ROUNDS=1 is one run of each.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-$(bash scripts/python-env.sh)}"
ITER="${ITER:-3}"
ROUNDS="${ROUNDS:-2}"
THREADS="${THREADS:-2}"
if [ "${1:-}" = "--small" ]; then
    RESNET=(--size 64 --width 8 --blocks 1,1,1,1 --hidden 16 --sequence 4)
    UNET=(--size 64 --widths 8,16,32 --batch 4)
else
    RESNET=(--size 256 --width 64 --blocks 2,2,2,2 --hidden 128 --sequence 8)
    UNET=(--size 256 --widths 16,32,64,128 --batch 8)
fi
swift build -c release --product bench >&2
BENCH="$(swift build -c release --show-bin-path)/bench"
out="$(mktemp)"
for net in resnet_lstm unet_lite; do
    if [ "$net" = resnet_lstm ]; then args=("${RESNET[@]}"); else args=("${UNET[@]}"); fi
    for mode in train infer; do
        for _ in $(seq "$ROUNDS"); do
            "$BENCH" networks --network "$net" --mode "$mode" --iterations "$ITER" --threads "$THREADS" "${args[@]}" | tee -a "$out"
            "$PYTHON" scripts/bench/networks.py --network "$net" --mode "$mode" --iterations "$ITER" --threads "$THREADS" "${args[@]}" | tee -a "$out"
        done
    done
done
"$PYTHON" - "$out" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
# One row per side, network and mode over its rounds: the best iteration of all, the median
# of the rounds' medians (and of their GFLOP/s and phases), the largest peak RSS.
rows = []
for key in sorted({(r["impl"], r["network"], r["mode"]) for r in runs}):
    group = [r for r in runs if (r["impl"], r["network"], r["mode"]) == key]
    row = dict(group[0])
    row["best_slices_per_s"] = max(r["best_slices_per_s"] for r in group)
    for field in ("slices_per_s", "gflops", "forward_s", "backward_s", "optimizer_s"):
        if field in row:
            row[field] = statistics.median(r[field] for r in group)
    row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in group)
    row["rounds"] = len(group)
    rows.append(row)
print()
print(f"{rows[0]['rounds']} round(s) per side, alternated; {rows[0]['iterations']} timed iterations each")
print()
print("| network | mode | slices | Swift slices/s (median / best) | PyTorch slices/s (median / best) | Swift / PyTorch (best) | Swift GFLOP/s | PyTorch GFLOP/s | Swift peak RSS MB | PyTorch peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for net in ("resnet_lstm", "unet_lite"):
    for mode in ("train", "infer"):
        s = next(r for r in rows if r["impl"] == "swift" and r["network"] == net and r["mode"] == mode)
        t = next(r for r in rows if r["impl"] == "torch" and r["network"] == net and r["mode"] == mode)
        print(f"| {net} | {mode} | {s['slices']} | {s['slices_per_s']:.2f} / {s['best_slices_per_s']:.2f} | "
              f"{t['slices_per_s']:.2f} / {t['best_slices_per_s']:.2f} | "
              f"{s['best_slices_per_s'] / t['best_slices_per_s']:.2f} | {s['gflops']:.1f} | {t['gflops']:.1f} | "
              f"{s['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} |")
print()
print("| network | training step | Swift forward s | Swift backward s | Swift Adam s | PyTorch forward s | PyTorch backward s | PyTorch Adam s |")
print("|---|---|---|---|---|---|---|---|")
for net in ("resnet_lstm", "unet_lite"):
    s = next(r for r in rows if r["impl"] == "swift" and r["network"] == net and r["mode"] == "train")
    t = next(r for r in rows if r["impl"] == "torch" and r["network"] == net and r["mode"] == "train")
    print(f"| {net} | {s['slices']} slices | {s['forward_s']:.3f} | {s['backward_s']:.3f} | {s['optimizer_s']:.3f} | "
          f"{t['forward_s']:.3f} | {t['backward_s']:.3f} | {t['optimizer_s']:.3f} |")
PY
rm -f "$out"
