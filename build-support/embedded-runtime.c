/* build-support/embedded-runtime.c - the two functions of the Swift runtime that the
 * Embedded build needs and Embedded Swift does not provide: `Float(String)` and
 * `Double(String)` (FANN data files, FANNData.swift) call them. Linked into the
 * Embedded libswiftmlp.so only (the SwiftPM build has the runtime's own); the version
 * script keeps them local.
 *
 * They do what the runtime's do on Linux (stdlib/public/stubs/Stubs.cpp): "snan" (any
 * case, optionally signed) is a signaling NaN; otherwise strtod_l / strtof_l in the C
 * locale, whatever the host program's locale, and the end of what was parsed (Swift
 * accepts the text only when that is its end). So both builds read every number the
 * same, bit for bit. */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static locale_t get_c_locale(void) {
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale;
}

static int is_signaling_nan(const char *text) {
    if (text[0] == '+' || text[0] == '-') text++;
    return strcasecmp(text, "snan") == 0;
}

const char *_swift_stdlib_strtod_clocale(const char *text, double *result);
const char *_swift_stdlib_strtof_clocale(const char *text, float *result);

const char *_swift_stdlib_strtod_clocale(const char *text, double *result) {
    char *end;
    if (is_signaling_nan(text)) {
        *result = __builtin_nans("");
        return text + strlen(text);
    }
    errno = 0;
    *result = strtod_l(text, &end, get_c_locale());
    return end;
}

const char *_swift_stdlib_strtof_clocale(const char *text, float *result) {
    char *end;
    if (is_signaling_nan(text)) {
        *result = __builtin_nansf("");
        return text + strlen(text);
    }
    errno = 0;
    *result = strtof_l(text, &end, get_c_locale());
    return end;
}
