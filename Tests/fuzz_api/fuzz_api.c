/*
 * fuzz_api.c - a libFuzzer harness that drives the whole C ABI of libswiftmlp with
 * random sequences of calls decoded from the fuzz input, as a hostile (or merely
 * careless) host program would: random configurations (small ones that work, and
 * absurd ones), optimizer fields that are NaN, infinite or negative, data with the
 * wrong shape or dtype, NULL pointers, NaN and infinity in x and y, labels out of
 * range, parameters, scalers, metadata, buffers, files (dangling links, link loops,
 * links into missing folders, FIFOs, names up to NAME_MAX + 1), FANN data files,
 * size_t values at and above SSIZE_MAX, the layer cache, gradient checks on tiny
 * models, and free.
 *
 * What counts as a finding (the harness aborts, which libFuzzer reports):
 *   - a crash, a Swift trap, a sanitizer report, a hang (-timeout), a leak that grows;
 *   - a status the header does not list for that function (ALLOW() below; a few
 *     documented deviations are allowed and named in docs/reliability.md);
 *   - a failed call with an empty smlp_last_error(), or one not naming the function;
 *   - a failed call that changed the model: its saved bytes (parameters, optimizer
 *     state, epoch, generator, scaler, metadata) differ afterwards. The one documented
 *     exception is smlp_step / smlp_apply_gradients returning SMLP_ERR_NON_FINITE for
 *     an update that overflowed (the message says so); such a model is "poisoned"
 *     and only used for calls that must still be safe;
 *   - a read-only call (predict, get_params, queries, save_to_buffer, metadata and
 *     scaler reads) that changed the model;
 *   - smlp_predict failing after writing out (the header says out is not written);
 *   - smlp_step / smlp_train / smlp_apply_gradients returning SMLP_OK with a
 *     non-finite parameter, smlp_gradients returning SMLP_OK with a non-finite loss
 *     or gradient;
 *   - smlp_set_params OK but smlp_get_params giving something else; set_scaler /
 *     set_metadata not reading back;
 *   - smlp_save_to_buffer OK but smlp_load_from_buffer of those bytes failing, or the
 *     loaded model saving to different bytes;
 *   - a train callback whose calls on the same model are not SMLP_ERR_BUSY;
 *   - a message printing a size_t as a negative number; smlp_train's message asking
 *     to restore what it rolled back;
 *   - a save through a dangling link that replaced the link or did not create its
 *     target, a failed save through a link that did not keep it, a save that replaced
 *     a FIFO, an IO error for a plain name up to NAME_MAX, a load of a FIFO or a loop
 *     that is not SMLP_ERR_IO (one that blocks is a -timeout).
 *
 * Input format: a stream of bytes read by take_*(); each op starts with one byte
 * choosing the call, and what follows chooses its arguments. Running out of bytes
 * reads zeros, so every input is valid.
 *
 * Environment knobs: FUZZ_API_VERBOSE=1 prints every call (to replay a crash by
 * reading). Build and run: Tests/fuzz_api/run.sh [seconds].
 */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <swiftmlp.h>

/* ---- Input -------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t n;
} source;

static uint8_t take8(source *s) {
    uint8_t v;
    if (s->n == 0) return 0;
    v = *s->p++;
    s->n--;
    return v;
}
static uint32_t take32(source *s) {
    uint32_t v = take8(s);
    v |= (uint32_t)take8(s) << 8;
    v |= (uint32_t)take8(s) << 16;
    return v | (uint32_t)take8(s) << 24;
}
static uint64_t take64(source *s) { return (uint64_t)take32(s) | (uint64_t)take32(s) << 32; }

static int verbose = 0;
#define TRACE(...) do { if (verbose) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void die(const char *what, const char *function, int status) {
    fprintf(stderr, "fuzz_api: %s: %s (status %d %s; last error \"%s\")\n", function, what, status,
            smlp_status_string((smlp_status)status), smlp_last_error());
    abort();
}

/* A double: usually small and ordinary, sometimes hostile. */
static double take_value(source *s) {
    uint8_t b = take8(s);
    if (b < 200) return ((double)b - 100.0) / 25.0;
    switch (b % 12) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return 1e300;
    case 4: return -1e300;
    case 5: return 4e-320; /* subnormal */
    case 6: return -0.0;
    case 7: return 3.5e38; /* infinite as a float */
    case 8: return 1e-45;
    case 9: return DBL_MAX;
    case 10: return (double)(int32_t)take32(s);
    default: return 1e20;
    }
}

/* A size: usually small, sometimes absurd. Absurd ones are never used for the length
 * of a buffer we pass, only where the library must refuse them before reading. */
static size_t take_small(source *s, size_t lo, size_t hi) { return lo + take8(s) % (hi - lo + 1); }

/* ---- Allowed statuses ----------------------------------------------------------------- */

#define B(x) (1u << (x))
#define OK_ B(SMLP_OK)
#define NUL B(SMLP_ERR_NULL_ARGUMENT)
#define INV B(SMLP_ERR_INVALID_ARGUMENT)
#define SHP B(SMLP_ERR_SHAPE_MISMATCH)
#define DTY B(SMLP_ERR_DTYPE_MISMATCH)
#define OOM B(SMLP_ERR_OUT_OF_MEMORY)
#define NFI B(SMLP_ERR_NON_FINITE)
#define BSY B(SMLP_ERR_BUSY)
#define IOE B(SMLP_ERR_IO)
#define BAD B(SMLP_ERR_BAD_FORMAT)
#define VER B(SMLP_ERR_UNSUPPORTED_VERSION)

/* Checks status against the header's list; on failure also checks the message. */
static smlp_status allow(smlp_status status, unsigned allowed, const char *function) {
    const char *message;
    if ((unsigned)status > 31 || !(allowed & B(status))) die("status not in the header's list", function, status);
    TRACE("  -> %d (%s)%s%s", (int)status, smlp_status_string(status), status ? ": " : "",
          status ? smlp_last_error() : "");
    if (status == SMLP_OK) return status;
    message = smlp_last_error();
    if (message == NULL || message[0] == 0) die("failed with an empty smlp_last_error()", function, status);
    if (strncmp(message, function, strlen(function)) != 0) die("message does not name the function", function, status);
    /* A size_t printed as a signed number (issue 23): SSIZE_MAX + 1 .. SIZE_MAX would
     * show as -9223372036854775808 .. -1. */
    if (strstr(message, "-92233720368547") != NULL || strstr(message, " -1 bytes") != NULL ||
        strstr(message, "size is negative") != NULL)
        die("a size printed as a negative number", function, status);
    return status;
}
#define ALLOW(call, allowed, name) allow((call), (allowed), (name))

/* ---- Models ------------------------------------------------------------------------------ */

enum { SLOTS = 4, MAX_ROWS = 16, MAX_WIDTH = 8 };

typedef struct {
    smlp_model *m;
    smlp_model_info info;
    int poisoned;        /* parameters may be non-finite (the documented smlp_step exception) */
    int state_poisoned;  /* so may the optimizer state, until smlp_set_optimizer resets it */
} slot;

static slot slots[SLOTS];

static size_t esize(smlp_dtype d) { return d == SMLP_FLOAT32 ? 4 : 8; }

/* The model's saved bytes (its whole state), malloc'd, or NULL with *n = 0 when the
 * save is refused. The header allows that only for SMLP_ERR_NON_FINITE, and that only
 * after an overflowed smlp_step / smlp_apply_gradients (a "poisoned" model). */
static uint8_t *image_of_slot(smlp_model *m, int poisoned, size_t *n) {
    uint8_t *image;
    smlp_status st;
    *n = 0;
    st = smlp_save_to_buffer(m, NULL, 0, n);
    if (st != SMLP_OK) {
        if (st == SMLP_ERR_NON_FINITE && poisoned) return NULL;
        die(poisoned ? "size query failed" : "refused to save a model no call reported as overflowed",
            "smlp_save_to_buffer", st);
    }
    image = malloc(*n ? *n : 1);
    if (image == NULL) return NULL;
    st = smlp_save_to_buffer(m, image, *n, n);
    if (st != SMLP_OK) die("the save failed after the size query succeeded", "smlp_save_to_buffer", st);
    return image;
}

static uint8_t *image_of(smlp_model *m, size_t *n) { return image_of_slot(m, 0, n); }

static void refresh_info(slot *s) {
    smlp_status st = smlp_model_info_get(s->m, &s->info);
    if (st != SMLP_OK) die("model_info_get on a live model", "smlp_model_info_get", st);
}

static int params_finite(slot *s) {
    size_t i, n = s->info.param_count;
    void *p = malloc(n * esize(s->info.dtype) + 1);
    int finite = 1;
    if (p == NULL) return 1;
    if (smlp_get_params(s->m, s->info.dtype, p, n) != SMLP_OK) die("get_params on a live model", "smlp_get_params", -1);
    for (i = 0; i < n; i++) {
        double v = s->info.dtype == SMLP_FLOAT32 ? ((float *)p)[i] : ((double *)p)[i];
        if (!isfinite(v)) finite = 0;
    }
    free(p);
    return finite;
}

/* Before/after a call on a model: a snapshot of its state (the saved bytes, and the
 * parameters, which a poisoned model cannot save), and the comparison. */
typedef struct {
    uint8_t *image;
    size_t size;
    void *params;
    size_t params_bytes;
} snapshot;

static void *params_of(slot *s, size_t *bytes) {
    void *p;
    *bytes = s->info.param_count * esize(s->info.dtype);
    p = malloc(*bytes + 1);
    if (p == NULL) return NULL;
    if (smlp_get_params(s->m, s->info.dtype, p, s->info.param_count) != SMLP_OK)
        die("get_params on a live model", "smlp_get_params", -1);
    return p;
}

/* May the model refuse to be saved (NON_FINITE)? After the documented overflow, while
 * its parameters may be non-finite. (The overflow also resets the optimizer state, so
 * once smlp_set_params restores finite parameters the model must save again: the
 * fixed finding overflow_state_after_set_params in corpus/.) */
static int may_refuse(slot *s) { return s->poisoned; }

static snapshot take_snapshot(slot *s) {
    snapshot sn;
    sn.image = image_of_slot(s->m, may_refuse(s), &sn.size);
    sn.params = params_of(s, &sn.params_bytes);
    return sn;
}

static void drop_snapshot(snapshot *sn) {
    free(sn->image);
    free(sn->params);
    sn->image = NULL;
    sn->params = NULL;
}

static void expect_unchanged(slot *s, snapshot *before, const char *function, int status) {
    size_t n;
    size_t params_bytes;
    uint8_t *now = before->image != NULL ? image_of_slot(s->m, may_refuse(s), &n) : NULL;
    void *params = params_of(s, &params_bytes);
    if (before->image != NULL && now != NULL && (n != before->size || memcmp(now, before->image, n) != 0))
        die("the model changed although the call failed or only reads", function, status);
    if (before->image != NULL && now == NULL)
        die("the model can no longer be saved after a call that failed or only reads", function, status);
    if (before->params != NULL && params != NULL &&
        (params_bytes != before->params_bytes || memcmp(params, before->params, params_bytes) != 0))
        die("the parameters changed although the call failed or only reads", function, status);
    free(now);
    free(params);
    drop_snapshot(before);
}

static slot *pick(source *src) { return &slots[take8(src) % SLOTS]; }

/* A model pointer to pass: usually the slot's (maybe NULL if empty), sometimes NULL. */
static smlp_model *model_arg(slot *s, uint8_t flags) { return (flags & 0x80) ? NULL : s->m; }

/* ---- Data ------------------------------------------------------------------------------- */

/* A buffer of `count` elements of 8 bytes (so a dtype mix-up never overruns it), filled
 * as `dtype` with values from the input. */
static void *make_data(source *src, size_t count, smlp_dtype dtype, int allow_hostile) {
    size_t i;
    uint8_t *buffer = calloc(count ? count : 1, 8);
    if (buffer == NULL) abort();
    for (i = 0; i < count; i++) {
        double v = take_value(src);
        if (!allow_hostile && !isfinite(v)) v = 0.5;
        if (!allow_hostile && fabs(v) > 1e6) v = 1.0;
        if (dtype == SMLP_FLOAT32) ((float *)buffer)[i] = (float)v;
        else ((double *)buffer)[i] = v;
    }
    return buffer;
}

/* A dtype to declare: mostly the model's, sometimes the other or garbage. */
static smlp_dtype take_dtype(source *src, smlp_dtype real) {
    uint8_t b = take8(src);
    if (b < 220) return real;
    if (b < 245) return real == SMLP_FLOAT32 ? SMLP_FLOAT64 : SMLP_FLOAT32;
    return (smlp_dtype)(b % 2 ? 0 : 77);
}

/* An absurd size_t: at the 32-bit limit, near SSIZE_MAX, or above it (where a
 * signed reading turns negative). */
static size_t take_huge(source *src, uint8_t b) {
    switch (b % 6) {
    case 0: return (size_t)1 << 31;
    case 1: return SIZE_MAX;
    case 2: return (size_t)1 << 62;
    case 3: return (size_t)1 << 63;                 /* SSIZE_MAX + 1 */
    case 4: return SIZE_MAX - take8(src);
    default: return ((size_t)1 << 63) + take8(src);
    }
}

/* A width to declare: mostly the real one, sometimes another small one or absurd. */
static size_t take_width(source *src, size_t real) {
    uint8_t b = take8(src);
    if (b < 230) return real;
    if (b < 250) return take_small(src, 0, MAX_WIDTH + 1);
    return take_huge(src, b);
}

/* A data set for the slot's model: declared shapes, buffers big enough for them
 * whenever the declared shape is small, and the buffers to free afterwards. */
typedef struct {
    smlp_dataset d;
    void *x, *y;
    int32_t *labels;
    int hostile;
} dataset;

static void make_dataset(source *src, slot *s, dataset *ds) {
    uint8_t flags = take8(src);
    size_t rows = take_small(src, 1, MAX_ROWS), i;
    size_t n_in = take_width(src, s->info.n_inputs), n_out = take_width(src, s->info.n_outputs);
    size_t cols_in = n_in <= 64 ? n_in : s->info.n_inputs, cols_out = n_out <= 64 ? n_out : s->info.n_outputs;
    smlp_dtype dtype = take_dtype(src, s->info.dtype);
    memset(ds, 0, sizeof *ds);
    if ((flags & 7) == 7) rows = 0;
    ds->hostile = (flags & 0x18) == 0x18;
    ds->x = make_data(src, rows * cols_in, dtype == SMLP_FLOAT32 ? SMLP_FLOAT32 : SMLP_FLOAT64, ds->hostile);
    ds->y = make_data(src, rows * cols_out, dtype == SMLP_FLOAT32 ? SMLP_FLOAT32 : SMLP_FLOAT64, ds->hostile);
    ds->labels = calloc(rows ? rows : 1, sizeof(int32_t));
    if (ds->labels == NULL) abort();
    for (i = 0; i < rows; i++) {
        uint8_t b = take8(src);
        ds->labels[i] = b < 240 ? (int32_t)(b % (s->info.n_outputs ? s->info.n_outputs : 1))
                                : (b % 4 == 0 ? -1 : b % 4 == 1 ? (int32_t)s->info.n_outputs
                                                : b % 4 == 2 ? INT32_MIN : INT32_MAX);
    }
    ds->d.dtype = dtype;
    ds->d.n_rows = rows;
    ds->d.n_inputs = n_in;
    ds->d.n_outputs = n_out;
    ds->d.x = (flags & 0x20) && (flags & 0x40) ? NULL : ds->x;
    /* Targets: labels for softmax cross-entropy models, else y; sometimes both/neither. */
    if (s->info.loss == SMLP_SOFTMAX_CROSS_ENTROPY && !(flags & 0x80)) ds->d.labels = ds->labels;
    else ds->d.y = ds->y;
    if ((flags & 0xC0) == 0xC0) {
        ds->d.y = (flags & 1) ? ds->y : NULL;
        ds->d.labels = (flags & 1) ? ds->labels : NULL;
    }
}

static void free_dataset(dataset *ds) {
    free(ds->x);
    free(ds->y);
    free(ds->labels);
}

/* ---- Ops ------------------------------------------------------------------------------- */

static const size_t absurd_widths[5] = {0, (size_t)1 << 31, 2147483647, SIZE_MAX, (size_t)1 << 40};

static void op_create(source *src) {
    slot *s = pick(src);
    smlp_config c;
    size_t sizes[8];
    smlp_activation acts[8];
    uint8_t flags = take8(src), b;
    size_t n = take_small(src, 2, 4), i;
    smlp_status st;
    smlp_model *m = (smlp_model *)0x1;
    smlp_config_init(&c);
    if ((flags & 0x0F) == 0x0F) n = take_small(src, 0, 8);
    for (i = 0; i < 8; i++) {
        b = take8(src);
        sizes[i] = b < 250 ? 1 + b % MAX_WIDTH : absurd_widths[b % 5];
        b = take8(src);
        acts[i] = b < 250 ? (smlp_activation)(b % 5) : (smlp_activation)(b % 2 ? 5 : 9);
    }
    b = take8(src);
    c.dtype = b < 250 ? (b % 2 ? SMLP_FLOAT32 : SMLP_FLOAT64) : (smlp_dtype)(b % 3);
    c.n_layer_sizes = n;
    c.layer_sizes = sizes;
    c.activations = acts;
    b = take8(src);
    c.loss = (smlp_loss)(b < 250 ? b % 3 : b);
    if (n >= 2 && c.loss == SMLP_SOFTMAX_CROSS_ENTROPY && !(flags & 0x10)) {
        acts[n - 1] = SMLP_SOFTMAX;
        if (sizes[n - 1] < 2) sizes[n - 1] = 2;
    }
    if (n >= 2 && c.loss == SMLP_BINARY_CROSS_ENTROPY && !(flags & 0x10)) acts[n - 1] = SMLP_SIGMOID;
    b = take8(src);
    c.reduction = (smlp_reduction)(b < 250 ? b % 2 : b);
    b = take8(src);
    c.init = (smlp_init)(b < 250 ? b % 3 : b);
    c.seed = take64(src);
    c.leaky_relu_slope = (flags & 0x20) ? take_value(src) : 0.01;
    if ((flags & 0xC0) == 0xC0) c.struct_size = take8(src);
    if ((flags & 0xC0) == 0x80) {
        /* NULL config / out / arrays */
        uint8_t which = take8(src) % 4;
        TRACE("create with NULL #%d", which);
        if (which == 0) st = ALLOW(smlp_create(NULL, &m), NUL, "smlp_create");
        else if (which == 1) st = ALLOW(smlp_create(&c, NULL), NUL, "smlp_create");
        else if (which == 2) { c.layer_sizes = NULL; st = ALLOW(smlp_create(&c, &m), NUL | INV, "smlp_create"); }
        else { c.activations = NULL; st = ALLOW(smlp_create(&c, &m), NUL | INV, "smlp_create"); }
        if (which != 1 && m != NULL) die("out_model not NULL after a failure", "smlp_create", st);
        return;
    }
    TRACE("create slot %d dtype %d n %zu sizes %zu,%zu,%zu,%zu acts %d,%d,%d loss %d", (int)(s - slots), (int)c.dtype,
          n, sizes[0], sizes[1], sizes[2], sizes[3], acts[0], acts[1], acts[2], (int)c.loss);
    st = ALLOW(smlp_create(&c, &m), OK_ | INV | OOM, "smlp_create");
    if (st != SMLP_OK) {
        if (m != NULL) die("out_model not NULL after a failure", "smlp_create", st);
        return;
    }
    if (m == NULL) die("OK but out_model is NULL", "smlp_create", st);
    smlp_free(s->m);
    s->m = m;
    s->poisoned = 0;
    s->state_poisoned = 0;
    refresh_info(s);
    if (s->info.n_inputs != sizes[0] || s->info.n_outputs != sizes[n - 1] || s->info.n_layers != n - 1 ||
        s->info.dtype != c.dtype || s->info.loss != c.loss || smlp_param_count(m) != s->info.param_count)
        die("model_info disagrees with the config", "smlp_model_info_get", 0);
    if (s->info.param_count > 100000) {
        /* Nothing absurd may get this far (an absurd width overflows or fails). */
        die("an absurd configuration was accepted", "smlp_create", 0);
    }
}

static void op_free(source *src) {
    slot *s = pick(src);
    TRACE("free slot %d", (int)(s - slots));
    smlp_free(s->m);
    s->m = NULL;
}

static void op_predict(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    dataset ds;
    size_t out_elems, out_bytes;
    uint8_t *out, *sentinel;
    snapshot before;
    smlp_status st;
    if (s->m == NULL) {
        double x = 0, o = 0;
        ALLOW(smlp_predict(NULL, SMLP_FLOAT64, &x, 1, 1, &o, 1), NUL, "smlp_predict");
        return;
    }
    make_dataset(src, s, &ds);
    out_elems = ds.d.n_rows * (ds.d.n_outputs <= 64 ? ds.d.n_outputs : s->info.n_outputs);
    out_bytes = (out_elems ? out_elems : 1) * 8;
    out = malloc(out_bytes);
    sentinel = malloc(out_bytes);
    if (!out || !sentinel) abort();
    memset(out, 0xA5, out_bytes);
    memcpy(sentinel, out, out_bytes);
    before = take_snapshot(s);
    TRACE("predict slot %d rows %zu in %zu out %zu dtype %d", (int)(s - slots), ds.d.n_rows, ds.d.n_inputs,
          ds.d.n_outputs, (int)ds.d.dtype);
    st = ALLOW(smlp_predict(model_arg(s, flags), ds.d.dtype, ds.d.x, ds.d.n_rows, ds.d.n_inputs,
                            (flags & 0x40) ? NULL : out, ds.d.n_outputs),
               OK_ | NUL | DTY | SHP | NFI | OOM, "smlp_predict");
    if (st != SMLP_OK && memcmp(out, sentinel, out_bytes) != 0) die("failed but wrote out", "smlp_predict", st);
    expect_unchanged(s, &before, "smlp_predict", st);
    free(out);
    free(sentinel);
    free_dataset(&ds);
}

static void op_gradients(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    dataset ds;
    snapshot before;
    smlp_status st;
    size_t count, i;
    double loss = 12345;
    void *grad;
    if (s->m == NULL) {
        ALLOW(smlp_gradients(NULL, NULL, NULL, NULL, 0), NUL, "smlp_gradients");
        return;
    }
    make_dataset(src, s, &ds);
    count = (flags & 3) == 3 ? take_small(src, 0, 3) : s->info.param_count;
    grad = calloc(s->info.param_count + 4, 8);
    if (!grad) abort();
    before = take_snapshot(s);
    TRACE("gradients slot %d rows %zu count %zu flags %x", (int)(s - slots), ds.d.n_rows, count, flags);
    st = ALLOW(smlp_gradients(model_arg(s, flags), (flags & 0x40) ? NULL : &ds.d, (flags & 0x10) ? NULL : &loss,
                              (flags & 0x20) ? NULL : grad, (flags & 0x20) && (flags & 4) ? 0 : count),
               OK_ | NUL | DTY | SHP | INV | NFI | OOM, "smlp_gradients");
    if (st == SMLP_OK) {
        if (!(flags & 0x10) && !isfinite(loss)) die("OK with a non-finite loss", "smlp_gradients", st);
        if (!(flags & 0x20)) {
            for (i = 0; i < s->info.param_count; i++) {
                double v = s->info.dtype == SMLP_FLOAT32 ? ((float *)grad)[i] : ((double *)grad)[i];
                if (!isfinite(v)) die("OK with a non-finite gradient", "smlp_gradients", st);
            }
        }
    }
    expect_unchanged(s, &before, "smlp_gradients", st); /* gradients never changes the model */
    free(grad);
    free_dataset(&ds);
}

/* The documented exception's own words (smlp_step's header comment): only an
 * optimizer with state leaves overflowed parameters. Plain SGD's "would overflow ...
 * nothing was updated" is an ordinary failure and must change nothing. */
static int overflow_message(void) {
    return strstr(smlp_last_error(), "the parameters now hold the overflowed values") != NULL;
}

static void op_step(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    dataset ds;
    snapshot before;
    smlp_status st;
    double loss;
    if (s->m == NULL) {
        ALLOW(smlp_step(NULL, NULL, NULL), NUL, "smlp_step");
        return;
    }
    make_dataset(src, s, &ds);
    before = take_snapshot(s);
    TRACE("step slot %d rows %zu in %zu out %zu dtype %d x %p y %p labels %p", (int)(s - slots), ds.d.n_rows,
          ds.d.n_inputs, ds.d.n_outputs, (int)ds.d.dtype, ds.d.x, ds.d.y, (const void *)ds.d.labels);
    st = ALLOW(smlp_step(model_arg(s, flags), (flags & 0x40) ? NULL : &ds.d, (flags & 0x10) ? NULL : &loss),
               OK_ | NUL | DTY | SHP | INV | NFI | OOM, "smlp_step");
    if (st == SMLP_OK) {
        drop_snapshot(&before);
        if (!params_finite(s)) die("OK but a parameter is not finite", "smlp_step", st);
        s->poisoned = 0;
    } else if (st == SMLP_ERR_NON_FINITE && overflow_message()) {
        drop_snapshot(&before); /* the documented exception */
        s->poisoned = 1;
        s->state_poisoned = 1;
    } else {
        expect_unchanged(s, &before, "smlp_step", st);
    }
    free_dataset(&ds);
}

struct callback_state {
    slot *s;
    int calls, stop_after;
    int bad;
};

static int epoch_callback(const smlp_epoch_report *r, void *user) {
    struct callback_state *cb = user;
    double x[MAX_WIDTH] = {0};
    smlp_status st;
    cb->calls++;
    if (r == NULL || r->epoch != (size_t)cb->calls) cb->bad = 1;
    /* The header: changing calls on the same model from the callback are BUSY. */
    st = smlp_set_epoch(cb->s->m, 3);
    if (st != SMLP_ERR_BUSY) cb->bad = 2;
    st = smlp_fit_scaler(cb->s->m, cb->s->info.dtype, x, 1, cb->s->info.n_inputs);
    if (st != SMLP_ERR_BUSY) cb->bad = 3;
    /* Read-only calls too, and the status-returning counts say so. */
    {
        size_t n = 0;
        int has = 0;
        if (smlp_metadata_count_get(cb->s->m, &n) != SMLP_ERR_BUSY) cb->bad = 4;
        if (smlp_cached_rows_get(cb->s->m, &n) != SMLP_ERR_BUSY) cb->bad = 5;
        if (smlp_get_scaler(cb->s->m, NULL, NULL, 0, &has) != SMLP_ERR_BUSY) cb->bad = 6;
    }
    return cb->calls >= cb->stop_after;
}

static void op_train(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src), b;
    dataset ds, vs;
    smlp_train_options o;
    smlp_train_summary summary;
    struct callback_state cb;
    snapshot before;
    smlp_status st;
    if (s->m == NULL) {
        ALLOW(smlp_train(NULL, NULL, NULL, NULL), NUL, "smlp_train");
        return;
    }
    make_dataset(src, s, &ds);
    make_dataset(src, s, &vs);
    smlp_train_options_init(&o);
    b = take8(src);
    o.epochs = b < 250 ? 1 + b % 3 : (b % 2 ? 0 : SIZE_MAX);
    b = take8(src);
    o.batch_size = b < 250 ? 1 + b % 8 : (b % 2 ? 0 : SIZE_MAX);
    o.shuffle = flags & 1;
    o.drop_last = (flags >> 1) & 1;
    o.validation = (flags & 4) ? &vs.d : NULL;
    o.patience = take8(src) % 3;
    o.min_delta = (flags & 8) ? take_value(src) : 0;
    o.restore_best = (flags >> 4) & 1;
    cb.s = s;
    cb.calls = 0;
    cb.bad = 0;
    cb.stop_after = o.epochs == SIZE_MAX ? 2 : 1000; /* SIZE_MAX epochs: stop it ourselves */
    if (o.epochs == SIZE_MAX || (flags & 0x20)) {
        o.callback = epoch_callback;
        o.user_data = &cb;
    }
    b = take8(src);
    if ((b & 0x1F) == 0x1F) {
        o.struct_size = 3;
    } else if (b & 0x80) { /* L-BFGS: a small budget, a short history, maybe no tolerances */
        o.method = SMLP_TRAIN_LBFGS;
        o.max_function_evals = 1 + b % 30;
        o.lbfgs_history = (b & 0x40) ? 1 : 3;
        if (b & 0x20) o.tolerance_grad = o.tolerance_change = 0;
    }
    before = take_snapshot(s);
    TRACE("train slot %d rows %zu epochs %zu batch %zu flags %x", (int)(s - slots), ds.d.n_rows, o.epochs,
          o.batch_size, flags);
    st = ALLOW(smlp_train(model_arg(s, flags), (flags & 0x40) ? NULL : &ds.d, &o, (flags & 2) ? NULL : &summary),
               OK_ | NUL | INV | DTY | SHP | NFI | OOM, "smlp_train");
    if (cb.bad) die("callback saw a bad report, or a changing call from it was not BUSY", "smlp_train", cb.bad);
    if (st == SMLP_OK) {
        drop_snapshot(&before);
        if (!params_finite(s)) die("OK but a parameter is not finite", "smlp_train", st);
        /* L-BFGS may run no iteration (the start already meets tolerance_grad). */
        if (!(flags & 2) && (summary.epochs_run < (o.method == SMLP_TRAIN_LBFGS ? 0 : 1) ||
                             summary.epochs_run > o.epochs))
            die("summary.epochs_run out of range", "smlp_train", st);
        s->poisoned = 0;
    } else {
        expect_unchanged(s, &before, "smlp_train", st); /* all or nothing */
        /* train rolls back, so its message must never repeat smlp_step's "restore". */
        if (strstr(smlp_last_error(), "now hold") != NULL || strstr(smlp_last_error(), "restore the parameters") != NULL)
            die("the message asks to restore what train rolled back", "smlp_train", st);
    }
    free_dataset(&ds);
    free_dataset(&vs);
}

static void op_evaluate(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    dataset ds;
    snapshot before;
    smlp_status st;
    double loss, acc;
    if (s->m == NULL) return;
    make_dataset(src, s, &ds);
    before = take_snapshot(s);
    TRACE("evaluate slot %d rows %zu", (int)(s - slots), ds.d.n_rows);
    st = ALLOW(smlp_evaluate(model_arg(s, flags), (flags & 0x40) ? NULL : &ds.d, (flags & 1) ? NULL : &loss,
                             (flags & 2) ? NULL : &acc),
               OK_ | NUL | DTY | SHP | INV | OOM | NFI, "smlp_evaluate");
    expect_unchanged(s, &before, "smlp_evaluate", st);
    free_dataset(&ds);
}

static void op_set_optimizer(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src), b = take8(src);
    smlp_optimizer_config c;
    snapshot before;
    smlp_status st;
    smlp_optimizer kind = (smlp_optimizer)(b < 250 ? b % 5 : b);
    smlp_optimizer_config_init(&c, kind);
    if (flags & 1) c.learning_rate = take_value(src);
    if (flags & 2) c.momentum = take_value(src) / 4;
    if (flags & 4) c.beta1 = take_value(src) / 4;
    if (flags & 8) c.beta2 = take_value(src) / 4;
    if (flags & 16) c.epsilon = take_value(src);
    if (flags & 32) c.alpha = take_value(src) / 4;
    if (flags & 64) {
        c.weight_decay = take_value(src);
        c.clip_norm = take_value(src);
        c.nesterov = take8(src) & 1;
        c.decay_biases = take8(src) & 1;
    }
    if (flags & 128) {
        b = take8(src);
        c.schedule = (smlp_schedule)(b < 250 ? b % 4 : b);
        c.step_size = take8(src) < 250 ? take_small(src, 0, 5) : SIZE_MAX;
        c.gamma = take_value(src);
        c.t_max = take8(src) < 250 ? take_small(src, 0, 5) : SIZE_MAX;
        c.min_lr = take_value(src);
    }
    if (kind == SMLP_RPROP && (take8(src) & 1)) {
        b = take8(src);
        c.rprop_variant = (smlp_rprop_variant)(b < 250 ? b % 2 : b);
        c.rprop_increase = take_value(src);
        c.rprop_decrease = take_value(src) / 4;
        c.rprop_delta0 = take_value(src);
        c.rprop_delta_min = take_value(src);
        c.rprop_delta_max = take_value(src);
    }
    b = take8(src);
    if (b == 0xFF) c.struct_size = 8;
    if (b == 0xFD) c.struct_size = offsetof(smlp_optimizer_config, rprop_variant); /* 0.1.0's size */
    if (s->m == NULL) {
        ALLOW(smlp_set_optimizer(NULL, &c), NUL, "smlp_set_optimizer");
        return;
    }
    before = take_snapshot(s);
    TRACE("set_optimizer slot %d kind %d lr %g mom %g b1 %g b2 %g eps %g alpha %g wd %g clip %g sched %d", (int)(s - slots),
          (int)c.kind, c.learning_rate, c.momentum, c.beta1, c.beta2, c.epsilon, c.alpha, c.weight_decay,
          c.clip_norm, (int)c.schedule);
    st = ALLOW(smlp_set_optimizer(s->m, take8(src) == 0xFE ? NULL : &c), OK_ | NUL | INV | OOM, "smlp_set_optimizer");
    if (st == SMLP_OK) s->state_poisoned = 0; /* a fresh optimizer state */
    if (st == SMLP_OK) drop_snapshot(&before);
    else expect_unchanged(s, &before, "smlp_set_optimizer", st);
}

static void op_params(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    size_t n, count;
    uint8_t *p, *q;
    smlp_dtype dtype;
    snapshot before;
    smlp_status st;
    if (s->m == NULL) {
        ALLOW(smlp_get_params(NULL, SMLP_FLOAT64, &flags, 0), NUL, "smlp_get_params");
        return;
    }
    n = s->info.param_count;
    count = (flags & 7) == 7 ? take_small(src, 0, 3) : n;
    dtype = take_dtype(src, s->info.dtype);
    p = make_data(src, n + 4, dtype == SMLP_FLOAT32 ? SMLP_FLOAT32 : SMLP_FLOAT64, (flags & 0x18) == 0x18);
    q = calloc(n + 4, 8);
    if (!q) abort();
    before = take_snapshot(s);
    if (flags & 0x20) {
        TRACE("get_params slot %d count %zu dtype %d", (int)(s - slots), count, (int)dtype);
        st = ALLOW(smlp_get_params(model_arg(s, flags), dtype, (flags & 0x40) ? NULL : q, count),
                   OK_ | NUL | DTY | SHP, "smlp_get_params");
        expect_unchanged(s, &before, "smlp_get_params", st);
    } else {
        TRACE("set_params slot %d count %zu dtype %d", (int)(s - slots), count, (int)dtype);
        st = ALLOW(smlp_set_params(model_arg(s, flags), dtype, (flags & 0x40) ? NULL : p, count),
                   OK_ | NUL | DTY | SHP | NFI, "smlp_set_params");
        if (st == SMLP_OK) {
            drop_snapshot(&before);
            if (smlp_get_params(s->m, s->info.dtype, q, n) != SMLP_OK || memcmp(p, q, n * esize(s->info.dtype)) != 0)
                die("get_params does not return what set_params set", "smlp_set_params", st);
            s->poisoned = 0;
        } else {
            expect_unchanged(s, &before, "smlp_set_params", st);
        }
    }
    free(p);
    free(q);
}

static void op_scaler(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    snapshot before;
    smlp_status st;
    double mean[MAX_WIDTH + 2], stdv[MAX_WIDTH + 2], m2[MAX_WIDTH + 2], s2[MAX_WIDTH + 2];
    size_t i, n;
    int has = 7;
    if (s->m == NULL) {
        ALLOW(smlp_clear_scaler(NULL), NUL, "smlp_clear_scaler");
        return;
    }
    n = take_width(src, s->info.n_inputs);
    for (i = 0; i < MAX_WIDTH + 2; i++) {
        mean[i] = take_value(src);
        stdv[i] = (flags & 0x10) ? take_value(src) : 0.5 + take8(src) / 16.0;
        if (!(flags & 0x20) && !isfinite(mean[i])) mean[i] = 0;
    }
    before = take_snapshot(s);
    switch (flags & 3) {
    case 0: {
        dataset ds;
        make_dataset(src, s, &ds);
        TRACE("fit_scaler slot %d rows %zu n %zu dtype %d", (int)(s - slots), ds.d.n_rows, ds.d.n_inputs,
              (int)ds.d.dtype);
        /* Known (crashes/fit_scaler_overflow-*): finite data near DBL_MAX give INVALID_ARGUMENT. */
        st = ALLOW(smlp_fit_scaler(model_arg(s, flags), ds.d.dtype, ds.d.x, ds.d.n_rows, ds.d.n_inputs),
                   OK_ | NUL | DTY | SHP | NFI | OOM, "smlp_fit_scaler");
        free_dataset(&ds);
        if (st == SMLP_OK) drop_snapshot(&before);
        else expect_unchanged(s, &before, "smlp_fit_scaler", st);
        break;
    }
    case 1:
        TRACE("set_scaler slot %d n %zu", (int)(s - slots), n);
        st = ALLOW(smlp_set_scaler(model_arg(s, flags), (flags & 0x40) ? NULL : mean, stdv, n),
                   OK_ | NUL | SHP | INV, "smlp_set_scaler");
        if (st == SMLP_OK) {
            drop_snapshot(&before);
            if (smlp_get_scaler(s->m, m2, s2, n, &has) != SMLP_OK || has != 1 ||
                memcmp(m2, mean, n * sizeof(double)) != 0 || memcmp(s2, stdv, n * sizeof(double)) != 0)
                die("get_scaler does not return what set_scaler set", "smlp_set_scaler", st);
        } else {
            expect_unchanged(s, &before, "smlp_set_scaler", st);
        }
        break;
    case 2:
        TRACE("get_scaler slot %d n %zu", (int)(s - slots), n);
        st = ALLOW(smlp_get_scaler(model_arg(s, flags), (flags & 4) ? NULL : m2, (flags & 8) ? NULL : s2, n,
                                   (flags & 0x40) ? NULL : &has),
                   OK_ | NUL | SHP, "smlp_get_scaler");
        if (st == SMLP_OK && has != 0 && has != 1) die("out_has_scaler is neither 0 nor 1", "smlp_get_scaler", st);
        expect_unchanged(s, &before, "smlp_get_scaler", st);
        break;
    default:
        TRACE("clear_scaler slot %d", (int)(s - slots));
        st = ALLOW(smlp_clear_scaler(model_arg(s, flags)), OK_ | NUL, "smlp_clear_scaler");
        if (st == SMLP_OK) drop_snapshot(&before);
        else expect_unchanged(s, &before, "smlp_clear_scaler", st);
    }
}

static void op_metadata(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    char key[320], value[400], out[400];
    size_t klen = take8(src) % 4 == 0 ? take_small(src, 0, 255) + (take8(src) == 0xFF ? 45 : 0) : take_small(src, 0, 3);
    size_t vlen = take_small(src, 0, 20), i, length = 0;
    snapshot before;
    smlp_status st;
    if (s->m == NULL) {
        ALLOW(smlp_set_metadata(NULL, "k", "v"), NUL, "smlp_set_metadata");
        return;
    }
    for (i = 0; i < klen; i++) {
        uint8_t b = take8(src);
        key[i] = (char)(b < 128 ? 'a' + b % 3 : (b == 0xFF ? 0xC3 : b)); /* some invalid UTF-8 */
        if (key[i] == 0) key[i] = 'z';
    }
    key[klen] = 0;
    for (i = 0; i < vlen; i++) value[i] = (char)('A' + take8(src) % 26);
    value[vlen] = 0;
    before = take_snapshot(s);
    switch (flags & 3) {
    case 0:
        TRACE("set_metadata slot %d key \"%s\" value \"%s\"", (int)(s - slots), key, value);
        st = ALLOW(smlp_set_metadata(model_arg(s, flags), (flags & 0x40) ? NULL : key, (flags & 4) ? NULL : value),
                   OK_ | NUL | INV, "smlp_set_metadata");
        if (st == SMLP_OK) {
            drop_snapshot(&before);
            if (!(flags & 4) && (smlp_get_metadata(s->m, key, out, sizeof out, &length) != SMLP_OK ||
                                 strcmp(out, value) != 0 || length != vlen))
                die("get_metadata does not return what set_metadata set", "smlp_set_metadata", st);
        } else {
            expect_unchanged(s, &before, "smlp_set_metadata", st);
        }
        break;
    case 1:
        TRACE("get_metadata slot %d key \"%s\"", (int)(s - slots), key);
        st = ALLOW(smlp_get_metadata(model_arg(s, flags), (flags & 0x40) ? NULL : key, (flags & 4) ? NULL : out,
                                     (flags & 8) ? take_small(src, 0, 4) : sizeof out, (flags & 0x20) ? NULL : &length),
                   OK_ | NUL | INV | SHP, "smlp_get_metadata");
        expect_unchanged(s, &before, "smlp_get_metadata", st);
        /* A capacity above SSIZE_MAX is large enough (it once read as -1). */
        if (s->m != NULL && smlp_get_metadata(s->m, key, NULL, 0, &length) == SMLP_OK && length < sizeof out) {
            size_t huge = ((size_t)1 << 63) + take8(src) * ((size_t)1 << 55);
            TRACE("get_metadata slot %d key \"%s\" capacity %zu", (int)(s - slots), key, huge);
            ALLOW(smlp_get_metadata(s->m, key, out, huge, &length), OK_, "smlp_get_metadata");
        }
        break;
    default: {
        size_t n = smlp_metadata_count(model_arg(s, flags)), index = take8(src) % (n + 2);
        TRACE("metadata_key slot %d index %zu of %zu", (int)(s - slots), index, n);
        st = ALLOW(smlp_metadata_key(model_arg(s, flags), (flags & 0x10) ? take_huge(src, take8(src)) : index, (flags & 4) ? NULL : out,
                                     (flags & 8) ? take_small(src, 0, 4) : sizeof out, (flags & 0x20) ? NULL : &length),
                   OK_ | NUL | INV | SHP, "smlp_metadata_key");
        if (st == SMLP_OK && !(flags & 4) && strlen(out) != length) die("length disagrees", "smlp_metadata_key", st);
        expect_unchanged(s, &before, "smlp_metadata_key", st);
    }
    }
}

static void op_roundtrip(source *src) {
    slot *s = pick(src), *t = pick(src);
    uint8_t flags = take8(src);
    size_t n = 0, n2 = 0, cap;
    uint8_t *image, *image2;
    smlp_model *again = (smlp_model *)0x1;
    smlp_status st;
    if (s->m == NULL) {
        ALLOW(smlp_save_to_buffer(NULL, NULL, 0, &n), NUL, "smlp_save_to_buffer");
        return;
    }
    TRACE("roundtrip slot %d -> %d flags %x", (int)(s - slots), (int)(t - slots), flags);
    /* NFI: a model that an overflowed step left non-finite is not saved (the header). */
    st = ALLOW(smlp_save_to_buffer(s->m, NULL, 0, (flags & 0x40) ? NULL : &n),
               OK_ | NUL | (may_refuse(s) ? NFI : 0), "smlp_save_to_buffer");
    if (st != SMLP_OK) return;
    image = malloc(n + 16);
    if (!image) abort();
    /* Too small, exact, or above SSIZE_MAX (more than enough). */
    cap = (flags & 1) ? n - 1 - take8(src) % 8 : (flags & 2 ? SIZE_MAX - take8(src) : n);
    if ((flags & 1) && n < 9) cap = 0;
    st = ALLOW(smlp_save_to_buffer(s->m, image, cap, &n2), OK_ | SHP, "smlp_save_to_buffer");
    if (n2 != n) die("the size changed between two calls", "smlp_save_to_buffer", st);
    if (st != SMLP_OK) {
        free(image);
        return;
    }
    if (flags & 4) {
        /* A hostile edit: flip a byte or truncate (the CRC catches it). */
        size_t at = take32(src) % n;
        if (flags & 8) image[at] ^= (uint8_t)(1 + take8(src) % 255);
        else n = at;
        st = ALLOW(smlp_load_from_buffer(image, n, &again), OK_ | BAD | VER | OOM, "smlp_load_from_buffer");
        if (st != SMLP_OK && again != NULL) die("out_model not NULL after a failure", "smlp_load_from_buffer", st);
        if (st == SMLP_OK) smlp_free(again);
        free(image);
        return;
    }
    st = ALLOW(smlp_load_from_buffer(image, n, &again), OK_ | BAD | OOM, "smlp_load_from_buffer");
    if (st != SMLP_OK) die("a model the library saved does not load", "smlp_load_from_buffer", st);
    image2 = image_of(again, &n2);
    if (image2 == NULL || n2 != n || memcmp(image, image2, n) != 0)
        die("the reloaded model saves to different bytes", "smlp_load_from_buffer", st);
    free(image2);
    free(image);
    if (t != s) {
        smlp_free(t->m);
        t->m = again;
        t->poisoned = 0;
        t->state_poisoned = 0;
        refresh_info(t);
    } else {
        smlp_free(again);
    }
}

static void op_load_raw(source *src) {
    slot *s = pick(src);
    size_t n = take_small(src, 0, 255), i;
    uint8_t *bytes = malloc(n + 1);
    smlp_model *m = (smlp_model *)0x1;
    smlp_status st;
    if (!bytes) abort();
    for (i = 0; i < n; i++) bytes[i] = take8(src);
    if (n >= 8 && (bytes[0] & 1)) memcpy(bytes, "SMLPMODL", 8);
    TRACE("load_raw %zu bytes", n);
    st = ALLOW(smlp_load_from_buffer(n == 0 && (bytes[0] & 2) ? NULL : bytes, n, &m), OK_ | NUL | BAD | VER | OOM,
               "smlp_load_from_buffer");
    if (st != SMLP_OK && m != NULL) die("out_model not NULL after a failure", "smlp_load_from_buffer", st);
    if (st == SMLP_OK) {
        smlp_free(s->m);
        s->m = m;
        s->poisoned = 0;
        s->state_poisoned = 0;
        refresh_info(s);
    }
    /* A byte size no buffer can have (above SSIZE_MAX): INVALID_ARGUMENT. */
    st = ALLOW(smlp_load_from_buffer(bytes, take8(src) & 1 ? SIZE_MAX - take8(src) : ((size_t)1 << 63) + take8(src), &m),
               INV, "smlp_load_from_buffer");
    ALLOW(smlp_load_from_buffer(bytes, n, NULL), NUL, "smlp_load_from_buffer");
    free(bytes);
}

static void op_cache(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    size_t rows, layer, width;
    smlp_layer_info li;
    void *out;
    snapshot before;
    smlp_status st;
    if (s->m == NULL) {
        (void)smlp_cached_rows(NULL);
        return;
    }
    rows = smlp_cached_rows(s->m);
    layer = (flags & 0x10) ? take_huge(src, take8(src)) : take8(src) % (s->info.n_layers + 1);
    width = layer < s->info.n_layers && smlp_layer_info_get(s->m, layer, &li) == SMLP_OK ? li.n_outputs : 1;
    if (flags & 0x20) rows = take_small(src, 0, 4);
    if (flags & 0x80) width = take_small(src, 0, 4);
    out = calloc((rows ? rows : 1) * (width ? width : 1) + 1, 8);
    if (!out) abort();
    before = take_snapshot(s);
    TRACE("layer_cache slot %d layer %zu kind %d rows %zu width %zu", (int)(s - slots), layer, flags % 4, rows, width);
    st = ALLOW(smlp_get_layer_cache(s->m, layer, (smlp_cache_kind)(flags & 3), take_dtype(src, s->info.dtype),
                                    (flags & 0x40) ? NULL : out, rows, width),
               OK_ | NUL | INV | DTY | SHP, "smlp_get_layer_cache");
    expect_unchanged(s, &before, "smlp_get_layer_cache", st);
    free(out);
}

static void op_gradcheck(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    dataset ds;
    double w[8], b[8], step;
    snapshot before;
    smlp_status st;
    size_t layers;
    if (s->m == NULL || s->info.param_count > 200) return;
    make_dataset(src, s, &ds);
    if (ds.d.n_rows > 4) ds.d.n_rows = 4;
    step = (flags & 1) ? take_value(src) : 1e-6;
    layers = (flags & 2) ? take_small(src, 0, 5) : s->info.n_layers;
    before = take_snapshot(s);
    TRACE("gradcheck slot %d rows %zu step %g layers %zu", (int)(s - slots), ds.d.n_rows, step, layers);
    /* DTY: the header's list for gradcheck omits it, but it checks the batch's dtype
     * (docs/reliability.md, smaller mismatches). */
    st = ALLOW(smlp_gradcheck(model_arg(s, flags), (flags & 0x40) ? NULL : &ds.d, step, (flags & 4) ? NULL : w, b,
                              layers),
               OK_ | NUL | SHP | INV | NFI | OOM | DTY, "smlp_gradcheck");
    expect_unchanged(s, &before, "smlp_gradcheck", st);
    free_dataset(&ds);
}

static void op_apply(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    void *g;
    size_t count;
    double scale;
    smlp_dtype dtype;
    snapshot before;
    smlp_status st;
    if (s->m == NULL) return;
    dtype = take_dtype(src, s->info.dtype);
    g = make_data(src, s->info.param_count + 2, dtype == SMLP_FLOAT32 ? SMLP_FLOAT32 : SMLP_FLOAT64, flags & 1);
    count = (flags & 6) == 6 ? take_small(src, 0, 3) : s->info.param_count;
    scale = (flags & 8) ? take_value(src) : 0.5;
    before = take_snapshot(s);
    TRACE("apply_gradients slot %d count %zu scale %g", (int)(s - slots), count, scale);
    st = ALLOW(smlp_apply_gradients(model_arg(s, flags), dtype, (flags & 0x40) ? NULL : g, count, scale),
               OK_ | NUL | DTY | SHP | INV | NFI, "smlp_apply_gradients");
    if (st == SMLP_OK) {
        drop_snapshot(&before);
        if (!params_finite(s)) die("OK but a parameter is not finite", "smlp_apply_gradients", st);
        s->poisoned = 0;
    } else if (st == SMLP_ERR_NON_FINITE && overflow_message()) {
        drop_snapshot(&before);
        s->poisoned = 1;
        s->state_poisoned = 1;
    } else {
        expect_unchanged(s, &before, "smlp_apply_gradients", st);
    }
    free(g);
}

static void op_epoch_and_queries(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src);
    smlp_model_info info;
    smlp_layer_info li;
    size_t layer;
    if (s->m == NULL) {
        ALLOW(smlp_model_info_get(NULL, &info), NUL, "smlp_model_info_get");
        ALLOW(smlp_set_epoch(NULL, 1), NUL, "smlp_set_epoch");
        if (smlp_param_count(NULL) != 0) die("not 0 for NULL", "smlp_param_count", 0);
        ALLOW(smlp_metadata_count_get(NULL, &layer), NUL, "smlp_metadata_count_get");
        ALLOW(smlp_cached_rows_get(NULL, &layer), NUL, "smlp_cached_rows_get");
        return;
    }
    {
        size_t count = SIZE_MAX, rows = SIZE_MAX;
        ALLOW(smlp_metadata_count_get(s->m, (flags & 0x20) ? NULL : &count), (flags & 0x20) ? NUL : OK_,
              "smlp_metadata_count_get");
        if (!(flags & 0x20) && count != smlp_metadata_count(s->m))
            die("metadata_count_get and metadata_count disagree", "smlp_metadata_count_get", 0);
        ALLOW(smlp_cached_rows_get(s->m, (flags & 0x40) ? NULL : &rows), (flags & 0x40) ? NUL : OK_,
              "smlp_cached_rows_get");
        if (!(flags & 0x40) && rows != smlp_cached_rows(s->m))
            die("cached_rows_get and cached_rows disagree", "smlp_cached_rows_get", 0);
    }
    if (flags & 1) {
        size_t e = (flags & 2) ? SIZE_MAX - take8(src) : take8(src);
        TRACE("set_epoch slot %d %zu", (int)(s - slots), e);
        ALLOW(smlp_set_epoch(s->m, e), OK_, "smlp_set_epoch");
    }
    layer = (flags & 4) ? SIZE_MAX - take8(src) : take8(src) % (s->info.n_layers + 2);
    ALLOW(smlp_layer_info_get(s->m, layer, (flags & 8) ? NULL : &li), OK_ | NUL | INV, "smlp_layer_info_get");
    ALLOW(smlp_model_info_get(s->m, (flags & 16) ? NULL : &info), OK_ | NUL, "smlp_model_info_get");
    refresh_info(s);
}

static char scratch_dir[4096];

static void op_files(source *src) {
    slot *s = pick(src);
    uint8_t flags = take8(src), which = take8(src);
    char path[4200], cpath[4210], prefix[16], target[4300];
    smlp_model *m = (smlp_model *)0x1;
    smlp_status st;
    size_t i, name_length = 0;
    struct stat info;
    /* What the path is, for the checks after a save (the header's "Files" rules). */
    enum { PLAIN, DANGLING, LOOP, INTO_MISSING, FIFO, LONG } kind = PLAIN;
    /* Everything written stays inside scratch_dir: never a system path (a save renames
     * its temporary file over the target, so "/dev/null" would be replaced). */
    switch (which % 10) {
    case 0: snprintf(path, sizeof path, "%s/m%d.smlp", scratch_dir, which % 3); break;
    case 1: snprintf(path, sizeof path, "%s", scratch_dir); break;                      /* a directory */
    case 2: snprintf(path, sizeof path, "%s/no-such-dir/m.smlp", scratch_dir); break;
    case 3: snprintf(path, sizeof path, "%s/bad\xff\xfe.smlp", scratch_dir); break;    /* not UTF-8 */
    case 5: /* a dangling link (relative), into this folder: its target gets created */
        kind = DANGLING;
        snprintf(path, sizeof path, "%s/dangling%d", scratch_dir, which % 2);
        snprintf(target, sizeof target, "%s/dangling%d-target", scratch_dir, which % 2);
        unlink(path);
        unlink(target);
        if (symlink(strrchr(target, '/') + 1, path) != 0) die("symlink", "op_files", 0);
        break;
    case 6: /* a loop of two links */
        kind = LOOP;
        snprintf(path, sizeof path, "%s/loop-a", scratch_dir);
        snprintf(target, sizeof target, "%s/loop-b", scratch_dir);
        if (lstat(path, &info) != 0 && (symlink("loop-b", path) != 0 || symlink("loop-a", target) != 0))
            die("symlink loop", "op_files", 0);
        break;
    case 7: /* a link into a folder that does not exist */
        kind = INTO_MISSING;
        snprintf(path, sizeof path, "%s/into-missing", scratch_dir);
        if (lstat(path, &info) != 0 && symlink("no-such-dir/m.smlp", path) != 0) die("symlink", "op_files", 0);
        break;
    case 8: /* a FIFO nobody writes to: a blocking open would hang (-timeout finds it) */
        kind = FIFO;
        snprintf(path, sizeof path, "%s/fifo", scratch_dir);
        if (mkfifo(path, 0600) != 0 && errno != EEXIST) die("mkfifo", "op_files", 0);
        break;
    case 9: /* a long name: 1 .. NAME_MAX + 1 bytes */
        kind = LONG;
        name_length = take8(src) >= 200 ? NAME_MAX + (take8(src) & 1) : 1 + take8(src) % NAME_MAX;
        snprintf(path, sizeof path, "%s/", scratch_dir);
        memset(path + strlen(path), 'L', name_length);
        path[strlen(scratch_dir) + 1 + name_length] = 0;
        break;
    default: snprintf(path, sizeof path, "%s", ""); break;
    }
    if (s->m != NULL && (flags & 2)) {
        unsigned allowed = NUL | OOM | INV | (may_refuse(s) ? NFI : 0);
        int null_args = (flags & 0x60) != 0;
        /* Only these may fail with IO; the others must be written. */
        if (kind == PLAIN || kind == LOOP || kind == INTO_MISSING || kind == FIFO || name_length > NAME_MAX)
            allowed |= IOE;
        if (kind != LOOP && kind != INTO_MISSING && kind != FIFO && name_length <= NAME_MAX) allowed |= OK_;
        TRACE("save slot %d to %s", (int)(s - slots), path);
        /* INV: non-UTF-8 paths are refused (documented). */
        st = ALLOW(smlp_save((flags & 0x40) ? NULL : s->m, (flags & 0x20) ? NULL : path), null_args ? NUL : allowed,
                   "smlp_save");
        if (kind == DANGLING && st == SMLP_OK &&
            (lstat(path, &info) != 0 || !S_ISLNK(info.st_mode) || lstat(target, &info) != 0 || !S_ISREG(info.st_mode)))
            die("a save through a dangling link replaced the link or did not create its target", "smlp_save", st);
        if ((kind == LOOP || kind == INTO_MISSING) && (lstat(path, &info) != 0 || !S_ISLNK(info.st_mode)))
            die("a failed save through a link did not keep the link", "smlp_save", st);
        if (kind == FIFO && (lstat(path, &info) != 0 || !S_ISFIFO(info.st_mode)))
            die("a save replaced a FIFO", "smlp_save", st);
    }
    if (s->m != NULL && (flags & 4) && path[0] != 0) {
        for (i = 0; i < sizeof prefix - 1; i++) prefix[i] = (char)(take8(src) % 4 == 0 ? '-' : 'a' + i);
        prefix[take8(src) % (sizeof prefix)] = 0;
        snprintf(cpath, sizeof cpath, "%s.c", path);
        TRACE("export_c slot %d to %s prefix %s", (int)(s - slots), cpath, prefix);
        ALLOW(smlp_export_c(s->m, cpath, (flags & 8) ? NULL : prefix), OK_ | NUL | INV | IOE, "smlp_export_c");
    }
    if (flags & 1) {
        static const char *const readonly_paths[4] = {"/proc/self/mem", "/dev/null", "/", "/proc/self/status"};
        snprintf(path, sizeof path, "%s", readonly_paths[take8(src) % 4]);
        kind = PLAIN;
    }
    TRACE("load %s", path);
    st = ALLOW(smlp_load((flags & 0x20) ? NULL : path, &m),
               (kind == FIFO || kind == LOOP ? 0 : OK_ | BAD | VER | OOM | INV) | NUL | IOE, "smlp_load");
    if (st != SMLP_OK && m != NULL) die("out_model not NULL after a failure", "smlp_load", st);
    if (st == SMLP_OK) {
        smlp_free(s->m);
        s->m = m;
        s->poisoned = 0;
        s->state_poisoned = 0;
        refresh_info(s);
    }
}

static void op_misc(source *src) {
    uint8_t b = take8(src);
    int n;
    (void)smlp_status_string((smlp_status)b);
    (void)smlp_status_string((smlp_status)(int)take32(src));
    if (smlp_version() / 10000 != SMLP_VERSION_MAJOR) die("version", "smlp_version", 0);
    if (strcmp(smlp_version_string(), SMLP_VERSION_STRING) != 0) die("version string", "smlp_version_string", 0);
    smlp_config_init(NULL);
    (smlp_optimizer_config_init)(NULL, SMLP_ADAM);
    smlp_optimizer_config_init_sized(NULL, SMLP_ADAM, sizeof(smlp_optimizer_config));
    (smlp_train_options_init)(NULL);
    smlp_train_options_init_sized(NULL, sizeof(smlp_train_options));
    n = (b & 0x80) ? (int)take32(src) : (int)(b % 4) - 1;
    TRACE("set_num_threads %d", n);
    ALLOW(smlp_set_num_threads(n), (n >= 1 ? OK_ : 0) | INV, "smlp_set_num_threads");
    /* The rest of this input runs at 1 or 2 BLAS threads; at 2, the forward products
     * OpenBLAS computes go to the workspace's product buffer (Network.forwardTraining).
     * Each input starts at 1 (LLVMFuzzerTestOneInput), so a finding replays alone. */
    n = 1 + (b & 1);
    smlp_set_num_threads(n);
    if (smlp_get_num_threads() != n) die("get_num_threads after set", "smlp_get_num_threads", 0);
}

/* ---- Entry points ------------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_API_VERBOSE") != NULL;
    smlp_set_num_threads(1);
    snprintf(scratch_dir, sizeof scratch_dir, "%s/fuzz_api.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    mkdir(scratch_dir, 0700);
    return 0;
}

/* FANN data files: hostile text for smlp_data_load_fann (out_data must be NULL after
 * a failure; a loaded set is freed), and smlp_data_save_fann of fuzzed values, whose
 * file must load back to the same bits. */
static void op_data(source *src) {
    static const char *const tokens[] = {"0", "1", "-1", "0.5", "1e39", "nan", "x", " ", "\t", "\n",
                                         "\r\n", "2", "3", "1e-320", "+", "4294967297"};
    char path[4200];
    uint8_t flags = take8(src);
    smlp_dtype dtype = (flags & 1) ? SMLP_FLOAT32 : SMLP_FLOAT64;
    smlp_owned_dataset *d = (smlp_owned_dataset *)0x1;
    double x[4 * 3], y[4 * 3];
    float xf[4 * 3], yf[4 * 3];
    smlp_dataset set;
    smlp_status st;
    size_t i, n;
    snprintf(path, sizeof path, "%s/d.data", scratch_dir);
    set.dtype = dtype;
    set.n_rows = take_small(src, 1, 4);
    set.n_inputs = take_small(src, 1, 3);
    set.n_outputs = take_small(src, 1, 3);
    set.x = dtype == SMLP_FLOAT32 ? (const void *)xf : (const void *)x;
    set.y = dtype == SMLP_FLOAT32 ? (const void *)yf : (const void *)y;
    set.labels = NULL;
    if (flags & 2) {
        FILE *f = fopen(path, "wb");
        if (f == NULL) return;
        n = take8(src);
        for (i = 0; i < n; i++) fputs(tokens[take8(src) % 16], f);
        fclose(f);
        TRACE("data_load_fann of %zu fuzzed tokens", n);
    } else {
        for (i = 0; i < 12; i++) {
            x[i] = (flags & 4) ? take_value(src) : (double)(int8_t)take8(src) / 8;
            y[i] = (double)(int8_t)take8(src) / 16;
            xf[i] = (float)x[i];
            yf[i] = (float)y[i];
        }
        TRACE("data_save_fann %zu x %zu + %zu", set.n_rows, set.n_inputs, set.n_outputs);
        st = ALLOW(smlp_data_save_fann(path, &set), OK_ | NFI, "smlp_data_save_fann");
        if (st != SMLP_OK) return;
    }
    st = ALLOW(smlp_data_load_fann(path, dtype, &d), OK_ | BAD | OOM, "smlp_data_load_fann");
    if (st != SMLP_OK && d != NULL) die("out_data not NULL after a failure", "smlp_data_load_fann", st);
    if (st == SMLP_OK && !(flags & 2)) {
        size_t size = dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double);
        if (d->data.n_rows != set.n_rows || d->data.n_inputs != set.n_inputs || d->data.n_outputs != set.n_outputs ||
            memcmp(d->data.x, set.x, set.n_rows * set.n_inputs * size) != 0 ||
            memcmp(d->data.y, set.y, set.n_rows * set.n_outputs * size) != 0)
            die("a saved data set loads back different", "smlp_data_load_fann", st);
    }
    if (st == SMLP_OK) smlp_data_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    source src;
    int ops = 0, i;
    src.p = data;
    src.n = size;
    smlp_set_num_threads(1);
    while (src.n > 0 && ops < 48) {
        uint8_t op = take8(&src);
        ops++;
        switch (op % 24) {
        case 0: case 1: op_create(&src); break;
        case 2: op_free(&src); break;
        case 3: op_predict(&src); break;
        case 4: op_gradients(&src); break;
        case 5: case 6: op_step(&src); break;
        case 7: op_train(&src); break;
        case 8: op_evaluate(&src); break;
        case 9: op_set_optimizer(&src); break;
        case 10: op_params(&src); break;
        case 11: op_scaler(&src); break;
        case 12: op_metadata(&src); break;
        case 13: op_roundtrip(&src); break;
        case 14: op_load_raw(&src); break;
        case 15: op_cache(&src); break;
        case 16: op_gradcheck(&src); break;
        case 17: op_apply(&src); break;
        case 18: op_epoch_and_queries(&src); break;
        case 19: if ((op & 0xE0) == 0xE0) op_files(&src); else op_step(&src); break;
        case 20: op_misc(&src); break;
        case 21: op_data(&src); break;
        default: op_step(&src); break;
        }
    }
    for (i = 0; i < SLOTS; i++) {
        smlp_free(slots[i].m);
        slots[i].m = NULL;
        slots[i].poisoned = 0;
        slots[i].state_poisoned = 0;
    }
    return 0;
}
