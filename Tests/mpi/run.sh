#!/usr/bin/env bash
# Data-parallel training over MPI: builds Tests/mpi/test_*.c and examples/mpi_train.c
# with mpicc against build/lib/libswiftmlp.so (make library), then runs
#   - every test program under mpirun with 1, 2 and 3 ranks (3 ranks on 2 cores is
#     oversubscribed on purpose: correctness must not depend on the core count), and
#   - examples/mpi_train with 2 ranks (it exits non-zero below 96% test accuracy or
#     if the ranks' parameters differ), and
#   - scripts/mpi4py_train.py with 2 ranks where mpi4py is installed (optional; it
#     must print the same epoch lines as the C example).
# Tests/mpi/bench_step.c is only compiled (docs/distributed.md has its numbers).
# Each test run prints "N passed, N failed"; this script sums them and prints the total
# as its last line, and exits non-zero if any check failed, a program did not compile,
# or a run crashed or timed out without reporting.
#
#   Tests/mpi/run.sh                     (make test-mpi does this)
#
# Without mpirun/mpicc (packages openmpi-bin, libopenmpi-dev) it prints a SKIP line and
# exits 0 - unless CI is set (CI=true), where a missing MPI is a failure, because
# scripts/bootstrap.sh should have installed it.
#
# Environment: LIBDIR (default build/lib), MPICC (mpicc), MPIRUN (mpirun),
# MPI_RANKS (default "1 2 3"), TEST_TIMEOUT (seconds per run, default 300),
# MPIRUN_FLAGS (replaces the default flags below).
set -euo pipefail
shopt -s nullglob

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIBDIR=${LIBDIR:-$ROOT/build/lib}
MPICC=${MPICC:-mpicc}
MPIRUN=${MPIRUN:-mpirun}
RANKS=${MPI_RANKS:-1 2 3}
TIMEOUT=${TEST_TIMEOUT:-300}
SCRATCH="$ROOT/build/test-mpi"

in_ci() {
    case "${CI:-}" in
        "" | 0 | false | FALSE | False | no) return 1 ;;
        *) return 0 ;;
    esac
}

missing=()
command -v "$MPIRUN" > /dev/null 2>&1 || missing+=("$MPIRUN (package openmpi-bin)")
command -v "$MPICC" > /dev/null 2>&1 || missing+=("$MPICC (package libopenmpi-dev)")
if ((${#missing[@]})); then
    if in_ci; then
        echo "FAIL: ${missing[*]} not found, and CI is set: scripts/bootstrap.sh should have installed it"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "SKIP: MPI tests not run: ${missing[*]} not found (apt-get install openmpi-bin libopenmpi-dev)"
    exit 0
fi

if [[ ! -e "$LIBDIR/libswiftmlp.so" ]]; then
    echo "FAIL: $LIBDIR/libswiftmlp.so not found; run 'make library' first"
    echo "0 passed, 1 failed"
    exit 1
fi

# Flags for a container or a laptop, all harmless on a real node:
#  --allow-run-as-root   containers often run as root, which mpirun refuses by default
#  --oversubscribe       more ranks than cores (3 ranks on 2 cores here)
#  --bind-to none        no pinning, so oversubscribed ranks can share cores
#  --mca btl self,vader  shared memory only, no probing for TCP/InfiniBand devices
#  -x OPENBLAS_NUM_THREADS=1   one BLAS thread per rank: the ranks are the parallelism
# and, in the environment, vader's single-copy mechanism off: CMA (process_vm_readv)
# needs ptrace rights that Docker's default seccomp profile does not grant.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OPENBLAS_NUM_THREADS=1
read -r -a FLAGS <<< "${MPIRUN_FLAGS:---allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader -x OPENBLAS_NUM_THREADS -x OMPI_MCA_btl_vader_single_copy_mechanism}"

CFLAGS=(-std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$ROOT/include")
LDFLAGS=(-L"$LIBDIR" -lswiftmlp -lm -Wl,-rpath,"$LIBDIR")

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
# shellcheck source=../c/run_one.sh
source "$ROOT/Tests/c/run_one.sh"

build() { # build NAME SOURCE: 0 if it compiled, else counts a failure
    local name=$1 source=$2
    if ! "$MPICC" "${CFLAGS[@]}" -o "$SCRATCH/$name" "$source" "${LDFLAGS[@]}" \
            > "$SCRATCH/$name.build.log" 2>&1; then
        echo "== $name"
        cat "$SCRATCH/$name.build.log"
        echo "$name: DID NOT COMPILE"
        total_failed=$((total_failed + 1))
        return 1
    fi
}

for source in "$HERE"/test_*.c; do
    name=$(basename "$source" .c)
    build "$name" "$source" || continue
    for np in $RANKS; do
        run_one "$name (np $np)" "$MPIRUN" "${FLAGS[@]}" -np "$np" "$SCRATCH/$name"
    done
done

# The benchmark of docs/distributed.md is not run, only kept compiling.
if build bench_step "$HERE/bench_step.c"; then
    echo "ok   - Tests/mpi/bench_step.c compiles"
    total_passed=$((total_passed + 1))
fi

# The example: one check, passed when it exits 0 (>= 96% test accuracy, identical
# parameters on all ranks).
if build mpi_train "$ROOT/examples/mpi_train.c"; then
    echo "== examples/mpi_train (np 2)"
    rc=0
    timeout "$TIMEOUT" "$MPIRUN" "${FLAGS[@]}" -np 2 "$SCRATCH/mpi_train" "$ROOT/examples/data" \
        > "$SCRATCH/mpi_train.log" 2>&1 < /dev/null || rc=$?
    sed -n '1p;/^epoch 30 /p;/^trained/,$p' "$SCRATCH/mpi_train.log"
    if ((rc == 0)) && grep -q '^parameters identical on all ranks: yes$' "$SCRATCH/mpi_train.log"; then
        echo "ok   - examples/mpi_train on 2 ranks: >= 96% test accuracy, identical parameters"
        total_passed=$((total_passed + 1))
    else
        echo "FAIL - examples/mpi_train on 2 ranks (exit status $rc; log $SCRATCH/mpi_train.log)"
        total_failed=$((total_failed + 1))
    fi
fi

# The mpi4py version, where mpi4py is installed (it is optional): it must print the
# same epoch and test lines as the C example.
PYTHON=${PYTHON:-python3}
if "$PYTHON" -c "import mpi4py, numpy" > /dev/null 2>&1; then
    echo "== scripts/mpi4py_train.py (np 2)"
    rc=0
    SWIFTMLP_LIBRARY="$LIBDIR/libswiftmlp.so.0" timeout "$TIMEOUT" "$MPIRUN" "${FLAGS[@]}" -np 2 \
        "$PYTHON" "$ROOT/scripts/mpi4py_train.py" "$ROOT/examples/data" \
        > "$SCRATCH/mpi4py_train.log" 2>&1 < /dev/null || rc=$?
    sed -n '1p;/^epoch 30 /p;/^trained/,$p' "$SCRATCH/mpi4py_train.log"
    if ((rc == 0)) && [[ -s "$SCRATCH/mpi_train.log" ]] &&
        diff <(grep -E '^(epoch|test) ' "$SCRATCH/mpi_train.log") \
             <(grep -E '^(epoch|test) ' "$SCRATCH/mpi4py_train.log") > /dev/null; then
        echo "ok   - scripts/mpi4py_train.py on 2 ranks prints the C example's epoch and test lines"
        total_passed=$((total_passed + 1))
    else
        echo "FAIL - scripts/mpi4py_train.py on 2 ranks (exit status $rc; log $SCRATCH/mpi4py_train.log)"
        total_failed=$((total_failed + 1))
    fi
else
    echo "note: mpi4py (or NumPy) is not installed for $PYTHON: scripts/mpi4py_train.py not run"
fi

echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
