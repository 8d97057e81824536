#!/usr/bin/env python3
"""Python peer of `bench kmeans`: scikit-learn KMeans (lloyd, k-means++, n_init=1) on synthetic
intracranial HU of the same mixture and size. Prints one JSON object.

    OMP_NUM_THREADS=2 python scripts/bench/kmeans.py --voxels 10000000 [--features 2] [--continuous]
"""
import argparse
import json
import time

import numpy as np
from sklearn.cluster import KMeans

p = argparse.ArgumentParser()
p.add_argument("--voxels", type=int, default=10_000_000)
p.add_argument("--k", type=int, default=4)
p.add_argument("--features", type=int, default=1)
p.add_argument("--continuous", action="store_true")
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

rng = np.random.default_rng(a.seed)
comp = rng.choice(4, size=a.voxels, p=[0.15, 0.4, 0.4, 0.05])
hu = (np.array([8, 28, 38, 65.0])[comp] + np.array([4, 4, 4, 6.0])[comp] * rng.standard_normal(a.voxels)).astype(np.float32)
if not a.continuous:
    hu = np.round(hu)
X = hu[:, None] if a.features == 1 else np.stack([hu, hu * 0.5 + rng.uniform(-2, 2, a.voxels).astype(np.float32)], 1)
t = time.perf_counter()
km = KMeans(n_clusters=a.k, n_init=1, algorithm="lloyd", random_state=a.seed).fit(X)
s = time.perf_counter() - t
print(json.dumps({"impl": "sklearn", "voxels": a.voxels, "k": a.k, "features": a.features, "continuous": a.continuous,
                  "seconds": s, "iterations": int(km.n_iter_), "inertia": float(km.inertia_),
                  "centroids": sorted(round(float(c), 3) for c in km.cluster_centers_[:, 0])}))
