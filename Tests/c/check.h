/*
 * check.h - the tiny assertion kit shared by the C tests of libswiftmlp.
 *
 *   CHECK(cond, fmt, ...)               cond is true
 *   CHECK_STATUS(call, expected, fmt, ...)  call returns the expected smlp_status
 *   CHECK_NEAR(a, b, tol, fmt, ...)     |a - b| <= tol                (absolute)
 *   CHECK_CLOSE(a, b, rel, fmt, ...)    |a - b| <= rel * max(1, |a|, |b|)
 *   return check_summary();             prints "N passed, N failed", gives the exit code
 *
 * Every check counts one pass or one failure. A failure prints file:line, the
 * message, what went wrong and the library's smlp_last_error() of the calling
 * thread. Checks must be made from one thread at a time (the counters are plain
 * ints): worker threads record what they saw and the main thread checks it.
 */
#ifndef SWIFTMLP_TEST_CHECK_H
#define SWIFTMLP_TEST_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <swiftmlp.h>

static int check_passed_count = 0;
static int check_failed_count = 0;

/* Counts one check; on failure prints where, why, and the library's last message. */
static inline int check_record(int ok, const char *file, int line, const char *detail,
                        const char *format, ...) {
    va_list args;
    if (ok) {
        check_passed_count++;
        return 1;
    }
    check_failed_count++;
    fprintf(stdout, "%s:%d: FAIL: ", file, line);
    va_start(args, format);
    vfprintf(stdout, format, args);
    va_end(args);
    fprintf(stdout, "\n    %s\n    smlp_last_error: \"%s\"\n", detail, smlp_last_error());
    fflush(stdout);
    return 0;
}

/* Scratch text for the "detail" line of a failure. */
static char check_detail[512];

static inline int check_status_impl(smlp_status got, smlp_status expected, const char *call,
                             const char *file, int line, const char *format, ...) {
    va_list args;
    char message[512];
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    snprintf(check_detail, sizeof check_detail, "%s returned %d (%s), expected %d (%s)", call,
             (int)got, smlp_status_string(got), (int)expected, smlp_status_string(expected));
    return check_record(got == expected, file, line, check_detail, "%s", message);
}

static inline int check_near_impl(double a, double b, double tol, int relative, const char *expr,
                           const char *file, int line, const char *format, ...) {
    va_list args;
    char message[512];
    double scale = 1.0, bound;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (relative) {
        if (fabs(a) > scale) scale = fabs(a);
        if (fabs(b) > scale) scale = fabs(b);
    }
    bound = tol * scale;
    snprintf(check_detail, sizeof check_detail, "%s: %.17g vs %.17g, difference %.3g > %.3g", expr,
             a, b, fabs(a - b), bound);
    /* Written so that NaN fails. */
    return check_record(fabs(a - b) <= bound, file, line, check_detail, "%s", message);
}

#define CHECK(cond, ...) \
    check_record((cond) ? 1 : 0, __FILE__, __LINE__, "expected: " #cond, __VA_ARGS__)

#define CHECK_STATUS(call, expected, ...) \
    check_status_impl((call), (expected), #call, __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_NEAR(a, b, tol, ...) \
    check_near_impl((double)(a), (double)(b), (tol), 0, #a " ~ " #b, __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_CLOSE(a, b, rel, ...) \
    check_near_impl((double)(a), (double)(b), (rel), 1, #a " ~ " #b, __FILE__, __LINE__, __VA_ARGS__)

/* Prints this program's "N passed, N failed" line; returns the exit code. */
static inline int check_summary(void) {
    printf("%d passed, %d failed\n", check_passed_count, check_failed_count);
    fflush(stdout);
    return check_failed_count == 0 ? 0 : 1;
}

#endif /* SWIFTMLP_TEST_CHECK_H */
