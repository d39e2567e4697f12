#!/usr/bin/env bash
# build-support/build-embedded.sh - libswiftmlp.so as Embedded Swift (make embedded).
#
#   build-support/build-embedded.sh OUTDIR REALNAME SONAME
#
# The same sources as the SwiftPM build, compiled by swiftc in Embedded mode
# (-enable-experimental-feature Embedded): no Swift runtime library, no metadata, every
# generic specialised at compile time, so the library needs only libc, libm and
# OpenBLAS. Two whole-module compiles, as in SwiftPM: the engine (SwiftMLP, which
# also emits its module for the second) and the C ABI (SwiftMLPCABI, which imports it);
# then the C compiler links both objects with the version script that exports smlp_*.
#
# Writes OUTDIR/REALNAME (stripped), the links SONAME and libswiftmlp.so to it, and
# OUTDIR/obj/ (modules, objects and the unstripped twin, same build-id, for debuggers
# and valgrind).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: build-embedded.sh OUTDIR REALNAME SONAME}
REALNAME=${2:?usage: build-embedded.sh OUTDIR REALNAME SONAME}
SONAME=${3:?usage: build-embedded.sh OUTDIR REALNAME SONAME}
SWIFTC=${SWIFTC:-swiftc}
CC=${CC:-cc}
OBJ="$OUT/obj"
mkdir -p "$OBJ"

read -r -a blas_include <<< "$(pkg-config --cflags-only-I openblas)"
read -r -a blas_libs <<< "$(pkg-config --libs openblas)"

# -O as the SwiftPM release build, so that both builds run the same optimised loops
# (test_vectorised.sh checks them in each). -Osize was measured: 752 KB instead of
# 911 KB, but the relu and softmax-exponential loops are no longer vectorised (8 of
# test_vectorised.sh's 16 checks fail). One section per function so that the linker
# drops what no export reaches (808 KB -> 628 KB when measured). -fno-math-errno for
# the C headers Swift inlines, the standard library's among them: Float.squareRoot()
# is __builtin_sqrtf there, which with errno compiles to sqrtss and a call of sqrtf for
# a negative input, and the call kept the Adam and RMSprop loops from vectorising
# (the same results: a square root is exact either way, and nothing reads errno after
# arithmetic).
swift_flags=(
    -enable-experimental-feature Embedded -wmo -parse-as-library -O
    -Xfrontend -function-sections -Xcc -fPIC -Xcc -fno-math-errno
    -I "$ROOT/Sources/COpenBLAS" -I "$ROOT/Sources/CShim" -I "$ROOT/Sources/CSwiftMLP"
)
for flag in "${blas_include[@]}"; do swift_flags+=(-Xcc "$flag"); done

mapfile -t engine_sources < <(find "$ROOT/Sources/SwiftMLP" -name '*.swift' | sort)
mapfile -t cabi_sources < <(find "$ROOT/Sources/SwiftMLPCABI" -name '*.swift' | sort)

# The engine twice: the library's copy for baseline x86-64, and on x86-64 a copy for
# x86-64-v3 (AVX2) whose hot loops the first calls on CPUs that have it
# (Sources/SwiftMLP/Numerics/WideLoops.swift); --gc-sections keeps only those loops of
# the second. The copy needs nothing from the other compiles, so it runs beside them.
engine_objects=("$OBJ/SwiftMLP.o")
engine_flags=()
wide_compile=
if [[ $(uname -m) == x86_64 ]]; then
    "$SWIFTC" "${swift_flags[@]}" -module-name SwiftMLPWide -Xcc -march=x86-64-v3 -D SWIFTMLP_WIDE \
        -c -o "$OBJ/SwiftMLPWide.o" "${engine_sources[@]}" &
    wide_compile=$!
    engine_objects+=("$OBJ/SwiftMLPWide.o")
    engine_flags=(-D SWIFTMLP_DISPATCH)
fi
"$SWIFTC" "${swift_flags[@]}" "${engine_flags[@]}" -module-name SwiftMLP \
    -emit-module -emit-module-path "$OBJ/SwiftMLP.swiftmodule" \
    -c -o "$OBJ/SwiftMLP.o" "${engine_sources[@]}"
"$SWIFTC" "${swift_flags[@]}" -module-name SwiftMLPCABI -I "$OBJ" \
    -c -o "$OBJ/SwiftMLPCABI.o" "${cabi_sources[@]}"
# Its exit status: a failed compile of the copy fails the build (set -e).
[[ -z $wide_compile ]] || wait "$wide_compile"

# The runtime functions Embedded Swift lacks and the sources need (number parsing).
"$CC" -std=c99 -O2 -fPIC -Wall -Wextra -Werror -c -o "$OBJ/embedded-runtime.o" \
    "$ROOT/build-support/embedded-runtime.c"

# -z defs: every symbol must resolve here (a missing libc or runtime function is a
# build error, not a load-time one). Embedded Swift's Unicode tables
# (libswiftUnicodeDataTables.a, normalisation, grapheme breaks and case mappings,
# about 95 KB with the code that uses them) are not linked: the sources handle text
# as bytes (Sources/SwiftMLP/Persistence/ByteText.swift), so a String == or
# Character operation that needs them fails this link with an undefined
# _swift_stdlib_* symbol. -z nodelete: dlclose leaves the library loaded, because
# threads that made a failing call hold a message buffer whose destructor (run at
# their exit, LastError.swift) is code of this library; unloaded, it crashed them.
"$CC" -shared -o "$OBJ/$REALNAME" "${engine_objects[@]}" "$OBJ/SwiftMLPCABI.o" "$OBJ/embedded-runtime.o" \
    -Wl,--gc-sections -Wl,-z,defs -Wl,-z,nodelete -Wl,--build-id \
    -Wl,--version-script="$ROOT/build-support/libswiftmlp.map" -Wl,-soname="$SONAME" \
    "${blas_libs[@]}" -lm

strip --strip-unneeded -o "$OUT/$REALNAME.tmp" "$OBJ/$REALNAME"
mv "$OUT/$REALNAME.tmp" "$OUT/$REALNAME"
ln -sf "$REALNAME" "$OUT/$SONAME"
ln -sf "$SONAME" "$OUT/libswiftmlp.so"
