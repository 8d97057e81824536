#!/usr/bin/env bash
# Fuzz the readers of outside files with libFuzzer (Docs/testing.md#fuzzing).
#
#   bash scripts/fuzz.sh [TARGET...]            # default: every target, 1,000,000 runs each
#   RUNS=200000 bash scripts/fuzz.sh slices     # fewer runs
#   bash scripts/fuzz.sh --replay               # replay corpus + regressions in a plain build
#   FUZZ_ARGS="-fork=1 -ignore_crashes=1 -max_total_time=900" bash scripts/fuzz.sh dicom
#                                               # keep going past findings, collecting them
#
# Targets: nifti dicom safetensors config slices. Builds Sources/fuzz in release with
# -sanitize=fuzzer,address into .build-fuzz, seeds each run from Tests/Fuzz/corpus/TARGET
# (read-only) and keeps what it learns in .build-fuzz/corpus/TARGET. A crash leaves its input
# as .build-fuzz/crashes/TARGET/crash-*; copy it to Tests/Fuzz/regressions/TARGET/, fix the
# reader, and add a unit test. The per-target summary (runs, time, coverage, crashes) is
# printed on stdout and saved to .build-fuzz/summary-TARGET.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
all=(nifti dicom safetensors config slices)

if [[ "${1:-}" == "--replay" ]]; then
    # the default scratch folder: after `swift build` (scripts/test.sh) this builds nothing new
    swift build --product fuzz >&2
    for t in "${all[@]}"; do
        dirs=(Tests/Fuzz/corpus/"$t")
        [[ -d Tests/Fuzz/regressions/"$t" ]] && dirs+=(Tests/Fuzz/regressions/"$t")
        "$(swift build --show-bin-path)/fuzz" "$t" "${dirs[@]}"
    done
    exit 0
fi

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ -d Tests/Fuzz/corpus/"$t" ]] || { echo "fuzz.sh: unknown target '$t' (one of: ${all[*]})" >&2; exit 2; }
done
runs="${RUNS:-1000000}"
echo "building the fuzz harness (release, -sanitize=fuzzer,address; C and C++ shims instrumented too)..." >&2
swift build -c release --product fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
    -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address >&2
bin=".build-fuzz/release/fuzz"
status=0
for t in "${targets[@]}"; do
    mkdir -p .build-fuzz/corpus/"$t" .build-fuzz/crashes/"$t"
    before=$(find .build-fuzz/crashes/"$t" -type f | wc -l)
    log=".build-fuzz/log-$t.txt"
    echo "fuzzing $t for $runs runs (log: $log)..." >&2
    start=$(date +%s)
    set +e
    # One allocation above 2 GB is a finding (-malloc_limit_mb); the total is allowed more
    # (-rss_limit_mb) because GDCM keeps memory across inputs on some corrupt JPEG streams
    # (Docs/testing.md). Leaks are the address-sanitized test suite's job, not the fuzzer's.
    ICHCT_FUZZ_TARGET="$t" ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}" "$bin" \
        -runs="$runs" -max_len=8192 -rss_limit_mb=6144 -malloc_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        -artifact_prefix=".build-fuzz/crashes/$t/" ${FUZZ_ARGS:-} \
        .build-fuzz/corpus/"$t" Tests/Fuzz/corpus/"$t" > "$log" 2>&1
    rc=$?
    set -e
    seconds=$(( $(date +%s) - start ))
    done_runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    crashes=$(( $(find .build-fuzz/crashes/"$t" -type f | wc -l) - before ))
    line="$t: $done_runs runs in ${seconds} s, coverage $cov edges, exit $rc, new crash files $crashes"
    echo "$line" | tee ".build-fuzz/summary-$t.txt"
    [[ $rc -eq 0 ]] || status=1
done
exit $status
