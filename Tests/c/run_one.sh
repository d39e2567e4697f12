# run_one.sh - sourced by the test runners (Tests/c/run.sh, Tests/mpi/run.sh): runs
# one test command, shows its output, and adds its closing "N passed, N failed" to
# total_passed / total_failed. A test that crashes, times out or prints no such line,
# or exits non-zero while reporting no failure, counts as one failure.
# run_one needs SCRATCH (a folder for the logs) and TIMEOUT (seconds) set by the
# runner; count_report (the counting half) is also used on its own (Tests/hardening).

total_passed=0
total_failed=0

run_one() { # run_one NAME COMMAND...
    local name=$1; shift
    local log="$SCRATCH/$name.log" rc=0
    echo "== $name"
    timeout "$TIMEOUT" "$@" > "$log" 2>&1 < /dev/null || rc=$?
    cat "$log"
    count_report "$name" "$log" "$rc"
}

count_report() { # count_report NAME LOG EXIT_STATUS: adds LOG's last report to the totals
    local name=$1 log=$2 rc=$3 summary passed failed
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
    if [[ -z "$summary" ]]; then
        echo "$name: CRASHED or did not report (exit status $rc)"
        total_failed=$((total_failed + 1))
        return
    fi
    passed=${summary%% passed*}
    failed=${summary#*, }
    failed=${failed%% failed}
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if ((rc != 0 && failed == 0)); then
        echo "$name: exited with status $rc although it reported no failure"
        total_failed=$((total_failed + 1))
    fi
}
