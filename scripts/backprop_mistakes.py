#!/usr/bin/env python3
"""Common hand-derived backpropagation mistakes, each caught by a finite-difference check.

docs/backprop.md section 10 lists them; here each is a few lines of NumPy next to the
correct version, on a two-layer network written the way textbooks write it (1-based:
their W1, b1, W2, b2 are the library's W_0, b_0, W_1, b_1):

    Z1 = X W1 + b1,  A1 = sigmoid(Z1)          X: n x n0,  W1: n0 x n1
    Z2 = A1 W2 + b2, A2 = sigmoid(Z2)          W2: n1 x n2
    L  = (1/n) sum_r 1/2 |A2_r - Y_r|^2        mean squared error with the 1/2, mean

with pairwise distinct widths n = 5, n0 = 3, n1 = 4, n2 = 2, so that a product with the
wrong operand or a missing transpose cannot broadcast into a plausible shape by
accident. Each version's gradient is compared with central differences of the true
loss; the measure is, for each of W1, b1, W2, b2, max |g - g_fd| / max |g_fd|, and the
worst block is printed. A version passes below 1e-6 (the correct one is ~1e-10).

The mistakes:
  1   sigmoid derivative taken on the pre-activation z instead of the output a
  1b  ... or a helper that expects z given the cached a (the sigmoid applied twice)
  2   the layer-1 delta formed from the summed weight gradient dW2 instead of dZ2 W2^T
      (every row gets the same delta)
  3   the second layer's weight gradient formed with the raw input X instead of the
      hidden activation A1; with distinct widths that is a shape error, so it is also
      shown on a network with n0 == n1, where it runs and is silently wrong
  4   the bias gradient taken from one sample's dz in mini-batch code (a per-sample loop
      that assigns db = dz instead of adding)
  4b  db = dZ.mean(axis=0) although dZ already carries the 1/n (off by a factor n)

The correct version is also compared with the library: smlp_gradients on the same
parameters and batch, the per-layer dZ from smlp_get_layer_cache, and smlp_gradcheck
(skipped with a message when the library is not built).

Exit status: 0 when every mistake is caught (fails the check or raises a shape error)
and the correct version passes (and agrees with the library); 1 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from numpy_reference import central_differences, relative_error  # noqa: E402

TOLERANCE = 1e-6
N, N0, N1, N2 = 5, 3, 4, 2


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(W1, b1, W2, b2, X):
    Z1 = X @ W1 + b1
    A1 = sigmoid(Z1)                       # n x n1
    Z2 = A1 @ W2 + b2
    A2 = sigmoid(Z2)                       # n x n2
    return Z1, A1, Z2, A2


def loss(W1, b1, W2, b2, X, Y):
    A2 = forward(W1, b1, W2, b2, X)[3]
    return 0.5 * np.sum((A2 - Y) ** 2) / X.shape[0]


# ---- the correct gradient ------------------------------------------------------------

def correct(W1, b1, W2, b2, X, Y):
    n = X.shape[0]
    Z1, A1, Z2, A2 = forward(W1, b1, W2, b2, X)
    dZ2 = (A2 - Y) / n * A2 * (1 - A2)     # n x n2; sigmoid' = a(1 - a), from the output
    dW2 = A1.T @ dZ2                       # (n1 x n)(n x n2)
    db2 = dZ2.sum(axis=0)                  # n2: summed over the batch
    dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)     # (n x n2)(n2 x n1) -> n x n1
    dW1 = X.T @ dZ1                        # (n0 x n)(n x n1)
    db1 = dZ1.sum(axis=0)                  # n1
    return dW1, db1, dW2, db2


# ---- the mistakes --------------------------------------------------------------------

def mistake_sigmoid_prime_of_z(W1, b1, W2, b2, X, Y):
    """1: a(1 - a) evaluated at z: z(1 - z)."""
    n = X.shape[0]
    Z1, A1, Z2, A2 = forward(W1, b1, W2, b2, X)
    dZ2 = (A2 - Y) / n * Z2 * (1 - Z2)                 # WRONG: z, not a
    dW2, db2 = A1.T @ dZ2, dZ2.sum(axis=0)
    dZ1 = (dZ2 @ W2.T) * Z1 * (1 - Z1)                 # WRONG
    return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2


def mistake_sigmoid_applied_twice(W1, b1, W2, b2, X, Y):
    """1b: sigmoid_prime(z) = sigmoid(z)(1 - sigmoid(z)) called with the cached a."""
    def sigmoid_prime(z):
        return sigmoid(z) * (1 - sigmoid(z))
    n = X.shape[0]
    Z1, A1, Z2, A2 = forward(W1, b1, W2, b2, X)
    dZ2 = (A2 - Y) / n * sigmoid_prime(A2)             # WRONG: expects z
    dW2, db2 = A1.T @ dZ2, dZ2.sum(axis=0)
    dZ1 = (dZ2 @ W2.T) * sigmoid_prime(A1)             # WRONG
    return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2


def mistake_delta_from_summed_weight_gradient(W1, b1, W2, b2, X, Y):
    """2: the hidden delta from dW2 summed over its outputs (n1), broadcast to every row,
    instead of dZ2 @ W2.T (n x n1)."""
    n = X.shape[0]
    Z1, A1, Z2, A2 = forward(W1, b1, W2, b2, X)
    dZ2 = (A2 - Y) / n * A2 * (1 - A2)
    dW2, db2 = A1.T @ dZ2, dZ2.sum(axis=0)
    dZ1 = dW2.sum(axis=1) * A1 * (1 - A1)              # WRONG: (n1,) broadcast to n x n1
    return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2


def mistake_second_layer_fed_raw_input(W1, b1, W2, b2, X, Y):
    """3: dW2 = X.T @ dZ2: the second layer's input is A1, not X."""
    n = X.shape[0]
    Z1, A1, Z2, A2 = forward(W1, b1, W2, b2, X)
    dZ2 = (A2 - Y) / n * A2 * (1 - A2)
    dW2, db2 = X.T @ dZ2, dZ2.sum(axis=0)              # WRONG: X instead of A1
    dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)
    return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2


def mistake_bias_from_one_sample(W1, b1, W2, b2, X, Y):
    """4: per-sample loop that sums dW but assigns db = dz, so db is the last sample's."""
    n = X.shape[0]
    dW1, dW2 = np.zeros_like(W1), np.zeros_like(W2)
    for i in range(n):
        x, y = X[i:i + 1], Y[i:i + 1]                  # 1 x n0, 1 x n2
        z1, a1, z2, a2 = forward(W1, b1, W2, b2, x)
        dz2 = (a2 - y) / n * a2 * (1 - a2)
        dz1 = (dz2 @ W2.T) * a1 * (1 - a1)
        dW2 += a1.T @ dz2
        dW1 += x.T @ dz1
        db2 = dz2[0]                                   # WRONG: = instead of +=
        db1 = dz1[0]                                   # WRONG
    return dW1, db1, dW2, db2


def mistake_bias_mean_of_scaled_delta(W1, b1, W2, b2, X, Y):
    """4b: db = dZ.mean(axis=0) when dZ already has the 1/n of the mean reduction."""
    n = X.shape[0]
    Z1, A1, Z2, A2 = forward(W1, b1, W2, b2, X)
    dZ2 = (A2 - Y) / n * A2 * (1 - A2)
    dW2, db2 = A1.T @ dZ2, dZ2.mean(axis=0)            # WRONG: 1/n twice
    dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)
    return X.T @ dZ1, dZ1.mean(axis=0), dW2, db2       # WRONG


VERSIONS = [
    ("correct: a(1-a), dZ2 @ W2.T, db = dZ.sum(axis=0)", correct, True),
    ("1  sigmoid' on z: z(1-z) instead of a(1-a)", mistake_sigmoid_prime_of_z, False),
    ("1b sigmoid' helper given a: sigmoid applied twice", mistake_sigmoid_applied_twice, False),
    ("2  layer-1 delta from dW2.sum(axis=1), not dZ2 @ W2.T",
     mistake_delta_from_summed_weight_gradient, False),
    ("3  dW2 = X.T @ dZ2 (raw input, not A1)", mistake_second_layer_fed_raw_input, False),
    ("4  db from one sample's dz (db = dz in a loop)", mistake_bias_from_one_sample, False),
    ("4b db = dZ.mean(0) with 1/n already in dZ", mistake_bias_mean_of_scaled_delta, False),
]

NAMES = ("dW1", "db1", "dW2", "db2")


def make_problem(seed, n0=N0):
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(n0, N1)), rng.normal(size=N1)
    W2, b2 = rng.normal(size=(N1, N2)), rng.normal(size=N2)
    X, Y = rng.normal(size=(N, n0)), rng.random((N, N2))
    return [W1, b1, W2, b2], X, Y


def numeric_gradients(params, X, Y):
    """Central differences of the true loss, per parameter array."""
    shapes = [p.shape for p in params]
    sizes = np.cumsum([0] + [p.size for p in params])

    def loss_of(flat):
        parts = [flat[a:b].reshape(s) for a, b, s in zip(sizes[:-1], sizes[1:], shapes)]
        return loss(*parts, X, Y)

    flat = central_differences(loss_of, np.concatenate([p.ravel() for p in params]))
    return [flat[a:b].reshape(s) for a, b, s in zip(sizes[:-1], sizes[1:], shapes)]


def check(version, params, X, Y):
    """('passes' | 'FAILS' | 'SHAPE ERROR', worst block name, its relative error, note)."""
    try:
        grads = version(*params, X, Y)
    except ValueError as error:                         # numpy's shape errors
        return "SHAPE ERROR", "-", float("inf"), str(error).split("\n")[0]
    for name, g, p in zip(NAMES, grads, params):
        if np.shape(g) != p.shape:
            return ("SHAPE ERROR", name, float("inf"),
                    f"{name} is {np.shape(g)} but its parameter is {p.shape}")
    numeric = numeric_gradients(params, X, Y)
    errors = [relative_error(g, f) for g, f in zip(grads, numeric)]
    worst = int(np.argmax(errors))
    verdict = "passes" if errors[worst] < TOLERANCE else "FAILS"
    return verdict, NAMES[worst], errors[worst], ""


def compare_with_library(params, X, Y):
    """The correct version vs smlp_gradients, smlp_get_layer_cache and smlp_gradcheck.
    Returns a list of problems, or None when the library cannot be loaded."""
    try:
        import numpy_reference as ref
        from compare_numpy import LibraryModel, load_library
        load_library()
    except (OSError, FileNotFoundError) as error:
        print(f"\nlibrary comparison skipped: {error}")
        return None
    W1, b1, W2, b2 = params
    arch = ref.Architecture((N0, N1, N2), ("sigmoid", "sigmoid"), "mse", "mean")
    problems = []
    with LibraryModel(arch, np.float64) as model:
        model.params = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])
        lib_loss, lib_grad = model.gradients(X, Y)
        ours = np.concatenate([g.ravel() for g in correct(*params, X, Y)])
        e_grad = ref.blockwise_relative_error(lib_grad, ours, arch.sizes)
        e_loss = relative_error(lib_loss, loss(*params, X, Y))
        # dZ of layer 0 and 1 (the library's dZ already carries the 1/n).
        Z1, A1, Z2, A2 = forward(*params, X)
        dZ2 = (A2 - Y) / N * A2 * (1 - A2)
        dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)
        e_dz = max(relative_error(model.layer_cache(0, "dZ", N), dZ1),
                   relative_error(model.layer_cache(1, "dZ", N), dZ2))
        w_err, b_err = model.gradcheck(X, Y, h=1e-6)
    print(f"\nthe correct version vs libswiftmlp (float64, same parameters and batch):")
    print(f"  smlp_gradients: loss {e_loss:.1e}, gradient {e_grad:.1e} (relative)")
    print(f"  smlp_get_layer_cache dZ of both layers: {e_dz:.1e}")
    print(f"  smlp_gradcheck on the library itself: W {max(w_err):.1e}, b {max(b_err):.1e}")
    if e_grad > 1e-12 or e_loss > 1e-12 or e_dz > 1e-12:
        problems.append(f"library differs from the correct version: gradient {e_grad:.1e}, "
                        f"loss {e_loss:.1e}, dZ {e_dz:.1e}")
    if max(w_err + b_err) > 1e-6:
        problems.append(f"smlp_gradcheck reports {max(w_err + b_err):.1e}")
    return problems


def main():
    params, X, Y = make_problem(seed=3)
    print(f"two-layer sigmoid network, MSE with 1/2, mean reduction: X {N}x{N0} -> {N1} -> "
          f"{N2} (W1 {N0}x{N1}, b1 {N1}, W2 {N1}x{N2}, b2 {N2}); central differences, "
          f"h = 1e-5; pass below {TOLERANCE:.0e}\n")
    print(f"{'version':62s} {'result':12s} {'block':5s} {'rel error':>9s}")
    problems = []
    for label, version, should_pass in VERSIONS:
        verdict, block, error, note = check(version, params, X, Y)
        print(f"{label:62s} {verdict:12s} {block:5s} {error:9.1e}" + (f"  ({note})" if note else ""))
        if should_pass and verdict != "passes":
            problems.append(f"the correct version {verdict}: {block} {error:.1e}")
        if not should_pass and verdict == "passes":
            problems.append(f"mistake '{label}' PASSES the finite-difference check")

    # Mistake 3 only runs when the input and hidden widths are equal: show that case.
    same = make_problem(seed=4, n0=N1)
    verdict, block, error, note = check(mistake_second_layer_fed_raw_input, *same)
    print(f"\nwith n0 == n1 == {N1} (X {N}x{N1}), where mistake 3 runs without a shape error:")
    print(f"{'3  dW2 = X.T @ dZ2 (raw input, not A1)':62s} {verdict:12s} {block:5s} {error:9.1e}")
    if verdict == "passes":
        problems.append("mistake 3 passes with n0 == n1")
    verdict, block, error, _ = check(correct, *same)
    print(f"{'correct, same network':62s} {verdict:12s} {block:5s} {error:9.1e}")
    if verdict != "passes":
        problems.append("the correct version fails with n0 == n1")

    library_problems = compare_with_library(params, X, Y)
    problems += library_problems or []

    if problems:
        print("\nPROBLEMS:")
        for problem in problems:
            print("  " + problem)
        return 1
    print("\nevery mistake is caught and the correct version passes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
