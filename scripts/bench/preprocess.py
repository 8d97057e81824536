"""Python peer of `bench preprocess`: ichnets.preprocess_volume and the way back with torch.

    python scripts/bench/preprocess.py --slices 40 --height 512 --width 512 --size 256

Prints one JSON object. torch uses 2 threads (the project's machine has two cores).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))  # scripts/reference/ichnets.py
from ichnets import preprocess_volume, to_slices  # noqa: E402


def median(fn, repeats):
    times = []
    for _ in range(max(repeats, 1)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--slices", type=int, default=40)
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    vol = rng.uniform(-1000, 1500, size=(a.width, a.height, a.slices)).astype(np.float32)
    maps = torch.full((a.slices, 1, a.size, a.size), 0.5)
    pre = median(lambda: preprocess_volume(vol, a.size), a.repeats)
    back = median(lambda: to_slices(maps, a.height, a.width), a.repeats)
    print(json.dumps({"slices": a.slices, "height": a.height, "width": a.width, "size": a.size, "repeats": a.repeats,
                      "preprocessSeconds": pre, "resizeBackSeconds": back, "torch": torch.__version__}, sort_keys=True))


if __name__ == "__main__":
    main()
