#!/usr/bin/env bash
# test_unload.sh - a host that dlopens libswiftmlp, makes a failing call on a worker
# thread (so that thread holds a last-error buffer), dlcloses the library and only
# then lets the thread exit, survives: the buffer's destructor must still be there
# (the library is linked -z nodelete). Five cycles, then a failing call on the main
# thread, whose message must be that call's.
#
#   PREFIX=/install/prefix bash Tests/c/test_unload.sh      (run.sh does this)
#
# Prints one line per failed check and then "N passed, N failed".
set -euo pipefail

: "${PREFIX:?set PREFIX to the install prefix}"
CC=${CC:-cc}
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# shellcheck source=check.sh
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

cat > "$SCRATCH/unload.c" <<'EOF'
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "swiftmlp.h"

typedef void (*config_init_fn)(smlp_config *);
typedef smlp_status (*create_fn)(const smlp_config *, smlp_model **);
typedef const char *(*last_error_fn)(void);

static void *library;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int phase, worker_failed;

static void wait_for(int value) {
    pthread_mutex_lock(&lock);
    while (phase != value) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static void set_phase(int value) {
    pthread_mutex_lock(&lock);
    phase = value;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* A failing call (no layer sizes), then wait until the main thread has closed the
 * library; returning runs the thread-specific destructors. */
static void *worker(void *unused) {
    config_init_fn config_init;
    create_fn create;
    smlp_config config;
    smlp_model *model = NULL;
    (void)unused;
    *(void **)&config_init = dlsym(library, "smlp_config_init");
    *(void **)&create = dlsym(library, "smlp_create");
    worker_failed = config_init == NULL || create == NULL;
    if (!worker_failed) {
        config_init(&config);
        worker_failed = create(&config, &model) == SMLP_OK;
    }
    set_phase(1);
    wait_for(2);
    return NULL;
}

int main(int argc, char **argv) {
    int cycle;
    for (cycle = 0; cycle < 5; cycle++) {
        pthread_t thread;
        void *result;
        library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) { printf("dlopen: %s\n", dlerror()); return 2; }
        phase = 0;
        if (pthread_create(&thread, NULL, worker, NULL) != 0) return 3;
        wait_for(1);
        dlclose(library);
        set_phase(2);
        pthread_join(thread, &result);
        if (worker_failed) { printf("cycle %d: the failing call did not fail\n", cycle); return 4; }
    }
    library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    {
        create_fn create;
        last_error_fn last_error;
        smlp_model *model = NULL;
        *(void **)&create = dlsym(library, "smlp_create");
        *(void **)&last_error = dlsym(library, "smlp_last_error");
        if (create(NULL, &model) != SMLP_ERR_NULL_ARGUMENT) return 5;
        printf("%s\n", last_error());
    }
    (void)argc;
    return 0;
}
EOF

built=1
"$CC" -std=c99 -Wall -Wextra -Werror -I"$PREFIX/include" -o "$SCRATCH/unload" "$SCRATCH/unload.c" \
    -ldl -lpthread > "$SCRATCH/build.log" 2>&1 || built=0
check "$built" "the unload program compiles" "$(cat "$SCRATCH/build.log")"
status=0
output=$("$SCRATCH/unload" "$PREFIX/lib/libswiftmlp.so.0" 2>&1) || status=$?
check "$((status == 0 ? 1 : 0))" \
    "threads holding an error message exit after dlclose without a crash (5 cycles)" "exit status $status" "$output"
check "$([[ $output == "smlp_create: "*NULL* ]] && echo 1 || echo 0)" \
    "after the cycles, a failing call still records its own message" "$output"
check "$(readelf -d "$PREFIX/lib/libswiftmlp.so.0" | grep -q 'NODELETE' && echo 1 || echo 0)" \
    "the library is marked NODELETE"

check_summary
