/* The structs that grew after 0.1.0 (smlp_optimizer_config, smlp_train_options) and
 * their init functions: an init never writes past the caller's struct.
 * - the header's macros pass sizeof and fill the whole struct of this header;
 * - the plain symbols, which programs built against 0.1.0 call, write exactly 0.1.0's
 *   struct (checked with a heap block of that size, guard bytes after it: valgrind
 *   and the guards both see an overrun);
 * - the _sized functions write exactly the size given, and struct_size says so;
 * - a 0.1.0-sized config or options, so filled, is accepted and trains. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

enum { GUARD = 64 };

/* 0.1.0's sizes: the structs up to and including their last 0.1.0 field. */
static const size_t legacy_optimizer_size =
    offsetof(smlp_optimizer_config, min_lr) + sizeof(double);
static const size_t legacy_options_size =
    offsetof(smlp_train_options, user_data) + sizeof(void *);

/* A block of `size` bytes followed by GUARD bytes of 0xA5. */
static unsigned char *guarded_block(size_t size) {
    unsigned char *block = malloc(size + GUARD);
    if (block) memset(block, 0xA5, size + GUARD);
    return block;
}

static int guard_intact(const unsigned char *block, size_t size) {
    size_t i;
    for (i = size; i < size + GUARD; i++)
        if (block[i] != 0xA5) return 0;
    return 1;
}

static void test_macros_fill_the_whole_struct(void) {
    smlp_optimizer_config config;
    smlp_train_options options;
    memset(&config, 0, sizeof config);
    memset(&options, 0, sizeof options);
    smlp_optimizer_config_init(&config, SMLP_RPROP);
    smlp_train_options_init(&options);
    CHECK(config.struct_size == sizeof config, "config struct_size %zu == sizeof %zu", config.struct_size,
          sizeof config);
    CHECK(config.rprop_increase == 1.2 && config.rprop_delta_max == 50, "the RPROP defaults are written");
    CHECK(options.struct_size == sizeof options, "options struct_size %zu == sizeof %zu", options.struct_size,
          sizeof options);
    CHECK(options.max_function_evals == 15000 && options.lbfgs_history == 10, "the L-BFGS defaults are written");
}

static void test_plain_symbols_write_the_legacy_struct(void) {
    unsigned char *config = guarded_block(legacy_optimizer_size);
    unsigned char *options = guarded_block(legacy_options_size);
    size_t written;
    if (!CHECK(config && options, "allocate")) return;
    (smlp_optimizer_config_init)((smlp_optimizer_config *)config, SMLP_ADAM);
    (smlp_train_options_init)((smlp_train_options *)options);
    CHECK(guard_intact(config, legacy_optimizer_size), "smlp_optimizer_config_init wrote %zu bytes and no more",
          legacy_optimizer_size);
    CHECK(guard_intact(options, legacy_options_size), "smlp_train_options_init wrote %zu bytes and no more",
          legacy_options_size);
    memcpy(&written, config, sizeof written);
    CHECK(written == legacy_optimizer_size, "legacy config struct_size %zu", written);
    memcpy(&written, options, sizeof written);
    CHECK(written == legacy_options_size, "legacy options struct_size %zu", written);
    CHECK(((smlp_optimizer_config *)config)->learning_rate == 0.001, "Adam's lr in the legacy config");

    /* Such a config and such options are accepted, and train. */
    {
        static const size_t sizes[3] = {2, 3, 1};
        static const smlp_activation acts[2] = {SMLP_TANH, SMLP_SIGMOID};
        static const double x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
        smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_BINARY_CROSS_ENTROPY,
                                       SMLP_REDUCTION_MEAN, 1);
        smlp_dataset data = dense_set(SMLP_FLOAT64, 4, 2, x, 1, y);
        smlp_train_summary summary;
        if (CHECK(model != NULL, "create")) {
            CHECK_STATUS(smlp_set_optimizer(model, (const smlp_optimizer_config *)config), SMLP_OK,
                         "a 0.1.0-sized config is accepted");
            ((smlp_train_options *)options)->epochs = 3;
            CHECK_STATUS(smlp_train(model, &data, (const smlp_train_options *)options, &summary), SMLP_OK,
                         "0.1.0-sized options are accepted");
            CHECK(summary.epochs_run == 3, "and train 3 epochs (%zu)", summary.epochs_run);
        }
        smlp_free(model);
    }
    free(config);
    free(options);
}

static void test_sized_writes_exactly_the_size_given(void) {
    size_t size;
    for (size = 0; size <= sizeof(smlp_optimizer_config) + 16; size += 8) {
        unsigned char *block = guarded_block(size);
        const size_t expected = size < sizeof(size_t) ? 0 : size < sizeof(smlp_optimizer_config)
                                                                   ? size : sizeof(smlp_optimizer_config);
        size_t recorded = 0;
        if (!block) continue;
        smlp_optimizer_config_init_sized((smlp_optimizer_config *)block, SMLP_SGD, size);
        if (expected > 0) memcpy(&recorded, block, sizeof recorded);
        CHECK(guard_intact(block, expected) && (expected == 0 || recorded == expected),
              "config init with size %zu writes %zu bytes (struct_size %zu)", size, expected, recorded);
        free(block);
    }
    for (size = 0; size <= sizeof(smlp_train_options) + 16; size += 8) {
        unsigned char *block = guarded_block(size);
        const size_t expected = size < sizeof(size_t) ? 0 : size < sizeof(smlp_train_options)
                                                                   ? size : sizeof(smlp_train_options);
        size_t recorded = 0;
        if (!block) continue;
        smlp_train_options_init_sized((smlp_train_options *)block, size);
        if (expected > 0) memcpy(&recorded, block, sizeof recorded);
        CHECK(guard_intact(block, expected) && (expected == 0 || recorded == expected),
              "options init with size %zu writes %zu bytes (struct_size %zu)", size, expected, recorded);
        free(block);
    }
}

int main(void) {
    test_macros_fill_the_whole_struct();
    test_plain_symbols_write_the_legacy_struct();
    test_sized_writes_exactly_the_size_given();
    return check_summary();
}
