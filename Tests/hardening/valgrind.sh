#!/usr/bin/env bash
# Tests/hardening/valgrind.sh - every C test of Tests/c and the examples under valgrind
# memcheck: no invalid read or write, no use of uninitialised values, zero bytes
# "definitely lost".
#
#   make library examples           # build/lib and build/examples/*
#   Tests/hardening/valgrind.sh     # (make valgrind does both)
#
# It compiles every Tests/c/test_*.c (as Tests/c/run.sh does, but against build/lib,
# into build/valgrind/bin/, so another `make test-c` cleaning build/test-c cannot pull
# a binary away mid-run) and the hardening tests test_nonfinite and
# test_threads_stress; test_memory_limits is left out (it forks children that set
# address-space limits, which valgrind's own reservations do not fit).
#
# Each program runs as
#   valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
#            --suppressions=build-support/valgrind.supp ...
# so any memory error or definite leak makes it exit 99. "possibly lost" and "still
# reachable" blocks (the Swift runtime's metadata caches, OpenBLAS's thread pool) are
# not errors; build-support/valgrind.supp explains each such block it hides.
#
# The library run is the unstripped twin of build/lib/libswiftmlp.so.0 (swift build's
# .build/release/libswiftmlp.so, put first on LD_LIBRARY_PATH) so that reports and
# suppressions have function names; when its build-id differs from build/lib's the
# stripped library is used and a warning says so.
#
# Not run: Tests/c/test_symbols.sh (reads the library's symbol table with nm),
# Tests/c/test_vectorised.sh (reads its machine code with objdump) and
# Tests/c/test_atomic_save.sh (builds its own program and makes saves fail with
# ulimit -f and a full tmpfs: about files, not memory). None of the programs is too
# slow under valgrind to run whole (the slowest, test_training, takes 35-80 s),
# except test_threads_stress, of which three parts run (see below).
# Skipped, with the reason:
#   test_no_allocation   defines malloc/free itself to count allocations; valgrind
#                        replaces the allocator too, so the counts (its checks) break.
#
# Environment: VALGRIND_TIMEOUT (seconds per program, default 900), VALGRIND_ONLY=name
# (run one program); VALGRIND_LIBRARY, VALGRIND_UNSTRIPPED and VALGRIND_OUT check another
# build (make valgrind passes the shipped library's unstripped twin,
# build/embedded/obj). Prints one line per program
# and "N passed, N failed" last.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${VALGRIND_OUT:-$ROOT/build/valgrind}
TIMEOUT=${VALGRIND_TIMEOUT:-900}
SUPP=$ROOT/build-support/valgrind.supp
mkdir -p "$OUT/lib" "$OUT/bin" "$OUT/hardening" "$OUT/examples"

passed=0
failed=0

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)"
    echo "0 passed, 1 failed"
    exit 1
fi

build_id() { readelf -n "$1" 2>/dev/null | awk '/Build ID/ {print $3}'; }
STRIPPED=${VALGRIND_LIBRARY:-$ROOT/build/lib/libswiftmlp.so.0}
UNSTRIPPED=${VALGRIND_UNSTRIPPED:-$ROOT/.build/release/libswiftmlp.so}
LIBDIR=$(dirname "$STRIPPED")
if [[ -f $UNSTRIPPED && -f $STRIPPED && $(build_id "$UNSTRIPPED") == "$(build_id "$STRIPPED")" ]]; then
    cp "$UNSTRIPPED" "$OUT/lib/libswiftmlp.so.0"
    export LD_LIBRARY_PATH=$OUT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    echo "valgrind: using the unstripped twin of ${STRIPPED#"$ROOT"/} (build-id $(build_id "$STRIPPED"))"
else
    echo "valgrind: WARNING: no unstripped twin of ${STRIPPED#"$ROOT"/} (run make library); stacks will" \
         "have no function names and suppressions by name will not match"
fi

# One OpenBLAS thread keeps the runs short (valgrind serialises threads anyway); the
# thread tests set their own counts where they need more.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

run() { # run <name> <program> [args...]
    local name=$1; shift
    local log=$OUT/$name.log rc=0 start=$SECONDS
    if [[ -n ${VALGRIND_ONLY:-} && $VALGRIND_ONLY != "$name" ]]; then return; fi
    if [[ ! -x $1 ]]; then
        echo "valgrind: $name: FAILED: $1 is missing (make library examples)"
        failed=$((failed + 1))
        return
    fi
    timeout "$TIMEOUT" valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --track-origins=yes --num-callers=40 --suppressions="$SUPP" \
        --log-file="$log.valgrind" "$@" >"$log" 2>&1 || rc=$?
    local definitely invalid errors
    definitely=$(grep -Eo 'definitely lost: [0-9,]+ bytes' "$log.valgrind" | grep -Eo '[0-9,]+' | tr -d , | head -n 1)
    invalid=$(grep -cE 'Invalid (read|write|free)|uninitialised|Mismatched free|overlap' "$log.valgrind")
    errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$log.valgrind" | grep -Eo '[0-9]+$' | tail -n 1)
    local own=""
    own=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    # Exit 99 is valgrind's (a memory error or a definite leak). Any other non-zero exit
    # with the program's own "N passed, N failed" line is the program's own checks
    # failing - make test-c's business, reported here but not a memcheck failure. A
    # signal, a timeout (124) or no summary line is a failure.
    if [[ $rc != 0 && $rc != 99 && $rc -lt 124 && -n $own && ${own#*, } != "0 failed" ]]; then
        own_note=" - NOTE: the program's own checks failed ($own); memcheck itself is clean"
        rc=0
    else
        own_note=""
    fi
    if ((rc == 0)) && [[ ${definitely:-0} == 0 && ${invalid:-0} == 0 && ${errors:-0} == 0 ]]; then
        echo "valgrind: $name: ok ($((SECONDS - start)) s; $(grep -Eo 'possibly lost: [0-9,]+ bytes' "$log.valgrind" | head -n 1))$own_note"
        passed=$((passed + 1))
    else
        echo "valgrind: $name: FAILED (exit $rc, ${errors:-?} errors, ${definitely:-?} bytes definitely lost," \
             "$invalid invalid accesses; $((SECONDS - start)) s) - see ${log#"$ROOT"/}.valgrind"
        grep -E -A12 'Invalid|definitely lost in|uninitialised' "$log.valgrind" | head -n 40 | sed 's/^/    /'
        [[ -n $own ]] && echo "    program: $own"
        failed=$((failed + 1))
    fi
}

CC=${CC:-cc}
compile() { # compile <source> <output>
    "$CC" -std=c99 -O2 -g -Wall -Wextra -pedantic -I"$ROOT/include" -I"$ROOT/Tests/c" -o "$2" "$1" \
        -L"$LIBDIR" -lswiftmlp -lm -lpthread -Wl,-rpath,"$LIBDIR" >"$2.build.log" 2>&1
}
for source in "$ROOT"/Tests/c/test_*.c "$ROOT"/Tests/hardening/test_nonfinite.c "$ROOT"/Tests/hardening/test_threads_stress.c; do
    name=$(basename "$source" .c)
    case $name in
        test_no_allocation)
            echo "valgrind: $name: skipped (it defines malloc/free itself to count allocations; valgrind replaces them)"
            continue ;;
    esac
    if ! compile "$source" "$OUT/bin/$name"; then
        echo "valgrind: $name: FAILED: did not compile (see ${OUT#"$ROOT"/}/bin/$name.build.log)"
        failed=$((failed + 1))
        continue
    fi
    if [[ $name == test_threads_stress ]]; then
        # Whole, it takes 150 s here (valgrind runs one thread at a time and the test
        # spins on BUSY); these parts cover the memory it manages per thread: the 8
        # prediction slots and the scratch of a 9th+ concurrent prediction, racing
        # writers, and per-thread error messages (TSan covers the rest: sanitizers.sh).
        for part in shared_predict racing_apply last_error; do
            run "$name.$part" "$OUT/bin/$name" "$part"
        done
        continue
    fi
    run "$name" "$OUT/bin/$name"
done
run examples/xor "$ROOT/build/examples/xor"
run examples/digits "$ROOT/build/examples/digits" "$ROOT/examples/data"
run examples/parity "$ROOT/build/examples/parity"

echo "$passed passed, $failed failed"
((failed == 0))
