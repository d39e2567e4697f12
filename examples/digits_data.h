/*
 * digits_data.h - tiny header-only reader for the 8x8 handwritten digits CSV
 * files in examples/data/ (written by scripts/export_digits.py).
 *
 * File format: one sample per line, 64 integer pixel values in 0..16
 * followed by an integer label in 0..9, comma-separated, no header.
 * Blank lines are ignored; "\r\n" line endings are accepted.
 *
 * ANSI C99, standard library only. All functions are static, so the header
 * can be included from any number of translation units.
 *
 * Usage:
 *     double *x; int32_t *y; size_t n;
 *     if (digits_load_csv("examples/data/digits_train.csv", &x, &y, &n) != 0)
 *         return 1;
 *     ... x[i * DIGITS_N_FEATURES + j] is pixel j of sample i, y[i] its label
 *     free(x); free(y);
 */
#ifndef DIGITS_DATA_H
#define DIGITS_DATA_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGITS_N_FEATURES 64
#define DIGITS_N_CLASSES 10
#define DIGITS_MAX_PIXEL 16

/* Silence "defined but not used" in files that include but never call. */
#if defined(__GNUC__) || defined(__clang__)
#define DIGITS_UNUSED __attribute__((unused))
#else
#define DIGITS_UNUSED
#endif

/*
 * Parse one line (without its newline) into DIGITS_N_FEATURES pixel values
 * and a label. Returns 0 on success, -1 after printing a message to stderr.
 */
DIGITS_UNUSED
static int digits_parse_line_(const char *path, unsigned long line_no,
                              char *line, double *row, int32_t *label)
{
    const int n_cols = DIGITS_N_FEATURES + 1;
    char *p = line;
    char *end;
    long v;
    int col = 0;

    for (;;) {
        if (col >= n_cols) {
            fprintf(stderr, "digits_load_csv: %s:%lu: more than %d columns\n",
                    path, line_no, n_cols);
            return -1;
        }
        errno = 0;
        v = strtol(p, &end, 10);
        if (end == p) {
            fprintf(stderr,
                    "digits_load_csv: %s:%lu: column %d: expected an integer\n",
                    path, line_no, col + 1);
            return -1;
        }
        if (col < DIGITS_N_FEATURES) {
            if (errno == ERANGE || v < 0 || v > DIGITS_MAX_PIXEL) {
                fprintf(stderr,
                        "digits_load_csv: %s:%lu: column %d: pixel value "
                        "outside 0..%d\n",
                        path, line_no, col + 1, DIGITS_MAX_PIXEL);
                return -1;
            }
            row[col] = (double)v;
        } else {
            if (errno == ERANGE || v < 0 || v >= DIGITS_N_CLASSES) {
                fprintf(stderr,
                        "digits_load_csv: %s:%lu: label outside 0..%d\n",
                        path, line_no, DIGITS_N_CLASSES - 1);
                return -1;
            }
            *label = (int32_t)v;
        }
        col++;
        p = end;
        if (*p == ',') {
            p++;
        } else if (*p == '\0') {
            break;
        } else {
            fprintf(stderr,
                    "digits_load_csv: %s:%lu: column %d: unexpected "
                    "character '%c'\n",
                    path, line_no, col, *p);
            return -1;
        }
    }
    if (col != n_cols) {
        fprintf(stderr,
                "digits_load_csv: %s:%lu: expected %d columns, found %d\n",
                path, line_no, n_cols, col);
        return -1;
    }
    return 0;
}

/*
 * Read a digits CSV file. On success returns 0 and sets *features to a
 * malloc'd row-major array of *n_rows x DIGITS_N_FEATURES doubles and
 * *labels to a malloc'd array of *n_rows labels (0..9); the caller frees
 * both with free(). On any error (missing file, wrong column count, value
 * out of range, label outside 0..9, empty file, out of memory) prints a
 * message to stderr, sets the outputs to NULL / 0 and returns -1.
 */
DIGITS_UNUSED
static int digits_load_csv(const char *path, double **features,
                           int32_t **labels, size_t *n_rows)
{
    char line[1024];
    FILE *f;
    double *x = NULL;
    int32_t *y = NULL;
    size_t n = 0, cap = 0, len;
    unsigned long line_no = 0;

    if (path == NULL || features == NULL || labels == NULL || n_rows == NULL) {
        fprintf(stderr, "digits_load_csv: NULL argument\n");
        return -1;
    }
    *features = NULL;
    *labels = NULL;
    *n_rows = 0;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "digits_load_csv: cannot open %s: %s\n", path,
                strerror(errno));
        return -1;
    }

    while (fgets(line, (int)sizeof line, f) != NULL) {
        line_no++;
        len = strlen(line);
        if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
            fprintf(stderr, "digits_load_csv: %s:%lu: line too long\n", path,
                    line_no);
            goto fail;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue; /* blank line */

        if (n == cap) {
            size_t new_cap = cap ? cap * 2 : 256;
            double *nx;
            int32_t *ny;
            if (new_cap > SIZE_MAX / (DIGITS_N_FEATURES * sizeof(double))) {
                fprintf(stderr, "digits_load_csv: %s: too many rows\n", path);
                goto fail;
            }
            nx = (double *)realloc(x, new_cap * DIGITS_N_FEATURES *
                                          sizeof(double));
            if (nx == NULL) {
                fprintf(stderr, "digits_load_csv: out of memory\n");
                goto fail;
            }
            x = nx;
            ny = (int32_t *)realloc(y, new_cap * sizeof(int32_t));
            if (ny == NULL) {
                fprintf(stderr, "digits_load_csv: out of memory\n");
                goto fail;
            }
            y = ny;
            cap = new_cap;
        }
        if (digits_parse_line_(path, line_no, line,
                               x + n * DIGITS_N_FEATURES, y + n) != 0)
            goto fail;
        n++;
    }
    if (ferror(f)) {
        fprintf(stderr, "digits_load_csv: %s: read error\n", path);
        goto fail;
    }
    if (n == 0) {
        fprintf(stderr, "digits_load_csv: %s: no data rows\n", path);
        goto fail;
    }
    fclose(f);
    *features = x;
    *labels = y;
    *n_rows = n;
    return 0;

fail:
    fclose(f);
    free(x);
    free(y);
    return -1;
}

#endif /* DIGITS_DATA_H */
