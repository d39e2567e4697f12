#!/usr/bin/env bash
# Networks trained and saved by the system's libfann load with smlp_load_fann and
# predict what fann_run predicts (Tests/c/fann_libfann.c, built against
# libdoublefann and libfloatfann). Run by Tests/c/run.sh with PREFIX and
# PKG_CONFIG_PATH set to the installed copy.
#
# Without libfann (Debian package libfann-dev) it prints a SKIP line and reports
# "0 passed, 0 failed" - unless CI is set (CI=true), where a missing libfann is a
# failure, because scripts/bootstrap.sh installs it.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=check.sh
source "$HERE/check.sh"
CC=${CC:-cc}
SCRATCH="$ROOT/build/test-c"
mkdir -p "$SCRATCH"

in_ci() {
    case "${CI:-}" in
        "" | 0 | false | FALSE | False | no) return 1 ;;
        *) return 0 ;;
    esac
}

probe="$SCRATCH/fann_probe.c"
printf '#include <doublefann.h>\nint main(void) { struct fann *a = fann_create_standard(2, 1, 1); fann_destroy(a); return 0; }\n' > "$probe"
if ! "$CC" -o "$SCRATCH/fann_probe" "$probe" -ldoublefann -lm > "$SCRATCH/fann_probe.log" 2>&1; then
    if in_ci; then
        check 0 "libfann (libfann-dev) is missing, and CI is set: scripts/bootstrap.sh should have installed it" \
            "$(cat "$SCRATCH/fann_probe.log")"
        check_summary
        exit
    fi
    echo "SKIP: libfann not found (apt-get install libfann-dev); FANN files from libfann not checked"
    check_summary
    exit
fi

read -r -a PC_CFLAGS <<< "$(pkg-config --cflags swiftmlp)"
read -r -a PC_LIBS <<< "$(pkg-config --libs swiftmlp)"
for kind in double float; do
    define=()
    [[ $kind == double ]] && define=(-DFANN_DOUBLE)
    program="$SCRATCH/fann_libfann_$kind"
    if ! "$CC" -std=c99 -Wall -Wextra -Werror "${define[@]}" "${PC_CFLAGS[@]}" -I"$HERE" \
            -o "$program" "$HERE/fann_libfann.c" "${PC_LIBS[@]}" -l"${kind}fann" -lm \
            -Wl,-rpath,"$PREFIX/lib" > "$program.build.log" 2>&1; then
        check 0 "fann_libfann.c ($kind) did not compile" "$(cat "$program.build.log")"
        continue
    fi
    output=$("$program" 2>&1)
    status=$?
    echo "$output"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<< "$output" | tail -n 1)
    if [[ -z $summary ]]; then
        check 0 "fann_libfann ($kind) crashed or did not report (exit status $status)"
        continue
    fi
    passed=$((passed + ${summary%% passed*}))
    run_failed=${summary#*, }
    failed=$((failed + ${run_failed%% failed}))
    ((status == 0 || ${run_failed%% failed} > 0)) || check 0 "fann_libfann ($kind) exited with $status"
done
check_summary
