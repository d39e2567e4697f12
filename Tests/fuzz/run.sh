#!/usr/bin/env bash
# Tests/fuzz/run.sh - builds the smlp_load_from_buffer fuzzer and runs it.
#
#   Tests/fuzz/run.sh [seconds]        build, replay known crashes, fuzz (default 30 s;
#                                      0: build and replay only)
#   Tests/fuzz/run.sh --make-corpus    regenerate the seed corpus (after a format change)
#
# The library is built a second time, instrumented for libFuzzer coverage and
# AddressSanitizer (swiftc -sanitize=fuzzer,address), into .build-fuzz (git-ignored),
# and the harness fuzz_load.c is built with clang -fsanitize=fuzzer,address against
# it. With FUZZ_PLAIN_LIBRARY=1 it links against build/lib instead (no coverage
# inside the library; the fuzzer is then blind and only the harness is instrumented).
#
# Files:
#   Tests/fuzz/corpus/load/   seed corpus (committed; read only: new inputs go to
#                             build/fuzz/corpus, which persists between runs)
#   Tests/fuzz/crashes/       reproducers of crashes found; each is replayed first, so a
#                             known crash fails every run until it is fixed
#   build/fuzz/               binaries, working corpus, log, artifacts
#
# Environment: CLANG (default: clang, else /opt/swift/usr/bin/clang), SWIFT (swift);
# SMLP_FUZZ_ALLOW_KNOWN=1 tolerates the open bugs described in
# Tests/fuzz/crashes/README.md (see fuzz_load.c), to hunt for others.
# Exit status non-zero on any crash, sanitizer report, leak, timeout or OOM; the
# last line is "N passed, N failed" (1 passed when nothing was found).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/build/fuzz
SWIFT=${SWIFT:-swift}
if [[ -z ${CLANG:-} ]]; then
    if command -v clang >/dev/null 2>&1; then CLANG=clang; else CLANG=/opt/swift/usr/bin/clang; fi
fi
mkdir -p "$OUT"

passed=0
failed=0
summary() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
    exit
}
die() { # a build problem: one failure, then the summary
    echo "fuzz/run.sh: $*"
    failed=$((failed + 1))
    summary
}

# ---- Corpus regeneration (with the ordinary library: no instrumentation needed) -----
if [[ ${1:-} == --make-corpus ]]; then
    make -C "$ROOT" --no-print-directory library >"$OUT/library.log" 2>&1 || die "make library failed (see $OUT/library.log)"
    ${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror -I"$ROOT/include" -o "$OUT/make_corpus" "$HERE/make_corpus.c" \
        -L"$ROOT/build/lib" -lswiftmlp -lm -Wl,-rpath,"$ROOT/build/lib" || die "make_corpus did not build"
    mkdir -p "$HERE/corpus/load"
    rm -f "$HERE"/corpus/load/*.smlp
    "$OUT/make_corpus" "$HERE/corpus/load" || die "make_corpus failed"
    passed=1
    summary
fi

# ---- The instrumented library -------------------------------------------------------
if [[ ${FUZZ_PLAIN_LIBRARY:-0} == 1 ]]; then
    make -C "$ROOT" --no-print-directory library >"$OUT/library.log" 2>&1 || die "make library failed (see $OUT/library.log)"
    LIBDIR=$ROOT/build/lib
    echo "fuzz: linking against the uninstrumented build/lib (FUZZ_PLAIN_LIBRARY=1)"
else
    echo "fuzz: building the library with -sanitize=fuzzer,address into .build-fuzz"
    if ! (cd "$ROOT" && "$SWIFT" build -c release --product swiftmlp --scratch-path "$ROOT/.build-fuzz" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -static-stdlib) >"$OUT/library.log" 2>&1; then
        tail -n 30 "$OUT/library.log"
        die "the instrumented library did not build (see $OUT/library.log); FUZZ_PLAIN_LIBRARY=1 skips it"
    fi
    LIBDIR=$ROOT/.build-fuzz/release
fi

build_c() { # build_c <output> <source> <extra flags...>
    local output=$1 source=$2
    shift 2
    "$CLANG" -std=c99 -g -O1 -Wall -Wextra -Werror -I"$ROOT/include" "$@" -o "$output" "$source" \
        -L"$LIBDIR" -lswiftmlp -lm -Wl,-rpath,"$LIBDIR" >"$output.log" 2>&1
}

SECONDS_TO_RUN=${1:-30}
[[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || die "usage: run.sh [seconds] | --make-corpus"

build_c "$OUT/fuzz_load" "$HERE/fuzz_load.c" -fsanitize=fuzzer,address || { cat "$OUT/fuzz_load.log"; die "the harness did not build"; }

export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
# The library has a fixed set of global caches; only leaks that grow per input matter,
# and libFuzzer's own leak check (-detect_leaks) looks for exactly those.

# ---- Replay known crashes --------------------------------------------------------
shopt -s nullglob
known=("$HERE"/crashes/*)
shopt -u nullglob
replay_failed=0
if ((${#known[@]})); then
    for input in "${known[@]}"; do
        [[ -f $input && $(basename "$input") != README* ]] || continue
        if ! "$OUT/fuzz_load" "$input" >"$OUT/replay.log" 2>&1; then
            echo "fuzz: known crash still reproduces: $input"
            grep -E "ERROR|fuzz_load:|SUMMARY" "$OUT/replay.log" | head -n 5 | sed 's/^/    /'
            replay_failed=1
        fi
    done
    if ((replay_failed)); then failed=$((failed + 1)); else passed=$((passed + 1)); fi
fi

# ---- Fuzz --------------------------------------------------------------------------
((SECONDS_TO_RUN > 0)) || summary   # (libFuzzer reads -max_total_time=0 as "forever")
mkdir -p "$OUT/corpus" "$OUT/artifacts"
rm -f "$OUT"/artifacts/*
echo "fuzz: running fuzz_load for $SECONDS_TO_RUN s (log: $OUT/fuzz.log)"
"$OUT/fuzz_load" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "$HERE/corpus/load" \
    >"$OUT/fuzz.log" 2>&1
rc=$?
grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" "$OUT/fuzz.log" | sed 's/^/    /'

shopt -s nullglob
artifacts=("$OUT"/artifacts/*)
shopt -u nullglob
if ((rc != 0 || ${#artifacts[@]} > 0)); then
    echo "fuzz: the fuzzer found a problem (exit status $rc)"
    grep -E "ERROR: |fuzz_load: |SUMMARY: |==[0-9]+==" "$OUT/fuzz.log" | head -n 20 | sed 's/^/    /'
    if ((replay_failed)); then
        # Most likely the known bug again: keep the new input out of the source tree.
        echo "fuzz: known crashes still reproduce, so the new input stays in $OUT/artifacts/"
    else
        mkdir -p "$HERE/crashes"
        for artifact in "${artifacts[@]}"; do
            cp "$artifact" "$HERE/crashes/"
            echo "fuzz: reproducer kept as Tests/fuzz/crashes/$(basename "$artifact")" \
                 "(replay: $OUT/fuzz_load Tests/fuzz/crashes/$(basename "$artifact"))"
        done
    fi
    failed=$((failed + 1))
else
    passed=$((passed + 1))
fi
summary
