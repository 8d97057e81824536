"""Slice- and case-level detection of a refiner's masks per minimum component volume (diagnosis).

Run: PYTHON=$(bash scripts/python-env.sh); $PYTHON scripts/diag/component_levels.py RUN MASKS {validation|test}
MASKS holds NAME.nii.gz masks of RUN's cases (e.g. `ichctl segment` of each validation case with
RUN/refiner/refiner.safetensors). For every candidate volume, 26-connected components below it
are dropped and Youden's J is printed over the pooled slices and over the cases, with the case
counts: the numbers behind `componentCriterion` in Docs/pipeline.md. Independent of the Swift
code (scipy.ndimage.label), so it also cross-checks components.json's slice-level J.
"""
import json, sys
import numpy as np, nibabel as nib
from scipy import ndimage

run, folder, which = sys.argv[1], sys.argv[2], sys.argv[3]
cases = json.load(open(f"{run}/data/split.json"))[which]
rows = []
for c in cases:
    m = nib.load(f"{folder}/{c}.nii.gz")
    pred = np.asarray(m.dataobj) > 0
    voxel_mm3 = float(np.prod(m.header.get_zooms()))
    positive = (np.asarray(nib.load(f"{run}/data/cases/label/{c}.nii.gz").dataobj) > 0).any(axis=(0, 1))
    lab, n = ndimage.label(pred, np.ones((3, 3, 3)))
    sizes = np.asarray(ndimage.sum(pred, lab, range(1, n + 1)))   # voxels
    rows.append((positive, lab, sizes, voxel_mm3))
for volume in [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]:
    tp = pos = tn = neg = ctp = cpos = ctn = cneg = 0
    for positive, lab, sizes, voxel_mm3 in rows:
        needed = max(1, int(np.ceil(volume * 1000 / voxel_mm3)))   # as ComponentFiltered.minimumVoxels
        kept = np.isin(lab, 1 + np.flatnonzero(sizes >= needed))
        hit = kept.any(axis=(0, 1))
        tp += (hit & positive).sum(); pos += positive.sum(); tn += (~hit & ~positive).sum(); neg += (~positive).sum()
        if positive.any(): cpos += 1; ctp += hit.any()
        else: cneg += 1; ctn += not hit.any()
    rate = lambda a, b: a / b if b else 0.0   # a missing class counts 0, as in the Swift scores
    print(f"{volume:5} mL  slice J {rate(tp, pos) + rate(tn, neg) - 1:.3f}  case J {rate(ctp, cpos) + rate(ctn, cneg) - 1:.3f}"
          f"  positive cases found {ctp}/{cpos}  negative cases clean {ctn}/{cneg}")
