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
                                    [--distance in-plane|slab] [--skull all|largest]

--distance slab measures as `BoneRimFiltered.Distance.slab` does: each slice stands for the slab
of its spacing t, so bone |dz| slices away lies max(0, |dz| - 1) * t away along z (the bone of
the next slice touches). --skull largest takes only the largest 26-connected bone component, as
`BoneRimFiltered` does (default all: every voxel at or above --bone-hu). With --truth, a last
summary line counts over all cases the components lying wholly within each rim, touching truth
or not, and the false ones' largest in-plane distance (5th, 50th, 95th percentile).

Files are NAME.nii.gz in each folder. The slices are taken along the file's third axis (the
phantom and dcm2niix store axial slices there).
"""
import argparse
import json
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def bone_mask(scan, bone_hu, skull):
    """Voxels at or above bone_hu; with skull == "largest", only their largest 26-connected component."""
    bone = scan >= bone_hu
    if skull == "largest" and bone.any():
        labels, _ = ndimage.label(bone, structure=np.ones((3, 3, 3)))
        bone = labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1
    return bone


def core_depths(pred, bone, spacing):
    """In-plane distance (mm) to the nearest bone voxel, for every voxel, slice by slice."""
    dist = np.full(pred.shape, np.inf)
    for k in range(pred.shape[2]):
        if bone[:, :, k].any():
            dist[:, :, k] = ndimage.distance_transform_edt(~bone[:, :, k], sampling=spacing[:2])
    return dist


def slab_depths(bone, spacing):
    """Distance (mm) between slabs: the bone widened by one slice each way, then the exact 3-D
    transform with the z spacing (bone |dz| slices away lies max(0, |dz| - 1) * t along z)."""
    if not bone.any():
        return np.full(bone.shape, np.inf)
    widened = bone.copy()
    widened[:, :, 1:] |= bone[:, :, :-1]
    widened[:, :, :-1] |= bone[:, :, 1:]
    return ndimage.distance_transform_edt(~widened, sampling=spacing[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scans", required=True)
    ap.add_argument("--pred", required=True)
    ap.add_argument("--truth")
    ap.add_argument("--cases", required=True, help="comma-separated case names, or @FILE with one per line")
    ap.add_argument("--bone-hu", type=float, default=200)
    ap.add_argument("--radii", default="1,1.5,2,3,4", help="rim widths (mm) to count components within")
    ap.add_argument("--distance", choices=["in-plane", "slab"], default="in-plane")
    ap.add_argument("--skull", choices=["all", "largest"], default="all")
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
        bone = bone_mask(scan, args.bone_hu, args.skull)
        inplane = core_depths(pred, bone, spacing)
        dist = slab_depths(bone, spacing) if args.distance == "slab" else inplane
        labels, n = ndimage.label(pred, structure=np.ones((3, 3, 3)))
        comps = []
        for c in range(1, n + 1):
            sel = labels == c
            comps.append({"ml": float(sel.sum() * ml), "core_mm": float(dist[sel].max()),
                          "core_inplane_mm": float(inplane[sel].max()),
                          "touches_truth": bool(truth[sel].any()) if truth is not None else None})
        row = {"case": name, "positive": bool(truth.any()) if truth is not None else None,
               "pred_ml": float(pred.sum() * ml), "components": len(comps), "component_list": comps}
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
    if truth is not None:
        for r in radii:
            rim = [(c, x["positive"]) for x in out for c in x["component_list"] if c["core_mm"] <= r]
            true = [c for c, _ in rim if c["touches_truth"]]
            false = [c for c, _ in rim if not c["touches_truth"]]
            on_neg = sum(c["ml"] for c, positive in rim if not positive)
            spread = np.percentile([c["core_inplane_mm"] for c in false], [5, 50, 95]) if false else []
            print(f"wholly within {r:g} mm ({args.distance}): touching truth {len(true)} ({sum(c['ml'] for c in true):.2f} mL), "
                  f"false {len(false)} ({sum(c['ml'] for c in false):.2f} mL, {on_neg:.2f} mL on negative cases); "
                  f"false ones' largest in-plane distance, 5/50/95th percentile: {', '.join(f'{v:.1f}' for v in spread)} mm",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
