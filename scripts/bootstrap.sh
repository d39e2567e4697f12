#!/usr/bin/env bash
# Installs what swiftmlp needs on a fresh Debian machine, and nothing when it is
# already there. Called by `make`; safe to run by hand any number of times.
#
#   scripts/bootstrap.sh          system packages for the library and the C tests
#   scripts/bootstrap.sh python   also the Python packages the tests and examples use
#   scripts/bootstrap.sh mpi      also Open MPI (mpirun, mpicc) for the data-parallel tests
#   scripts/bootstrap.sh bench    also what the benchmark compares against (FANN, NumPy,
#                                 matplotlib; JAX when pip can install it)
#
# As root it installs with apt-get/pip; otherwise it prints the exact command and
# stops with status 1.
set -euo pipefail

want_python=0
want_bench=0
want_mpi=0
for arg in "$@"; do
    case "$arg" in
        python) want_python=1 ;;
        bench) want_python=1; want_bench=1 ;;
        mpi) want_mpi=1 ;;
        *) echo "bootstrap.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if ! pkg-config --exists openblas 2>/dev/null; then missing+=(libopenblas-dev); fi
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)   # make valgrind (in make test)
# FANN: the benchmark's peer, and Tests/c/test_fann_libfann.sh (.net files libfann wrote)
[[ -e /usr/include/fann.h ]] || missing+=(libfann-dev)
if ((want_mpi)); then
    { command -v mpirun && command -v mpicc; } >/dev/null 2>&1 || missing+=(openmpi-bin)
    pkg-config --exists ompi-c 2>/dev/null || missing+=(libopenmpi-dev)
fi

if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "bootstrap: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "bootstrap: missing ${missing[*]}; run:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if ((want_python)); then
    PYTHON=${PYTHON:-python3}
    py_missing=()
    # module:package pairs; scikit-learn, matplotlib and tqdm are used by the binding's
    # estimator tests and examples, wheel/setuptools by its packaging test, onnx and
    # onnxruntime by the interop tests (swiftmlp.interop).
    for pair in numpy:numpy pytest:pytest sklearn:scikit-learn matplotlib:matplotlib \
                tqdm:tqdm wheel:wheel setuptools:setuptools onnx:onnx onnxruntime:onnxruntime; do
        module=${pair%%:*} package=${pair#*:}
        "$PYTHON" -c "import $module" >/dev/null 2>&1 || py_missing+=("$package")
    done
    if ((${#py_missing[@]})); then
        if [[ $(id -u) -eq 0 ]]; then
            echo "bootstrap: pip installing ${py_missing[*]}"
            "$PYTHON" -m pip install -q "${py_missing[@]}"
        else
            echo "bootstrap: missing Python packages ${py_missing[*]}; run:" >&2
            echo "    $PYTHON -m pip install ${py_missing[*]}" >&2
            exit 1
        fi
    fi
fi

if ((want_bench)); then
    PYTHON=${PYTHON:-python3}
    for pair in threadpoolctl:threadpoolctl; do
        module=${pair%%:*} package=${pair#*:}
        "$PYTHON" -c "import $module" >/dev/null 2>&1 || "$PYTHON" -m pip install -q "$package"
    done
    # JAX is optional: its rows read "n/a" when it cannot be installed.
    "$PYTHON" -c "import jax" >/dev/null 2>&1 || "$PYTHON" -m pip install -q jax jaxlib \
        || echo "bootstrap: JAX not installed; the benchmark skips its rows"
fi
