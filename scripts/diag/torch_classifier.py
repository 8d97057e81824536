"""PyTorch peer of `ichctl train classifier` (the recipe of Docs/method.md's prototype section), for diagnosis.

Run: PYTHON=$(bash scripts/python-env.sh); $PYTHON scripts/diag/torch_classifier.py DATA_DIR --val CASES.txt [--epochs 10]
DATA_DIR is an `ichctl synth` output (data/, label/); CASES.txt lists the validation case names
(one a line, e.g. from Swift's resume/summary) so both trainers use the same split. Prints the
validation slice AUC per epoch. Seeded (torch.manual_seed) and deterministic up to thread order.
"""
import argparse, glob, os, sys, time
from pathlib import Path
import numpy as np, nibabel as nib, torch, torch.nn.functional as F
from sklearn.metrics import roc_auc_score
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))  # scripts/reference/ichnets.py
import ichnets

p = argparse.ArgumentParser()
p.add_argument("data"); p.add_argument("--val", required=True)
p.add_argument("--epochs", type=int, default=10); p.add_argument("--size", type=int, default=128)
p.add_argument("--width", type=int, default=16); p.add_argument("--hidden", type=int, default=32)
p.add_argument("--lr", type=float, default=1e-3); p.add_argument("--seq", type=int, default=16)
p.add_argument("--batch", type=int, default=2); p.add_argument("--pos-weight", default="auto")
p.add_argument("--cosine", action="store_true"); p.add_argument("--no-lstm", action="store_true")  # per-slice linear head
p.add_argument("--seed", type=int, default=0)
p.add_argument("--train-cases", type=int, default=0)  # use only the first N training cases (0: all)
p.add_argument("--blocks", default="1,1,1,1")
a = p.parse_args()
torch.manual_seed(a.seed); torch.set_num_threads(int(os.environ.get("THREADS", "2"))); rng = np.random.default_rng(a.seed)

val_names = set(open(a.val).read().split())
cases = {"train": [], "val": []}
for f in sorted(glob.glob(os.path.join(a.data, "data", "*.nii.gz"))):
    name = os.path.basename(f)[:-7]
    vol = np.asarray(nib.load(f).dataobj, dtype=np.float32)
    lab = np.asarray(nib.load(os.path.join(a.data, "label", os.path.basename(f))).dataobj)
    x = ichnets.preprocess_volume(vol, a.size)
    y = torch.from_numpy(ichnets.slice_labels(lab))
    cases["val" if name in val_names else "train"].append((name, x, y))
if a.train_cases: cases["train"] = cases["train"][:a.train_cases]
print(f"train {len(cases['train'])} val {len(cases['val'])}", flush=True)
labels = torch.cat([y for _, _, y in cases["train"]])
pw = (labels.numel() - labels.sum()) / labels.sum() if a.pos_weight == "auto" else float(a.pos_weight)
model = ichnets.ResNetLSTM(3, a.width, tuple(int(b) for b in a.blocks.split(",")), a.hidden)
if a.no_lstm:  # ablation: each slice on its own (pooled features -> Linear), no context across slices
    lin = torch.nn.Linear(model.feature_channels, 1); model.add_module("flat", lin)
    model.head = lambda maps, b, t: lin(maps.mean(dim=(2, 3))).reshape(b, t)
opt = torch.optim.Adam(model.parameters(), lr=a.lr)
seqs = []
for ci, (_, x, y) in enumerate(cases["train"]):
    z = x.shape[0]
    starts = list(range(0, z - a.seq + 1, a.seq))
    if starts[-1] + a.seq < z: starts.append(z - a.seq)
    seqs += [(ci, s) for s in starts]
total = a.epochs * ((len(seqs) + a.batch - 1) // a.batch); step = 0
for epoch in range(a.epochs):
    model.train(); t0 = time.time(); order = rng.permutation(len(seqs)); losses = []
    for b in range(0, len(order), a.batch):
        xs, ys = [], []
        for i in order[b:b + a.batch]:
            ci, s = seqs[i]; x, y = cases["train"][ci][1][s:s + a.seq], cases["train"][ci][2][s:s + a.seq]
            if rng.random() < 0.5: x = x.flip(-1)
            xs.append(x); ys.append(y)
        if a.cosine:
            for g in opt.param_groups: g["lr"] = a.lr * 0.5 * (1 + np.cos(np.pi * step / total))
        logits = model(torch.stack(xs))
        loss = F.binary_cross_entropy_with_logits(logits, torch.stack(ys), pos_weight=torch.tensor(float(pw)))
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item()); step += 1
    model.eval(); scores, labs = [], []
    with torch.no_grad():
        for _, x, y in cases["val"]:
            scores.append(torch.sigmoid(model(x[None]))[0]); labs.append(y)
    auc = roc_auc_score(torch.cat(labs).numpy(), torch.cat(scores).numpy())
    print(f"epoch {epoch + 1} loss {np.mean(losses):.4f} val_auc {auc:.4f} ({time.time() - t0:.0f}s)", flush=True)
