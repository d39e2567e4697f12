#!/usr/bin/env bash
# bench/profile.sh - where a training step's time goes beyond BLAS, for one
# configuration of bench/configs.txt.
#
#   bench/profile.sh [--callgrind] CONFIG [float32|float64] [STEPS]
#
# Runs bench/profile_step.c against the UNSTRIPPED library of the last release
# build (.build/release/libswiftmlp.so; build/lib's copy is stripped, so its
# internal Swift functions would have no names), pinned to CPU 0 with one BLAS
# thread. Default: perf record with the cpu-clock software event (this VM has no
# hardware counters), then the functions sorted by self time. --callgrind: valgrind
# --tool=callgrind, instruction counts per function (exact, ~50x slower; use fewer
# steps). Needs linux-perf or valgrind (apt-get install linux-perf valgrind).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench/profile"
tool=perf
if [[ ${1:-} == --callgrind ]]; then tool=callgrind; shift; fi
config=${1:?usage: bench/profile.sh [--callgrind] CONFIG [float32|float64] [STEPS]}
dtype=${2:-float32}
steps=${3:-}
UNSTRIPPED="$ROOT/.build/release/libswiftmlp.so"
[[ -e $UNSTRIPPED ]] || { echo "no $UNSTRIPPED: run make library first" >&2; exit 1; }
mkdir -p "$OUT/lib"
cp "$UNSTRIPPED" "$OUT/lib/libswiftmlp.so.0"
echo "profiling $UNSTRIPPED, built $(date -r "$UNSTRIPPED" '+%H:%M:%S') (build/lib: $(date -r "$ROOT/build/lib/libswiftmlp.so.0" '+%H:%M:%S'))" >&2
ln -sf libswiftmlp.so.0 "$OUT/lib/libswiftmlp.so"
${CC:-cc} -O2 -g -std=c11 -I"$ROOT/include" -I"$ROOT/bench" -o "$OUT/profile_step" \
    "$ROOT/bench/profile_step.c" -L"$OUT/lib" -lswiftmlp -lm -Wl,-rpath,"$OUT/lib"
export OPENBLAS_NUM_THREADS=1
prog=("$OUT/profile_step" "$ROOT/bench/configs.txt" "$config" "$dtype")
if [[ $tool == perf ]]; then
    steps=${steps:-$([[ $config == d ]] && echo 5000000 || echo 200000)}
    perf record -q -F 10000 -e cpu-clock -g -o "$OUT/perf.data" -- taskset -c 0 "${prog[@]}" "$steps"
    perf report -i "$OUT/perf.data" --no-children --sort symbol,dso --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -40 | sed -E 's/ +$//' | cut -c1-180
    echo "(full report: perf report -i $OUT/perf.data)"
else
    steps=${steps:-$([[ $config == d ]] && echo 20000 || echo 2000)}
    # taskset outside valgrind: valgrind does not follow an exec
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
        "${prog[@]}" "$steps" 2>&1 | grep -E "steps|refs" || true
    callgrind_annotate "$OUT/callgrind.out" 2>/dev/null | sed -n '1,60p' | cut -c1-200
    echo "(full: callgrind_annotate $OUT/callgrind.out)"
fi
