"""Files cross the language boundary: saved in Python and loaded by a C program,
saved in C and loaded in Python; and the exported C source predicts the same."""

from __future__ import annotations

import subprocess

import numpy as np

from swiftmlp import Network

C_LOAD_AND_PREDICT = r"""
#include <stdio.h>
#include <stdlib.h>
#include "swiftmlp.h"

/* argv: model path, then n_inputs values; prints the outputs and the metadata "who". */
int main(int argc, char **argv) {
    smlp_model *model = NULL;
    if (smlp_load(argv[1], &model) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
    smlp_model_info info;
    smlp_model_info_get(model, &info);
    double x[64], out[64];
    for (size_t i = 0; i < info.n_inputs; i++) x[i] = atof(argv[2 + i]);
    if (smlp_predict(model, SMLP_FLOAT64, x, 1, info.n_inputs, out, info.n_outputs) != SMLP_OK) {
        fprintf(stderr, "%s\n", smlp_last_error()); return 1;
    }
    for (size_t j = 0; j < info.n_outputs; j++) printf("%.17g\n", out[j]);
    char who[64]; size_t length = 0;
    if (smlp_get_metadata(model, "who", who, sizeof who, &length) == SMLP_OK) printf("who=%s\n", who);
    printf("epoch=%zu\n", info.epoch);
    smlp_free(model);
    return 0;
}
"""

C_TRAIN_AND_SAVE = r"""
#include <stdio.h>
#include "swiftmlp.h"

int main(int argc, char **argv) {
    const double x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    const double y[4] = {0, 1, 1, 0};
    const size_t sizes[] = {2, 4, 1};
    const smlp_activation activations[] = {SMLP_TANH, SMLP_SIGMOID};
    smlp_config config;
    smlp_config_init(&config);
    config.n_layer_sizes = 3;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_BINARY_CROSS_ENTROPY;
    config.seed = 42;
    smlp_model *model = NULL;
    if (smlp_create(&config, &model) != SMLP_OK) return 1;
    smlp_optimizer_config sgd;
    smlp_optimizer_config_init(&sgd, SMLP_SGD);
    sgd.learning_rate = 0.5;
    sgd.momentum = 0.9;
    smlp_set_optimizer(model, &sgd);
    const smlp_dataset batch = {SMLP_FLOAT64, 4, 2, x, 1, y, NULL};
    for (int i = 0; i < 300; i++) smlp_step(model, &batch, NULL);
    smlp_set_metadata(model, "who", "C");
    double out[4];
    smlp_predict(model, SMLP_FLOAT64, x, 4, 2, out, 1);
    for (int i = 0; i < 4; i++) printf("%.17g\n", out[i]);
    if (smlp_save(model, argv[1]) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
    smlp_free(model);
    return 0;
}
"""


def test_saved_in_python_loaded_in_c(cc, tmp_path):
    from conftest import compile_c
    program = compile_c(cc, C_LOAD_AND_PREDICT, tmp_path / "load_predict")
    rng = np.random.default_rng(0)
    network = Network([3, 6, 2], "tanh", seed=5)
    network.set_optimizer("adam", lr=0.01)
    network.train(rng.normal(size=(40, 3)), rng.normal(size=(40, 2)), epochs=7)
    network.fit_scaler(rng.normal(loc=2, size=(40, 3)))
    network.metadata["who"] = "Python"
    path = tmp_path / "from_python.smlp"
    network.save(path)
    sample = np.array([0.25, -1.5, 3.0])
    done = subprocess.run([str(program), str(path)] + [repr(float(v)) for v in sample],
                          capture_output=True, text=True, check=True)
    lines = done.stdout.split()
    c_outputs = np.array([float(v) for v in lines[:2]])
    assert np.array_equal(c_outputs, network.predict(sample))  # bit for bit (%.17g)
    assert lines[2:] == ["who=Python", "epoch=7"]


def test_saved_in_c_loaded_in_python(cc, tmp_path):
    from conftest import compile_c
    program = compile_c(cc, C_TRAIN_AND_SAVE, tmp_path / "train_save")
    path = tmp_path / "from_c.smlp"
    done = subprocess.run([str(program), str(path)], capture_output=True, text=True, check=True)
    c_outputs = np.array([float(v) for v in done.stdout.split()])
    network = Network.load(path)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    assert np.array_equal(network.predict(x)[:, 0], c_outputs)
    assert network.metadata["who"] == "C"
    assert network.layer_sizes == (2, 4, 1)
    # the same run in Python gives the same parameters
    twin = Network([2, 4, 1], ["tanh", "sigmoid"], loss="bce", seed=42)
    twin.set_optimizer("sgd", lr=0.5, momentum=0.9)
    for _ in range(300):
        twin.step(x, np.array([0.0, 1, 1, 0]))
    assert np.array_equal(twin.params, network.params)


def test_exported_c_source_predicts_the_same(cc, tmp_path):
    from conftest import compile_c
    rng = np.random.default_rng(1)
    network = Network([4, 5, 3], ["relu", "softmax"], loss="softmax_cross_entropy", seed=2)
    network.set_optimizer("adam", lr=0.05)
    x = rng.normal(size=(30, 4))
    network.fit_scaler(x)
    network.train(x, rng.integers(0, 3, size=30), epochs=5)
    network.export_c(tmp_path / "model.c", "tiny")
    main = r"""
#include <stdio.h>
#include <stdlib.h>
void tiny_predict(const double *x, double *out);
int main(int argc, char **argv) {
    double x[4], out[3];
    for (int i = 0; i < 4; i++) x[i] = atof(argv[1 + i]);
    tiny_predict(x, out);
    for (int j = 0; j < 3; j++) printf("%.17g\n", out[j]);
    return 0;
}
"""
    program = compile_c(cc, main, tmp_path / "main", link_library=False,
                        extra=[str(tmp_path / "model.c")])
    for row in x[:5]:
        done = subprocess.run([str(program)] + [repr(float(v)) for v in row], capture_output=True, text=True, check=True)
        exported = np.array([float(v) for v in done.stdout.split()])
        assert np.allclose(exported, network.predict(row), rtol=1e-12, atol=1e-12)
