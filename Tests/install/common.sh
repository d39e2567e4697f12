# common.sh - sourced by Tests/install/test_*.sh: ROOT, a scratch folder removed on exit,
# the check functions of Tests/c/check.sh, and the version as the header writes it.

HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CC=${CC:-cc}
PYTHON=${PYTHON:-python3}
MAKE=${MAKE:-make}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/swiftmlp-install.XXXXXX")
cleanup_steps=()
cleanup() {
    local step
    for step in "${cleanup_steps[@]}"; do eval "$step"; done
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# shellcheck source=../c/check.sh
source "$ROOT/Tests/c/check.sh"

header_number() { sed -nE "s/^#define SMLP_VERSION_$1 +([0-9]+).*/\1/p" "$ROOT/include/swiftmlp.h"; }
VERSION="$(header_number MAJOR).$(header_number MINOR).$(header_number PATCH)"

# ok <command...>: 1 if the command succeeds, else 0 (its output is in $SCRATCH/last.log).
ok() { if "$@" >"$SCRATCH/last.log" 2>&1; then echo 1; else echo 0; fi; }
last_log() { tail -n "${1:-15}" "$SCRATCH/last.log"; }
