#!/usr/bin/env bash
# Builds and runs the C tests of libswiftmlp against an installed copy, as a user's
# program would see it: pkg-config alone finds the header and the library.
#
#   PREFIX=/where/it/is/installed CC=cc Tests/c/run.sh     (make test-c does this)
#
# Every test_*.c becomes a program in build/test-c/; every test_*.sh is run with
# bash. Each prints its own "N passed, N failed" line; this script sums them, prints
# the total as its last line, and exits non-zero if any check failed, a test did not
# compile, or a test crashed (or timed out) without reporting.
set -euo pipefail
shopt -s nullglob

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${PREFIX:?set PREFIX to the install prefix (make test-c does)}"
CC=${CC:-cc}
SCRATCH="$ROOT/build/test-c"
TIMEOUT=${TEST_TIMEOUT:-300}

export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
export PREFIX
CFLAGS=(-std=c99 -Wall -Wextra -pedantic -Werror)
read -r -a PC_CFLAGS <<< "$(pkg-config --cflags swiftmlp)"
read -r -a PC_LIBS <<< "$(pkg-config --libs swiftmlp)"

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"

total_passed=0
total_failed=0

# Runs one test command, shows its output, and adds its counts to the totals.
run_one() {
    local name=$1; shift
    local log="$SCRATCH/$name.log" rc=0
    echo "== $name"
    timeout "$TIMEOUT" "$@" > "$log" 2>&1 || rc=$?
    cat "$log"
    local summary
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
    if [[ -z "$summary" ]]; then
        echo "$name: CRASHED or did not report (exit status $rc)"
        total_failed=$((total_failed + 1))
        return
    fi
    local passed failed
    passed=${summary%% passed*}
    failed=${summary#*, }
    failed=${failed%% failed}
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if ((rc != 0 && failed == 0)); then
        echo "$name: exited with status $rc although it reported no failure"
        total_failed=$((total_failed + 1))
    fi
}

for source in "$HERE"/test_*.c; do
    name=$(basename "$source" .c)
    if ! "$CC" "${CFLAGS[@]}" "${PC_CFLAGS[@]}" -o "$SCRATCH/$name" "$source" \
            "${PC_LIBS[@]}" -lm -lpthread -Wl,-rpath,"$PREFIX/lib" > "$SCRATCH/$name.build.log" 2>&1; then
        echo "== $name"
        cat "$SCRATCH/$name.build.log"
        echo "$name: DID NOT COMPILE"
        total_failed=$((total_failed + 1))
        continue
    fi
    run_one "$name" "$SCRATCH/$name"
done

for script in "$HERE"/test_*.sh; do
    run_one "$(basename "$script" .sh)" bash "$script"
done

echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
