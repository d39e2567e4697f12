#!/usr/bin/env bash
# Tests/install/run.sh - the ways to install swiftmlp (docs/install.md), each tested the
# way a user would use it:
#   test_version.sh  the header's version is the one everything else reports
#   test_cmake.sh    make install's CMake package: find_package(swiftmlp 0.1 REQUIRED)
#   test_deb.sh      make deb: install, build examples with pkg-config and CMake, remove
#   test_dist.sh     make dist: the tarball builds the library and passes the C tests
#   test_wheel.sh    make wheel: a fresh venv with no Swift and no system OpenBLAS
#
#   Tests/install/run.sh [test_name...]      (make test-install; needs the built library)
#
# Each test prints "N passed, N failed"; the total is the last line.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCRATCH=$ROOT/build/test-install
TIMEOUT=${TEST_TIMEOUT:-900}
mkdir -p "$SCRATCH"

# shellcheck source=../c/run_one.sh
source "$ROOT/Tests/c/run_one.sh"

tests=("$@")
((${#tests[@]})) || tests=(test_version test_cmake test_deb test_dist test_wheel)
for name in "${tests[@]}"; do
    start=$SECONDS
    run_one "$name" bash "$HERE/$name.sh"
    echo "($name: $((SECONDS - start)) s)"
done

echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
