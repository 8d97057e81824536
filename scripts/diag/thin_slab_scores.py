"""Score slab arms on the thin slices they came from: masks and slice calls copied back, paired with the first arm.

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/thin_slabs.py SET PREFIXslab-T T                      # for every arm T
     ichctl segment --run RUN --row pipeline --list PREFIXslab-T/list.txt --out-dir PREFIXseg-T
     ichctl classify --run RUN --list PREFIXslab-T/list.txt --out-dir PREFIXcls-T
     $PYTHON scripts/diag/thin_slab_scores.py SET PREFIX T1 T2 ...

RUN must have no `comparison.thinSlices` rule (nil; runs from before 2026-12-07): with one,
`segment --run` and `classify --run` would average every arm's thin scans again. SET is the
thin dataset (`data/`, `label/`); each arm's masks are expanded along the slice axis
(each slice its slab's, canonical RAS) and scored against SET's labels: Dice over positive cases
(the label holds a voxel), mL called blood per negative case, negative cases left clean, and the
slice AUC of the expanded calls against the slices' labels. For every arm after the first, the
paired differences in Dice and mL per negative case from the first arm, 95% intervals from 2000
bootstrap resamples of the cases (one generator seeded 0). The first arm with T = 0 reproduces
`ichctl compare`'s U-Net-alone row and slice AUC on SET (mL to rounding: the script takes a
voxel's volume as the product of the spacings, `ichctl` also multiplies by the obliquity). Quoted in
Docs/experiments/2026-12-07-thin-slice-slabs.md.
"""
import sys, json
from pathlib import Path
import numpy as np, nibabel as nib
from sklearn.metrics import roc_auc_score
src, prefix, arms = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
names = sorted(p.name[:-7] for p in (src / 'data').glob('*.nii.gz'))
truth = {}; vox = {}
for n in names:
    img = nib.as_closest_canonical(nib.load(src / 'label' / f'{n}.nii.gz'))
    truth[n] = np.asarray(img.dataobj) > 0; vox[n] = float(np.prod(img.header.get_zooms()[:3])) / 1000
res = {}
for T in arms:
    info = json.load(open(f'{prefix}slab-{T}/slabs.json'))
    D = {}; F = {}; L = []; P = []
    for n in names:
        k, nz = info[n]['k'], info[n]['n']
        m = np.asarray(nib.load(f'{prefix}seg-{T}/{n}.nii.gz').dataobj) > 0
        m = np.repeat(m, k, axis=2)[:, :, :nz]
        t = truth[n]; assert m.shape == t.shape, (n, m.shape, t.shape)
        if t.any(): D[n] = 2 * (t & m).sum() / (t.sum() + m.sum())
        else: F[n] = m.sum() * vox[n]
        p = np.array(json.load(open(f'{prefix}cls-{T}/{n}.json'))['probabilities'])
        p = np.repeat(p, k)[:nz]
        L.append(t.any(axis=(0, 1))); P.append(p)
    auc = roc_auc_score(np.concatenate(L), np.concatenate(P))
    res[T] = (D, F, np.concatenate(L), np.concatenate(P))
    print(f"T={T}: Dice {np.mean(list(D.values())):.3f} ({len(D)} pos), mL/neg {np.mean(list(F.values())):.2f}, clean {sum(v == 0 for v in F.values())}/{len(F)}, slice AUC {auc:.3f}")
b = arms[0]; rng = np.random.default_rng(0)
pos = sorted(res[b][0]); neg = sorted(res[b][1])
for T in arms[1:]:
    d = np.array([res[T][0][n] - res[b][0][n] for n in pos]); f = np.array([res[T][1][n] - res[b][1][n] for n in neg])
    bd = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(2000)]
    bf = [f[rng.integers(0, len(f), len(f))].mean() for _ in range(2000)]
    print(f"T={T} - T={b}: Dice {d.mean():+.3f} [{np.percentile(bd, 2.5):+.3f}, {np.percentile(bd, 97.5):+.3f}], mL/neg {f.mean():+.2f} [{np.percentile(bf, 2.5):+.2f}, {np.percentile(bf, 97.5):+.2f}]")
