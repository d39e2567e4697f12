#!/usr/bin/env bash
# compare.sh - the Embedded Swift build of libswiftmlp gives the same bits as the
# SwiftPM build: Tests/embedded/trace.c, built against each installed copy, runs every
# computing call of the C API on the same data and seeds and prints every result
# (numbers as exact %a bits, saved models and exported C files as bytes, error
# messages as text); the two traces must be identical. Both at one BLAS thread (the
# header: results can differ in the last bits across thread counts) and at two.
#
#   CC=cc Tests/embedded/compare.sh ORDINARY_PREFIX EMBEDDED_PREFIX   (make test-same-bits)
#
# Prints one line per failed check and then "N passed, N failed".
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ORDINARY=${1:?usage: compare.sh ORDINARY_PREFIX EMBEDDED_PREFIX}
EMBEDDED=${2:?usage: compare.sh ORDINARY_PREFIX EMBEDDED_PREFIX}
CC=${CC:-cc}
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# shellcheck source=../c/check.sh
source "$HERE/../c/check.sh"

for build in ordinary embedded; do
    prefix=$ORDINARY
    [[ $build == embedded ]] && prefix=$EMBEDDED
    mkdir -p "$SCRATCH/$build"
    # Under AddressSanitizer and UBSan: a bad access of trace.c's own stops its run
    # (64 doubles into an array of 8 once went unnoticed; nothing checks the library's
    # accesses here, which is not instrumented).
    if ! "$CC" -std=c99 -O2 -Wall -Wextra -pedantic -Werror -fsanitize=address,undefined \
            -fno-sanitize-recover=undefined -I"$prefix/include" \
            -o "$SCRATCH/$build/trace" "$HERE/trace.c" -L"$prefix/lib" -lswiftmlp -lm \
            -Wl,-rpath,"$prefix/lib" 2> "$SCRATCH/$build/build.log"; then
        check 0 "trace.c builds against the $build library" "$(cat "$SCRATCH/$build/build.log")"
        check_summary
        exit 1
    fi
    # The library the program loads is the one in its prefix (not another copy).
    loaded=$(ldd "$SCRATCH/$build/trace" | awk '/libswiftmlp/ { print $3 }')
    check "$([[ $(readlink -f "$loaded") == $(readlink -f "$prefix/lib/libswiftmlp.so.0") ]] && echo 1 || echo 0)" \
        "the $build trace loads $prefix/lib/libswiftmlp.so.0" "it loads '$loaded'"
done

# The Embedded build runs twice: as it is (on an x86-64-v3 CPU, its hot loops' AVX2
# copy: Sources/SwiftMLP/Numerics/WideLoops.swift), and with SWIFTMLP_AVX2=0 (its
# baseline loops). The SwiftPM build has only the baseline loops.
mkdir -p "$SCRATCH/baseline"
cp "$SCRATCH/embedded/trace" "$SCRATCH/baseline/trace"
for threads in 1 2; do
    for run in ordinary embedded baseline; do
        # Leaks are not looked for: the process ends right after its last result.
        environment=(env -u SWIFTMLP_AVX2 ASAN_OPTIONS=detect_leaks=0)
        [[ $run == baseline ]] && environment=(env SWIFTMLP_AVX2=0 ASAN_OPTIONS=detect_leaks=0)
        "${environment[@]}" "$SCRATCH/$run/trace" "$SCRATCH/$run" "$threads" \
            > "$SCRATCH/$run/trace-$threads.txt" 2> "$SCRATCH/$run/trace-$threads.err" || true
        # A run that stopped early cannot be compared: it must reach its last line.
        last=$(tail -n 1 "$SCRATCH/$run/trace-$threads.txt")
        lines=$(sed -nE 's/^end: ([0-9]+) lines$/\1/p' <<< "$last")
        check "$([[ -n $lines && $lines -ge 1000 ]] && echo 1 || echo 0)" \
            "the $run trace at $threads BLAS thread(s) runs to its end (at least 1000 results)" \
            "last line: '$last'" "$(head -c 2000 "$SCRATCH/$run/trace-$threads.err")"
    done
    for run in embedded baseline; do
        difference=$(diff "$SCRATCH/ordinary/trace-$threads.txt" "$SCRATCH/$run/trace-$threads.txt" \
            | cut -c1-300 | head -20 || true)
        what="the Embedded build's results"
        [[ $run == baseline ]] && what="the Embedded build's results with SWIFTMLP_AVX2=0"
        check "$([[ -z $difference ]] && echo 1 || echo 0)" \
            "at $threads BLAS thread(s) $what equal the SwiftPM build's bit for bit" \
            "diff ordinary $run (first lines):" "$difference"
    done
done

check_summary
