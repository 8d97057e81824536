"""The case names of a dataset's `list.txt`, as `ichctl` reads lists; shared by the scripts here.

`list_names(SET)` reads `SET/list.txt` (one scan per line: `data/NAME.nii.gz`, `.nii` or a
DICOM folder `NAME`; blank lines and `#` comments skipped) and returns the NAMEs in order.
"""
from pathlib import Path


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
