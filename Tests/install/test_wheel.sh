#!/usr/bin/env bash
# test_wheel.sh - make wheel, then what a Python user without Swift does: in a private
# mount namespace (unshare -m) where the Swift toolchain and every system copy of
# OpenBLAS, libgfortran, libquadmath and libswiftmlp are hidden (the files covered by
# empty ones, the linker cache rebuilt without them, so `ldconfig -p` cannot see them),
# a fresh venv installs dist/*.whl (and scikit-learn from PyPI), and the README's Python
# example runs there and prints the same score as against the library make built.
# Also: pip install ./bindings/python from source still works, and tells a terminal
# user what it is building.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

check "$(ok "$MAKE" -s -C "$ROOT" --no-print-directory wheel)" "make wheel" "$(last_log)"
shopt -s nullglob
wheels=("$ROOT"/dist/swiftmlp-"$VERSION"-py3-none-manylinux_*_x86_64.whl)
check "$([[ ${#wheels[@]} == 1 ]] && echo 1 || echo 0)" \
    "make wheel writes one dist/swiftmlp-$VERSION-py3-none-manylinux_*.whl" "found: ${wheels[*]:-none}"
((${#wheels[@]} == 1)) || { check_summary; exit; }
wheel=${wheels[0]}
names=$("$PYTHON" -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$wheel")
check "$(grep -qx 'swiftmlp/_lib/libswiftmlp.so.0' <<< "$names" && echo 1 || echo 0)" "the wheel holds the library"
check "$(grep -q '^swiftmlp.libs/libopenblas' <<< "$names" && echo 1 || echo 0)" \
    "the wheel holds OpenBLAS (vendored by auditwheel)" "$(grep '\.so' <<< "$names")"
check "$(ok "$PYTHON" -m auditwheel show "$wheel")" "auditwheel show reads it" "$(last_log)"
check "$(tr '\n' ' ' < "$SCRATCH/last.log" | grep -qE 'following +platform +tag: +"manylinux_' && echo 1 || echo 0)" \
    "auditwheel: the wheel is consistent with a manylinux tag" "$(last_log 8)"
echo "(wheel: $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KiB)"

# The README's Python example, and the score it prints against the library make built.
awk '/^## Use it from Python/{f=1} f&&/^```python/{p=1;next} p&&/^```/{exit} p' "$ROOT/README.md" \
    > "$SCRATCH/readme_example.py"
check "$(grep -q 'import' "$SCRATCH/readme_example.py" && echo 1 || echo 0)" \
    "README.md has a Python example under 'Use it from Python'"
reference=$(cd "$SCRATCH" && PYTHONPATH=$ROOT/bindings/python SWIFTMLP_LIBRARY=$ROOT/build/lib/libswiftmlp.so.0 \
    "$PYTHON" readme_example.py 2>&1 | tail -n 1 || true)
check "$([[ $reference =~ ^0\.[0-9]+$ ]] && echo 1 || echo 0)" \
    "the example prints a score against build/lib" "got '$reference'"

# The namespace: hide Swift and the system libraries, then install and run.
swift_bin=$(command -v swift || true)
swift_root=""
[[ -n $swift_bin ]] && swift_root=$(dirname "$(dirname "$(readlink -f "$swift_bin")")")
cat > "$SCRATCH/isolated.sh" <<SH
set -euo pipefail
# Swift: its toolchain folder covered by an empty one.
if [[ -n "$swift_root" ]]; then mount -t tmpfs -o size=1m swift-hidden "$swift_root"; fi
# The system libraries a manylinux wheel may not assume: every file the linker cache
# lists for them, covered by an empty file; then a cache without them.
: > "$SCRATCH/empty"
for path in \$(ldconfig -p | awk '/lib(openblas|gfortran|quadmath|swiftmlp|blas|lapack)/ {print \$NF}'); do
    real=\$(readlink -f "\$path")
    [[ -f \$real ]] && mount --bind "$SCRATCH/empty" "\$real"
done
ldconfig -C "$SCRATCH/ld.so.cache" 2>/dev/null
mount --bind "$SCRATCH/ld.so.cache" /etc/ld.so.cache
echo "swift on PATH: \$(command -v swift swiftc || echo none)"
echo "ldconfig -p: \$(ldconfig -p | grep -cE 'lib(openblas|gfortran|quadmath|swiftmlp)') entries"
"$PYTHON" -c "import ctypes
try:
    ctypes.CDLL('libopenblas.so.0'); print('libopenblas.so.0: loads')
except OSError:
    print('libopenblas.so.0: cannot be loaded')"
"$PYTHON" -m venv "$SCRATCH/venv"
"$SCRATCH/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel" scikit-learn
cd "$SCRATCH"
env -u SWIFTMLP_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH "$SCRATCH/venv/bin/python" -c "import swiftmlp
print('library:', swiftmlp.library_path)
for path in sorted({l.split()[-1] for l in open('/proc/self/maps') if 'openblas' in l}): print('openblas:', path)"
env -u SWIFTMLP_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH "$SCRATCH/venv/bin/python" readme_example.py
SH
unshare --mount --propagation private bash "$SCRATCH/isolated.sh" > "$SCRATCH/isolated.log" 2>&1 \
    && isolated=1 || isolated=0
cat "$SCRATCH/isolated.log" | grep -v "^WARNING: Running pip as" | sed 's/^/    | /'
check "$isolated" "in the namespace: fresh venv, pip install the wheel, run the README example" \
    "$(tail -n 10 "$SCRATCH/isolated.log")"
log=$(cat "$SCRATCH/isolated.log")
check "$(grep -qx 'swift on PATH: none' <<< "$log" && echo 1 || echo 0)" "no Swift on PATH in the namespace"
check "$(grep -qx 'ldconfig -p: 0 entries' <<< "$log" && echo 1 || echo 0)" \
    "ldconfig -p lists no OpenBLAS, libgfortran, libquadmath or libswiftmlp in the namespace"
check "$(grep -qx 'libopenblas.so.0: cannot be loaded' <<< "$log" && echo 1 || echo 0)" \
    "the system's libopenblas.so.0 cannot be loaded in the namespace"
check "$(grep -q "^library: $SCRATCH/venv/.*/site-packages/swiftmlp/_lib/libswiftmlp.so.0$" <<< "$log" \
    && echo 1 || echo 0)" "swiftmlp loads the library from the wheel" "$(grep '^library:' <<< "$log" || true)"
# (NumPy loads its own copy, libscipy_openblas64_, from numpy.libs: not a system library.)
blas=$(grep '^openblas:' <<< "$log" || true)
check "$(grep -qE "^openblas: $SCRATCH/venv/lib/[^/]+/site-packages/swiftmlp.libs/libopenblas[^/]*$" <<< "$blas" \
    && ! grep -v "^openblas: $SCRATCH/venv/" <<< "$blas" | grep -q . && echo 1 || echo 0)" \
    "and the OpenBLAS vendored in the wheel; no OpenBLAS from outside the venv" "$blas"
score=$(tail -n 1 <<< "$log")
check "$([[ $score == "$reference" ]] && echo 1 || echo 0)" \
    "the README example scores the same from the wheel ($reference)" "got '$score'"

# From source: pip install ./bindings/python (make library is up to date here, so it
# only relinks nothing and bundles); under a terminal (script) it says what it builds.
target=$SCRATCH/from-source
script -qec "env -u SWIFTMLP_BUNDLE_LIBRARY $PYTHON -m pip install --no-deps --no-build-isolation \
    --disable-pip-version-check -q --target '$target' '$ROOT/bindings/python'" /dev/null \
    > "$SCRATCH/source.log" 2>&1 && built=1 || built=0
check "$built" "pip install ./bindings/python from source" "$(tail -n 10 "$SCRATCH/source.log")"
check "$(grep -q 'swiftmlp: building libswiftmlp' "$SCRATCH/source.log" && echo 1 || echo 0)" \
    "and shows on the terminal what it builds, without -v" "$(tail -n 5 "$SCRATCH/source.log")"
imported=$(cd "$SCRATCH" && env -u SWIFTMLP_LIBRARY PYTHONPATH="$target" "$PYTHON" -c \
    "import swiftmlp; print(swiftmlp.library_path)" 2>&1 || true)
check "$([[ $imported == "$target/swiftmlp/_lib/libswiftmlp.so.0" ]] && echo 1 || echo 0)" \
    "the source install imports with its bundled library" "got '$imported'"

check_summary
