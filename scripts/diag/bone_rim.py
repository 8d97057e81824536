#!/usr/bin/env python3
"""Where a method's predicted voxels lie relative to bone, per case and per 3-D component.

A diagnosis for issue 16's point 4 (false blood at the inner table): for every case of a list,
the predicted mask's voxels by in-plane distance to the nearest voxel at or above --bone-hu
(the scan's own axial slice; distances in mm from the file's pixel spacing), and each
26-connected predicted component's largest such distance (its "core depth": a component whose
core depth is at most r lies wholly within r mm of bone). With --truth, components are split
into those touching a true voxel and those that do not (a diagnosis: on validation cases it is
called one, and no choice is made from it).

    python scripts/diag/bone_rim.py --scans DATA/data --pred MASKS --cases a,b,c [--truth DATA/label]

Files are NAME.nii.gz in each folder. The slices are taken along the file's third axis (the
phantom and dcm2niix store axial slices there).
"""
import argparse
import json
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def core_depths(pred, scan, spacing, bone_hu):
    """In-plane distance (mm) to the nearest bone voxel, for every voxel, slice by slice."""
    dist = np.full(pred.shape, np.inf)
    for k in range(pred.shape[2]):
        bone = scan[:, :, k] >= bone_hu
        if bone.any():
            dist[:, :, k] = ndimage.distance_transform_edt(~bone, sampling=spacing[:2])
    return dist


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scans", required=True)
    ap.add_argument("--pred", required=True)
    ap.add_argument("--truth")
    ap.add_argument("--cases", required=True, help="comma-separated case names, or @FILE with one per line")
    ap.add_argument("--bone-hu", type=float, default=200)
    ap.add_argument("--radii", default="1,1.5,2,3,4", help="rim widths (mm) to count components within")
    args = ap.parse_args()
    names = open(args.cases[1:]).read().split() if args.cases.startswith("@") else args.cases.split(",")
    radii = [float(r) for r in args.radii.split(",")]
    out = []
    for name in names:
        img = nib.load(f"{args.scans}/{name}.nii.gz")
        scan = np.asarray(img.dataobj, dtype=np.float32)
        spacing = img.header.get_zooms()[:3]
        pred = np.asarray(nib.load(f"{args.pred}/{name}.nii.gz").dataobj) > 0
        truth = np.asarray(nib.load(f"{args.truth}/{name}.nii.gz").dataobj) > 0 if args.truth else None
        ml = float(np.prod(spacing)) / 1000
        dist = core_depths(pred, scan, spacing, args.bone_hu)
        labels, n = ndimage.label(pred, structure=np.ones((3, 3, 3)))
        comps = []
        for c in range(1, n + 1):
            sel = labels == c
            comps.append({"ml": float(sel.sum() * ml), "core_mm": float(dist[sel].max()),
                          "touches_truth": bool(truth[sel].any()) if truth is not None else None})
        row = {"case": name, "positive": bool(truth.any()) if truth is not None else None,
               "pred_ml": float(pred.sum() * ml), "components": len(comps)}
        for r in radii:
            rim = [c for c in comps if c["core_mm"] <= r]
            row[f"rim_ml_{r:g}"] = sum(c["ml"] for c in rim)
            if truth is not None:
                row[f"rim_true_ml_{r:g}"] = sum(c["ml"] for c in rim if c["touches_truth"])
        if truth is not None:
            row["truth_ml"] = float(truth.sum() * ml)
            row["fp_ml"] = float((pred & ~truth).sum() * ml)
        out.append(row)
        print(json.dumps(row), flush=True)
    neg = [r for r in out if r["positive"] is False]
    if neg:
        print(f"negative cases: {len(neg)}; predicted mL per negative {np.mean([r['pred_ml'] for r in neg]):.2f}; "
              + "; ".join(f"within {r:g} mm of bone {np.mean([x[f'rim_ml_{r:g}'] for x in neg]):.2f}" for r in radii),
              file=sys.stderr)
    pos = [r for r in out if r["positive"]]
    if pos:
        print(f"positive cases: {len(pos)}; predicted mL {np.mean([r['pred_ml'] for r in pos]):.2f}, of it in components touching truth "
              + "; ".join(f"and within {r:g} mm {np.mean([x[f'rim_true_ml_{r:g}'] for x in pos]):.2f}" for r in radii),
              file=sys.stderr)


if __name__ == "__main__":
    main()
