#!/usr/bin/env python3
"""Scores a row's masks on validation cases the way a weakly supervised choice may read them.

For each folder of predicted masks (NAME.nii.gz, e.g. from `ichctl segment --run RUN --row ROW
--list FILE --out-dir DIR`), against the cases' labels:

- from the slice and case labels only (what a choice of the weakly supervised pipeline may
  read): mL called blood per negative case and negative cases left clean; positive cases with
  any voxel; slice sensitivity, specificity and Youden's J over every slice (a slice is called
  positive when it holds a predicted voxel, labelled positive when its true mask does);
- Dice against the cases' pseudo-masks (--pseudo), over positive cases: agreement with the
  targets the refiner learnt from, also legitimate;
- Dice against the true masks over positive cases, reported as a **diagnosis** only.

Every volume is brought to RAS with nibabel (`as_closest_canonical`), so masks stored in the
files' own voxel order and pseudo-masks in the pipeline's order compare voxel by voxel; the
slices are the third (superior) axis.

    python scripts/diag/validation_rows.py --label SET/label --pseudo RUN/pseudo-masks \\
        --cases @names.txt --rows A=DIR_A B=DIR_B
"""
import argparse
import json

import nibabel as nib
import numpy as np


def canonical(path):
    img = nib.as_closest_canonical(nib.load(path))
    return np.asarray(img.dataobj) > 0, img.header.get_zooms()[:3]


def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * (a & b).sum() / s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", required=True)
    ap.add_argument("--pseudo")
    ap.add_argument("--cases", required=True, help="comma-separated names, or @FILE with one per line")
    ap.add_argument("--rows", nargs="+", required=True, help="NAME=DIR of predicted masks")
    args = ap.parse_args()
    names = open(args.cases[1:]).read().split() if args.cases.startswith("@") else args.cases.split(",")
    truth = {n: canonical(f"{args.label}/{n}.nii.gz") for n in names}
    pseudo = {n: canonical(f"{args.pseudo}/{n}.nii.gz")[0] for n in names} if args.pseudo else {}
    per_case = {}
    for row in args.rows:
        name, folder = row.split("=", 1)
        per_case[name] = {}
        neg_ml, neg_clean, pos_found, tp = [], 0, 0, 0
        fp = fn = tn = 0
        d_pseudo, d_truth = [], []
        for n in names:
            t, zooms = truth[n]
            p, _ = canonical(f"{folder}/{n}.nii.gz")
            assert p.shape == t.shape, (n, p.shape, t.shape)
            ml = float(np.prod(zooms)) / 1000
            ps, ts = p.any(axis=(0, 1)), t.any(axis=(0, 1))
            tp += int((ps & ts).sum()); fp += int((ps & ~ts).sum()); fn += int((~ps & ts).sum()); tn += int((~ps & ~ts).sum())
            if t.any():
                pos_found += int(p.any())
                d_truth.append(dice(p, t))
                if n in pseudo and pseudo[n].any():
                    d_pseudo.append(dice(p, pseudo[n]))
                    per_case[name][n] = ("pseudo", d_pseudo[-1])
            else:
                neg_ml.append(float(p.sum() * ml))
                neg_clean += int(not p.any())
                per_case[name][n] = ("negative_ml", neg_ml[-1])
        sens, spec = tp / max(tp + fn, 1), tn / max(tn + fp, 1)
        out = {"row": name, "negatives": len(neg_ml), "mL_per_negative": float(np.mean(neg_ml)) if neg_ml else None,
               "negatives_clean": neg_clean, "positives": len(d_truth), "positives_found": pos_found,
               "slice_sensitivity": sens, "slice_specificity": spec, "slice_J": sens + spec - 1,
               "dice_vs_pseudo": float(np.mean(d_pseudo)) if d_pseudo else None, "pseudo_cases": len(d_pseudo),
               "diagnosis_dice_vs_truth": float(np.mean(d_truth)) if d_truth else None}
        print(json.dumps(out), flush=True)
    # paired differences of every row against the first, with a 95% percentile bootstrap over cases
    rng = np.random.default_rng(20261205)
    first = args.rows[0].split("=", 1)[0]
    for row in args.rows[1:]:
        name = row.split("=", 1)[0]
        for kind in ("pseudo", "negative_ml"):
            cases = [n for n in names if per_case[first].get(n, ("",))[0] == kind]
            if not cases:
                continue
            d = np.array([per_case[name][n][1] - per_case[first][n][1] for n in cases])
            boot = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(10000)]
            print(json.dumps({"pair": f"{name} - {first}", "measure": "dice_vs_pseudo" if kind == "pseudo" else "mL_per_negative",
                              "cases": len(cases), "mean": float(d.mean()),
                              "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]}), flush=True)


if __name__ == "__main__":
    main()
