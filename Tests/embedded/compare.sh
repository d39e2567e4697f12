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
    if ! "$CC" -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$prefix/include" \
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

for threads in 1 2; do
    for build in ordinary embedded; do
        "$SCRATCH/$build/trace" "$SCRATCH/$build" "$threads" \
            > "$SCRATCH/$build/trace-$threads.txt" 2> "$SCRATCH/$build/trace-$threads.err" || true
        # A run that stopped early cannot be compared: it must reach its last line.
        last=$(tail -n 1 "$SCRATCH/$build/trace-$threads.txt")
        lines=$(sed -nE 's/^end: ([0-9]+) lines$/\1/p' <<< "$last")
        check "$([[ -n $lines && $lines -ge 1000 ]] && echo 1 || echo 0)" \
            "the $build trace at $threads BLAS thread(s) runs to its end (at least 1000 results)" \
            "last line: '$last'" "$(head -c 2000 "$SCRATCH/$build/trace-$threads.err")"
    done
    difference=$(diff "$SCRATCH/ordinary/trace-$threads.txt" "$SCRATCH/embedded/trace-$threads.txt" \
        | cut -c1-300 | head -20 || true)
    check "$([[ -z $difference ]] && echo 1 || echo 0)" \
        "at $threads BLAS thread(s) the Embedded build's results equal the SwiftPM build's bit for bit" \
        "diff ordinary embedded (first lines):" "$difference"
done

check_summary
