#!/usr/bin/env bash
# Every test of the package: installs missing system packages, then `swift test`, then builds
# and runs Examples/ThresholdStudy (a separate package depending on ichct by path, as a user's
# tool would) on a tiny phantom set, so the public API cannot silently break.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build
example_out="$(mktemp -d)"
trap 'rm -rf "$example_out"' EXIT
swift build --package-path Examples/ThresholdStudy --scratch-path .build-examples
swift run --package-path Examples/ThresholdStudy --scratch-path .build-examples --skip-build ThresholdStudy "$example_out/study" --cases 12 --size 64 --epochs 1
