"""Would small refiner components the network is sure of be worth keeping? A validation-only
diagnosis of issue 16's "no filter that deletes a real 0.5 mL bleed".

The pipeline drops every 3-D component (26-connected) under a minimum volume chosen on the
validation cases' slice and case labels (ComponentSizeSelection, criterion slicesAndCases). This
script scores, on the same validation cases and by the same criterion, the rule "drop a component
under V mL unless its peak refiner probability is at least P", for the pipeline's candidate
volumes and several P, and, as a diagnosis on the validation true masks (which the pipeline may
not use), how many drawn lesions under 5 mL each rule keeps.

    # the refiner's probabilities of the validation cases (release ichctl):
    for c in $(python -c "import json;print(' '.join(json.load(open('RUN/data/split.json'))['validation']))"); do
        ichctl segment --model RUN/refiner/refiner.safetensors RUN/data/cases/data/$c.nii.gz \
            --out OUT/$c.nii.gz --probabilities OUT/$c.prob.nii.gz
    done
    python scripts/diag/support_rule.py RUN OUT [--gate 0.5]

With --gate G, slices whose saved classifier probability (RUN/cams/probabilities.json, in the
networks' LAS slice order) is under G are emptied first: the gated row.
Needs numpy, scipy, nibabel.
"""
import argparse
import json
import os

import nibabel as nib
import numpy as np
from scipy import ndimage

CANDIDATES = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]
SUPPORT = [None, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]


def canonical(path):
    img = nib.as_closest_canonical(nib.load(path))
    return np.asarray(img.dataobj), img.affine


def youden(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    pos, neg = truth.sum(), (~truth).sum()
    sens = (pred & truth).sum() / pos if pos else 0.0
    spec = (~pred & ~truth).sum() / neg if neg else 0.0
    return sens + spec - 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run")
    p.add_argument("probs")
    p.add_argument("--gate", type=float)
    a = p.parse_args()
    names = json.load(open(os.path.join(a.run, "data", "split.json")))["validation"]
    probabilities = json.load(open(os.path.join(a.run, "cams", "probabilities.json"))) if a.gate is not None else {}
    structure = np.ones((3, 3, 3), bool)
    cases = []
    for name in names:
        prob, affine = canonical(os.path.join(a.probs, f"{name}.prob.nii.gz"))
        truth, _ = canonical(os.path.join(a.run, "data", "cases", "label", f"{name}.nii.gz"))
        lesions_path = os.path.join(a.run, "data", "cases", "lesions", f"{name}.nii.gz")
        lesions = canonical(lesions_path)[0] if os.path.exists(lesions_path) else None
        ml = abs(np.linalg.det(affine[:3, :3])) / 1000
        # the written mask: the probabilities at 0.5 inside the intracranial mask
        mask = canonical(os.path.join(a.probs, f"{name}.nii.gz"))[0] > 0
        if a.gate is not None:
            # RAS canonical and the networks' LAS share the axial axis and its direction
            keep = np.asarray(probabilities[name]) >= a.gate
            mask &= keep[None, None, :]
        labels, n = ndimage.label(mask, structure)
        idx = np.arange(1, n + 1)
        volume = ndimage.sum(mask, labels, idx) * ml if n else np.zeros(0)
        peak = ndimage.maximum(prob, labels, idx) if n else np.zeros(0)
        # each component's slices
        slices = [np.unique(np.nonzero(labels == i)[2]) for i in idx]
        small = []
        if lesions is not None:
            for k in np.unique(lesions[lesions > 0]):
                voxels = lesions == k
                if voxels.sum() * ml < 5:
                    small.append((voxels, np.unique(labels[voxels & (labels > 0)])))
        cases.append(dict(name=name, z=mask.shape[2], slice_truth=(truth > 0).any(axis=(0, 1)), volume=volume, peak=peak,
                          slices=slices, small=small, positive=(truth > 0).any()))
    rows = []
    for v in CANDIDATES:
        for s in SUPPORT:
            st, sp, ct, cp, found, of = [], [], [], [], 0, 0
            for c in cases:
                kept = [(vol >= v) or (s is not None and pk >= s) for vol, pk in zip(c["volume"], c["peak"])]
                on = np.zeros(c["z"], bool)
                for i, k in enumerate(kept):
                    if k:
                        on[c["slices"][i]] = True
                st += list(c["slice_truth"]); sp += list(on)
                ct.append(c["positive"]); cp.append(on.any())
                for voxels, comps in c["small"]:
                    of += 1
                    if any(kept[i - 1] for i in comps):
                        found += 1
            js, jc = youden(sp, st), youden(cp, ct)
            rows.append((v, s, js, jc, js + jc, found, of))
    print(f"{len(cases)} validation cases{'' if a.gate is None else f', gated at {a.gate}'}")
    print(f"{'min mL':>7} {'support':>8} {'J slices':>9} {'J cases':>8} {'sum':>7}   small lesions touched (diagnosis)")
    for v, s, js, jc, total, found, of in rows:
        print(f"{v:7.2f} {('-' if s is None else f'{s:.2f}'):>8} {js:9.3f} {jc:8.3f} {total:7.3f}   {found}/{of}")
    best = max(r[4] for r in rows)
    within = [r for r in rows if r[4] >= best - 0.01]
    print(f"best sum {best:.3f}; within 0.01: " + ", ".join(f"({r[0]}, {r[1]})" for r in within))


if __name__ == "__main__":
    main()
