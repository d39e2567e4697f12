/*
 * test_version_status.c - version queries, status strings, and smlp_last_error():
 * "" before any failure on a thread, a message naming the function after one,
 * untouched by successful calls, and private to each thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/* ---- Version ---------------------------------------------------------------- */

static void test_version(void) {
    CHECK(smlp_version() == SMLP_VERSION_NUMBER, "smlp_version() is %u, header says %d",
          smlp_version(), SMLP_VERSION_NUMBER);
    CHECK(smlp_version() / 10000 == SMLP_VERSION_MAJOR, "major version of the loaded library");
    CHECK(SMLP_VERSION_NUMBER == 100, "SMLP_VERSION_NUMBER of 0.1.0 is 100");
    CHECK(smlp_version_string() != NULL, "smlp_version_string() is never NULL");
    CHECK(strcmp(smlp_version_string(), SMLP_VERSION_STRING) == 0,
          "smlp_version_string() is \"%s\", header says \"%s\"", smlp_version_string(),
          SMLP_VERSION_STRING);
    CHECK(smlp_version_string() == smlp_version_string(), "the version string is static");
}

/* ---- Status strings ---------------------------------------------------------- */

static void test_status_strings(void) {
    static const struct {
        smlp_status status;
        const char *text;
    } known[] = {
        {SMLP_OK, NULL},
        {SMLP_ERR_NULL_ARGUMENT, NULL},
        {SMLP_ERR_INVALID_ARGUMENT, NULL},
        {SMLP_ERR_SHAPE_MISMATCH, "shape mismatch"}, /* the header's own example */
        {SMLP_ERR_DTYPE_MISMATCH, NULL},
        {SMLP_ERR_OUT_OF_MEMORY, NULL},
        {SMLP_ERR_NON_FINITE, NULL},
        {SMLP_ERR_BUSY, NULL},
        {SMLP_ERR_IO, NULL},
        {SMLP_ERR_BAD_FORMAT, "bad file format"}, /* model files and data files alike */
        {SMLP_ERR_UNSUPPORTED_VERSION, NULL},
    };
    const size_t n = sizeof known / sizeof known[0];
    size_t i, j;
    for (i = 0; i < n; i++) {
        const char *text = smlp_status_string(known[i].status);
        CHECK(text != NULL, "smlp_status_string(%d) is never NULL", (int)known[i].status);
        if (text == NULL) continue;
        CHECK(text[0] != '\0', "smlp_status_string(%d) is not empty", (int)known[i].status);
        CHECK(strcmp(text, "unknown status") != 0, "smlp_status_string(%d) is \"%s\", a known code",
              (int)known[i].status, text);
        if (known[i].text != NULL) {
            CHECK(strcmp(text, known[i].text) == 0, "smlp_status_string(%d) is \"%s\", expected \"%s\"",
                  (int)known[i].status, text, known[i].text);
        }
        for (j = 0; j < i; j++) {
            const char *other = smlp_status_string(known[j].status);
            CHECK(other == NULL || strcmp(text, other) != 0, "status %d and %d share the text \"%s\"",
                  (int)known[i].status, (int)known[j].status, text);
        }
    }
    CHECK(strcmp(smlp_status_string((smlp_status)11), "unknown status") == 0,
          "code 11 gives \"unknown status\", got \"%s\"", smlp_status_string((smlp_status)11));
    CHECK(strcmp(smlp_status_string((smlp_status)99), "unknown status") == 0,
          "code 99 gives \"unknown status\", got \"%s\"", smlp_status_string((smlp_status)99));
    CHECK(strcmp(smlp_status_string((smlp_status)-1), "unknown status") == 0,
          "code -1 gives \"unknown status\", got \"%s\"", smlp_status_string((smlp_status)-1));
}

/* ---- Last error on one thread -------------------------------------------------- */

static void test_last_error_main_thread(void) {
    const size_t sizes[] = {2, 1};
    const smlp_activation activations[] = {SMLP_IDENTITY};
    smlp_config config;
    smlp_model *model = NULL;
    char saved[1024];

    CHECK(smlp_last_error() != NULL, "smlp_last_error() is never NULL");
    CHECK(strcmp(smlp_last_error(), "") == 0, "no call has failed yet: message is \"\"");

    /* A successful call leaves it "". */
    smlp_config_init(&config);
    config.n_layer_sizes = 2;
    config.layer_sizes = sizes;
    config.activations = activations;
    CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "create a 2-1 model");
    CHECK(strcmp(smlp_last_error(), "") == 0, "a successful call does not set a message");

    /* A failure names its function. (The failing create sets model to NULL, so the
     * good model is freed first.) */
    smlp_free(model);
    CHECK_STATUS(smlp_create(NULL, &model), SMLP_ERR_NULL_ARGUMENT, "smlp_create(NULL config)");
    CHECK(strstr(smlp_last_error(), "smlp_create") != NULL,
          "the message names smlp_create: \"%s\"", smlp_last_error());
    CHECK(strstr(smlp_last_error(), "config") != NULL, "the message names the argument config");

    model = NULL;
    CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "create again");
    CHECK(model != NULL, "model created");
    snprintf(saved, sizeof saved, "%s", smlp_last_error());

    /* Successful calls of every kind do not change it. */
    CHECK(smlp_param_count(model) == 3, "2-1 network has 3 parameters");
    CHECK(strcmp(smlp_last_error(), saved) == 0, "successful calls keep the last message");

    /* A later failure replaces it. */
    CHECK_STATUS(smlp_layer_info_get(model, 0, NULL), SMLP_ERR_NULL_ARGUMENT,
                 "smlp_layer_info_get with NULL out_info");
    CHECK(strstr(smlp_last_error(), "smlp_layer_info_get") != NULL,
          "the new message names smlp_layer_info_get: \"%s\"", smlp_last_error());
    CHECK(smlp_param_count(NULL) == 0, "smlp_param_count(NULL) is 0");
    CHECK(strstr(smlp_last_error(), "smlp_param_count") != NULL,
          "smlp_param_count(NULL) sets a message naming it: \"%s\"", smlp_last_error());
    smlp_free(model);
}

/* ---- Last error per thread ----------------------------------------------------- */

/* Thread B fails first; then thread A fails; then B looks at its own message again. */
static pthread_mutex_t stage_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stage_changed = PTHREAD_COND_INITIALIZER;
static int stage = 0;

static void set_stage(int value) {
    pthread_mutex_lock(&stage_lock);
    stage = value;
    pthread_cond_broadcast(&stage_changed);
    pthread_mutex_unlock(&stage_lock);
}

static void wait_stage(int value) {
    pthread_mutex_lock(&stage_lock);
    while (stage < value) pthread_cond_wait(&stage_changed, &stage_lock);
    pthread_mutex_unlock(&stage_lock);
}

struct thread_view {
    int fresh_empty;            /* message was "" before the thread's first failure */
    int status;                 /* status of the thread's failing call              */
    char after_own[1024];       /* its message right after its own failure          */
    char after_other[1024];     /* its message after the other thread failed        */
};

static void *thread_b(void *arg) {
    struct thread_view *view = arg;
    view->fresh_empty = smlp_last_error() != NULL && strcmp(smlp_last_error(), "") == 0;
    view->status = (int)(smlp_param_count(NULL) == 0 ? SMLP_ERR_NULL_ARGUMENT : SMLP_OK);
    snprintf(view->after_own, sizeof view->after_own, "%s", smlp_last_error());
    set_stage(1);
    wait_stage(2);
    snprintf(view->after_other, sizeof view->after_other, "%s", smlp_last_error());
    return NULL;
}

static void *thread_a(void *arg) {
    struct thread_view *view = arg;
    smlp_model *model = NULL;
    wait_stage(1);
    view->fresh_empty = smlp_last_error() != NULL && strcmp(smlp_last_error(), "") == 0;
    view->status = (int)smlp_create(NULL, &model);
    snprintf(view->after_own, sizeof view->after_own, "%s", smlp_last_error());
    set_stage(2);
    return NULL;
}

static void test_last_error_per_thread(void) {
    pthread_t a, b;
    struct thread_view view_a, view_b;
    char main_before[1024];
    memset(&view_a, 0, sizeof view_a);
    memset(&view_b, 0, sizeof view_b);
    snprintf(main_before, sizeof main_before, "%s", smlp_last_error());

    CHECK(pthread_create(&b, NULL, thread_b, &view_b) == 0, "start thread B");
    CHECK(pthread_create(&a, NULL, thread_a, &view_a) == 0, "start thread A");
    pthread_join(a, NULL);
    pthread_join(b, NULL);

    CHECK(view_b.fresh_empty, "thread B: message is \"\" on a fresh thread");
    CHECK(view_a.fresh_empty, "thread A: message is \"\" on a fresh thread, though B failed first");
    CHECK(strstr(view_b.after_own, "smlp_param_count") != NULL,
          "thread B's message names smlp_param_count: \"%s\"", view_b.after_own);
    CHECK(view_a.status == SMLP_ERR_NULL_ARGUMENT, "thread A's smlp_create(NULL) failed with NULL_ARGUMENT");
    CHECK(strstr(view_a.after_own, "smlp_create") != NULL,
          "thread A's message names smlp_create: \"%s\"", view_a.after_own);
    CHECK(strcmp(view_b.after_other, view_b.after_own) == 0,
          "thread A's failure did not change B's message: \"%s\" vs \"%s\"", view_b.after_other,
          view_b.after_own);
    CHECK(strcmp(smlp_last_error(), main_before) == 0,
          "the threads' failures did not change the main thread's message: \"%s\"", smlp_last_error());
}

int main(void) {
    test_version();
    test_status_strings();
    test_last_error_main_thread();
    test_last_error_per_thread();
    return check_summary();
}
