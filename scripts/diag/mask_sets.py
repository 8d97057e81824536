"""A dataset's case list and a folder of masks scored against it; shared by the scripts here.

`list_names(SET)` reads `SET/list.txt` (one scan per line: `data/NAME.nii.gz`, `.nii` or a
DICOM folder `NAME`; blank lines and `#` comments skipped, as `ichctl` reads lists) and returns
the NAMEs in order. `folder_scores(DIR, names, truth)` scores `DIR/NAME.nii.gz` against
`truth(NAME)` as `ichctl compare`'s U-Net-alone row does: Dice on the positive cases (the truth
holds a voxel), mL called blood on the others, each in list order.
"""
from pathlib import Path

import nibabel as nib
import numpy as np


def case_name(entry):
    """NAME of a list entry: data/NAME.nii.gz, data/NAME.nii, or a DICOM folder NAME."""
    name = Path(entry).name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def list_names(data):
    """The case names of `data/list.txt`, in order."""
    with open(Path(data) / "list.txt") as lines:
        return [case_name(line.strip()) for line in lines if line.strip() and not line.strip().startswith("#")]


def folder_scores(folder, names, truth):
    """(Dice of the positive cases, mL called blood of the negative ones) of `folder`'s masks."""
    dice, false_ml = [], []
    for name in names:
        t = truth(name)
        image = nib.load(Path(folder) / f"{name}.nii.gz")
        mask = np.asarray(image.dataobj) > 0
        assert mask.shape == t.shape, f"{Path(folder) / name}.nii.gz: shape {mask.shape}, label {t.shape}"
        if t.any():
            dice.append(2 * (t & mask).sum() / (t.sum() + mask.sum()))
        else:
            false_ml.append(mask.sum() * np.prod(image.header.get_zooms()[:3]) / 1000)
    return dice, false_ml


def slice_scores(data, folders):
    """Per case of `data/label/` (sorted by name): (slice labels, [logits of each folder]), where
    a slice is positive when its mask holds a voxel and each folder holds `ichctl classify
    --out-dir` records (NAME.json, `logits` in stored slice order). Asserts one logit per slice."""
    import json
    cases = []
    for f in sorted((Path(data) / "label").glob("*.nii.gz")):
        name = f.name[:-7]
        labels = (np.asarray(nib.load(f).dataobj) > 0).any(axis=(0, 1))
        logits = [np.array(json.load(open(Path(d) / f"{name}.json"))["logits"], dtype=float) for d in folders]
        for d, values in zip(folders, logits):
            assert len(values) == len(labels), f"{Path(d) / name}.json: {len(values)} logits for {len(labels)} slices"
        cases.append((labels, logits))
    return cases


def scan_files(root, choice=None):
    """The scans a diagnostic measures: `choice == "--list"` reads a dataset's `ROOT/list.txt`
    (`ROOT/data/NAME.nii.gz`); otherwise ROOT is a run folder and `choice` names a split of its
    `data/split.json` (train when None), whose scans lie in `ROOT/data/cases/data/`."""
    from pathlib import Path
    import json
    root = Path(root)
    if choice == "--list":
        return [root / "data" / f"{name}.nii.gz" for name in list_names(root)]
    names = json.loads((root / "data" / "split.json").read_text())[choice or "train"]
    return [root / "data" / "cases" / "data" / f"{name}.nii.gz" for name in names]
