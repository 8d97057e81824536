"""How much of a slice classifier's AUC is the slice's position in the head.

Run: PYTHON=$(bash scripts/python-env.sh)
     ichctl classify --run RUN --list DATA/list.txt --out-dir SCORES      # or --model M
     $PYTHON scripts/diag/classifier_position.py DATA SCORES

DATA is an INSTANCE-layout folder (DATA/data/NAME.nii.gz, DATA/label/NAME.nii.gz) of the cases
to look at (validation cases only, when a choice is to be made from it); SCORES the folder of
`ichctl classify --list ... --out-dir` records (NAME.json, logits in stored slice order).
Prints: the slice AUC; the AUC of two label-free priors, -|z - 1/2| (z the slice's height in
the stack, 0 at the feet) and the brain area (15..60 HU); the classifier's AUC within five bands
of |z - 1/2| and within deciles of brain area (pairs compared only inside a band, weighted by
their number), i.e. what it knows beyond position; the AUC of positive slices by the blood they
hold against all negative slices; and the mean probability by height, for negative slices of
negative cases and for positive slices.
"""
import json, sys
from pathlib import Path
import numpy as np, nibabel as nib
from sklearn.metrics import roc_auc_score

data, scores = Path(sys.argv[1]), Path(sys.argv[2])
S, L, Z, A, ML, NEG = [], [], [], [], [], []
for f in sorted((data / "label").glob("*.nii.gz")):
    name = f.name[:-7]
    logits = np.array(json.load(open(scores / f"{name}.json"))["logits"], dtype=float)
    lab_img = nib.load(f); lab = np.asarray(lab_img.dataobj) > 0
    scan = np.asarray(nib.load(data / "data" / f.name).dataobj, dtype=np.float32)
    n = lab.shape[2]
    assert len(logits) == n, f"{name}: {len(logits)} scores for {n} slices"
    zooms = lab_img.header.get_zooms()
    rising = nib.aff2axcodes(lab_img.affine)[2] == "S"   # slice index grows towards the head
    for k in range(n):
        S.append(1 / (1 + np.exp(-logits[k]))); L.append(lab[:, :, k].any())
        Z.append((k if rising else n - 1 - k) / max(n - 1, 1))
        A.append(((scan[:, :, k] > 15) & (scan[:, :, k] < 60)).sum() * zooms[0] * zooms[1] / 100)
        ML.append(lab[:, :, k].sum() * np.prod(zooms[:3]) / 1000)
    NEG += [not lab.any()] * n
S, L, Z, A, ML, NEG = map(np.array, (S, L, Z, A, ML, NEG))


def within(bands):
    num = den = 0.0
    for b in np.unique(bands):
        m = bands == b
        if L[m].any() and (~L[m]).any():
            pairs = L[m].sum() * (~L[m]).sum()
            num += roc_auc_score(L[m], S[m]) * pairs; den += pairs
    return num / den


print(f"{len(S)} slices, {L.sum()} positive, {int(NEG.sum())} of negative cases")
print(f"slice AUC {roc_auc_score(L, S):.3f}; priors: -|z - 1/2| {roc_auc_score(L, -abs(Z - 0.5)):.3f}, brain area {roc_auc_score(L, A):.3f}")
print(f"AUC within 5 bands of |z - 1/2| {within(np.minimum((abs(Z - 0.5) * 10).astype(int), 4)):.3f}, "
      f"within brain-area deciles {within(np.digitize(A, np.quantile(A, np.linspace(0, 1, 11)[1:-1]))):.3f}")
for lo, hi in [(0, .05), (.05, .2), (.2, 1), (1, 5), (5, np.inf)]:
    b = L & (ML > lo) & (ML <= hi)
    if b.any():
        print(f"  positive slices with {lo}..{hi} mL of blood: n={b.sum()}, AUC against all negatives {roc_auc_score(L[~L | b], S[~L | b]):.3f}")
print("mean probability by height z (0 = feet): negative slices of negative cases | positive slices")
for lo in np.arange(0, 1, 0.2):
    b = (Z >= lo) & (Z < lo + 0.2 + 1e-9)
    neg, pos = S[b & NEG], S[b & L]
    print(f"  z {lo:.1f}-{lo + 0.2:.1f}: {neg.mean() if len(neg) else float('nan'):.2f} (n={len(neg)}) | {pos.mean() if len(pos) else float('nan'):.2f} (n={len(pos)})")
