#!/usr/bin/env bash
# test_atomic_save.sh - smlp_save is atomic: when a save fails part-way, the model
# file that was there before is still there, byte for byte, still loads, and no
# temporary file (".smlp-" plus 12 characters, in the target's folder) is left in it.
#
#   PREFIX=/install/prefix bash Tests/c/test_atomic_save.sh      (run.sh does this)
#
# It builds a tiny C program against the installed library (pkg-config, as run.sh
# does) and makes second saves fail in ways that work even for root, for whom
# permission bits stop nothing:
#   - a file size limit (ulimit -f, SIGXFSZ ignored): write() fails with EFBIG;
#   - a full filesystem (a 16 KiB tmpfs; only where mount is permitted): ENOSPC;
#   - a read-only filesystem (that tmpfs remounted ro): EROFS; and, when not root,
#     a read-only folder (chmod 555): EACCES;
#   - a folder that does not exist, and a target path that is a folder (rename fails).
# Prints one line per failed check and then "N passed, N failed".
set -uo pipefail

: "${PREFIX:?set PREFIX to the install prefix}"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
CC=${CC:-cc}
SCRATCH=$(mktemp -d)
MOUNTED=""
cleanup() {
    if [[ -n $MOUNTED ]]; then umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null; fi
    chmod -R u+w "$SCRATCH" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# shellcheck source=check.sh
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
finish() {
    check_summary
    exit
}

# The helper: save a model of a given hidden width, or load a file.
#   helper save PATH WIDTH    prints "status N <last error>"; exit 0 only on SMLP_OK
#   helper load PATH          exit 0 when the file loads
cat > "$SCRATCH/helper.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <swiftmlp.h>

int main(int argc, char **argv) {
    smlp_model *model = NULL;
    smlp_status status;
    if (argc == 4 && strcmp(argv[1], "save") == 0) {
        size_t sizes[3] = {4, 0, 2};
        smlp_activation acts[2] = {SMLP_TANH, SMLP_IDENTITY};
        smlp_config config;
        smlp_config_init(&config);
        sizes[1] = (size_t)strtoul(argv[3], NULL, 10);
        config.n_layer_sizes = 3;
        config.layer_sizes = sizes;
        config.activations = acts;
        config.seed = sizes[1];
        status = smlp_create(&config, &model);
        if (status == SMLP_OK) status = smlp_set_metadata(model, "width", argv[3]);
        if (status == SMLP_OK) status = smlp_save(model, argv[2]);
        printf("status %d %s\n", (int)status, status == SMLP_OK ? "" : smlp_last_error());
        smlp_free(model);
        return status == SMLP_OK ? 0 : 1;
    }
    if (argc == 3 && strcmp(argv[1], "load") == 0) {
        status = smlp_load(argv[2], &model);
        printf("status %d %s\n", (int)status, status == SMLP_OK ? "" : smlp_last_error());
        smlp_free(model);
        return status == SMLP_OK ? 0 : 1;
    }
    fprintf(stderr, "usage: helper save PATH WIDTH | helper load PATH\n");
    return 2;
}
EOF
read -r -a PC_CFLAGS <<< "$(pkg-config --cflags swiftmlp)"
read -r -a PC_LIBS <<< "$(pkg-config --libs swiftmlp)"
if ! "$CC" -std=c99 -Wall -Wextra -pedantic -Werror "${PC_CFLAGS[@]}" -o "$SCRATCH/helper" "$SCRATCH/helper.c" \
        "${PC_LIBS[@]}" -lm -Wl,-rpath,"$PREFIX/lib" > "$SCRATCH/build.log" 2>&1; then
    check 0 "build the helper program" "$(cat "$SCRATCH/build.log")"
    finish
fi
HELPER=$SCRATCH/helper
SMALL=3      # about 0.5 KB
BIG=400      # about 22 KB: more than the size limit and the tmpfs below

# No temporary file (".smlp-*") in a folder.
no_temporaries() {
    local leftovers
    leftovers=$(find "$1" -maxdepth 1 -name '.smlp-*' 2>/dev/null)
    check "$([[ -z $leftovers ]] && echo 1 || echo 0)" "$2: no temporary file left in $1" "$leftovers"
}

# Saves a good small model at $1 and keeps a copy of its bytes in $1.orig.
save_good() {
    local out
    out=$("$HELPER" save "$1" $SMALL)
    check "$([[ $? == 0 && -f $1 ]] && echo 1 || echo 0)" "$2: the first save succeeds" "$out"
    cp "$1" "$SCRATCH/orig.smlp"
}

# The old model is still at $1: same bytes, still loads, no temporaries.
old_model_intact() {
    local out
    check "$(cmp -s "$1" "$SCRATCH/orig.smlp" && echo 1 || echo 0)" "$2: the old file is byte-identical"
    out=$("$HELPER" load "$1")
    check "$([[ $? == 0 ]] && echo 1 || echo 0)" "$2: the old file still loads" "$out"
    no_temporaries "$(dirname "$1")" "$2"
}

# Runs the helper's failing save and checks it reports SMLP_ERR_IO (8), with the
# expected OS error text in the message. Extra arguments are a shell prefix.
expect_io_failure() { # expect_io_failure <label> <error text regex> <command...>
    local label=$1 pattern=$2 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    check "$([[ $rc == 1 && $out == "status 8 "* ]] && echo 1 || echo 0)" \
        "$label: the save fails with SMLP_ERR_IO (8)" "exit $rc, output: $out"
    check "$([[ $out =~ $pattern ]] && echo 1 || echo 0)" "$label: the message has the OS error ($pattern)" "$out"
}

# ---- 1. File size limit: the temporary file cannot be written in full (EFBIG). ----
dir=$SCRATCH/limit
mkdir -p "$dir"
save_good "$dir/model.smlp" "size limit"
expect_io_failure "size limit" "File too large" \
    bash -c 'ulimit -f 4; trap "" XFSZ; exec "$0" save "$1" "$2"' "$HELPER" "$dir/model.smlp" $BIG
old_model_intact "$dir/model.smlp" "size limit"

# ---- 2. A folder that does not exist. --------------------------------------------------
expect_io_failure "missing folder" "No such file or directory" "$HELPER" save "$dir/no-such-folder/model.smlp" $SMALL
check "$([[ ! -e $dir/no-such-folder ]] && echo 1 || echo 0)" "missing folder: nothing was created"
old_model_intact "$dir/model.smlp" "missing folder (neighbour untouched)"

# ---- 3. The target is a folder: writing works, the rename fails (EISDIR). ------------
mkdir -p "$dir/a-folder.smlp"
expect_io_failure "target is a folder" "[Ii]s a directory" "$HELPER" save "$dir/a-folder.smlp" $SMALL
check "$([[ -d $dir/a-folder.smlp ]] && echo 1 || echo 0)" "target is a folder: it is still a folder"
no_temporaries "$dir" "target is a folder"

# ---- 4. A read-only folder (only meaningful when not root). -----------------------
if [[ $(id -u) -ne 0 ]]; then
    dir=$SCRATCH/readonly
    mkdir -p "$dir"
    save_good "$dir/model.smlp" "read-only folder"
    chmod 555 "$dir"
    expect_io_failure "read-only folder" "Permission denied" "$HELPER" save "$dir/model.smlp" $SMALL
    chmod 755 "$dir"
    old_model_intact "$dir/model.smlp" "read-only folder"
else
    echo "note: running as root: chmod 555 stops nothing; the read-only case uses a read-only tmpfs below"
fi

# ---- 5. A full filesystem (ENOSPC), then a read-only one (EROFS): a tiny tmpfs. -----
dir=$SCRATCH/tmpfs
mkdir -p "$dir"
if mount -t tmpfs -o size=16k,mode=0755 tmpfs "$dir" 2>/dev/null; then
    MOUNTED=$dir
    save_good "$dir/model.smlp" "full disk"
    expect_io_failure "full disk" "No space left on device" "$HELPER" save "$dir/model.smlp" $BIG
    old_model_intact "$dir/model.smlp" "full disk"
    if mount -o remount,ro "$dir" 2>/dev/null; then
        expect_io_failure "read-only filesystem" "Read-only file system" "$HELPER" save "$dir/model.smlp" $SMALL
        old_model_intact "$dir/model.smlp" "read-only filesystem"
    else
        echo "note: cannot remount the tmpfs read-only here; skipped the read-only filesystem case"
    fi
    umount "$dir" && MOUNTED=""
else
    echo "note: mount is not permitted here; skipped the full-disk and read-only filesystem cases"
fi

# ---- 6. A save that succeeds replaces the file whole and leaves nothing behind. -----
dir=$SCRATCH/replace
mkdir -p "$dir"
save_good "$dir/model.smlp" "replace"
out=$("$HELPER" save "$dir/model.smlp" $BIG)
check "$([[ $? == 0 ]] && echo 1 || echo 0)" "replace: a second, bigger save succeeds" "$out"
check "$(! cmp -s "$dir/model.smlp" "$SCRATCH/orig.smlp" && echo 1 || echo 0)" "replace: the file changed"
out=$("$HELPER" load "$dir/model.smlp")
check "$([[ $? == 0 ]] && echo 1 || echo 0)" "replace: the new file loads" "$out"
no_temporaries "$dir" "replace"

finish
