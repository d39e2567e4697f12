#!/usr/bin/env bash
# test_version.sh - the version is written once, as include/swiftmlp.h's
# SMLP_VERSION_MAJOR/MINOR/PATCH; everything else must report the same:
# SMLP_VERSION_STRING and SMLP_VERSION_NUMBER after the preprocessor, the library's
# smlp_version() and smlp_version_string(), the Makefile's VERSION (the file names of
# make install), pkg-config and CMake after make install, and the Python package
# (__version__, _capi, version_string(), the wheel's metadata through setup.py). And no
# file that used to type it types it again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

check "$([[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && echo 1 || echo 0)" \
    "the header defines SMLP_VERSION_MAJOR, _MINOR and _PATCH" "got '$VERSION'"
number=$(($(header_number MAJOR) * 10000 + $(header_number MINOR) * 100 + $(header_number PATCH)))

# C: the macros and the library.
cat > "$SCRATCH/version.c" <<'C'
#include <stdio.h>
#include <swiftmlp.h>
int main(void) {
    printf("%s %d %s %u\n", SMLP_VERSION_STRING, SMLP_VERSION_NUMBER, smlp_version_string(),
           smlp_version());
    return 0;
}
C
check "$(ok "$CC" -std=c99 -Wall -Wextra -pedantic -Werror -I"$ROOT/include" -o "$SCRATCH/version" \
    "$SCRATCH/version.c" -L"$ROOT/build/lib" -lswiftmlp -Wl,-rpath,"$ROOT/build/lib")" \
    "a C program printing the version macros and functions builds" "$(last_log)"
c_line=$("$SCRATCH/version" 2>&1 || true)
check "$([[ $c_line == "$VERSION $number $VERSION $number" ]] && echo 1 || echo 0)" \
    "SMLP_VERSION_STRING, SMLP_VERSION_NUMBER, smlp_version_string(), smlp_version() agree" \
    "expected '$VERSION $number $VERSION $number', got '$c_line'"

# The Makefile, and what make install writes.
make_version=$("$MAKE" -s -C "$ROOT" --no-print-directory -f Makefile -f - print-version <<'MK'
print-version:
	@echo $(VERSION)
MK
)
check "$([[ $make_version == "$VERSION" ]] && echo 1 || echo 0)" "the Makefile's VERSION" "got '$make_version'"
prefix=$SCRATCH/prefix
check "$(ok "$MAKE" -s -C "$ROOT" --no-print-directory install PREFIX="$prefix")" "make install" "$(last_log)"
check "$([[ -f $prefix/lib/libswiftmlp.so.$VERSION ]] && echo 1 || echo 0)" \
    "make install names the library libswiftmlp.so.$VERSION"
pc=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion swiftmlp 2>&1 || true)
check "$([[ $pc == "$VERSION" ]] && echo 1 || echo 0)" "pkg-config --modversion" "got '$pc'"
cmake_version=$(sed -nE 's/^set\(PACKAGE_VERSION "(.*)"\)/\1/p' "$prefix/lib/cmake/swiftmlp/swiftmlpConfigVersion.cmake")
check "$([[ $cmake_version == "$VERSION" ]] && echo 1 || echo 0)" "swiftmlpConfigVersion.cmake" "got '$cmake_version'"

# Python: from the source tree (reads the header) and as setup.py builds it.
py=$(cd "$SCRATCH" && PYTHONPATH=$ROOT/bindings/python SWIFTMLP_LIBRARY=$ROOT/build/lib/libswiftmlp.so.0 \
     "$PYTHON" -c "import swiftmlp; from swiftmlp import _capi
print(swiftmlp.__version__, _capi.SMLP_VERSION_STRING, _capi.SMLP_VERSION_NUMBER, swiftmlp.version_string())" 2>&1 || true)
check "$([[ $py == "$VERSION $VERSION $number $VERSION" ]] && echo 1 || echo 0)" \
    "Python: __version__, _capi's version, version_string()" "got '$py'"
setup_version=$(cd "$ROOT/bindings/python" && "$PYTHON" setup.py --version 2>/dev/null | tail -n 1 || true)
check "$([[ $setup_version == "$VERSION" ]] && echo 1 || echo 0)" \
    "setup.py --version (the wheel's and pip's version)" "got '$setup_version'"
built=$SCRATCH/pybuild
check "$(ok env -C "$ROOT/bindings/python" SWIFTMLP_BUNDLE_LIBRARY="$ROOT/build/lib/libswiftmlp.so.0" \
    "$PYTHON" setup.py -q build --build-base "$built" --build-lib "$built/lib")" "setup.py build" "$(last_log)"
built_version=$(cd "$SCRATCH" && env -u SWIFTMLP_LIBRARY PYTHONPATH="$built/lib" "$PYTHON" -c \
    "import swiftmlp, swiftmlp._build_version as b; print(swiftmlp.__version__, '%d.%d.%d' % (b.MAJOR, b.MINOR, b.PATCH))" 2>&1 || true)
check "$([[ $built_version == "$VERSION $VERSION" ]] && echo 1 || echo 0)" \
    "a built package carries the header's version (_build_version.py)" "got '$built_version'"

# Nowhere else typed: the files that used to hold it hold no version literal.
typed=$(cd "$ROOT" && grep -nE '"[0-9]+\.[0-9]+\.[0-9]+"|^version *=|^VERSION *:?= *[0-9]' Makefile \
    Sources/SwiftMLPCABI/Exports.swift bindings/python/pyproject.toml bindings/python/swiftmlp/__init__.py \
    bindings/python/swiftmlp/_capi.py bindings/python/setup.py || true)
check "$([[ -z $typed ]] && echo 1 || echo 0)" "no other file types the version" "$typed"

check_summary
