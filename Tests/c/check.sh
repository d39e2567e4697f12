# check.sh - the shell side of check.h, sourced by the Tests/c/test_*.sh scripts:
# counts checks, prints file:line and details of each failure, and the closing
# "N passed, N failed" line (check_summary, which also sets the exit status).

passed=0
failed=0

check() { # check <0|1> <message> [details...]
    local ok=$1 message=$2
    shift 2
    if [[ $ok == 1 ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "${BASH_SOURCE[1]}:${BASH_LINENO[0]}: FAIL: $message"
        local line
        for line in "$@"; do echo "    $line"; done
    fi
}

check_summary() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
}
