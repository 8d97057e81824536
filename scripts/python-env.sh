#!/usr/bin/env bash
# Creates .venv with the pinned CPU PyTorch and the reference tools used ONLY by the
# fixture and benchmark scripts (never by the Swift tests). Prints the python to use.
#   PYTHON=$(bash scripts/python-env.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${ICHCT_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, nibabel, medpy, monai, surface_distance, sklearn, skimage, safetensors, pydicom, pylibjpeg, openjpeg, libjpeg, dcm2niix" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q "torch==2.13.0+cpu" numpy scipy safetensors nibabel medpy monai surface-distance scikit-learn scikit-image \
        pydicom pylibjpeg pylibjpeg-openjpeg pylibjpeg-libjpeg dcm2niix >&2
fi
echo "$venv/bin/python"
