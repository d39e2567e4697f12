#!/usr/bin/env bash
# test_vectorised.sh - the loops the speed targets rely on are vectorised in the
# release build. Not a timing: it reads the machine code of the unstripped release
# library (.build/release/libswiftmlp.so, which `make library` builds and then
# strips into build/lib; the two must have the same build-id) and looks for the
# packed instructions each loop must use. x86-64 only (skipped elsewhere).
#
#   bash Tests/c/test_vectorised.sh        (run.sh does this)
#
# Why: a harmless-looking source change can make LLVM give up on a loop and fall
# back to one element at a time, with every test still green. It happened to the
# softmax exponential (VectorExponential.swift): selecting the result below the range
# (`below ? 0 : result`) became a branch around the computation, the loop went
# scalar, and configuration c lost 15 % of its speed unnoticed. And to inference's
# in-place relu, `x > 0 ? x : 0`, a branch around one of two stores.
#
# What it cannot see: a vectorised loop that exists but is bypassed at run time,
# when the overlap check in front of it fails (docs/performance.md, entry 17); and,
# where a path holds several copies of a loop, a scalar copy next to a vectorised
# one (unless it is the branch form, which the zero-store check catches anywhere).
#
# Prints one line per failed check and then "N passed, N failed".
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB=${SWIFTMLP_UNSTRIPPED:-$ROOT/.build/release/libswiftmlp.so}
# The library under test: the installed copy when run.sh passes PREFIX.
TESTED=${PREFIX:+$PREFIX/lib/libswiftmlp.so}
TESTED=${TESTED:-$ROOT/build/lib/libswiftmlp.so.0}

# shellcheck source=check.sh
source "$HERE/check.sh"

if [[ $(uname -m) != x86_64 ]]; then
    echo "test_vectorised: skipped, the checks read x86-64 instructions (this is $(uname -m))"
    check_summary
    exit 0
fi
if [[ ! -e $LIB ]] || ! command -v objdump > /dev/null || ! command -v readelf > /dev/null; then
    check 0 "the unstripped release library, objdump and readelf are there" \
        "missing: $LIB, objdump or readelf (make library; binutils)"
    check_summary
    exit 1
fi
build_id() { readelf -n "$1" 2>/dev/null | awk '/Build ID/ {print $3}'; }
if [[ -z ${SWIFTMLP_UNSTRIPPED:-} ]]; then
    unstripped_id=$(build_id "$LIB") tested_id=$(build_id "$TESTED")
    if [[ -z $unstripped_id || $unstripped_id != "$tested_id" ]]; then
        check 0 "the unstripped library is the twin of the one under test" \
            "build-ids: $LIB '$unstripped_id', $TESTED '$tested_id' (make library; make install for a PREFIX)"
        check_summary
        exit 1
    fi
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

# Packed max instructions with a source register zeroed by xorps/xorpd R,R and not
# written since (in layout order), or of a bias sum and a register the function
# zeroes: max(x, 0), the relu. The exponential's clamp is a
# packed max too, but against a constant, so it does not count.
count_relu_max() {
    awk '{
        sub(/^[ \t]*[0-9a-f]+:[ \t]*/, "")
        mnemonic = $1
        operands = $0; sub(/^[^ \t]+[ \t]*/, "", operands); gsub(/[ \t]/, "", operands)
        n = split(operands, op, ",")
        line++
        if (mnemonic ~ /^v?xorp[sd]$/ && op[1] == op[2]) { zero[op[n]] = 1; zeroed[op[n]] = 1; next }
        if (mnemonic ~ /^v?maxp[sd]$/ && (zero[op[1]] || (n == 3 && zero[op[2]]))) count++
        # The same, where the zero register was set on another path laid out
        # elsewhere: the max of a bias sum (an addp into its other operand just
        # before) and a register the function zeroes. The exponential clamp takes
        # the max of a product and a constant.
        else if (mnemonic ~ /^v?maxp[sd]$/ && n == 2 && zeroed[op[1]] && added[op[2]] && line - added[op[2]] <= 4) count++
        if (mnemonic ~ /^v?addp[sd]$/) added[op[n]] = line
        else if (n >= 1) added[op[n]] = 0
        if (n >= 1 && op[n] ~ /^%[xyz]mm[0-9]+$/ && mnemonic !~ /^v?u?comis/) zero[op[n]] = 0
    } END { print count + 0 }' "$1"
}

# Packed multiplies by a scalar broadcast to every lane (shufps $0x0,R,R for Float,
# unpcklpd R,R for Double) in the next instruction: the register-blocked small
# matrix product (MatrixMultiply.swift, rowTimesMatrix), one broadcast a term.
count_broadcast_multiply() {
    awk '{
        sub(/^[ \t]*[0-9a-f]+:[ \t]*/, "")
        mnemonic = $1
        operands = $0; sub(/^[^ \t]+[ \t]*/, "", operands); gsub(/[ \t]/, "", operands)
        n = split(operands, op, ",")
        if (broadcast != "" && mnemonic ~ /^mulp[sd]$/ && index(operands, broadcast)) count++
        broadcast = ""
        if ((mnemonic == "shufps" && op[1] == "$0x0" && op[2] == op[3]) ||
            (mnemonic == "unpcklpd" && op[1] == op[2])) broadcast = op[n]
    } END { print count + 0 }' "$1"
}

# The code of a forward pass: forwardTraining and forwardInference, specialised for
# Float (Sf_Tg5) and Double (Sd_Tg5), each with the out-of-line helpers it calls
# (forwardDense, forwardDenseByPasses, forwardBiasActivation, forwardBiasElementwise,
# the small product's rowsTimesMatrix, whichever the compiler did not inline, and the
# fused small-layer kernels, denseRow), and the helpers those call. Checked per entry
# point, because the release build inlines the helpers into some paths and calls them
# from others.
path_code() {
    local entry=$1 suffix=$2
    local helpers
    function_code "${entry}.*${suffix}>"
    helpers=$(function_code "${entry}.*${suffix}>" | helpers_code "$suffix")
    printf '%s\n' "$helpers"
    printf '%s\n' "$helpers" | helpers_code "$suffix"
}

# The code of the helpers called from the code on standard input.
helpers_code() {
    { grep -oE "call[[:space:]]+[0-9a-f]+ <[^>]*(forwardDense|forwardBiasActivation|forwardBiasElementwise|rowsTimesMatrix|denseRow)[^>]*${1}>" || true; } |
        sed -E 's/.*<([^>+]*)>.*/\1/' | sort -u |
        while read -r callee; do function_code "^[0-9a-f]+ <\\${callee}>:\$" ; done
}

for spec in "Sf_Tg5:pslld:0x17:Float" "Sd_Tg5:psllq:0x34:Double"; do
    IFS=: read -r suffix shift amount type <<< "$spec"
    for entry in forwardTraining forwardInference; do
        code="$SCRATCH/$entry-$type"
        # forwardInference is inlined into predict (Network.predict(_:rows:into:),
        # specialised) in the release build: the inference path is either.
        pattern=$entry
        [[ $entry == forwardInference ]] && pattern="(forwardInference|7NetworkC7predict_4rows4into)"
        path_code "$pattern" "$suffix" > "$code"
        what="$entry<$type>"
        check "$([[ -s $code ]] && echo 1 || echo 0)" "$what is in the release library"
        # The exponential builds 2^n by shifting n into the exponent field: by 23
        # bits for Float (0x17), 52 for Double (0x34). Scalar code does it in a
        # general-purpose register (shl); the vectorised loop with a packed shift.
        found=$(grep -cE "v?${shift}[[:space:]]+\\\$${amount},.*%[xyz]mm" "$code" || true)
        check "$((found > 0 ? 1 : 0))" \
            "the softmax exponential on the path of $what is vectorised (a packed $shift by $amount)" \
            "no packed shift found: the loop of exponentiateNonPositive runs one element at a time"
        # relu: a packed max(x, 0). (One vectorised relu loop on the path satisfies
        # this; the check below catches the branch form in any copy.)
        # The logistic (z >= 0 ? 1 : e) / (1 + e) is a packed division: without it
        # the sigmoid runs one element at a time.
        divisions=$(grep -cE "v?divp[sd][[:space:]]+.*%[xyz]mm" "$code" || true)
        check "$((divisions > 0 ? 1 : 0))" "the sigmoid on the path of $what is vectorised (a packed division)" \
            "no packed division found: the bias + sigmoid loop runs one element at a time"
        # tanh (VectorHyperbolicTangent.swift) is one more packed division,
        # -m / (2 + m), and no call of the C library's tanhf/tanh is left.
        check "$((divisions >= 2 ? 1 : 0))" "the tanh on the path of $what is vectorised (a second packed division)" \
            "$divisions packed division(s) found: the bias + tanh loop runs one element at a time"
        calls=$(grep -cE "call[[:space:]]+[0-9a-f]+ <tanh" "$code" || true)
        check "$((calls == 0 ? 1 : 0))" "no call of the C library's tanh on the path of $what" \
            "$calls calls of tanhf/tanh: the tanh layers evaluate one element at a time"
        blocked=$(count_broadcast_multiply "$code")
        check "$((blocked > 0 ? 1 : 0))" "the small matrix product on the path of $what is register-blocked (broadcast, packed multiply)" \
            "no packed multiply by a broadcast scalar found: rowTimesMatrix runs one element at a time"
        relu=$(count_relu_max "$code")
        check "$((relu > 0 ? 1 : 0))" "the relu on the path of $what is vectorised (packed max with 0)" \
            "no packed max(x, 0) found"
        # A select written as a branch stores a literal 0 one element at a time (movl
        # or movq \$0x0 to memory): how the in-place relu compiled with
        # `x > 0 ? x : 0`, and the exponential with `below ? 0 : result`. A zero
        # stored to the stack frame ((%rsp)) is a local variable, not a loop's output.
        branchy=$(grep -E "mov[lq][[:space:]]+\\\$0x0,\\(" "$code" | grep -cv "(%rsp)" || true)
        check "$((branchy == 0 ? 1 : 0))" "no loop on the path of $what stores zeros one at a time" \
            "$branchy scalar stores of 0: a select (relu, or the exponential's) became a branch"
    done
done

# The small layers' fused kernels (DenseRowsKernel.swift, denseRow inlined into one
# kernel per elementwise activation and type, which both forward passes call through
# the layer's plan; Tests/c/test_wide_loops.sh checks that they run). The activation
# of each block of columns runs as packed instructions (a loop of a constant count
# that LLVM must vectorise; written on the lanes of the SIMD value instead it ran one
# lane at a time, with no packed division at all).
for type in Float Double; do
    for kernel in Sigmoid:sigmoid Tanh:tanh Rectified:relu LeakyRectified:leakyReLU Identity:identity; do
        IFS=: read -r kernel name <<< "$kernel"
        code="$SCRATCH/denseRow-$kernel-$type"
        function_code "e8SwiftMLP[0-9]+${name}Rows${type}yy" > "$code"
        what="denseRow<$type, $kernel> (${name}Rows$type)"
        check "$([[ -s $code ]] && echo 1 || echo 0)" "$what is in the release library"
        blocked=$(count_broadcast_multiply "$code")
        check "$((blocked > 0 ? 1 : 0))" "$what is register-blocked (broadcast, packed multiply)" \
            "no packed multiply by a broadcast scalar found"
        divisions=$(grep -cE "v?divp[sd][[:space:]]+.*%[xyz]mm" "$code" || true)
        case $kernel in
            Sigmoid|Tanh)
                check "$((divisions > 0 ? 1 : 0))" "the activation of $what is vectorised (a packed division)" \
                    "no packed division found: the blocks' activation runs one element at a time" ;;
            Rectified)
                relu=$(count_relu_max "$code")
                check "$((relu > 0 ? 1 : 0))" "the activation of $what is vectorised (packed max with 0)" \
                    "no packed max(x, 0) found" ;;
        esac
        branchy=$(grep -E "mov[lq][[:space:]]+\\\$0x0,\\(" "$code" | grep -cv "(%rsp)" || true)
        check "$((branchy == 0 ? 1 : 0))" "no loop of $what stores zeros one at a time" \
            "$branchy scalar stores of 0: a select became a branch"
    done
done

# The Adam and RMSprop updates (Optimizer.swift) take a square root a parameter. Built
# with -fno-math-errno, as the shipped library is (build-support/build-embedded.sh), it
# is a packed sqrt; with errno, each is sqrtss and a call of sqrtf for a negative
# input, and the loop runs one element at a time. The SwiftPM build has no such flag
# (SwiftPM passes none to a dependency's Clang importer): checked in the Embedded build.
if [[ ${SWIFTMLP_EMBEDDED:-} == 1 ]]; then
    for spec in "Sf:Float" "Sd:Double"; do
        IFS=: read -r S type <<< "$spec"
        code="$SCRATCH/apply-$type"
        function_code "OptimizerStateV5apply10parameters.*${S}_Tg5>" > "$code"
        check "$([[ -s $code ]] && echo 1 || echo 0)" "OptimizerState.apply<$type> is in the release library"
        packed=$(grep -cE "v?sqrtp[sd][[:space:]]" "$code" || true)
        calls=$(grep -cE "call[[:space:]]+[0-9a-f]+ <sqrt" "$code" || true)
        check "$((packed > 0 && calls == 0 ? 1 : 0))" \
            "the square roots of OptimizerState.apply<$type> are packed, with no call of sqrt" \
            "$packed packed square roots, $calls calls of sqrtf/sqrt: Adam's loop runs one element at a time"
    done
fi

check_summary
