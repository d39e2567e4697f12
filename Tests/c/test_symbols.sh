#!/usr/bin/env bash
# test_symbols.sh - the installed libswiftmlp.so exports exactly the functions the
# installed header declares (nothing of the Swift runtime inside it), needs no Swift
# or Foundation library at run time, and carries the SONAME libswiftmlp.so.0. With
# SWIFTMLP_EMBEDDED=1 (the Embedded Swift build): at most 1 MiB stripped, needing only
# libc (2.34 or newer), libm and OpenBLAS.
#
#   PREFIX=/install/prefix bash Tests/c/test_symbols.sh      (run.sh does this)
#
# Prints one line per failed check and then "N passed, N failed".
set -euo pipefail

: "${PREFIX:?set PREFIX to the install prefix}"
HEADER="$PREFIX/include/swiftmlp.h"
LIB="$PREFIX/lib/libswiftmlp.so"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# shellcheck source=check.sh
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

check "$([[ -f $HEADER ]] && echo 1 || echo 0)" "the header is installed at $HEADER"
check "$([[ -e $LIB ]] && echo 1 || echo 0)" "the library is installed at $LIB"

# Function declarations of the header, with comments removed first (the comments
# mention names such as smlp_layer_info() that are not functions).
perl -0777 -pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g' "$HEADER" \
    | grep -oE 'smlp_[a-z_0-9]+[[:space:]]*\(' | sed -E 's/[[:space:]]*\($//' | sort -u \
    > "$SCRATCH/declared"
# Global symbols the library defines: uppercase type letters, except the version
# node itself ('A'); drop the @@VERSION suffix.
nm -D --defined-only "$LIB" | awk '$2 ~ /^[A-Z]$/ && $2 != "A" { print $3 }' | sed 's/@.*//' | sort -u \
    > "$SCRATCH/exported"

declared_count=$(wc -l < "$SCRATCH/declared")
check "$((declared_count >= 17 ? 1 : 0))" "the header declares the core API (found $declared_count functions)"
missing=$(comm -23 "$SCRATCH/declared" "$SCRATCH/exported" | tr '\n' ' ')
extra=$(comm -13 "$SCRATCH/declared" "$SCRATCH/exported" | tr '\n' ' ')
check "$([[ -z $missing ]] && echo 1 || echo 0)" "every function the header declares is exported" \
    "declared but not exported: $missing"
check "$([[ -z $extra ]] && echo 1 || echo 0)" "the library exports nothing the header does not declare" \
    "exported but not declared: $extra"
versioned=$(nm -D --defined-only "$LIB" | awk '$2 ~ /^[A-Z]$/ && $3 ~ /@/ { print $3 }' | tr '\n' ' ')
check "$([[ -z $versioned ]] && echo 1 || echo 0)" "exports are the plain header names (no @@VERSION suffix)" \
    "versioned: $versioned"

# Nothing of Swift is needed at run time: no Swift or Foundation library, and no
# undefined Swift runtime symbol left for someone else to provide.
deps=$(ldd "$LIB")
swift_libs=$(grep -E 'libswift|swiftCore' <<< "$deps" || true)
check "$([[ -z $swift_libs ]] && echo 1 || echo 0)" "ldd shows no libswift*" "$swift_libs"
foundation_libs=$(grep -Ei 'Foundation|libdispatch|libBlocksRuntime' <<< "$deps" || true)
check "$([[ -z $foundation_libs ]] && echo 1 || echo 0)" "ldd shows no Foundation (nor libdispatch)" \
    "$foundation_libs"
not_found=$(grep 'not found' <<< "$deps" || true)
check "$([[ -z $not_found ]] && echo 1 || echo 0)" "every dependency resolves" "$not_found"
undefined_swift=$(nm -D --undefined-only "$LIB" | awk '{ print $NF }' | grep -E '^(swift_|\$s)' | head -5 | tr '\n' ' ' || true)
check "$([[ -z $undefined_swift ]] && echo 1 || echo 0)" "no undefined Swift runtime symbols" "$undefined_swift"

# SONAME and the symlink chain that make install created.
soname=$(readelf -d "$LIB" | sed -nE 's/.*\(SONAME\).*\[(.*)\].*/\1/p')
check "$([[ $soname == libswiftmlp.so.0 ]] && echo 1 || echo 0)" "SONAME is libswiftmlp.so.0" "got '$soname'"
check "$([[ -e $PREFIX/lib/libswiftmlp.so.0 ]] && echo 1 || echo 0)" "lib/libswiftmlp.so.0 exists for the loader"
check "$([[ $(readlink -f "$LIB") == $(readlink -f "$PREFIX/lib/libswiftmlp.so.0") ]] && echo 1 || echo 0)" \
    "libswiftmlp.so and libswiftmlp.so.0 are the same file"

# The Embedded Swift build (make test-c sets SWIFTMLP_EMBEDDED=1: the shipped build; docs/embedded.md)
# is the size of a C library and needs nothing beyond libc, libm and OpenBLAS.
if [[ ${SWIFTMLP_EMBEDDED:-0} == 1 ]]; then
    real=$(readlink -f "$LIB")
    size=$(stat -c %s "$real")
    check "$([[ -z $(readelf -S "$real" | grep -F .symtab) ]] && echo 1 || echo 0)" \
        "the installed library is stripped (no .symtab)"
    check "$((size <= 1048576 ? 1 : 0))" "the stripped library is at most 1 MiB" "it is $size bytes"
    needed=$(readelf -d "$real" | sed -nE 's/.*\(NEEDED\).*\[(.*)\].*/\1/p')
    other_needed=$(grep -vxE 'libc\.so\.6|libm\.so\.6|libopenblas\.so\.0|ld-linux.*' <<< "$needed" | tr '\n' ' ' || true)
    check "$([[ -z $other_needed ]] && echo 1 || echo 0)" \
        "it needs only libc, libm, libopenblas and the loader (DT_NEEDED)" "also needs: $other_needed"
    # ldd lists the whole tree: what libopenblas needs itself (libgfortran, ...) comes
    # with it and is not ours; anything else besides libc, libm and the loader would be.
    blas=$(ldd "$real" | awk '$1 ~ /^libopenblas/ { print $3 }')
    ours=$(comm -23 <(ldd "$real" | awk '{ print $1 }' | sort -u) \
                    <( [[ -n $blas ]] && ldd "$blas" | awk '{ print $1 }' | sort -u) \
        | grep -vE '^(libc\.so\.6|libm\.so\.6|libopenblas\.so\.0|linux-vdso\.so\.1|.*/ld-linux.*)$' \
        | tr '\n' ' ' || true)
    check "$([[ -n $blas && -z $ours ]] && echo 1 || echo 0)" \
        "ldd shows only libc, libm, libopenblas (and what it needs) and the loader" \
        "libopenblas: '$blas'; also: $ours"
    # The newest glibc symbol version it uses sets the wheel's manylinux tag and the
    # .deb's libc6 dependency (Makefile): docs/install.md promises glibc 2.34 (RHEL 9,
    # Ubuntu 22.04). A newer libc function (arc4random_buf, 2.36, once came in through
    # SystemRandomNumberGenerator) would silently drop those systems.
    newest_glibc=$(objdump -T "$real" | grep -oE 'GLIBC_2\.[0-9]+' | sort -V | tail -n 1)
    check "$([[ $(printf '%s\n' "$newest_glibc" GLIBC_2.34 | sort -V | tail -n 1) == GLIBC_2.34 ]] && echo 1 || echo 0)" \
        "it needs glibc 2.34 at most" "its newest symbol version is $newest_glibc"
    # Embedded Swift prints a value it has no description for as this placeholder; a
    # message must never say it (every interpolated type is printable).
    check "$([[ -z $(grep -aF 'cannot print value in embedded Swift' "$real") ]] && echo 1 || echo 0)" \
        "no error message can contain Embedded Swift's unprintable-value placeholder"
fi

# pkg-config reports the header's version.
# (SMLP_VERSION_STRING is spelled by the preprocessor from the number macros.)
header_version=$(printf '#include "swiftmlp.h"\nSMLP_VERSION_STRING\n' | ${CC:-cc} -E -P -I"$(dirname "$HEADER")" - |
                 sed -nE 's/^"(.*)"$/\1/p')
pc_version=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --modversion swiftmlp 2>/dev/null || true)
check "$([[ -n $pc_version && $pc_version == "$header_version" ]] && echo 1 || echo 0)" \
    "pkg-config --modversion equals SMLP_VERSION_STRING" "pkg-config '$pc_version', header '$header_version'"

check_summary
