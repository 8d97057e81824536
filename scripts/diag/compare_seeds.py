"""One row of `ichctl compare --json` tables, averaged over runs (seeds), paired between two arms.

In the package: `ichctl compare-runs --base ... --arm ...` (`ReplicateComparison`) does the same
with every row, intervals on the mL too, and the project's bootstrap; this script is kept because
the logs of 2026-12-06 quote its output.

Run: ichctl compare --data VALIDATION --run RUN --json > TABLE.json     # for every run
     python3 scripts/diag/compare_seeds.py ROW BASE1.json[,BASE2.json...] ARM1.json[,ARM2.json...]

ROW is the row's method name as the table spells it, or a short name: `pipeline` (the U-Net
alone, post-processed), `gated`, `raw`, `pseudo-masks`. Every case's Dice (positive cases) and
mL called blood (negative cases) are averaged over an arm's tables first, so that refiner seeds
count as replicates of one arm; then the difference arm − base over positive cases gets a 95%
interval from 10000 bootstrap resamples of the cases. Prints each arm's mean Dice, mL per
negative case and negative cases left clean in every run, and the paired difference.
"""
import json
import random
import sys

SHORT = {"pipeline": "full pipeline (UNetLite on pseudo-masks)", "gated": "full pipeline, gated by the classifier",
         "raw": "full pipeline, no post-processing", "pseudo-masks": "pseudo-masks (CAM and k-means)"}
row = SHORT.get(sys.argv[1], sys.argv[1])


def load(path):
    table = json.load(open(path))
    found = [r for r in table["rows"] if r["method"] == row]
    if not found:
        sys.exit(f"{path}: no row '{row}'")
    return {c["name"]: c["scores"] for c in found[0]["cases"]}


def arm(paths):
    runs = [load(p) for p in paths.split(",")]
    names = sorted(runs[0])
    for p, r in zip(paths.split(","), runs):
        if sorted(r) != names:
            sys.exit(f"{p}: not the same cases as {paths.split(',')[0]}")
    out = {}
    for n in names:
        positive = runs[0][n]["truthVolumeML"] > 0
        out[n] = {"positive": positive,
                  "dice": sum(r[n]["dice"] for r in runs) / len(runs) if positive else None,
                  "ml": sum(r[n]["predictionVolumeML"] for r in runs) / len(runs),
                  "clean": all(r[n]["predictionVolumeML"] == 0 for r in runs)}
    return out


base, other = arm(sys.argv[2]), arm(sys.argv[3])
if sorted(base) != sorted(other):
    sys.exit("the two arms do not hold the same cases")
positives = [n for n in base if base[n]["positive"]]
negatives = [n for n in base if not base[n]["positive"]]
for label, a in (("base", base), ("arm", other)):
    print(f"{label}: Dice {sum(a[n]['dice'] for n in positives) / len(positives):.3f} ({len(positives)} positive cases), "
          f"{sum(a[n]['ml'] for n in negatives) / max(len(negatives), 1):.2f} mL per negative case, "
          f"{sum(a[n]['clean'] for n in negatives)} of {len(negatives)} clean in every run")
diffs = [other[n]["dice"] - base[n]["dice"] for n in positives]
rng = random.Random(0)
means = sorted(sum(diffs[rng.randrange(len(diffs))] for _ in diffs) / len(diffs) for _ in range(10000))
print(f"arm - base: {sum(diffs) / len(diffs):+.3f} [{means[250]:+.3f}, {means[9749]:+.3f}]")
