#!/usr/bin/env bash
# Tests/hardening/memory_limits.sh [program] - runs test_memory_limits under a 2 GiB
# address-space cap, as a host process with `ulimit -v` would (each scenario then
# lowers its own soft limit further; see test_memory_limits.c). Default program:
# build/hardening/test_memory_limits (built by Tests/hardening/run.sh).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGRAM=${1:-$ROOT/build/hardening/test_memory_limits}
export OPENBLAS_NUM_THREADS=1   # no pool threads across the scenarios' fork()
# The soft limit only: the program may lower it for a scenario and raise it back.
ulimit -S -v $((2 * 1024 * 1024)) || { echo "memory_limits.sh: ulimit -v failed"; echo "0 passed, 1 failed"; exit 1; }
exec "$PROGRAM"
