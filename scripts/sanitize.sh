#!/usr/bin/env bash
# The whole test suite under the thread sanitizer, then under the address sanitizer (with
# LeakSanitizer; toolchain leaks suppressed by name in scripts/sanitizers/lsan.supp).
#
#   bash scripts/sanitize.sh            # both
#   bash scripts/sanitize.sh thread     # one of: thread, address
#
# Each sanitizer builds into its own scratch folder (.build-tsan, .build-asan): a debug build
# of the package and its tests, about 3 minutes each on two cores, then the tests, which run
# several times slower than unsanitized. Any report fails the run (halt_on_error).
#
# The MPI tests (DistributedTrainingTests) are skipped here: their ranks are sanitized
# ichctl processes started by mpirun, in which Open MPI's own runtime (uninstrumented, with its
# progress threads and allocations kept until exit) is what the sanitizers would report on.
# The unsanitized suite runs them.
set -euo pipefail
export ICHCT_SKIP_MPI_TESTS=1
cd "$(dirname "$0")/.."
kinds=("$@")
[[ ${#kinds[@]} -eq 0 ]] && kinds=(thread address)
for kind in "${kinds[@]}"; do
    case "$kind" in
        # die_after_fork=0: the DICOM reader decodes compressed pixels in a forked child; TSan
        # would otherwise kill such a child. OpenJPEG starts threads in it, which TSan does not
        # support after a multi-threaded fork (the child crashed at random): the JPEG 2000
        # fixture is left out here (ICHCT_SKIP_THREADED_CODECS) and read by the other runs.
        thread) scratch=.build-tsan
                export ICHCT_SKIP_THREADED_CODECS=1
                export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:die_after_fork=0:${TSAN_OPTIONS:-}" ;;
        address) scratch=.build-asan
                 export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
                 export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}" ;;
        *) echo "sanitize.sh: unknown sanitizer '$kind' (thread or address)" >&2; exit 2 ;;
    esac
    echo "== swift test --sanitize=$kind ==" >&2
    swift build --build-tests --sanitize="$kind" --scratch-path "$scratch"
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch"
done
