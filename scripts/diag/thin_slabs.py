"""Average each scan's thin axial slices into slabs, as SliceSlabs does, for an experiment outside the CLI.

Run: PYTHON=$(bash scripts/python-env.sh)
     $PYTHON scripts/diag/thin_slabs.py SRC DST T

SRC is a dataset folder with `data/NAME.nii.gz`; each scan is brought to canonical RAS (nibabel's
`as_closest_canonical`), and k = ceil(T / t) consecutive slices (t its slice spacing; T = 0 gives
k = 1, a canonical copy) are averaged into a slab, the last slab taking what is left (SliceSlabs
now folds a remainder shorter than half a slab into the slab before it; the log's arms were
made with this script's layout); the affine's
slice axis is scaled by k and its origin moved to the first slab's centre. Writes
`DST/data/NAME.nii.gz` (float32), `DST/list.txt` and `DST/slabs.json` (k, slice count and
spacing per case) for `thin_slab_scores.py`. Unlike `SlabRule`, every scan is combined whatever
its spacing. Quoted in Docs/experiments/2026-12-07-thin-slice-slabs.md, whose arms it made before
the Swift code existed; the Swift path reproduced their numbers.
"""
import sys, json, math
from pathlib import Path
import numpy as np, nibabel as nib
src, dst, T = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
(dst / 'data').mkdir(parents=True, exist_ok=True)
info = {}
names = sorted(p.name[:-7] for p in (src / 'data').glob('*.nii.gz'))
for n in names:
    img = nib.as_closest_canonical(nib.load(src / 'data' / f'{n}.nii.gz'))
    a = np.asarray(img.dataobj, dtype=np.float32)
    t = float(img.header.get_zooms()[2])
    k = 1 if T <= 0 else max(1, math.ceil(T / t - 1e-6))
    nz = a.shape[2]; m = math.ceil(nz / k)
    out = np.stack([a[:, :, j * k:min((j + 1) * k, nz)].mean(axis=2) for j in range(m)], axis=2)
    aff = img.affine.copy()
    aff[:3, 2] *= k
    aff[:3, 3] += img.affine[:3, 2] * (k - 1) / 2
    o = nib.Nifti1Image(out.astype(np.float32), aff)
    o.header.set_xyzt_units('mm', 'sec')
    nib.save(o, dst / 'data' / f'{n}.nii.gz')
    info[n] = {'k': k, 'n': nz, 't': t}
(dst / 'list.txt').write_text(''.join(f'data/{n}.nii.gz\n' for n in names))
json.dump(info, open(dst / 'slabs.json', 'w'), indent=1)
print(dst, 'cases', len(names), 'k', sorted(set(v['k'] for v in info.values())))
