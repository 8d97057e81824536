#!/usr/bin/env python3
"""Python peer of `bench nifti`: nibabel reads a NIfTI file to float32 N times.

    python scripts/bench/nifti.py FILE [--repeats N]        # one JSON line on stdout
    python scripts/bench/nifti.py --make FILE               # writes the 512x512x40 int16 test file

Each timed read is `nib.load(FILE).get_fdata(dtype=np.float32)` (a fresh image, no cache),
after one untimed warm-up read.
"""
import argparse
import os
import sys

import nibabel as nib
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_timing import time_reads  # noqa: E402


def make(path):
    """A CT-like 512 x 512 x 40 int16 head (air, skull, brain, noise), slope 1, inter -1024."""
    rng = np.random.default_rng(42)
    x, y = np.meshgrid(np.arange(512) - 255.5, np.arange(512) - 255.5, indexing="ij")
    hu = np.full((512, 512, 40), -1000.0, dtype=np.float32)
    for k in range(40):
        s = 1.0 - abs(k - 20) / 40.0
        r = np.sqrt((x / (200 * s)) ** 2 + (y / (170 * s)) ** 2)
        sl = hu[:, :, k]
        sl[r < 1.0] = 1000.0
        sl[r < 0.93] = 35.0
    hu += rng.normal(0, 20, hu.shape).astype(np.float32) * (hu > -900)
    raw = np.clip(np.rint(hu + 1024), 0, 4095).astype(np.int16)
    img = nib.Nifti1Image(raw, np.diag([0.42, 0.42, 5.0, 1.0]))
    img.set_data_dtype(np.int16)
    img.header.set_slope_inter(1, -1024)
    nib.save(img, path)  # nibabel's default gzip level


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--make", action="store_true")
    a = ap.parse_args()
    if a.make:
        make(a.file)
        return
    # ravel in Fortran order as before: the checksum reads the same voxel
    time_reads("nifti", "nibabel", lambda: nib.load(a.file).get_fdata(dtype=np.float32).ravel(order="F"), a.repeats)

if __name__ == "__main__":
    main()
