#!/usr/bin/env bash
# Tests/fuzz_api/run.sh - builds the whole-C-ABI fuzzer (fuzz_api.c) and runs it.
#
#   Tests/fuzz_api/run.sh [seconds]     build, replay crashes/, fuzz (default 30 s;
#                                       0: build and replay only)
#
# The library is built a second time with coverage for libFuzzer and AddressSanitizer
# inside the Swift code (swiftc -sanitize=fuzzer,address) into .build-fuzz-api
# (git-ignored); the harness is built with the Swift toolchain's clang
# (-fsanitize=fuzzer,address, which has libclang_rt.fuzzer) and linked against it.
# FUZZ_PLAIN_LIBRARY=1 links against build/lib instead (only the harness is then
# instrumented: the fuzzer sees no coverage inside the library).
#
# Memory: ASan is told to return NULL for any single allocation above 2 GiB
# (max_allocation_size_mb=2048, allocator_may_return_null=1), as a host with a memory
# cap would, so an absurd size must come back as SMLP_ERR_OUT_OF_MEMORY, not a trap.
#
# Files: corpus/ (seed corpus, read only; python3 make_corpus.py rewrites it),
# crashes/ (reproducers of findings: replayed first, so a known one fails every run
# until it is fixed; then moved to corpus/ as regression seeds), build/fuzz-api/
# (binaries, working corpus, logs, artifacts).
# A reproducer replays with:  build/fuzz-api/fuzz_api Tests/fuzz_api/crashes/<file>
# (FUZZ_API_VERBOSE=1 prints every call it makes).
#
# Exit status non-zero on any crash, sanitizer report, leak, timeout or OOM; the last
# line is "N passed, N failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/build/fuzz-api
SWIFT=${SWIFT:-swift}
CLANG=${CLANG:-/opt/swift/usr/bin/clang}
[[ -x $CLANG ]] || CLANG=clang
mkdir -p "$OUT"

passed=0
failed=0
summary() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
    exit
}
die() {
    echo "fuzz_api/run.sh: $*"
    failed=$((failed + 1))
    summary
}

SECONDS_TO_RUN=${1:-30}
[[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || die "usage: run.sh [seconds]"

# ---- The library --------------------------------------------------------------------
if [[ ${FUZZ_PLAIN_LIBRARY:-0} == 1 ]]; then
    make -C "$ROOT" --no-print-directory library >"$OUT/library.log" 2>&1 || die "make library failed ($OUT/library.log)"
    LIBDIR=$ROOT/build/lib
    echo "fuzz_api: linking against the uninstrumented build/lib (FUZZ_PLAIN_LIBRARY=1)"
else
    echo "fuzz_api: building the library with -sanitize=fuzzer,address into .build-fuzz-api"
    start=$SECONDS
    if ! (cd "$ROOT" && "$SWIFT" build -c release --product swiftmlp --scratch-path "$ROOT/.build-fuzz-api" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -static-stdlib) >"$OUT/library.log" 2>&1; then
        tail -n 20 "$OUT/library.log"
        die "the instrumented library did not build ($OUT/library.log); FUZZ_PLAIN_LIBRARY=1 skips it"
    fi
    echo "fuzz_api: library built in $((SECONDS - start)) s"
    LIBDIR=$ROOT/.build-fuzz-api/release
fi

if ! "$CLANG" -std=c99 -g -O1 -Wall -Wextra -Werror -I"$ROOT/include" -fsanitize=fuzzer,address \
        -o "$OUT/fuzz_api" "$HERE/fuzz_api.c" -L"$LIBDIR" -lswiftmlp -lm -Wl,-rpath,"$LIBDIR" \
        >"$OUT/harness.log" 2>&1; then
    grep -v "Cannot export" "$OUT/harness.log" | head -n 30
    die "the harness did not build"
fi

export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=1:abort_on_error=0}
export TMPDIR=$OUT/tmp
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
FUZZ_FLAGS=(-timeout=10 -rss_limit_mb=3072 -malloc_limit_mb=3072 -max_len=4096)

# ---- Replay known findings -----------------------------------------------------------
shopt -s nullglob
known=()
for input in "$HERE"/crashes/*; do
    [[ -f $input && $(basename "$input") != README* ]] && known+=("$input")
done
shopt -u nullglob
if ((${#known[@]})); then
    replay_failed=0
    for input in "${known[@]}"; do
        if ! "$OUT/fuzz_api" "${FUZZ_FLAGS[@]}" "$input" >"$OUT/replay.log" 2>&1; then
            echo "fuzz_api: known finding still reproduces: ${input#"$ROOT"/}"
            grep -E "fuzz_api: |ERROR: |Fatal error|SUMMARY: " "$OUT/replay.log" | head -n 4 | sed 's/^/    /'
            replay_failed=1
        fi
    done
    if ((replay_failed)); then failed=$((failed + 1)); else passed=$((passed + 1)); fi
fi

# ---- Fuzz ----------------------------------------------------------------------------
if ((SECONDS_TO_RUN > 0)); then
    mkdir -p "$OUT/corpus" "$OUT/artifacts"
    rm -f "$OUT"/artifacts/*
    echo "fuzz_api: fuzzing for $SECONDS_TO_RUN s (log: $OUT/fuzz.log)"
    "$OUT/fuzz_api" -max_total_time="$SECONDS_TO_RUN" "${FUZZ_FLAGS[@]}" -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "$HERE/corpus" >"$OUT/fuzz.log" 2>&1
    rc=$?
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE" "$OUT/fuzz.log" | sed 's/^/    /'
    shopt -s nullglob
    artifacts=("$OUT"/artifacts/*)
    shopt -u nullglob
    if ((rc != 0 || ${#artifacts[@]} > 0)); then
        echo "fuzz_api: the fuzzer found a problem (exit status $rc)"
        grep -E "fuzz_api: |ERROR: |Fatal error|SUMMARY: " "$OUT/fuzz.log" | head -n 10 | sed 's/^/    /'
        for artifact in "${artifacts[@]}"; do
            cp "$artifact" "$HERE/crashes/"
            echo "fuzz_api: reproducer kept as Tests/fuzz_api/crashes/$(basename "$artifact")"
        done
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
fi
rm -rf "$TMPDIR"
summary
