"""Test-set slice AUC of every epoch of a running pipeline classifier (diagnosis only).

Run beside `ichctl demo --out RUN ...`: PYTHON=$(bash scripts/python-env.sh); $PYTHON scripts/diag/epoch_test_auc.py RUN [ICHCTL]
Each time RUN/classifier/classifier.resume.safetensors changes (end of an epoch), its network
state (`model.*`) is written as a plain checkpoint and `ichctl classify` scores RUN's test
cases (RUN/data/split.json); prints "epoch E val AUC test AUC" until the stage finishes. The
pipeline itself never reads test cases before the comparison: this is how Docs/pipeline.md's
run log saw that the test AUC kept rising after the validation AUC had gone flat.
"""
import json, os, subprocess, sys, time
import numpy as np, nibabel as nib
from safetensors import safe_open
from safetensors.numpy import load_file, save_file
from sklearn.metrics import roc_auc_score

run = sys.argv[1]
ichctl = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../.build/release/ichctl")
resume = f"{run}/classifier/classifier.resume.safetensors"
split = json.load(open(f"{run}/data/split.json"))
labels = {c: (np.asarray(nib.load(f"{run}/data/cases/label/{c}.nii.gz").dataobj) > 0).any(axis=(0, 1)) for c in split["test"]}
if os.path.exists(f"{run}/classifier/stage.json"):
    sys.exit(f"{run}/classifier/stage.json exists: the classifier stage has finished, nothing to watch")
path = f"/tmp/epoch_test_auc_{os.getpid()}.safetensors"
last = None
while True:
    if os.path.exists(resume) and os.path.getmtime(resume) != last:
        time.sleep(2)
        last = os.path.getmtime(resume)
        with safe_open(resume, "np") as f:
            meta = f.metadata()
        progress = json.loads(meta["ichct.training"])
        model = {k[len("model."):]: v for k, v in load_file(resume).items() if k.startswith("model.")}
        save_file(model, path, metadata={"ichct.config": meta["ichct.config"]})
        scores, truth = [], []
        for c in split["test"]:
            r = subprocess.run([ichctl, "classify", "--model", path, f"{run}/data/cases/data/{c}.nii.gz", "--json"],
                               capture_output=True, text=True, check=True)
            scores += json.loads(r.stdout)["probabilities"]
            truth += list(labels[c])
        history = progress.get("history", [])
        val = history[-1]["validationScore"] if history else float("nan")
        print(f"epoch {progress['epoch']} val {val:.4f} test {roc_auc_score(truth, scores):.4f}", flush=True)
    if os.path.exists(f"{run}/classifier/stage.json"):
        break
    time.sleep(10)
if os.path.exists(path):
    os.remove(path)
