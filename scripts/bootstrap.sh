#!/usr/bin/env bash
# Installs the Debian packages ichct builds against, when any is missing. Idempotent:
# on a machine that has them it does nothing and touches no network.
#   libopenblas-dev (CBLAS)  liblapacke-dev  libnifti-dev (nifti_clib)  libpng-dev  zlib1g-dev
#   libgdcm-dev (DICOM: GDCM with its JPEG, JPEG-LS, JPEG 2000 and RLE codecs)
#   libopenmpi-dev openmpi-bin (data-parallel training: Open MPI and its mpirun)
set -euo pipefail

packages=(libopenblas-dev liblapacke-dev libnifti-dev libpng-dev zlib1g-dev libgdcm-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "bootstrap: need root to apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
