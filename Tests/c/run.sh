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

# shellcheck source=run_one.sh
source "$HERE/run_one.sh"

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
