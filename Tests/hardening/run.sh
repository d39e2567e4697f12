#!/usr/bin/env bash
# Tests/hardening/run.sh - builds and runs the hardening C tests against build/lib
# (make library first; `make hardening` would do both):
#
#   test_threads_stress   the Threads contract under load (STRESS_SCALE=n for longer)
#   test_nonfinite        NaN/Inf in data: status, first bad row named, model unchanged
#   test_memory_limits    through memory_limits.sh: OUT_OF_MEMORY instead of traps, and
#                         flat memory over 100k create/free and 10k save/load cycles
#
# The binaries go to build/hardening/ (valgrind.sh runs two of them too). Each prints
# "N passed, N failed"; this script sums them and prints the total last.
# HARDENING_LIBDIR tests another build (e.g. build/swiftpm; the binaries then go to
# build/hardening-swiftpm).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIBDIR=${HARDENING_LIBDIR:-$ROOT/build/lib}
OUT=$ROOT/build/hardening${HARDENING_LIBDIR:+-$(basename "$LIBDIR")}
CC=${CC:-cc}
TIMEOUT=${TEST_TIMEOUT:-600}
mkdir -p "$OUT"

[[ -e $LIBDIR/libswiftmlp.so ]] || { echo "run.sh: $LIBDIR/libswiftmlp.so is missing: make library"; echo "0 passed, 1 failed"; exit 1; }

# shellcheck source=../c/run_one.sh
source "$ROOT/Tests/c/run_one.sh"

for name in test_threads_stress test_nonfinite test_memory_limits; do
    if ! "$CC" -std=c99 -O2 -g -Wall -Wextra -pedantic -Werror -I"$ROOT/include" -I"$ROOT/Tests/c" \
            -o "$OUT/$name" "$HERE/$name.c" -L"$LIBDIR" -lswiftmlp -lpthread -lm \
            -Wl,-rpath,"$LIBDIR" >"$OUT/$name.build.log" 2>&1; then
        echo "== $name"
        cat "$OUT/$name.build.log"
        echo "$name: DID NOT COMPILE"
        total_failed=$((total_failed + 1))
        continue
    fi
done

for name in test_threads_stress test_nonfinite; do
    [[ -x $OUT/$name ]] || continue
    echo "== $name"
    start=$SECONDS
    rc=0
    timeout "$TIMEOUT" "$OUT/$name" >"$OUT/$name.log" 2>&1 || rc=$?
    cat "$OUT/$name.log" | grep -v '^$'
    echo "($((SECONDS - start)) s)"
    count_report "$name" "$OUT/$name.log" "$rc"
done

if [[ -x $OUT/test_memory_limits ]]; then
    echo "== test_memory_limits (memory_limits.sh)"
    start=$SECONDS
    rc=0
    timeout "$TIMEOUT" bash "$HERE/memory_limits.sh" "$OUT/test_memory_limits" >"$OUT/test_memory_limits.log" 2>&1 || rc=$?
    # The Swift runtime's trap reports (stack traces) are long: show the checks only.
    grep -vE '^[0-9]+ +[A-Za-z_.0-9-]+ +0x[0-9a-f]+ ' "$OUT/test_memory_limits.log"
    echo "($((SECONDS - start)) s)"
    count_report test_memory_limits "$OUT/test_memory_limits.log" "$rc"
fi

echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
