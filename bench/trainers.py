#!/usr/bin/env python3
"""The "trainers" table of `make bench`: test error and training time after a fixed
number of epochs, on four small data sets, for swiftmlp's SGD, Adam, RPROP and L-BFGS,
FANN's RPROP and scikit-learn's lbfgs.

    python3 bench/trainers.py [--seeds N] [--results DIR]   (bench/run.sh runs it)

Data sets (docs/performance.md, "Trainers", says more):
  parity-8   all 256 patterns of 8 bits (as -1/+1), odd or even; train = test (the
             task is to get every pattern right), 8-16-1, 300 epochs
  spirals    Lang and Witbrock's two spirals, 194 points; the test set is the 194
             points half-way along the same spirals; 2-24-24-1, 1000 epochs
  digits     scikit-learn's 8x8 digits, 70/30 stratified split, standardised;
             64-32-10, 200 epochs
  diabetes   scikit-learn's diabetes regression set, 70/30 split, inputs and target
             standardised; 10-16-1, 300 epochs; the error is the test MSE of the
             standardised target (1 - R^2, about)

Every network has tanh hidden layers. swiftmlp and FANN compute in float32 (FANN's
libfloatfann, the usual build), scikit-learn in float64. An epoch is one pass over
the training rows: one step for the full-batch RPROP rows, ceil(n/32) for SGD
(lr 0.1, momentum 0.9) and Adam (lr 0.001, PyTorch's default), one iteration for
L-BFGS (scikit-learn's max_iter, tol 0, alpha 0). FANN runs as a FANN user would
run it: fann_create_standard, sigmoid-symmetric hidden units, sigmoid outputs for
classes (one per class) or a linear one for regression, weights drawn by FANN in
[-0.1, 0.1] after srand(seed), fann_train_on_data with FANN_TRAIN_RPROP and its
defaults (MSE with FANN's tanh error function, steepness 0.5). A second FANN row sets
steepness 1 and the plain squared error (fann_set_train_error_function LINEAR): the
network swiftmlp trains for regression, so that row compares the optimizers alone
(for the class sets swiftmlp's loss is still cross-entropy). The data reach FANN as
FANN data files written by swiftmlp.save_fann and read by fann_read_train_from_file.

Each cell is the mean over --seeds seeds (default 5) of the test error, and the
training time (the train call alone: fann_train_on_data, Network.train, fit; the
median over the seeds, which a busy neighbour moves less than the mean), on one
thread (OpenBLAS too). Times are wall-clock on a possibly shared machine: ratios, not
assertions. The row "swiftmlp RPROP, FANN's init" starts from FANN's initial weights
(uniform in [-0.1, 0.1]) instead of swiftmlp's Glorot/He draw, to separate what the
optimizer does from what the starting point does.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import sys
import tempfile
import time
from ctypes import POINTER, c_char_p, c_float, c_int, c_uint, c_void_p
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bindings" / "python"))
os.environ.setdefault("SWIFTMLP_LIBRARY", str(ROOT / "build" / "lib" / "libswiftmlp.so.0"))
# One thread everywhere: FANN computes on one core, and so do OpenBLAS (swiftmlp's
# and NumPy's, so scikit-learn's) in this table.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import swiftmlp  # noqa: E402


# ---- Data sets --------------------------------------------------------------------------

def parity8():
    x = np.array([[1.0 if (i >> b) & 1 else -1.0 for b in range(8)] for i in range(256)])
    y = ((x > 0).sum(axis=1) % 2).astype(float).reshape(-1, 1)
    return dict(x=x, y=y, xt=x, yt=y, kind="binary", hidden=[16], epochs=300)


def spiral_points(offset):
    i = np.arange(97) + offset
    r = 6.5 * (104 - i) / 104
    phi = i * np.pi / 16
    a = np.stack([r * np.sin(phi), r * np.cos(phi)], axis=1)
    x = np.concatenate([a, -a]) / 6.5
    y = np.concatenate([np.ones(97), np.zeros(97)]).reshape(-1, 1)
    return x, y


def spirals():
    x, y = spiral_points(0.0)
    xt, yt = spiral_points(0.5)
    return dict(x=x, y=y, xt=xt, yt=yt, kind="binary", hidden=[24, 24], epochs=1000)


def _split_standardise(x, y, classify):
    from sklearn.model_selection import train_test_split
    x, xt, y, yt = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y if classify else None)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1
    return (x - mean) / std, (xt - mean) / std, y, yt


def digits():
    from sklearn.datasets import load_digits
    data = load_digits()
    x, xt, y, yt = _split_standardise(data.data, data.target, True)
    eye = np.eye(10)
    return dict(x=x, y=eye[y], xt=xt, yt=eye[yt], kind="multiclass", hidden=[32], epochs=200)


def diabetes():
    from sklearn.datasets import load_diabetes
    data = load_diabetes()
    x, xt, y, yt = _split_standardise(data.data, data.target, False)
    mean, std = y.mean(), y.std()
    return dict(x=x, y=((y - mean) / std).reshape(-1, 1), xt=xt, yt=((yt - mean) / std).reshape(-1, 1),
                kind="regression", hidden=[16], epochs=300)


SETS = {"parity-8": parity8, "spirals": spirals, "digits": digits, "diabetes": diabetes}


def test_error(kind, predicted, yt):
    if kind == "regression":
        return float(np.mean((predicted.reshape(yt.shape) - yt) ** 2))
    if kind == "multiclass":
        return float(np.mean(np.argmax(predicted, axis=1) != np.argmax(yt, axis=1)))
    return float(np.mean((predicted.reshape(-1) > 0.5) != (yt.reshape(-1) > 0.5)))


# ---- Trainers ----------------------------------------------------------------------------

def swiftmlp_trainer(optimizer, batch, method=None, fann_init=False):
    def run(s, seed):
        sizes = [s["x"].shape[1], *s["hidden"], s["y"].shape[1]]
        loss = {"binary": "bce", "multiclass": "softmax_cross_entropy", "regression": "mse"}[s["kind"]]
        net = swiftmlp.Network(sizes, "tanh", loss=loss, dtype="float32", seed=seed)
        if fann_init:  # FANN's starting point: every weight and bias uniform in [-0.1, 0.1]
            net.params = np.random.default_rng(seed).uniform(-0.1, 0.1, net.param_count)
        x, y = s["x"].astype(np.float32), s["y"].astype(np.float32)
        if method is None:
            net.set_optimizer(*optimizer[:1], **optimizer[1])
            t0 = time.perf_counter()
            net.train(x, y, epochs=s["epochs"], batch_size=batch or len(x), shuffle=batch is not None)
        else:
            t0 = time.perf_counter()
            try:
                net.train(x, y, epochs=s["epochs"], method=method)
            except TypeError as error:     # the binding has no such method yet
                raise NotImplementedError(str(error)) from None
        seconds = time.perf_counter() - t0
        return test_error(s["kind"], net.predict(s["xt"].astype(np.float32)), s["yt"]), seconds
    return run


_FANN = None


def fann_library():
    global _FANN
    if _FANN is None:
        lib = ctypes.CDLL("libfloatfann.so.2")
        prototypes = {
            "fann_create_standard_array": (c_void_p, (c_uint, POINTER(c_uint))),
            "fann_set_activation_function_hidden": (None, (c_void_p, c_int)),
            "fann_set_activation_function_output": (None, (c_void_p, c_int)),
            "fann_set_training_algorithm": (None, (c_void_p, c_int)),
            "fann_set_activation_steepness_hidden": (None, (c_void_p, c_float)),
            "fann_set_activation_steepness_output": (None, (c_void_p, c_float)),
            "fann_set_train_error_function": (None, (c_void_p, c_int)),
            "fann_randomize_weights": (None, (c_void_p, c_float, c_float)),
            "fann_read_train_from_file": (c_void_p, (c_char_p,)),
            "fann_train_on_data": (None, (c_void_p, c_void_p, c_uint, c_uint, c_float)),
            "fann_run": (POINTER(c_float), (c_void_p, POINTER(c_float))),
            "fann_destroy": (None, (c_void_p,)),
            "fann_destroy_train": (None, (c_void_p,)),
        }
        for name, (restype, argtypes) in prototypes.items():
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
        _FANN = lib
    return _FANN


FANN_LINEAR, FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC, FANN_TRAIN_RPROP, FANN_ERRORFUNC_LINEAR = 0, 3, 5, 2, 0


def fann_rprop(s, seed, same_network=False):
    lib = fann_library()
    libc = ctypes.CDLL(None)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "train.data")
        swiftmlp.save_fann(path, s["x"].astype(np.float32), s["y"].astype(np.float32))
        data = lib.fann_read_train_from_file(path.encode())
    if not data:
        raise RuntimeError("FANN could not read the data file")
    sizes = [s["x"].shape[1], *s["hidden"], s["y"].shape[1]]
    ann = lib.fann_create_standard_array(len(sizes), (c_uint * len(sizes))(*sizes))
    lib.fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC)
    lib.fann_set_activation_function_output(ann, FANN_LINEAR if s["kind"] == "regression" else FANN_SIGMOID)
    lib.fann_set_training_algorithm(ann, FANN_TRAIN_RPROP)
    if same_network:  # tanh(z) rather than tanh(z / 2), and the plain squared error
        lib.fann_set_activation_steepness_hidden(ann, 1.0)
        lib.fann_set_activation_steepness_output(ann, 1.0)
        lib.fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR)
    libc.srand(seed)
    lib.fann_randomize_weights(ann, -0.1, 0.1)
    t0 = time.perf_counter()
    lib.fann_train_on_data(ann, data, s["epochs"], 0, 0.0)
    seconds = time.perf_counter() - t0
    xt = s["xt"].astype(np.float32)
    n_out = s["y"].shape[1]
    predicted = np.empty((len(xt), n_out))
    for row in range(len(xt)):
        out = lib.fann_run(ann, xt[row].ctypes.data_as(POINTER(c_float)))
        predicted[row] = out[:n_out]
    lib.fann_destroy(ann)
    lib.fann_destroy_train(data)
    return test_error(s["kind"], predicted, s["yt"]), seconds


def sklearn_lbfgs(s, seed):
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    common = dict(hidden_layer_sizes=tuple(s["hidden"]), activation="tanh", solver="lbfgs",
                  max_iter=s["epochs"], tol=0.0, alpha=0.0, random_state=seed)
    if s["kind"] == "regression":
        model, y = MLPRegressor(**common), s["y"].ravel()
    elif s["kind"] == "multiclass":
        model, y = MLPClassifier(**common), np.argmax(s["y"], axis=1)
    else:
        model, y = MLPClassifier(**common), s["y"].ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        model.fit(s["x"], y)
        seconds = time.perf_counter() - t0
    if s["kind"] == "regression":
        predicted = model.predict(s["xt"])
    elif s["kind"] == "multiclass":
        predicted = model.predict_proba(s["xt"])
    else:
        predicted = model.predict_proba(s["xt"])[:, 1]
    return test_error(s["kind"], predicted, s["yt"]), seconds


TRAINERS = {
    "swiftmlp SGD": swiftmlp_trainer(("sgd", {"learning_rate": 0.1, "momentum": 0.9}), 32),
    "swiftmlp Adam": swiftmlp_trainer(("adam", {}), 32),
    "swiftmlp RPROP": swiftmlp_trainer(("rprop", {}), None),
    "swiftmlp RPROP, FANN's init": swiftmlp_trainer(("rprop", {}), None, fann_init=True),
    "swiftmlp L-BFGS": swiftmlp_trainer(None, None, method="lbfgs"),
    "FANN RPROP": fann_rprop,
    "FANN RPROP, steepness 1, MSE": lambda s, seed: fann_rprop(s, seed, same_network=True),
    "scikit-learn lbfgs": sklearn_lbfgs,
}


# ---- Table ---------------------------------------------------------------------------

def measure(seeds):
    results = {}
    for set_name, make in SETS.items():
        s = make()
        for trainer, run in TRAINERS.items():
            cell = {"error": None, "seconds": None, "note": ""}
            try:
                runs = [run(s, seed) for seed in range(seeds)]
                cell["error"] = float(np.mean([r[0] for r in runs]))
                cell["seconds"] = float(np.median([r[1] for r in runs]))
            except NotImplementedError:
                cell["note"] = "n/a (not available yet)"
            except (OSError, ImportError, RuntimeError) as error:
                cell["note"] = f"n/a ({type(error).__name__}: {str(error)[:60]})"
            results[(set_name, trainer)] = cell
            shown = "n/a" if cell["error"] is None else f"{cell['error']:.4f} in {cell['seconds'] * 1e3:.1f} ms"
            print(f"  {set_name:9s} {trainer:28s} {shown}", file=sys.stderr, flush=True)
    return results


def table(results, seeds):
    epochs = ", ".join(f"{name} {make()['epochs']}" for name, make in SETS.items())
    lines = [f"Test error (fraction misclassified; diabetes: test MSE of the standardised target) and "
             f"training time (error: mean of {seeds} seeds; time: their median), at the epochs of each "
             f"set ({epochs}).", "",
             "| trainer | " + " | ".join(SETS) + " |", "|---|" + "---|" * len(SETS)]
    for trainer in TRAINERS:
        cells = []
        for set_name in SETS:
            c = results[(set_name, trainer)]
            cells.append("n/a" if c["error"] is None else f"{c['error']:.4f} ({c['seconds'] * 1e3:.1f} ms)")
        lines.append(f"| {trainer} | " + " | ".join(cells) + " |")
    for fann_row in ("FANN RPROP", "FANN RPROP, steepness 1, MSE"):
        lines += ["", f"swiftmlp RPROP against {fann_row} at equal epochs "
                  "(target: error <= FANN's, at least 2x faster):", "",
                  "| set | swiftmlp RPROP error | FANN error | error <= FANN's | FANN time / swiftmlp time |",
                  "|---|---|---|---|---|"]
        for set_name in SETS:
            ours, fann = results[(set_name, "swiftmlp RPROP")], results[(set_name, fann_row)]
            if ours["error"] is None or fann["error"] is None:
                lines.append(f"| {set_name} | n/a | n/a | n/a | n/a |")
                continue
            ratio = fann["seconds"] / ours["seconds"] if ours["seconds"] > 0 else math.inf
            lines.append(f"| {set_name} | {ours['error']:.4f} | {fann['error']:.4f} | "
                         f"{'yes' if ours['error'] <= fann['error'] else 'NO'} | {ratio:.1f}x |")
    ours_l, sk = "swiftmlp L-BFGS", "scikit-learn lbfgs"
    lines += ["", "L-BFGS against scikit-learn's lbfgs (target: its score, at least 3x faster):", "",
              "| set | swiftmlp L-BFGS error | scikit-learn error | scikit-learn time / swiftmlp time |",
              "|---|---|---|---|"]
    for set_name in SETS:
        ours, theirs = results[(set_name, ours_l)], results[(set_name, sk)]
        if ours["error"] is None or theirs["error"] is None:
            lines.append(f"| {set_name} | n/a | "
                         f"{'n/a' if theirs['error'] is None else format(theirs['error'], '.4f')} | n/a |")
            continue
        lines.append(f"| {set_name} | {ours['error']:.4f} | {theirs['error']:.4f} | "
                     f"{theirs['seconds'] / ours['seconds']:.1f}x |")
    return "\n".join(lines)


def main():
    swiftmlp.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--results", type=Path, default=None, help="write trainers-latest.md/.json here")
    args = parser.parse_args()
    print(f"== trainers: {len(SETS)} sets x {len(TRAINERS)} trainers x {args.seeds} seeds ==", file=sys.stderr)
    started = time.time()
    results = measure(args.seeds)
    text = table(results, args.seeds)
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    footer = (f"\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, load average "
              f"{' '.join(load)} at the end, {time.time() - started:.0f} s; library {swiftmlp.library_path}")
    print(text + footer)
    if args.results:
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "trainers-latest.md").write_text(text + footer + "\n")
        (args.results / "trainers-latest.json").write_text(json.dumps(
            [{"set": k[0], "trainer": k[1], **v} for k, v in results.items()], indent=1) + "\n")


if __name__ == "__main__":
    main()
