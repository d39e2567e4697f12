#!/usr/bin/env bash
# profile_epoch.sh - instructions per epoch of bench_small.c's "train epoch" row,
# counted by callgrind on the shipped build's unstripped twin (build/embedded/obj;
# run `make library` first), against 1,000 smlp_step calls over the same rows.
# The count per epoch is (3 epochs - 1 epoch) / 2, so setup and warm-up cancel.
#
#   bench/profile_epoch.sh [SIZES...]      default: 10-16-1 48-96-3 2-4-1
# Output files stay in build/prof (callgrind_annotate build/prof/cg.<net>.<mode>.3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/prof
LIB=$ROOT/build/embedded/obj/libswiftmlp.so.0.1.0
[[ -e $LIB ]] || { echo "no $LIB: run make library" >&2; exit 1; }
mkdir -p "$OUT"
ln -sf "$LIB" "$OUT/libswiftmlp.so.0"
${CC:-cc} -O2 -std=c11 -I"$ROOT/include" -I"$ROOT/bench" "$ROOT/bench/epoch_driver.c" \
    -o "$OUT/epoch_driver" -L"$OUT" -l:libswiftmlp.so.0 -Wl,-rpath,"$OUT" -lm
nets=("$@")
((${#nets[@]})) || nets=(10-16-1 48-96-3 2-4-1)
count() { awk '/^totals:/ {print $2}' "$1"; }
printf '%-10s %16s %16s %10s\n' network "train Ir/epoch" "step Ir/epoch" train/step
for n in "${nets[@]}"; do
    declare -A per
    for mode in train step; do
        for e in 1 3; do
            valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$n.$mode.$e" \
                "$OUT/epoch_driver" "$n" "$e" "$mode" >/dev/null 2>&1
        done
        per[$mode]=$(( ($(count "$OUT/cg.$n.$mode.3") - $(count "$OUT/cg.$n.$mode.1")) / 2 ))
    done
    awk -v n="$n" -v t="${per[train]}" -v s="${per[step]}" 'BEGIN { printf "%-10s %16d %16d %10.3f\n", n, t, s, t / s }'
done
