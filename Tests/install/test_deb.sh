#!/usr/bin/env bash
# test_deb.sh - make deb, then what a Debian user does: install it with dpkg, build
# examples/xor.c with pkg-config and with CMake (find_package, no hint where), run them,
# run one under valgrind with the packaged suppressions, and remove the package: dpkg -r
# must leave none of its files or folders behind.
#
# It installs into the real system (/usr), so it needs root, and refuses to run when a
# swiftmlp package is already installed (it would replace it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ $(id -u) -ne 0 ]]; then
    check 0 "test_deb.sh installs a package: run it as root (make test does, in CI)"
    check_summary; exit
fi
if dpkg-query -W -f='${Status}' swiftmlp 2>/dev/null | grep -q "installed"; then
    check 0 "a swiftmlp package is already installed: dpkg -r swiftmlp first"
    check_summary; exit
fi

check "$(ok "$MAKE" -s -C "$ROOT" --no-print-directory deb)" "make deb" "$(last_log)"
arch=$(dpkg --print-architecture)
deb=$ROOT/dist/swiftmlp_$VERSION-1_${arch}.deb
check "$([[ -f $deb ]] && echo 1 || echo 0)" "make deb writes dist/swiftmlp_$VERSION-1_$arch.deb"
[[ -f $deb ]] || { check_summary; exit; }

multiarch=$(${CC} -print-multiarch)
libdir=/usr/lib/$multiarch
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for path in "$libdir/libswiftmlp.so.$VERSION" "$libdir/libswiftmlp.so.0" "$libdir/libswiftmlp.so" \
            /usr/include/swiftmlp.h "$libdir/pkgconfig/swiftmlp.pc" \
            "$libdir/cmake/swiftmlp/swiftmlpConfig.cmake" "$libdir/cmake/swiftmlp/swiftmlpConfigVersion.cmake" \
            /usr/share/swiftmlp/valgrind.supp; do
    check "$(grep -qx "$path" <<< "$contents" && echo 1 || echo 0)" "the package holds $path"
done

cleanup_steps+=("dpkg -r swiftmlp >/dev/null 2>&1 || true")
check "$(ok dpkg -i "$deb")" "dpkg -i installs it" "$(last_log)"
check "$([[ $(readlink "$libdir/libswiftmlp.so.0") == "libswiftmlp.so.$VERSION" ]] && echo 1 || echo 0)" \
    "libswiftmlp.so.0 links to libswiftmlp.so.$VERSION"
check "$(ldconfig -p | grep -q "libswiftmlp.so.0 " && echo 1 || echo 0)" \
    "ldconfig knows libswiftmlp.so.0 (the package's ldconfig trigger ran)"

# pkg-config: no PKG_CONFIG_PATH, no rpath: a system install.
cp "$ROOT/examples/xor.c" "$SCRATCH/"
check "$(ok env -C "$SCRATCH" -u PKG_CONFIG_PATH sh -c \
    "$CC -std=c99 -Wall -Wextra -pedantic -Werror xor.c -o xor_pc \$(pkg-config --cflags --libs swiftmlp) -lm")" \
    "xor.c builds with \`cc xor.c \$(pkg-config --cflags --libs swiftmlp)\`" "$(last_log)"
out=$(env -u LD_LIBRARY_PATH "$SCRATCH/xor_pc" 2>&1) && ran=1 || ran=0
check "$(((ran)) && grep -q '4 of 4 correct' <<< "$out" && echo 1 || echo 0)" \
    "the pkg-config build runs and learns XOR" "$(tail -n 5 <<< "$out")"
loaded=$(ldd "$SCRATCH/xor_pc" | sed -nE 's/.*libswiftmlp\.so\.0 => ([^ ]+).*/\1/p')
check "$([[ -n $loaded && $(readlink -f "$loaded") == "$(readlink -f "$libdir/libswiftmlp.so.$VERSION")" ]] \
    && echo 1 || echo 0)" "it loads the packaged library" "ldd: '$loaded'"

# CMake: find_package finds the package under /usr with no CMAKE_PREFIX_PATH.
mkdir -p "$SCRATCH/app"
cp "$ROOT/examples/xor.c" "$SCRATCH/app/"
cat > "$SCRATCH/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(uses_swiftmlp C)
find_package(swiftmlp 0.1 REQUIRED)
add_executable(xor xor.c)
target_link_libraries(xor PRIVATE swiftmlp::swiftmlp m)
CMAKE
check "$(ok env -u CMAKE_PREFIX_PATH cmake -S "$SCRATCH/app" -B "$SCRATCH/app/build")" \
    "cmake finds the packaged swiftmlp with find_package(swiftmlp 0.1 REQUIRED)" "$(last_log)"
check "$(ok cmake --build "$SCRATCH/app/build")" "and builds xor.c" "$(last_log)"
out=$("$SCRATCH/app/build/xor" 2>&1) && ran=1 || ran=0
check "$(((ran)) && grep -q '4 of 4 correct' <<< "$out" && echo 1 || echo 0)" \
    "the CMake build runs and learns XOR" "$(tail -n 5 <<< "$out")"

# valgrind with the packaged suppressions: no error, nothing "possibly lost" left over.
if command -v valgrind >/dev/null 2>&1; then
    OPENBLAS_NUM_THREADS=1 valgrind --leak-check=full --error-exitcode=99 \
        --suppressions=/usr/share/swiftmlp/valgrind.supp "$SCRATCH/xor_pc" > "$SCRATCH/valgrind.log" 2>&1 \
        && clean=1 || clean=0
    check "$clean" "valgrind --leak-check=full --suppressions=/usr/share/swiftmlp/valgrind.supp: no errors" \
        "$(grep -E 'lost|ERROR SUMMARY' "$SCRATCH/valgrind.log" | head -n 6)"
else
    check 0 "valgrind is installed (scripts/bootstrap.sh test)"
fi

check "$(ok dpkg -r swiftmlp)" "dpkg -r swiftmlp" "$(last_log)"
left=""
while read -r path; do
    [[ -z $path || $path == / || $path == /usr || $path == /usr/lib || $path == /usr/include \
       || $path == /usr/share || $path == "$libdir" || $path == "$libdir/pkgconfig" \
       || $path == "$libdir/cmake" ]] && continue
    # The package's own files and folders (shared system folders above stay).
    [[ -e $path || -L $path ]] && left+="$path "
done <<< "$(sed 's|/$||' <<< "$contents")"
check "$([[ -z $left ]] && echo 1 || echo 0)" "dpkg -r leaves none of the package's files or folders" "$left"
status=$(dpkg-query -W -f='${db:Status-Status}' swiftmlp 2>/dev/null || echo not-installed)
check "$([[ $status == not-installed ]] && echo 1 || echo 0)" "dpkg forgets the package" "status '$status'"
check "$(ldconfig -p | grep -q "libswiftmlp" && echo 0 || echo 1)" "ldconfig no longer lists libswiftmlp"

check_summary
