"""What a trained classifier's validation slice scores follow: lesion size, brain area, position.

Run: PYTHON=$(bash scripts/python-env.sh); $PYTHON scripts/diag/slice_score_analysis.py MODEL.safetensors DATA_DIR VAL.txt [--size 128]
MODEL is a classifier checkpoint (`ichctl train classifier` output loads as is, through
scripts/reference/ichnets.py); DATA_DIR an `ichctl synth` output; VAL.txt the validation case names. Prints the slice AUC, the AUC per lesion
size band, and the AUC of two label-free priors (brain area, distance from the middle slice) with
the correlation of the score with brain area: a classifier whose AUC is close to the priors' and
whose score follows brain area has learned where slices are, not what hemorrhage looks like.
"""
import argparse, sys
from pathlib import Path
import numpy as np, nibabel as nib, torch
from sklearn.metrics import roc_auc_score
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))  # scripts/reference/ichnets.py
import ichnets

p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("data"); p.add_argument("val"); p.add_argument("--size", type=int, default=128)
a = p.parse_args()
m = ichnets.load_checkpoint(a.model)  # eval mode
S, L, N, B, Z = [], [], [], [], []
for n in open(a.val).read().split():
    v = np.asarray(nib.load(f"{a.data}/data/{n}.nii.gz").dataobj, dtype=np.float32)
    lab = np.asarray(nib.load(f"{a.data}/label/{n}.nii.gz").dataobj) > 0
    with torch.no_grad():
        S += list(torch.sigmoid(m(ichnets.preprocess_volume(v, a.size)[None]))[0].numpy())
    L += list(lab.any(axis=(0, 1))); N += list(lab.sum(axis=(0, 1)))
    B += [((v[:, :, k] > 15) & (v[:, :, k] < 60)).sum() for k in range(v.shape[2])]
    Z += list(np.arange(v.shape[2]) / v.shape[2])
S, L, N, B, Z = map(np.array, (S, L, N, B, Z))
print(f"slice AUC {roc_auc_score(L, S):.3f}")
for lo, hi in [(1, 50), (50, 200), (200, 1e9)]:
    band = (N >= lo) & (N < hi)
    print(f"positives with {lo}..{hi:g} lesion voxels: n={band.sum()}, AUC against all negatives {roc_auc_score(L[~L | band], S[~L | band]):.3f}")
print(f"prior AUC: brain area {roc_auc_score(L, B):.3f}, -|z - 0.5| {roc_auc_score(L, -abs(Z - 0.5)):.3f}; "
      f"corr(score, brain area) {np.corrcoef(S, B)[0, 1]:.3f}")
