#!/usr/bin/env bash
# test_cmake.sh - make install's CMake package, used as a C or C++ project would: a
# project outside the repository with find_package(swiftmlp 0.1 REQUIRED) and the
# imported target swiftmlp::swiftmlp builds examples/xor.c, which then learns XOR. And
# find_package refuses a version this install does not satisfy (a newer minor, another
# major).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

prefix=$SCRATCH/prefix
check "$(ok "$MAKE" -s -C "$ROOT" --no-print-directory install PREFIX="$prefix")" "make install" "$(last_log)"
for file in swiftmlpConfig.cmake swiftmlpConfigVersion.cmake; do
    check "$([[ -f $prefix/lib/cmake/swiftmlp/$file ]] && echo 1 || echo 0)" "installs lib/cmake/swiftmlp/$file"
done

project() { # project <folder> <version request>: a CMake project building xor.c
    mkdir -p "$1"
    cp "$ROOT/examples/xor.c" "$1/"
    cat > "$1/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(uses_swiftmlp C)
find_package(swiftmlp $2 REQUIRED)
add_executable(xor xor.c)
set_target_properties(xor PROPERTIES C_STANDARD 99)
target_link_libraries(xor PRIVATE swiftmlp::swiftmlp m)
CMAKE
}

project "$SCRATCH/app" 0.1
check "$(ok cmake -S "$SCRATCH/app" -B "$SCRATCH/app/build" -DCMAKE_PREFIX_PATH="$prefix")" \
    "cmake configures a project with find_package(swiftmlp 0.1 REQUIRED)" "$(last_log)"
check "$(ok cmake --build "$SCRATCH/app/build")" "cmake --build builds examples/xor.c" "$(last_log)"
out=$("$SCRATCH/app/build/xor" 2>&1) && ran=1 || ran=0
check "$ran" "the CMake-built xor runs (exit 0)" "$(tail -n 5 <<< "$out")"
check "$(grep -q '4 of 4 correct' <<< "$out" && echo 1 || echo 0)" "it prints 4 of 4 correct"
linked=$(ldd "$SCRATCH/app/build/xor" | grep libswiftmlp || true)
check "$([[ $linked == *"$prefix/lib/libswiftmlp.so.0"* ]] && echo 1 || echo 0)" \
    "it runs the installed library (CMake's build RPATH)" "$linked"

# C++: the header is extern "C"; a C++ project links the same target.
mkdir -p "$SCRATCH/cxx"
cat > "$SCRATCH/cxx/main.cpp" <<'CXX'
#include <swiftmlp.h>
#include <cstdio>
#include <cstring>
int main() {
    const size_t sizes[] = {2, 3, 1};
    const smlp_activation activations[] = {SMLP_TANH, SMLP_IDENTITY};
    smlp_config config;
    smlp_config_init(&config);
    config.n_layer_sizes = 3;
    config.layer_sizes = sizes;
    config.activations = activations;
    smlp_model *model = nullptr;
    smlp_status status = smlp_create(&config, &model);
    std::printf("%s %s %s\n", smlp_version_string(), SMLP_VERSION_STRING, smlp_status_string(status));
    smlp_free(model);
    return status == SMLP_OK && std::strcmp(smlp_version_string(), SMLP_VERSION_STRING) == 0 ? 0 : 1;
}
CXX
cat > "$SCRATCH/cxx/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(uses_swiftmlp_from_cxx CXX)
find_package(swiftmlp 0.1 REQUIRED)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE swiftmlp::swiftmlp)
CMAKE
check "$(ok cmake -S "$SCRATCH/cxx" -B "$SCRATCH/cxx/build" -DCMAKE_PREFIX_PATH="$prefix")" \
    "cmake configures a C++ project using swiftmlp::swiftmlp" "$(last_log)"
check "$(ok cmake --build "$SCRATCH/cxx/build")" "and builds it" "$(last_log)"
out=$("$SCRATCH/cxx/build/app" 2>&1) && ran=1 || ran=0
check "$ran" "the C++ program creates a model and reads the version" "$out"

major=${VERSION%%.*} rest=${VERSION#*.} minor=${rest%%.*}
for request in "$major.$((minor + 1))" "$((major + 1)).0"; do
    project "$SCRATCH/refused-$request" "$request"
    configured=$(ok cmake -S "$SCRATCH/refused-$request" -B "$SCRATCH/refused-$request/build" \
        -DCMAKE_PREFIX_PATH="$prefix")
    check "$([[ $configured == 0 ]] && grep -q "swiftmlpConfig.cmake, version: $VERSION" "$SCRATCH/last.log" \
        && echo 1 || echo 0)" "find_package(swiftmlp $request REQUIRED) refuses version $VERSION" "$(last_log 8)"
done

check_summary
