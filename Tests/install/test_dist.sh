#!/usr/bin/env bash
# test_dist.sh - make dist writes dist/swiftmlp-VERSION.tar.gz, every tracked file under
# swiftmlp-VERSION/ and nothing else; unpacked elsewhere (not a git checkout), it builds
# the library from scratch and passes the C tests (make test-c: installs into a prefix,
# builds every Tests/c test with pkg-config, runs them).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

check "$(ok "$MAKE" -s -C "$ROOT" --no-print-directory dist)" "make dist" "$(last_log)"
tarball=$ROOT/dist/swiftmlp-$VERSION.tar.gz
check "$([[ -f $tarball ]] && echo 1 || echo 0)" "make dist writes dist/swiftmlp-$VERSION.tar.gz"
[[ -f $tarball ]] || { check_summary; exit; }

listed=$(tar -tzf "$tarball" | grep -v '/$' | sort)
expected=$(git -C "$ROOT" ls-files | sed "s|^|swiftmlp-$VERSION/|" | sort)
check "$([[ $listed == "$expected" ]] && echo 1 || echo 0)" \
    "the tarball holds exactly the tracked files, under swiftmlp-$VERSION/" \
    "$(diff <(echo "$expected") <(echo "$listed") | head -n 10)"

tar -xzf "$tarball" -C "$SCRATCH"
tree=$SCRATCH/swiftmlp-$VERSION
start=$SECONDS
check "$(ok "$MAKE" -C "$tree" --no-print-directory library)" \
    "the unpacked tarball builds the library (make library)" "$(last_log)"
echo "(make library in the unpacked tarball: $((SECONDS - start)) s)"
check "$(ok "$MAKE" -C "$tree" --no-print-directory test-c)" \
    "and passes the C tests (make test-c)" "$(last_log 20)"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$SCRATCH/last.log" | tail -n 1 || true)
echo "(make test-c in the unpacked tarball: $summary)"
check "$([[ $summary =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]] && echo 1 || echo 0)" \
    "the C tests report passes and no failure" "'$summary'"

check_summary
