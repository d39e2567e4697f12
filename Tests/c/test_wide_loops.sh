#!/usr/bin/env bash
# test_wide_loops.sh - the hot loops' x86-64-v3 copy is in the library and is taken
# (Sources/SwiftMLP/Numerics/WideLoops.swift): on an x86-64-v3 CPU, predicts and steps
# of one and four rows call each of its entry points, and with SWIFTMLP_AVX2=0 none. Reads
# the unstripped twin of the library under test (its function names), and counts calls
# with valgrind's callgrind, not time. That both copies give the same bits is
# Tests/embedded/compare.sh's part (make test-same-bits). x86-64 only.
#
#   bash Tests/c/test_wide_loops.sh        (run.sh does this)
#
# Prints one line per failed check and then "N passed, N failed".
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB=${SWIFTMLP_UNSTRIPPED:-$ROOT/build/embedded/obj/libswiftmlp.so.0.1.0}
CC=${CC:-cc}

# shellcheck source=check.sh
source "$HERE/check.sh"

if [[ $(uname -m) != x86_64 ]]; then
    echo "test_wide_loops: skipped, the wide copy exists on x86-64 only (this is $(uname -m))"
    check_summary
    exit 0
fi
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

entries=(swiftmlp_wide_dense_rows_kernel swiftmlp_wide_rows_times_matrix swiftmlp_wide_outer_product
         swiftmlp_wide_outer_product_of_four_columns swiftmlp_wide_momentum_sgd swiftmlp_wide_adam_update
         swiftmlp_wide_all_finite)
# The fused layers' kernels of the copy, which swiftmlp_wide_dense_rows_kernel hands out
# (DenseRowsKernel.swift): the library calls them through the layer's plan.
wide_kernels='SwiftMLPWide[0-9]+[a-zA-Z]+Rows(Float|Double)'

# The code of function $1.
function_code() {
    awk -v name="<$1>:" '$2 == name { inside = 1; next } /^$/ { inside = 0 } inside' "$SCRATCH/disassembly"
}

# The functions that the code on standard input calls, jumps to or takes the address of.
referenced() {
    { grep -oE "(call|jmp|lea)[[:space:]]+[^<]*<[^>+]+>" || true; } | sed -E 's/.*<([^>]+)>/\1/' | sort -u
}

# Each entry point is in the library, as code for 32-byte vectors (ymm registers).
objdump -d --no-show-raw-insn "$LIB" > "$SCRATCH/disassembly"
for entry in "${entries[@]}"; do
    body=$(function_code "$entry")
    check "$([[ -n $body ]] && echo 1 || echo 0)" "$entry is in $LIB"
    # The entry point dispatches on the type and calls the kernels, has them inlined, or
    # hands them out: its code and the code it refers to, two levels down, together use
    # ymm registers.
    code=$body
    for callee in $(referenced <<< "$body"); do
        callee_code=$(function_code "$callee")
        code+=$'\n'$callee_code
        for next in $(referenced <<< "$callee_code"); do code+=$'\n'$(function_code "$next"); done
    done
    check "$(grep -q '%ymm' <<< "$code" && echo 1 || echo 0)" "$entry runs 32-byte vectors (ymm registers)"
done

# Whether this CPU (as the kernel reports it) is x86-64-v3, which the library checks
# with CPUID: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT (abm), MOVBE.
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
is_v3=1
for flag in avx avx2 bmi1 bmi2 f16c fma abm movbe; do
    [[ $flags == *" $flag "* ]] || is_v3=0
done
if ((!is_v3)) || ! command -v valgrind > /dev/null; then
    echo "test_wide_loops: the calls are not checked (CPU x86-64-v3: $is_v3; valgrind: $(command -v valgrind || echo none))"
    check_summary
    exit 0
fi

# A program that predicts one row and takes SGD steps with momentum on one row and on
# four, then an Adam step, in float32 and float64, on a 10-16-1 network and a 16-4-1
# one: each entry point has a loop wide enough to be called (the 16-unit layer; its
# weight gradient, 160 elements of one row's outer product or 640 multiply-adds of
# four rows' product; 193 parameters; the four-unit layer's weight gradient of one
# row, 64 floats).
cat > "$SCRATCH/one_row.c" <<'EOF'
#include <stdio.h>
#include <swiftmlp.h>
int main(void) {
    size_t shapes[2][3] = {{10, 16, 1}, {16, 4, 1}};
    smlp_activation activations[] = {SMLP_SIGMOID, SMLP_SIGMOID};
    smlp_dtype dtypes[] = {SMLP_FLOAT32, SMLP_FLOAT64};
    float x32[64] = {0}, y32[4] = {0.5f}, out32[1];
    double x64[64] = {0}, y64[4] = {0.5}, out64[1];
    for (int run = 0; run < 4; run++) {
        int t = run % 2;
        size_t *sizes = shapes[run / 2];
        smlp_config config;
        smlp_config_init(&config);
        config.layer_sizes = sizes; config.n_layer_sizes = 3; config.activations = activations;
        config.loss = SMLP_MSE; config.dtype = dtypes[t]; config.seed = 1;
        smlp_model *model;
        if (smlp_create(&config, &model) != SMLP_OK) { puts(smlp_last_error()); return 1; }
        smlp_optimizer_config optimizer;
        smlp_optimizer_config_init(&optimizer, SMLP_SGD);
        optimizer.momentum = 0.4;
        smlp_dataset row = {dtypes[t], 1, sizes[0], t ? (void *)x64 : (void *)x32, 1, t ? (void *)y64 : (void *)y32, NULL};
        smlp_dataset rows = row;
        rows.n_rows = 4;
        if (smlp_set_optimizer(model, &optimizer) != SMLP_OK
            || smlp_predict(model, dtypes[t], t ? (void *)x64 : (void *)x32, 1, sizes[0], t ? (void *)out64 : (void *)out32, 1) != SMLP_OK
            || smlp_step(model, &row, NULL) != SMLP_OK || smlp_step(model, &rows, NULL) != SMLP_OK) {
            puts(smlp_last_error());
            return 1;
        }
        smlp_optimizer_config_init(&optimizer, SMLP_ADAM);
        if (smlp_set_optimizer(model, &optimizer) != SMLP_OK || smlp_step(model, &row, NULL) != SMLP_OK) {
            puts(smlp_last_error());
            return 1;
        }
        smlp_free(model);
    }
    return 0;
}
EOF
mkdir -p "$SCRATCH/lib"
ln -s "$LIB" "$SCRATCH/lib/libswiftmlp.so.0"
if ! "$CC" -std=c99 -O2 -I"$ROOT/include" -o "$SCRATCH/one_row" "$SCRATCH/one_row.c" \
        "$SCRATCH/lib/libswiftmlp.so.0" 2> "$SCRATCH/build.log"; then
    check 0 "the one-row program builds" "$(cat "$SCRATCH/build.log")"
    check_summary
    exit 1
fi
for setting in default 0; do
    environment=(env -u SWIFTMLP_AVX2)
    [[ $setting == 0 ]] && environment=(env SWIFTMLP_AVX2=0)
    out="$SCRATCH/callgrind-$setting"
    if ! "${environment[@]}" LD_LIBRARY_PATH="$SCRATCH/lib" valgrind --tool=callgrind --callgrind-out-file="$out" \
            "$SCRATCH/one_row" > "$SCRATCH/run-$setting.log" 2>&1; then
        check 0 "the one-row program runs under callgrind (SWIFTMLP_AVX2 $setting)" "$(tail -n 5 "$SCRATCH/run-$setting.log")"
        continue
    fi
    # The baseline kernel of the program's sigmoid layers runs only without the copy.
    calls=$(callgrind_annotate --threshold=100 "$out" 2> /dev/null | grep -cE ':\$e8SwiftMLP[0-9]+sigmoidRowsFloat' || true)
    baseline=0
    [[ $setting == 0 ]] && baseline=1
    check "$(( baseline == (calls > 0) ? 1 : 0))" \
        "the baseline sigmoid kernel runs exactly when the copy does not (SWIFTMLP_AVX2 $setting)"
    for entry in "${entries[@]}" "$wide_kernels"; do
        # The functions that ran, with their instruction counts.
        calls=$(callgrind_annotate --threshold=100 "$out" 2> /dev/null | grep -cE ":(\\\$e12)?$entry" || true)
        if [[ $setting == default ]]; then
            check "$((calls > 0 ? 1 : 0))" "on this x86-64-v3 CPU the predict and steps call $entry" \
                "no call found: the library runs its baseline loops"
        else
            check "$((calls == 0 ? 1 : 0))" "with SWIFTMLP_AVX2=0 nothing calls $entry"
        fi
    done
done

check_summary
