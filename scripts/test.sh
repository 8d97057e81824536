#!/usr/bin/env bash
# Every test of the package (Docs/testing.md), exactly what .ci/run runs:
# 1. installs missing system packages, then `swift test`;
# 2. replays the fuzzing corpus and its regressions through the readers (scripts/fuzz.sh --replay);
# 3. builds and runs Examples/ThresholdStudy (a separate package depending on ichct by path, as a
#    user's tool would) on a tiny phantom set, so the public API cannot silently break;
# 4. the whole suite again under the thread and the address sanitizer (scripts/sanitize.sh),
#    about 13 minutes on two cores; `--no-sanitizers` skips this step for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=1
for arg in "$@"; do
    case "$arg" in
        --no-sanitizers) sanitizers=0 ;;
        *) echo "test.sh: unknown argument '$arg' (only --no-sanitizers)" >&2; exit 2 ;;
    esac
done
bash scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build
bash scripts/fuzz.sh --replay
example_out="$(mktemp -d)"
trap 'rm -rf "$example_out"' EXIT
swift build --package-path Examples/ThresholdStudy --scratch-path .build-examples
swift run --package-path Examples/ThresholdStudy --scratch-path .build-examples --skip-build ThresholdStudy "$example_out/study" --cases 12 --size 64 --epochs 1
if [[ $sanitizers -eq 1 ]]; then
    bash scripts/sanitize.sh thread address
fi
