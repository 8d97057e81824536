"""PyTorch peer of `bench layers`: forward + backward time of the same layers and shapes.

    PYTHON=$(bash scripts/python-env.sh)
    $PYTHON scripts/bench/layers.py --threads 2
Prints one JSON object {"threads": n, "ms": {case: median milliseconds}}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=5)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)
results = {}


def rand(*shape, grad=True):
    return (torch.rand(*shape) * 2 - 1).requires_grad_(grad)


def bench(name, fn):
    seed = torch.rand_like(fn())

    def step():
        fn().backward(seed)
    step()
    samples = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        step()
        samples.append((time.perf_counter() - t0) * 1e3)
    results[name] = sorted(samples)[len(samples) // 2]


x1, w1 = rand(16, 3, 128, 128, grad=False), rand(64, 3, 7, 7)
bench("conv7x7s2_16x3x128_to64", lambda: F.conv2d(x1, w1, stride=2, padding=3))
# the demo classifier's stem: 32 slices at 128, width 16
x1d, w1d = rand(32, 3, 128, 128, grad=False), rand(16, 3, 7, 7)
bench("conv7x7s2_32x3x128_to16", lambda: F.conv2d(x1d, w1d, stride=2, padding=3))
x2, w2 = rand(16, 64, 32, 32), rand(64, 64, 3, 3)
bench("conv3x3_16x64x32", lambda: F.conv2d(x2, w2, padding=1))
x3, w3 = rand(16, 256, 8, 8), rand(256, 256, 3, 3)
bench("conv3x3_16x256x8", lambda: F.conv2d(x3, w3, padding=1))
x4, w4 = rand(8, 16, 128, 128), rand(16, 16, 3, 3)
bench("conv3x3_8x16x128", lambda: F.conv2d(x4, w4, padding=1))
w5 = rand(128, 64, 1, 1)
bench("conv1x1s2_16x64x32_to128", lambda: F.conv2d(x2, w5, stride=2))
bn = nn.BatchNorm2d(16)
bench("batchnorm_8x16x128", lambda: bn(x4))
bench("relu_8x16x128", lambda: F.relu(x4))
bench("maxpool3x3s2_16x64x32", lambda: F.max_pool2d(x2, 3, 2, 1))
bench("bilinear_x2_8x16x128", lambda: F.interpolate(x4, scale_factor=2, mode="bilinear", align_corners=False))
bench("add_8x16x128", lambda: x4 + x4)
lstm = nn.LSTM(512, 128, batch_first=True, bidirectional=True)
seq = rand(2, 16, 512)
bench("lstm_bi_2x16x512_h128", lambda: lstm(seq)[0])


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


widths = [16, 32, 64, 128]
down = [block(3 if i == 0 else widths[i - 1], widths[i]) for i in range(3)]
bottom = block(widths[2], widths[3])
up = [block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(3))]
head = nn.Conv2d(widths[0], 1, 1)
image = torch.rand(8, 3, 128, 128)
mask = (torch.arange(8 * 128 * 128) // 97 % 2).float().reshape(8, 1, 128, 128)


def unet_step():
    x, skips = image, []
    for b in down:
        x = b(x)
        skips.append(x)
        x = F.max_pool2d(x, 2)
    x = bottom(x)
    for b in up:
        x = b(torch.cat([F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), skips.pop()], 1))
    logits = head(x)
    p = torch.sigmoid(logits).flatten(1)
    m = mask.flatten(1)
    dice = 1 - ((2 * (p * m).sum(1) + 1) / (p.sum(1) + m.sum(1) + 1)).mean()
    return F.binary_cross_entropy_with_logits(logits, mask) + dice


bench("unetlite_step_8x3x128", unet_step)
print(json.dumps({"threads": a.threads, "ms": results}, sort_keys=True))
