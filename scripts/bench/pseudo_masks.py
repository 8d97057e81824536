#!/usr/bin/env python3
"""Python peer of `bench pseudo-masks`: the same pseudo-mask recipe with numpy, scikit-learn
and scipy on a synthetic case of the same design (k-means k=4 over intracranial HU, hyperdense
cluster = highest centroid in 40..100 HU, CAM > 0.3 on positive slices, 2-D 8-connected
components under 8 voxels removed). Data generation is not timed. Prints one JSON object.

    OMP_NUM_THREADS=2 python scripts/bench/pseudo_masks.py [--size 512 --slices 40 --smooth-mm 0]
"""
import argparse
import json
import time

import numpy as np
from scipy import ndimage
from sklearn.cluster import KMeans

p = argparse.ArgumentParser()
p.add_argument("--size", type=int, default=512)
p.add_argument("--slices", type=int, default=40)
p.add_argument("--smooth-mm", type=float, default=0.0)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
rng = np.random.default_rng(a.seed)
n, z = a.size, a.slices
k_, j_, i_ = np.mgrid[0:z, 0:n, 0:n].astype(np.float32)
c, r, blob = n / 2, 0.4 * n, 0.06 * n
bx, by = c + 0.2 * n, c
brain = (i_ - c) ** 2 + (j_ - c) ** 2 <= r * r
u = rng.random(brain.shape)
hu = np.where(u < 0.15, 8, np.where(u < 0.55, 28, 38)) + rng.uniform(-6, 6, brain.shape)
ex, ey, ez = i_ - bx, j_ - by, (k_ - z // 2) * 5 / 0.42
inblob = ex ** 2 + ey ** 2 + ez ** 2 <= blob * blob
hu = np.where(inblob, 65 + rng.uniform(-6, 6, brain.shape), hu)
hu = np.where(brain, np.round(hu), 1000).astype(np.float32)
cam = np.where(brain, np.exp(-(ex ** 2 + ey ** 2) / (2 * 4 * blob * blob)), 0).astype(np.float32)
prob = np.array([0.9 if abs(k - z // 2) <= z // 4 else 0.1 for k in range(z)])

t = time.perf_counter()
feats = [hu[brain]]
if a.smooth_mm > 0:
    s = a.smooth_mm / 0.42
    m = brain.astype(np.float64)
    num = ndimage.gaussian_filter(hu * m, sigma=(0, s, s), mode="constant")
    den = ndimage.gaussian_filter(m, sigma=(0, s, s), mode="constant")
    feats.append((num / np.maximum(den, 1e-12))[brain].astype(np.float32))
X = np.stack(feats, 1)
km = KMeans(n_clusters=4, n_init=1, algorithm="lloyd", random_state=a.seed).fit(X)
cent = km.cluster_centers_[:, 0]
ok = [j for j in range(4) if 40 <= cent[j] <= 100]
dense = np.zeros_like(brain)
if ok:
    h = max(ok, key=lambda j: cent[j])
    dense[brain] = km.labels_ == h
region = (cam > 0.3) & brain & (prob >= 0.5)[:, None, None]
pseudo = dense & region
for k in range(z):
    lab, cnt = ndimage.label(pseudo[k], structure=np.ones((3, 3)))
    if cnt:
        sizes = np.bincount(lab.ravel())
        small = sizes < 8
        small[0] = False
        pseudo[k][small[lab]] = False
s = time.perf_counter() - t
print(json.dumps({"impl": "python", "shape": [n, n, z], "intracranialVoxels": int(brain.sum()), "smoothMM": a.smooth_mm,
                  "seconds": s, "maskVoxels": int(pseudo.sum())}))
