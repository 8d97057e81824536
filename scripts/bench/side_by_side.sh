# Sourced by the read benchmarks (nifti.sh, dicom.sh), from the repository root.
#
#   release_bench   builds the release `bench` and sets BENCH to it, and TMP to a scratch
#                   folder removed on exit (the build log stays there; shown on failure)
#   side_by_side LABEL PEER_NAME "ICHCT COMMAND" "PEER COMMAND"
#                   runs two commands that each print one JSON line with result.median_s,
#                   alternating, ROUNDS times, and prints each one's best median and their
#                   ratio. Needs PYTHON and ROUNDS set.
release_bench() {
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
    swift build -c release --product bench >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; exit 1; }
    BENCH=$(swift build -c release --show-bin-path 2>/dev/null)/bench
}

side_by_side() {
    local label=$1 peer=$2 ours=$3 theirs=$4 best_swift=1e9 best_py=1e9 s p
    median() { "$PYTHON" -c "import json,sys; print(json.loads(sys.stdin.read())['result']['median_s'])"; }
    for _ in $(seq "$ROUNDS"); do
        s=$(eval "$ours" | median)
        p=$(eval "$theirs" | median)
        best_swift=$("$PYTHON" -c "print(min($best_swift, $s))")
        best_py=$("$PYTHON" -c "print(min($best_py, $p))")
    done
    "$PYTHON" -c "
s, p = $best_swift, $best_py
print(f'$label: ichct {s*1e3:7.1f} ms   $peer {p*1e3:7.1f} ms   ratio ichct/$peer {s/p:.2f}')"
}
