"""Comparison rows split by the density of each positive case's largest lesion (a diagnosis).

Run: python3 scripts/diag/rows_by_density.py PHANTOM_SET TABLE.json [TABLE.json ...]

PHANTOM_SET is a phantom folder (`ichctl synth`, or a run's data folder) whose phantom.json lists
every case's lesions with their density (HU) and volume; the tables are `ichctl compare --json`
outputs on that set (several tables: replicates, averaged per case). For every row, the mean Dice
over positive cases whose largest lesion is at most 45 HU (hyperacute or nearly isodense blood;
grey matter in the phantom lies near 35-40 HU), and over the others.
"""
import json
import sys
from pathlib import Path

manifest = json.load(open(Path(sys.argv[1]) / "phantom.json"))
largest = {c["name"]: max(c["lesions"], key=lambda l: l["volumeML"])["densityHU"] for c in manifest["cases"] if c["lesions"]}
tables = [json.load(open(p)) for p in sys.argv[2:]]
for row in tables[0]["rows"]:
    runs = [{c["name"]: c["scores"] for c in next(r for r in t["rows"] if r["method"] == row["method"])["cases"]} for t in tables]
    dice = {n: sum(r[n]["dice"] for r in runs) / len(runs) for n in runs[0] if runs[0][n]["truthVolumeML"] > 0}
    low = [d for n, d in dice.items() if largest.get(n, 99) <= 45]
    high = [d for n, d in dice.items() if largest.get(n, 99) > 45]
    print(f"{row['method'][:52]:52s} largest lesion <= 45 HU: {sum(low) / max(len(low), 1):.3f} (n {len(low)}), "
          f"> 45 HU: {sum(high) / max(len(high), 1):.3f} (n {len(high)})")
