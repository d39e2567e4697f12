#!/usr/bin/env bash
# bench/run.sh - the speed benchmark of swiftmlp against its peers and the BLAS
# roofline (what `make bench` runs). Builds everything in release mode, measures,
# prints the table and the target lines, and writes bench/results/. See
# docs/performance.md for what each row measures.
#
#   bench/run.sh            full run (~6-9 min on 2 cores): 2 rounds, ~0.3 s a cell
#   bench/run.sh --quick    ~2 min: 0.08 s a cell, FANN one step on b, skipped on e
#   options: --only a,c,d   only these configurations (bench/configs.txt)
#            --threads "1"  only these thread counts (default "1 2")
#                           (either makes a partial run; partial and quick runs
#                           write build/bench/latest-<mode>/; only a full run
#                           replaces bench/results/latest.* and appends a line to
#                           bench/results/history.jsonl)
#            --rounds N     rounds (default 2; the better median of the rounds counts)
#            --no-docs      do not update docs/performance.md (a full run of every
#                           configuration and both thread counts does by default;
#                           --quick and partial runs do only with --docs)
#            --docs         update docs/performance.md even from a quick or partial run
#            --no-build     use the library already built (the small C programs are
#                           always rebuilt)
#            --no-trainers  skip the trainers table (bench/trainers.py: test error and
#                           time of whole training runs, SGD/Adam/RPROP/L-BFGS against
#                           FANN's RPROP and scikit-learn's lbfgs; ~1-3 min, 1 seed
#                           with --quick, 5 otherwise)
#            --trainers-only  only that table
#            --no-small     skip the small-networks tables (bench/bench_small.c: one
#                           sample at a time on FANN's benchmark networks, float32,
#                           1 thread, against FANN and the FLOP limit; ~15 s; and
#                           bench/bench_python_small.py: the Python binding, one row)
#            --small-only   only those tables
#
# Every cell runs pinned with taskset (1 thread: CPU 0; 2 threads: CPUs 0,1) and
# OPENBLAS_NUM_THREADS/OMP_NUM_THREADS set to the thread count. OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE are left as they are for the library and the roofline (the same
# OpenBLAS for both) and recorded; only the NumPy/JAX process runs without them.
#
# Exit status: 0 whenever the benchmark ran, missed targets included (they are
# reported as FAIL lines); non-zero only when the library cannot be built.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
OUT="$ROOT/build/bench"
PYTHON=${PYTHON:-python3}
CC=${CC:-cc}

mode=full
only=""
threads_list="1 2"
rounds=2
docs=auto
build=1
trainers=1
speed=1
small=1
while (($#)); do
    case "$1" in
        --quick) mode=quick ;;
        --only) only="$2"; shift ;;
        --only=*) only="${1#*=}" ;;
        --threads) threads_list="$2"; shift ;;
        --threads=*) threads_list="${1#*=}" ;;
        --rounds) rounds="$2"; shift ;;
        --rounds=*) rounds="${1#*=}" ;;
        --no-docs) docs=no ;;
        --docs) docs=yes ;;
        --no-build) build=0 ;;
        --no-trainers) trainers=0 ;;
        --trainers-only) speed=0; small=0 ;;
        --no-small) small=0 ;;
        --small-only) speed=0; trainers=0 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "bench/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# FANN computes without BLAS: on e one step takes seconds, so a cell slower than
# BENCH_FANN_MAX_STEP a step reports that one step, and --quick skips configurations
# above BENCH_FANN_SKIP_MACS multiply-adds a forward pass (e).
if [[ $mode == quick ]]; then
    export BENCH_BUDGET=0.08 BENCH_WARM=0.02 BENCH_MIN_SAMPLES=3 BENCH_FANN_MAX_STEP=0.25 \
        BENCH_FANN_SKIP_MACS=1e9
else
    export BENCH_BUDGET=${BENCH_BUDGET:-0.3} BENCH_WARM=${BENCH_WARM:-0.05} \
        BENCH_MIN_SAMPLES=${BENCH_MIN_SAMPLES:-5} BENCH_FANN_MAX_STEP=${BENCH_FANN_MAX_STEP:-1.0}
    unset BENCH_FANN_SKIP_MACS
fi

say() { printf '%s\n' "$*" >&2; }
started=$(date +%s)
mkdir -p "$OUT" "$BENCH/results"

# ---- build -----------------------------------------------------------------------
LIB="$ROOT/build/lib/libswiftmlp.so.0"
SWIFTPM_LIB="$ROOT/build/swiftpm/libswiftmlp.so.0"
if ((build)); then
    say "== building libswiftmlp (release, Embedded Swift) =="
    if ! make -C "$ROOT" --no-print-directory library >&2; then
        say "bench/run.sh: the library did not build; nothing to measure"
        exit 1
    fi
    say "== building libswiftmlp with SwiftPM (make library-swiftpm) =="
    make -C "$ROOT" --no-print-directory library-swiftpm >&2 || say "the SwiftPM build failed (its rows: not run)"
fi
[[ -e $LIB ]] || { say "bench/run.sh: $LIB is missing (run make library)"; exit 1; }
# Measure a snapshot: other builds may replace build/lib while this runs, and every
# row of one run must use the same library.
mkdir -p "$OUT/lib"
rm -f "$OUT/lib/libswiftmlp.so.0.tmp"
cp -L "$LIB" "$OUT/lib/libswiftmlp.so.0.tmp" && mv -f "$OUT/lib/libswiftmlp.so.0.tmp" "$OUT/lib/libswiftmlp.so.0"
ln -sf libswiftmlp.so.0 "$OUT/lib/libswiftmlp.so"
lib_built=$(date -u -r "$LIB" '+%Y-%m-%d %H:%M UTC')
lib_sum=$(sha256sum "$OUT/lib/libswiftmlp.so.0" | cut -c1-12)
git_head=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- Sources include Package.swift 2>/dev/null || git_head="$git_head + uncommitted engine changes"
LIB="$OUT/lib/libswiftmlp.so.0"
# The SwiftPM build (Swift runtime inside), snapshotted the same way, for its own rows.
rm -rf "$OUT/lib-swiftpm"
if [[ -e $SWIFTPM_LIB ]]; then
    mkdir -p "$OUT/lib-swiftpm"
    cp -L "$SWIFTPM_LIB" "$OUT/lib-swiftpm/libswiftmlp.so.0"
    ln -sf libswiftmlp.so.0 "$OUT/lib-swiftpm/libswiftmlp.so"
fi

CFLAGS=(-O2 -std=c11 -Wall -Wextra -I"$ROOT/include" -I"$BENCH")
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
LIB_LINK=(-L"$OUT/lib" -lswiftmlp -Wl,-rpath,"$OUT/lib")
have_fann=0
{
    say "== building the C benchmarks into build/bench =="
    # shellcheck disable=SC2086
    $CC "${CFLAGS[@]}" $BLAS_CFLAGS -o "$OUT/bench_swiftmlp" "$BENCH/bench_swiftmlp.c" \
        "${LIB_LINK[@]}" $BLAS_LIBS -ldl -lm || { say "bench_swiftmlp did not build"; exit 1; }
    rm -f "$OUT/bench_swiftmlp_swiftpm"
    if [[ -d $OUT/lib-swiftpm ]]; then
        # shellcheck disable=SC2086
        $CC "${CFLAGS[@]}" $BLAS_CFLAGS -o "$OUT/bench_swiftmlp_swiftpm" "$BENCH/bench_swiftmlp.c" \
            -L"$OUT/lib-swiftpm" -lswiftmlp -Wl,-rpath,"$OUT/lib-swiftpm" $BLAS_LIBS -ldl -lm ||
            say "bench_swiftmlp did not build against the SwiftPM build (its rows: not run)"
    fi
    # shellcheck disable=SC2086
    $CC "${CFLAGS[@]}" $BLAS_CFLAGS -o "$OUT/bench_mem" "$BENCH/bench_mem.c" \
        "${LIB_LINK[@]}" $BLAS_LIBS -lm || say "bench_mem did not build (memory line skipped)"
    rm -f "$OUT/bench_fann_float" "$OUT/bench_fann_double"
    if [[ -e /usr/include/floatfann.h ]]; then
        $CC "${CFLAGS[@]}" -DBENCH_FANN_FLOAT -o "$OUT/bench_fann_float" "$BENCH/bench_fann.c" -lfloatfann -lm &&
        $CC "${CFLAGS[@]}" -DBENCH_FANN_DOUBLE -o "$OUT/bench_fann_double" "$BENCH/bench_fann.c" -ldoublefann -lm ||
            say "the FANN benchmark did not build (FANN rows: n/a)"
        $CC "${CFLAGS[@]}" -o "$OUT/bench_small" "$BENCH/bench_small.c" "${LIB_LINK[@]}" \
            -lfloatfann -ldl -lm || say "bench_small did not build (no small-networks table)"
    else
        say "libfann-dev is not installed: FANN rows n/a (apt-get install libfann-dev)"
    fi
}
[[ -x $OUT/bench_fann_float && -x $OUT/bench_fann_double ]] && have_fann=1

have_python=0
if "$PYTHON" -c "import numpy" >/dev/null 2>&1; then have_python=1
else say "NumPy is not importable by $PYTHON: the Python rows are n/a"; fi

# ---- measure -----------------------------------------------------------------------
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW="$OUT/raw-$stamp.jsonl"
: >"$RAW"
ncpu=$(nproc)
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)

# run LABEL CMD...: appends CMD's JSON lines to RAW; a failing program leaves a note
run() {
    local label=$1; shift
    local t0=$SECONDS
    if ! "$@" >>"$RAW" 2>"$OUT/last-stderr.txt"; then
        local why
        why=$(tail -n 3 "$OUT/last-stderr.txt" | tr '\n"\\' "  /" | cut -c1-200)
        printf '{"kind": "failure", "program": "%s", "threads": %s, "round": %s, "stderr": "%s"}\n' \
            "$label" "${BENCH_THREADS:-0}" "${BENCH_ROUND:-0}" "$why" >>"$RAW"
        say "   $label FAILED: $why"
    else
        say "   $label: $((SECONDS - t0)) s"
    fi
}

((speed)) || rounds=0
for ((round = 1; round <= rounds; round++)); do
    order=$threads_list
    # the second round takes the thread counts in the other order
    ((round % 2 == 0)) && order=$(printf '%s\n' $threads_list | tac | tr '\n' ' ')
    for t in $order; do
        if ((t > ncpu)); then say "skipping $t threads: only $ncpu CPUs"; continue; fi
        cpus=$(seq -s, 0 $((t - 1)))
        say "== round $round/$rounds, $t thread(s), taskset -c $cpus =="
        export BENCH_THREADS=$t BENCH_ROUND=$round OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t
        run "swiftmlp C + roofline" taskset -c "$cpus" "$OUT/bench_swiftmlp" "$BENCH/configs.txt" "$only"
        if [[ -x $OUT/bench_swiftmlp_swiftpm ]]; then
            run "swiftmlp SwiftPM C" env BENCH_SWIFTMLP_IMPL=swiftmlp-swiftpm taskset -c "$cpus" \
                "$OUT/bench_swiftmlp_swiftpm" "$BENCH/configs.txt" "$only"
        fi
        if ((have_fann)); then
            run "FANN float" taskset -c "$cpus" "$OUT/bench_fann_float" "$BENCH/configs.txt" "$only"
            run "FANN double" taskset -c "$cpus" "$OUT/bench_fann_double" "$BENCH/configs.txt" "$only"
        fi
        if ((have_python)); then
            run "Python binding" env PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}" \
                SWIFTMLP_LIBRARY="$LIB" taskset -c "$cpus" "$PYTHON" "$BENCH/bench_binding.py" "$only"
            xla=""
            ((t == 1)) && xla="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            run "NumPy + JAX" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE XLA_FLAGS="$xla" \
                JAX_PLATFORMS=cpu taskset -c "$cpus" "$PYTHON" "$BENCH/bench_numpy_jax.py" "$only"
        fi
    done
done
unset BENCH_THREADS BENCH_ROUND

if ((speed)) && [[ -x $OUT/bench_mem ]] && { [[ -z $only ]] || [[ ,$only, == *,e,* ]]; }; then
    say "== memory: training e at batch 512, peak RSS of a child process =="
    OPENBLAS_NUM_THREADS=1 run "memory" taskset -c 0 "$OUT/bench_mem" "$BENCH/configs.txt" e
fi

# ---- report ------------------------------------------------------------------------
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
# A run of some configurations or thread counts only is "partial": it writes under
# build/bench/, never over the latest full run that docs/performance.md shows, and
# it updates the docs only when asked (--docs).
report_mode=$mode
threads_set=$(tr ' ' '\n' <<< "$threads_list" | grep . | sort -un | tr '\n' ' ')
if [[ $mode == full ]] && { [[ -n $only ]] || [[ $threads_set != "1 2 " ]]; }; then report_mode=partial; fi
update_docs=0
if [[ $docs == yes ]] || [[ $docs == auto && $report_mode == full ]]; then update_docs=1; fi
report_args=(--raw "$RAW" --mode "$report_mode" --results "$BENCH/results" --stamp "$stamp"
             --elapsed $(( $(date +%s) - started )) --loadavg "$loadavg_start / $loadavg_end"
             --threads-list "$threads_list"
             --library "HEAD $git_head; build/lib built $lib_built; sha256 $lib_sum")
((update_docs)) && report_args+=(--docs "$ROOT/docs/performance.md")
if ((speed)) && ((have_python)); then
    "$PYTHON" "$BENCH/report.py" "${report_args[@]}" || say "bench/report.py failed; raw results: $RAW"
elif ((speed)); then
    say "no Python: raw results are in $RAW"
fi

# ---- small networks: one sample at a time against FANN and the FLOP limit ----------
# One thread, CPU 0, float32; the table goes to standard error and to
# build/bench/small-<stamp>.md, and for a full run to bench/results/small-latest.md.
if ((small)) && [[ -x $OUT/bench_small ]]; then
    say "== small networks, one sample at a time (bench/bench_small.c) =="
    mkdir -p "$OUT/small"
    if OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 CC=$CC taskset -c 0 "$OUT/bench_small" "$OUT/small" \
        >"$OUT/small-$stamp.jsonl" 2>"$OUT/last-stderr.txt"; then
        { echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by bench/run.sh ($mode), HEAD $git_head;" \
               "load average $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)."
          grep -v '^{' "$OUT/small-$stamp.jsonl"; } >"$OUT/small-$stamp.md"
        cat "$OUT/small-$stamp.md" >&2
        [[ $mode == full && -z $only ]] && cp "$OUT/small-$stamp.md" "$BENCH/results/small-latest.md"
    else
        say "bench_small FAILED: $(tail -n 3 "$OUT/last-stderr.txt")"
    fi
fi
# The Python binding on one row against the same C calls (bench/bench_python_small.py,
# CPU 0, C times from bench_small's JSON lines): appended to the small-networks table.
if ((small)) && ((have_python)); then
    say "== Python binding, one row (bench/bench_python_small.py) =="
    if OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 SWIFTMLP_LIBRARY="$LIB" \
        PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}" taskset -c 0 "$PYTHON" \
        "$BENCH/bench_python_small.py" --c-results "$OUT/small-$stamp.jsonl" \
        >"$OUT/small-python-$stamp.md" 2>"$OUT/last-stderr.txt"; then
        cat "$OUT/small-python-$stamp.md" >&2
        if [[ -s $OUT/small-$stamp.md ]]; then
            { echo; cat "$OUT/small-python-$stamp.md"; } >>"$OUT/small-$stamp.md"
            [[ $mode == full && -z $only ]] && cp "$OUT/small-$stamp.md" "$BENCH/results/small-latest.md"
        fi
    else
        say "bench_python_small FAILED: $(tail -n 3 "$OUT/last-stderr.txt")"
    fi
fi

# ---- trainers: whole training runs, test error and time (bench/trainers.py) ----------
# One thread, pinned to CPU 0, with the same library snapshot. It writes
# bench/results/trainers-latest.{md,json}; docs/performance.md ("Trainers") is by hand.
if ((trainers)) && ((have_python)); then
    say "== trainers: test error and time after fixed epochs (bench/trainers.py) =="
    seeds=5
    [[ $mode == quick ]] && seeds=1
    env PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}" SWIFTMLP_LIBRARY="$LIB" \
        taskset -c 0 "$PYTHON" "$BENCH/trainers.py" --seeds "$seeds" --results "$BENCH/results" ||
        say "bench/trainers.py failed"
fi
say "total: $(( $(date +%s) - started )) s"
exit 0
