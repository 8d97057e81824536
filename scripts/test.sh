#!/usr/bin/env bash
# Every test of the package: installs missing system packages, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build
