#!/usr/bin/env python3
"""Python peer of `bench metrics`: MedPy's hd95 and surface-distance's NSD on the same
512 x 512 x 40 pair at 0.42 x 0.42 x 5 mm (integer ellipsoid tests, as BenchMetrics.swift).

    $PYTHON scripts/bench/metrics.py [--repeats 3] [--tolerance 1.0]

Arrays are built in (x, y, z) index order with spacing (sx, sy, sz). Prints one JSON object:
seconds (best of the repeats) and values. surface-distance needs np.Inf (gone in NumPy 2).
"""
import argparse
import json
import time

import numpy as np

if not hasattr(np, "Inf"):
    np.Inf = np.inf

from medpy.metric import binary as mp
import surface_distance as sd

SHAPE = (512, 512, 40)
SPACING = (0.42, 0.42, 5.0)


def mask(ellipsoids):
    m = np.zeros(SHAPE, bool)
    for (cx, cy, cz), (rx, ry, rz) in ellipsoids:
        i, j, k = np.ogrid[max(0, cx - rx):min(SHAPE[0], cx + rx + 1),
                           max(0, cy - ry):min(SHAPE[1], cy + ry + 1),
                           max(0, cz - rz):min(SHAPE[2], cz + rz + 1)]
        dx, dy, dz = i - cx, j - cy, k - cz
        inside = dx * dx * ry * ry * rz * rz + dy * dy * rx * rx * rz * rz + dz * dz * rx * rx * ry * ry <= (rx * ry * rz) ** 2
        m[max(0, cx - rx):min(SHAPE[0], cx + rx + 1), max(0, cy - ry):min(SHAPE[1], cy + ry + 1),
          max(0, cz - rz):min(SHAPE[2], cz + rz + 1)] |= inside
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tolerance", type=float, default=1.0)
    a = ap.parse_args()
    truth = mask([((230, 260, 20), (70, 50, 9)), ((330, 200, 24), (30, 40, 6))])
    pred = mask([((236, 255, 21), (66, 55, 8)), ((325, 205, 23), (34, 36, 6)), ((150, 330, 12), (8, 6, 2))])
    best_hd, best_nsd = float("inf"), float("inf")
    for _ in range(a.repeats):
        t = time.perf_counter()
        hd95 = mp.hd95(pred, truth, voxelspacing=SPACING)
        best_hd = min(best_hd, time.perf_counter() - t)
        t = time.perf_counter()
        nsd = sd.compute_surface_dice_at_tolerance(sd.compute_surface_distances(truth, pred, SPACING), a.tolerance)
        best_nsd = min(best_nsd, time.perf_counter() - t)
    print(json.dumps({"voxels_pred": int(pred.sum()), "voxels_truth": int(truth.sum()),
                      "medpy_hd95_s": best_hd, "sd_nsd_s": best_nsd,
                      "medpy_hd95": float(hd95), "sd_nsd": float(nsd)}))


if __name__ == "__main__":
    main()
