#!/usr/bin/env bash
# test_vectorised.sh - the loops the speed targets rely on are vectorised in the
# release build. Not a timing: it reads the machine code of the unstripped release
# library (.build/release/libswiftmlp.so, which `make library` builds and then
# strips into build/lib) and looks for the packed instructions each loop must use.
#
#   bash Tests/c/test_vectorised.sh        (run.sh does this)
#
# Why: a harmless-looking source change can make LLVM give up on a loop and fall
# back to one element at a time, with every test still green. It happened to the
# softmax exponential (VectorExponential.swift): selecting the result below the range
# (`below ? 0 : result`) became a branch around the computation, the loop went
# scalar, and configuration c lost 15 % of its speed unnoticed.
#
# Prints one line per failed check and then "N passed, N failed".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LIB=${SWIFTMLP_UNSTRIPPED:-$ROOT/.build/release/libswiftmlp.so}

# shellcheck source=check.sh
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

if [[ ! -e $LIB ]] || ! command -v objdump > /dev/null; then
    check 0 "the unstripped release library and objdump are there" "missing: $LIB or objdump (make library; binutils)"
    check_summary
    exit 1
fi
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
objdump -d --no-show-raw-insn "$LIB" > "$SCRATCH/disassembly"

# The instructions of the functions whose (mangled) names match $1.
function_code() {
    awk -v pattern="$1" '
        /^[0-9a-f]+ <.*>:$/ { inside = ($0 ~ pattern) ; next }
        /^$/ { inside = 0 }
        inside' "$SCRATCH/disassembly"
}

# forwardBiasActivation, specialised for Float (Sf_Tg5) and Double (Sd_Tg5). The
# exponential builds 2^n by shifting n into the exponent field: by 23 bits for Float
# (0x17), 52 for Double (0x34). Scalar code does it in a general-purpose register
# (shl); the vectorised loop with a packed shift on an xmm/ymm/zmm register.
for spec in "Sf_Tg5:pslld:0x17:Float" "Sd_Tg5:psllq:0x34:Double"; do
    IFS=: read -r suffix shift amount type <<< "$spec"
    function_code "forwardBiasActivation.*${suffix}>" > "$SCRATCH/forward-$type"
    found=$(grep -cE "v?${shift}[[:space:]]+\\\$${amount},.*%[xyz]mm" "$SCRATCH/forward-$type" || true)
    check "$([[ -s $SCRATCH/forward-$type ]] && echo 1 || echo 0)" \
        "forwardBiasActivation<$type> is in the release library"
    check "$((found > 0 ? 1 : 0))" \
        "the softmax exponential in forwardBiasActivation<$type> is vectorised (a packed $shift by $amount)" \
        "no packed shift found: the loop of exponentiateNonPositive runs one element at a time"
    # relu: max with 0 on packed registers (maxps/maxpd, or vmaxps/vmaxpd) ...
    relu=$(grep -cE "v?maxp[sd][[:space:]].*%[xyz]mm" "$SCRATCH/forward-$type" || true)
    check "$((relu > 0 ? 1 : 0))" "the relu in forwardBiasActivation<$type> is vectorised (packed max)"
    # ... in every one of its loops: a relu written as a branch stores a literal 0
    # one element at a time (movl/movq $0x0 to memory). That is how inference's
    # in-place loop compiled with `x > 0 ? x : 0`.
    branchy=$(grep -cE "mov[lq][[:space:]]+\\\$0x0,\\(" "$SCRATCH/forward-$type" || true)
    check "$((branchy == 0 ? 1 : 0))" "no loop of forwardBiasActivation<$type> stores zeros one at a time" \
        "$branchy scalar stores of 0: a relu loop runs as a branch, one element at a time"
done

check_summary
