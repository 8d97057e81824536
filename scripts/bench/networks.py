"""PyTorch peer of `bench networks`: a training step (train mode, BCE with logits, backward,
Adam) or an inference pass (eval, no_grad) of the reference ResNetLSTM or UNetLite.

    python scripts/bench/networks.py --network resnet_lstm --mode train [--size 256 ...]

Same options, shapes and output fields as the Swift side (one JSON object on stdout). Forward
FLOPs come from torch.utils.flop_counter plus the LSTM's, which it does not count (a training step counted as 3x the forward, as the
Swift side does). Peak memory is the process's max RSS, which includes torch itself.
The networks are imported from the project's reference file, scripts/reference/ichnets.py
(--reference names another copy).
"""
import argparse
import importlib.util
import json
import resource
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "ichnets.py"  # scripts/reference/ichnets.py


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--network", default="resnet_lstm", choices=["resnet_lstm", "unet_lite"])
    ap.add_argument("--mode", default="train", choices=["train", "infer"])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--blocks", default="2,2,2,2")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--sequence", type=int, default=8)
    ap.add_argument("--widths", default="16,32,64,128")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference", default=str(REFERENCE))
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("ichnets", a.reference)
    ich = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ich)
    torch.set_num_threads(a.threads)
    torch.manual_seed(2026)
    ints = lambda s: [int(v) for v in s.split(",")]
    if a.network == "resnet_lstm":
        model = ich.build(ich.classifier_config(a.size, a.width, ints(a.blocks), a.hidden))
        x = torch.rand(1, a.sequence, 3, a.size, a.size)
        y = (torch.arange(a.sequence) % 2).float()[None]
        slices = a.sequence
    else:
        model = ich.build(ich.refiner_config(a.size, ints(a.widths)))
        x = torch.rand(a.batch, 3, a.size, a.size)
        y = (torch.rand(a.batch, 1, a.size, a.size) < 0.1).float()
        slices = a.batch
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=False)
    model.train(a.mode == "train")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(x)
    flops = counter.get_total_flops()
    if a.network == "resnet_lstm":  # the flop counter does not see inside the fused LSTM: add 2*4H*(in+H) per step and direction
        flops += slices * 2 * 2 * 4 * a.hidden * (model.feature_channels + a.hidden)
    model.train(a.mode == "train")

    phases = [[], [], []]  # forward (with loss), backward, optimizer

    def step(record):
        if a.mode == "train":
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(x), y)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            if record:
                phases[0].append(t1 - t0)
                phases[1].append(t2 - t1)
                phases[2].append(t3 - t2)
        else:
            with torch.no_grad():
                model(x)

    step(False)
    times = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        step(True)
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    work = (3 if a.mode == "train" else 1) * flops
    med = lambda v: sorted(v)[len(v) // 2]
    breakdown = {"forward_s": med(phases[0]), "backward_s": med(phases[1]), "optimizer_s": med(phases[2])} if a.mode == "train" else {}
    print(json.dumps({"impl": "torch", "network": a.network, "mode": a.mode, "size": a.size, "slices": slices,
                      "threads": a.threads, "iterations": a.iterations, "seconds": median, "best_seconds": times[0], "best_slices_per_s": slices / times[0],
                      "slices_per_s": slices / median, "forward_gflop": flops / 1e9, "gflops": work / median / 1e9,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      **breakdown, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
