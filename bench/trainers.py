#!/usr/bin/env python3
"""The "trainers" table of `make bench`: test error and training time after a fixed
number of epochs, on four small data sets, for swiftmlp's SGD, Adam, RPROP and L-BFGS,
FANN's RPROP and scikit-learn's lbfgs.

    python3 bench/trainers.py [--seeds N] [--verdict-seeds N] [--results DIR]   (bench/run.sh runs it)

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
libfloatfann, the usual build), scikit-learn in float64; a second swiftmlp L-BFGS row
computes in float64, the like-for-like comparison with scikit-learn. An epoch is one
pass over the training rows: one step for the full-batch RPROP rows, ceil(n/32) for
SGD (lr 0.1, momentum 0.9) and Adam (lr 0.001, PyTorch's default), one iteration for
L-BFGS. L-BFGS runs with scikit-learn's settings on both sides: max_iter = the set's
epochs, gradient tolerance 0 (scikit-learn's tol=0 is scipy's gtol), relative loss
change 2.2e-9 (scipy's ftol, swiftmlp's default tolerance_change), max_fun 15000,
alpha 0; either side may stop before max_iter on the loss change, so the L-BFGS
tables also give iterations, loss-and-gradient evaluations (scikit-learn's counted
by wrapping its _loss_grad_lbfgs), time per evaluation, and the time to reach equal
training loss from the same starting point (the row "scikit-learn's init" starts
swiftmlp from the weights scikit-learn's fit started from, for the same seed;
scikit-learn's loss curve is timed at each evaluation, swiftmlp's is its per-iteration
history spread evenly over its training time, since a timing callback would add a
Python call per iteration to the time).

FANN runs as a FANN user would run it: fann_create_standard, sigmoid-symmetric
hidden units, sigmoid outputs for classes (one per class) or a linear one for
regression, weights drawn by FANN in [-0.1, 0.1] after srand(seed),
fann_train_on_data with FANN_TRAIN_RPROP and its defaults. Those defaults are not
swiftmlp's network and loss: FANN's steepness 0.5 makes its units tanh(z/2), and its
default error function FANN_ERRORFUNC_TANH trains on 2 atanh(e) of each output error
e (clipped at +-17 once |e| >= 1), not on e: for a target with standard deviation 1
(diabetes) that is a different, outlier-resistant loss, which fits the training set
less and so overfits less at fixed epochs (docs/performance.md, "Trainers", has the
measurements). The row "FANN RPROP, steepness 1, MSE" sets steepness 1 and
fann_set_train_error_function(FANN_ERRORFUNC_LINEAR): the network and, for
regression, the loss swiftmlp trains (for the class sets swiftmlp's loss is still
cross-entropy), so it compares the optimizers alone and is the headline RPROP target.
The defaults row is what a FANN user gets; its swiftmlp counterpart, "swiftmlp RPROP,
FANN's error function", trains FANN's loss (loss="fann_tanh_error") on FANN's output
units from FANN's initial draw (uniform in [-0.1, 0.1]), with tanh(z) hidden units.
The data reach FANN as FANN data files written by swiftmlp.save_fann and read by
fann_read_train_from_file.

Each cell is the mean over --seeds seeds (default 5; the rows the targets compare,
L-BFGS and RPROP, --verdict-seeds, default 30) of the test error, and the
training time (the train call alone: fann_train_on_data, Network.train, fit; the
median over the seeds, which a busy neighbour moves less than the mean), on one
thread (OpenBLAS too, NumPy's included). Times are wall-clock on a possibly shared
machine: ratios, not assertions. The row "swiftmlp RPROP, FANN's init" starts from
FANN's initial weights (uniform in [-0.1, 0.1]) instead of swiftmlp's Glorot/He draw,
to separate what the optimizer does from what the starting point does.

The verdict tables state issue 17's targets: RPROP matches or beats FANN's RPROP test
error on every set at equal epochs and is at least 2x faster; L-BFGS matches
scikit-learn's lbfgs score and is at least 3x faster (training time at the same
max_iter). "Matches" is a paired test from the same starting point (the rows
"scikit-learn's init", in each dtype): the mean over seeds of swiftmlp's test error
minus scikit-learn's is at most twice its standard error. The same start because the
target is about the trainer, not the initial draw (swiftmlp's own draw has zero
biases, scikit-learn's does not); the paired test because after hundreds of
iterations the spirals' test error varies by ~0.07 from seed to seed, so that a mean
of 5 seeds moves by ~0.03 with the seeds chosen (0.129 for scikit-learn on seeds
0-4, 0.177 on seeds 0-29). The RPROP verdicts use the same rule, unpaired (FANN draws
its own weights): 30 seeds a side, and swiftmlp's mean may exceed FANN's by at most
twice the standard error of the difference. With 5 seeds and a strict "<=", the
verdict flipped between runs with the seeds: diabetes, like for like, read 0.9276
against 0.9377 on seeds 0-4 and 1.0058 against 0.9739 on seeds 0-29.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bindings" / "python"))
os.environ.setdefault("SWIFTMLP_LIBRARY", str(ROOT / "build" / "lib" / "libswiftmlp.so.0"))
# One thread everywhere: FANN computes on one core, and so do OpenBLAS (swiftmlp's
# and NumPy's, so scikit-learn's) in this table. Set before NumPy is imported: its
# OpenBLAS reads them once. (Run by hand on a busy 2-CPU machine, two OpenBLAS
# threads made scikit-learn's digits fit 30x slower; under run.sh's taskset -c 0
# OpenBLAS sees one CPU and the difference is about 10%.)
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import numpy as np  # noqa: E402

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

def swiftmlp_trainer(optimizer, batch, method=None, fann_init=False, dtype="float32", sklearn_init=False,
                     fann_error=False):
    def run(s, seed):
        sizes = [s["x"].shape[1], *s["hidden"], s["y"].shape[1]]
        loss = {"binary": "bce", "multiclass": "softmax_cross_entropy", "regression": "mse"}[s["kind"]]
        activations = "tanh"
        if fann_error:  # FANN's error function, on FANN's outputs: sigmoid for classes, linear
            loss = "fann_tanh_error"
            activations = ["tanh"] * len(s["hidden"]) + ["identity" if s["kind"] == "regression" else "sigmoid"]
        net = swiftmlp.Network(sizes, activations, loss=loss, dtype=dtype, seed=seed)
        if fann_init:  # FANN's starting point: every weight and bias uniform in [-0.1, 0.1]
            net.params = np.random.default_rng(seed).uniform(-0.1, 0.1, net.param_count)
        if sklearn_init:  # scikit-learn's starting point for this seed (sklearn_lbfgs ran first)
            net.params = to_swiftmlp_layout(net, SKLEARN_STARTS[(s["name"], seed)], sizes)
        x, y = s["x"].astype(dtype), s["y"].astype(dtype)
        info = {}
        if method is None:
            net.set_optimizer(*optimizer[:1], **optimizer[1])
            t0 = time.perf_counter()
            net.train(x, y, epochs=s["epochs"], batch_size=batch or len(x), shuffle=batch is not None)
            seconds = time.perf_counter() - t0
        else:
            # scikit-learn's settings in this table: max_iter = epochs, gtol = tol = 0,
            # ftol = tolerance_change = 2.2e-9 (both libraries' default), max_fun 15000.
            t0 = time.perf_counter()
            summary = net.train(x, y, epochs=s["epochs"], method=method, tol=0.0)
            seconds = time.perf_counter() - t0
            # The loss after each iteration (the summary's history), placed in time as if
            # every iteration took the same time: a timing callback would itself add a
            # Python call per iteration to what is timed.
            iterations = max(len(summary.history), 1)
            trace = [(seconds * (k + 1) / iterations, report.train_loss)
                     for k, report in enumerate(summary.history)]
            info = dict(iterations=summary.n_iter, evaluations=summary.n_fun, stop=summary.stop_reason,
                        final_loss=summary.final_train_loss, trace=trace)
        return test_error(s["kind"], net.predict(s["xt"].astype(dtype)), s["yt"]), seconds, info
    return run


def to_swiftmlp_layout(net, packed, sizes):
    """scikit-learn's packed vector (every W_l flattened, then every b_l) in swiftmlp's
    layout (W_0, b_0, W_1, b_1, ...; W_l n_in x n_out row-major, as coefs_[l])."""
    flat = np.empty(net.param_count)
    weights, biases = net.unflatten(flat)
    offset = 0
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weights[layer][...] = packed[offset:offset + n_in * n_out].reshape(n_in, n_out)
        offset += n_in * n_out
    for layer, n_out in enumerate(sizes[1:]):
        biases[layer][...] = packed[offset:offset + n_out]
        offset += n_out
    return flat


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
    return test_error(s["kind"], predicted, s["yt"]), seconds, {}


SKLEARN_STARTS = {}   # (set, seed) -> scikit-learn's initial packed parameters


def sklearn_lbfgs(s, seed):
    import warnings

    import scipy.optimize
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
    # Count the loss-and-gradient evaluations (the wrapper costs ~1 us of ~100+), keep
    # the loss curve by time and the starting point, and scipy's stop message.
    trace, outcome = [], {}
    loss_grad = model._loss_grad_lbfgs

    def counted(packed, *args):
        if not trace:
            SKLEARN_STARTS[(s["name"], seed)] = packed.copy()
        value = loss_grad(packed, *args)
        trace.append((time.perf_counter() - t0, float(value[0])))
        return value
    model._loss_grad_lbfgs = counted
    minimize = scipy.optimize.minimize

    def recorded(*args, **kwargs):
        result = minimize(*args, **kwargs)
        outcome["message"] = str(result.message)
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scipy.optimize.minimize = recorded
        try:
            t0 = time.perf_counter()
            model.fit(s["x"], y)
            seconds = time.perf_counter() - t0
        finally:
            scipy.optimize.minimize = minimize
    if s["kind"] == "regression":
        predicted = model.predict(s["xt"])
    elif s["kind"] == "multiclass":
        predicted = model.predict_proba(s["xt"])
    else:
        predicted = model.predict_proba(s["xt"])[:, 1]
    message = outcome.get("message", "")
    # scipy's messages ("CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH", older
    # "...REL_REDUCTION_OF_F...") in swiftmlp's stop-reason words.
    stop = ("max_epochs" if model.n_iter_ >= s["epochs"] else
            "loss_change" if "REL" in message and "REDUCTION" in message else
            "gradient_tolerance" if "PROJ" in message else
            "max_function_evals" if "EVALUATIONS" in message or "MAXFUN" in message else
            "line_search_failed" if "ABNORMAL" in message else message[:24])
    # Best loss so far at each evaluation (scipy's line search also tries worse points).
    best, curve = math.inf, []
    for t, value in trace:
        best = min(best, value)
        curve.append((t, best))
    info = dict(iterations=int(model.n_iter_), evaluations=len(trace), stop=stop, final_loss=float(model.loss_),
                trace=curve)
    return test_error(s["kind"], predicted, s["yt"]), seconds, info


TRAINERS = {
    "swiftmlp SGD": swiftmlp_trainer(("sgd", {"learning_rate": 0.1, "momentum": 0.9}), 32),
    "swiftmlp Adam": swiftmlp_trainer(("adam", {}), 32),
    "swiftmlp RPROP": swiftmlp_trainer(("rprop", {}), None),
    "swiftmlp RPROP, FANN's init": swiftmlp_trainer(("rprop", {}), None, fann_init=True),
    "swiftmlp RPROP, FANN's error function": swiftmlp_trainer(("rprop", {}), None, fann_init=True, fann_error=True),
    "FANN RPROP": fann_rprop,
    "FANN RPROP, steepness 1, MSE": lambda s, seed: fann_rprop(s, seed, same_network=True),
    "swiftmlp L-BFGS": swiftmlp_trainer(None, None, method="lbfgs"),
    "swiftmlp L-BFGS, float64": swiftmlp_trainer(None, None, method="lbfgs", dtype="float64"),
    "scikit-learn lbfgs": sklearn_lbfgs,
    # After "scikit-learn lbfgs": it starts from the point that run started from.
    "swiftmlp L-BFGS, scikit-learn's init": swiftmlp_trainer(None, None, method="lbfgs", sklearn_init=True),
    "swiftmlp L-BFGS, float64, scikit-learn's init": swiftmlp_trainer(
        None, None, method="lbfgs", dtype="float64", sklearn_init=True),
}
LBFGS_ROWS = ("swiftmlp L-BFGS", "swiftmlp L-BFGS, float64", "scikit-learn lbfgs",
              "swiftmlp L-BFGS, scikit-learn's init", "swiftmlp L-BFGS, float64, scikit-learn's init")
# The RPROP targets: each swiftmlp row against the FANN row it is like for like with.
RPROP_VERDICTS = (
    ("swiftmlp RPROP", "FANN RPROP, steepness 1, MSE",
     "the same network (tanh(z)) and, for diabetes, the same loss"),
    ("swiftmlp RPROP, FANN's error function", "FANN RPROP",
     "FANN's defaults: its tanh error function on its output units (sigmoid for classes, linear for "
     "diabetes) from its initial weights, on both sides; FANN's units are tanh(z/2), swiftmlp's tanh(z)"))
# Rows whose means the verdicts compare run --verdict-seeds seeds.
VERDICT_ROWS = LBFGS_ROWS + tuple(row for verdict in RPROP_VERDICTS for row in verdict[:2])
# The rows the score target compares with scikit-learn, seed by seed from the same start.
SAME_START = {"float64": "swiftmlp L-BFGS, float64, scikit-learn's init",
              "float32": "swiftmlp L-BFGS, scikit-learn's init"}


# ---- Table ---------------------------------------------------------------------------

def measure(seeds, verdict_seeds):
    results = {}
    for set_name, make in SETS.items():
        s = make()
        s["name"] = set_name
        for trainer, run in TRAINERS.items():
            cell = {"error": None, "seconds": None, "note": "", "runs": []}
            try:
                runs = [run(s, seed) for seed in range(verdict_seeds if trainer in VERDICT_ROWS else seeds)]
                cell["error"] = float(np.mean([r[0] for r in runs]))
                cell["seconds"] = float(np.median([r[1] for r in runs]))
                cell["runs"] = [dict(error=r[0], seconds=r[1], **r[2]) for r in runs]
            except NotImplementedError:
                cell["note"] = "n/a (not available yet)"
            except (OSError, ImportError, RuntimeError) as error:
                cell["note"] = f"n/a ({type(error).__name__}: {str(error)[:60]})"
            results[(set_name, trainer)] = cell
            shown = "n/a" if cell["error"] is None else f"{cell['error']:.4f} in {cell['seconds'] * 1e3:.1f} ms"
            print(f"  {set_name:9s} {trainer:28s} {shown}", file=sys.stderr, flush=True)
    return results


def time_to_loss(trace, target):
    """The first time on a (seconds, loss) curve at which the loss is <= target."""
    return next((t for t, value in trace if value <= target), math.inf)


def equal_loss_ratio(results, set_name):
    """Median over seeds of scikit-learn's time / swiftmlp's time (float64, from the same
    start) to reach the higher of their two final training losses."""
    ours = results[(set_name, "swiftmlp L-BFGS, float64, scikit-learn's init")]["runs"]
    theirs = results[(set_name, "scikit-learn lbfgs")]["runs"]
    ratios = []
    for a, b in zip(ours, theirs):
        target = max(a["final_loss"], b["final_loss"])
        ratios.append(time_to_loss(b["trace"], target) / max(time_to_loss(a["trace"], target), 1e-9))
    return float(np.median(ratios)) if ratios else math.nan


def unpaired_difference(ours, theirs):
    """Mean of ours' test errors minus theirs, and the standard error of that difference
    (independent draws: the two standard errors of the means added in quadrature)."""
    a = np.array([r["error"] for r in ours["runs"]])
    b = np.array([r["error"] for r in theirs["runs"]])
    if len(a) < 2 or len(b) < 2:
        return float(a.mean() - b.mean()), math.inf
    return float(a.mean() - b.mean()), float(math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


def paired_difference(results, set_name, ours_row, theirs_row):
    """Mean over seeds of ours' test error minus theirs (same seed, same start) and the
    standard error of that mean."""
    ours = [r["error"] for r in results[(set_name, ours_row)]["runs"]]
    theirs = [r["error"] for r in results[(set_name, theirs_row)]["runs"]]
    differences = np.array(ours) - np.array(theirs)
    if len(differences) < 2:
        return float(np.mean(differences)), math.inf
    return float(differences.mean()), float(differences.std(ddof=1) / math.sqrt(len(differences)))


def table(results, seeds, verdict_seeds):
    epochs = ", ".join(f"{name} {make()['epochs']}" for name, make in SETS.items())
    lines = [f"Test error (fraction misclassified; diabetes: test MSE of the standardised target) and "
             f"training time (error: mean of {seeds} seeds, {verdict_seeds} for the rows the targets compare; time: their "
             f"median), at the epochs of each set ({epochs}).", "",
             "| trainer | " + " | ".join(SETS) + " |", "|---|" + "---|" * len(SETS)]
    for trainer in TRAINERS:
        cells = []
        for set_name in SETS:
            c = results[(set_name, trainer)]
            cells.append("n/a" if c["error"] is None else f"{c['error']:.4f} ({c['seconds'] * 1e3:.1f} ms)")
        lines.append(f"| {trainer} | " + " | ".join(cells) + " |")
    for ours_row, fann_row, why in RPROP_VERDICTS:
        lines += ["", f"Target: {ours_row} matches or beats {fann_row}'s test error on every set at "
                  f"equal epochs and is at least 2x faster ({why}). The two start from different draws, so "
                  "the means are compared with the standard error of their difference: it matches when "
                  "swiftmlp's mean exceeds FANN's by at most twice that (the L-BFGS rule below, unpaired):", "",
                  "| set | swiftmlp RPROP error | FANN error | swiftmlp - FANN | matches | FANN time / swiftmlp "
                  "time | at least 2x faster |", "|---|---|---|---|---|---|---|"]
        for set_name in SETS:
            ours, fann = results[(set_name, ours_row)], results[(set_name, fann_row)]
            if ours["error"] is None or fann["error"] is None:
                lines.append(f"| {set_name} | n/a | n/a | n/a | n/a | n/a | n/a |")
                continue
            difference, standard_error = unpaired_difference(ours, fann)
            ratio = fann["seconds"] / ours["seconds"] if ours["seconds"] > 0 else math.inf
            lines.append(f"| {set_name} | {ours['error']:.4f} | {fann['error']:.4f} | "
                         f"{difference:+.4f} +- {standard_error:.4f} | "
                         f"{'yes' if difference <= 2 * standard_error else 'NO'} | {ratio:.1f}x | "
                         f"{'yes' if ratio >= 2 else 'NO'} |")

    lines += ["", "L-BFGS runs: both libraries stop at max_iter (the set's epochs), on a relative loss "
              "decrease <= 2.2e-9 (scipy's ftol, swiftmlp's tolerance_change; \"loss_change\") or when the "
              "line search fails; the gradient tolerance is 0 on both sides (scikit-learn's tol=0 is "
              "scipy's gtol). Iterations and evaluations (loss-and-gradient calls, line search included) "
              "are means over the seeds; time per evaluation is the median of time / evaluations.", "",
              "| set | trainer | test error | iterations | evaluations | time | time / evaluation | stops |",
              "|---|---|---|---|---|---|---|---|"]
    for set_name in SETS:
        for trainer in LBFGS_ROWS:
            c = results[(set_name, trainer)]
            if c["error"] is None or not c["runs"]:
                lines.append(f"| {set_name} | {trainer} | n/a | | | | | |")
                continue
            runs = c["runs"]
            stops = {}
            for r in runs:
                stops[r["stop"]] = stops.get(r["stop"], 0) + 1
            per_eval = np.median([r["seconds"] / max(r["evaluations"], 1) for r in runs])
            lines.append(
                f"| {set_name} | {trainer} | {c['error']:.4f} | {np.mean([r['iterations'] for r in runs]):.0f} | "
                f"{np.mean([r['evaluations'] for r in runs]):.0f} | {c['seconds'] * 1e3:.1f} ms | "
                f"{per_eval * 1e6:.0f} us | " + ", ".join(f"{k} {v}" for k, v in sorted(stops.items())) + " |")

    sk = "scikit-learn lbfgs"
    lines += ["", "Target: swiftmlp L-BFGS matches scikit-learn's lbfgs score and is at least 3x faster (training "
              "time at the same max_iter). The score is compared seed by seed from the same start (the "
              "\"scikit-learn's init\" rows): the mean of swiftmlp's test error minus scikit-learn's, "
              "+- its standard error; it matches when that mean is at most twice its standard error (a "
              "one-sided test at about 2.5%: two trainers with the same distribution of outcomes fail it "
              "about one time in forty, and a difference of the size of the run-to-run spread passes). "
              "\"error\" columns: means from each library's own initial weights. float64 is the "
              "like-for-like row (scikit-learn computes in float64). Because either side may stop before "
              "max_iter, two more ratios: time per evaluation, and time to reach the higher of the two "
              "final training losses from scikit-learn's own starting point (float64; median over seeds; "
              "scikit-learn's time is measured at each evaluation, swiftmlp's placed by iteration count "
              "within its training time).", "",
              "| set | swiftmlp row | swiftmlp error | scikit-learn error | same start: swiftmlp - scikit-learn "
              "| matches | scikit-learn time / swiftmlp time | at least 3x faster | per evaluation "
              "| to equal loss, same start |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for set_name in SETS:
        theirs = results[(set_name, sk)]
        for ours_row in ("swiftmlp L-BFGS, float64", "swiftmlp L-BFGS"):
            ours = results[(set_name, ours_row)]
            dtype = "float64" if "float64" in ours_row else "float32"
            same_start = results[(set_name, SAME_START[dtype])]
            if ours["error"] is None or theirs["error"] is None or same_start["error"] is None:
                lines.append(f"| {set_name} | {dtype} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |")
                continue
            difference, standard_error = paired_difference(results, set_name, SAME_START[dtype], sk)
            ratio = theirs["seconds"] / ours["seconds"]
            per_eval = (np.median([r["seconds"] / r["evaluations"] for r in theirs["runs"]])
                        / np.median([r["seconds"] / r["evaluations"] for r in ours["runs"]]))
            equal = f"{equal_loss_ratio(results, set_name):.1f}x" if dtype == "float64" else ""
            lines.append(f"| {set_name} | {dtype} | {ours['error']:.4f} | {theirs['error']:.4f} | "
                         f"{difference:+.4f} +- {standard_error:.4f} | "
                         f"{'yes' if difference <= 2 * standard_error else 'NO'} | {ratio:.1f}x | "
                         f"{'yes' if ratio >= 3 else 'NO'} | {per_eval:.1f}x | {equal} |")
    return "\n".join(lines)


def main():
    swiftmlp.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--verdict-seeds", type=int, default=30,
                        help="seeds of the rows the targets compare (the L-BFGS and RPROP rows; the "
                             "spirals' test error varies by ~0.07 from seed to seed)")
    parser.add_argument("--results", type=Path, default=None, help="write trainers-latest.md/.json here")
    args = parser.parse_args()
    print(f"== trainers: {len(SETS)} sets x {len(TRAINERS)} trainers x {args.seeds} seeds "
          f"({args.verdict_seeds} for the rows the targets compare) ==", file=sys.stderr)
    started = time.time()
    results = measure(args.seeds, args.verdict_seeds)
    text = table(results, args.seeds, args.verdict_seeds)
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    footer = (f"\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, load average "
              f"{' '.join(load)} at the end, {time.time() - started:.0f} s; library {swiftmlp.library_path}")
    print(text + footer)
    if args.results:
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "trainers-latest.md").write_text(text + footer + "\n")
        (args.results / "trainers-latest.json").write_text(json.dumps(
            [{"set": k[0], "trainer": k[1], **v} for k, v in results.items()], indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
