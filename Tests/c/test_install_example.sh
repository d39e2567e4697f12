#!/usr/bin/env bash
# test_install_example.sh - what a C user does after `make install PREFIX=...`: copy an
# example out of the repository, build it with nothing but pkg-config, run it.
#
#   PREFIX=/install/prefix CC=cc bash Tests/c/test_install_example.sh   (run.sh does this)
#
# Prints one line per failed check and then "N passed, N failed".
set -euo pipefail

: "${PREFIX:?set PREFIX to the install prefix}"
CC=${CC:-cc}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# shellcheck source=check.sh
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# Outside the repository: only the installed header, library and .pc file are visible.
cp "$ROOT/examples/xor.c" "$ROOT/examples/digits.c" "$ROOT/examples/digits_data.h" "$ROOT/examples/parity.c" \
    "$SCRATCH/"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
cflags=$(pkg-config --cflags swiftmlp)
libs=$(pkg-config --libs swiftmlp)
for example in xor digits parity; do
    output=$(cd "$SCRATCH" && $CC -std=c99 -Wall -Wextra -pedantic -Werror $cflags "$example.c" \
        -o "$example" $libs -lm -Wl,-rpath,"$PREFIX/lib" 2>&1) && built=1 || built=0
    check "$built" "examples/$example.c builds with \`cc $example.c \$(pkg-config --cflags --libs swiftmlp)\`" \
        "$output"
done

if [[ -x $SCRATCH/xor ]]; then
    output=$("$SCRATCH/xor" 2>&1) && ok=1 || ok=0
    check "$ok" "the installed xor example learns XOR (exit 0)" "$(tail -5 <<< "$output")"
    check "$(grep -q '4 of 4 correct' <<< "$output" && echo 1 || echo 0)" "xor prints 4 of 4 correct"
fi
if [[ -x $SCRATCH/digits ]]; then
    output=$("$SCRATCH/digits" "$ROOT/examples/data" 2>&1) && ok=1 || ok=0
    check "$ok" "the installed digits example reaches its 96% test accuracy (exit 0)" "$(tail -3 <<< "$output")"
fi
if [[ -x $SCRATCH/parity ]]; then
    output=$("$SCRATCH/parity" 2>&1) && ok=1 || ok=0
    check "$ok" "the installed parity example gets all 256 patterns of 8-bit parity right with RPROP (exit 0)" \
        "$(tail -3 <<< "$output")"
    check "$(grep -q 'all 256 patterns right' <<< "$output" && echo 1 || echo 0)" "parity prints all 256 right"
    # The same from a FANN data file with the bits as 0 and 1, as FANN's own
    # datasets/parity8.train gives them (the example reads 0 as -1).
    {
        echo "256 8 1"
        for ((row = 0; row < 256; row++)); do
            ones=0 line=""
            for ((bit = 0; bit < 8; bit++)); do
                line+="$(((row >> bit) & 1)) "
                ones=$((ones + ((row >> bit) & 1)))
            done
            echo "$line"
            echo "$((ones % 2))"
        done
    } > "$SCRATCH/parity8.train"
    output=$("$SCRATCH/parity" "$SCRATCH/parity8.train" 2>&1) && ok=1 || ok=0
    check "$ok" "parity learns a FANN data file of 0/1 bits (exit 0)" "$(tail -3 <<< "$output")"
fi
# The program needs libswiftmlp and its system dependencies only.
if [[ -x $SCRATCH/xor ]]; then
    swift=$(ldd "$SCRATCH/xor" | grep -v libswiftmlp | grep -E 'libswift|Foundation' || true)
    check "$([[ -z $swift ]] && echo 1 || echo 0)" "the example needs no Swift library at run time" "$swift"
fi

check_summary
