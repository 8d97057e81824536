#!/usr/bin/env bash
# The main job end to end: set-up, a release build of ichctl, then `ichctl demo`.
#
#   bash scripts/demo.sh                      # full demo into runs/demo (about 30 min on two cores)
#   bash scripts/demo.sh --quick              # quick preset into runs/demo-quick (a few minutes)
#   bash scripts/demo.sh --out runs/mine ...  # any other `ichctl demo` option passes through
#
# Outputs are never replaced silently: running again on the same folder with the same settings
# reuses every finished stage (and finishes an interrupted run); a folder made with other
# settings is refused unless --force (which re-runs the stages whose settings changed).
# `--from STAGE` re-runs one stage and those after it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product ichctl
args=("$@")
has_out=0
quick=0
for a in "$@"; do
    [[ "$a" == "--out" || "$a" == --out=* ]] && has_out=1
    [[ "$a" == "--quick" ]] && quick=1
done
if [[ $has_out == 0 ]]; then
    if [[ $quick == 1 ]]; then args+=(--out runs/demo-quick); else args+=(--out runs/demo); fi
fi
exec .build/release/ichctl demo "${args[@]}"
