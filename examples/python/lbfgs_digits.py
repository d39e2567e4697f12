"""lbfgs_digits.py - 8x8 handwritten digits trained with L-BFGS, next to scikit-learn.

A 64-100-10 ReLU network (scikit-learn's MLPClassifier default size) trained on the
whole training set at once with Network.train(method="lbfgs"): the objective is
scikit-learn's, mean cross-entropy + alpha/(2 n) ||W||^2, expressed as the
optimizer's weight_decay = alpha / n; the stopping rules are scikit-learn's for
solver="lbfgs" (max_iter iterations, max_fun evaluations, gradient tolerance tol).
Then, if scikit-learn is installed, the same fit with MLPClassifier(solver="lbfgs")
on the same standardised data. Prints test accuracy and time (best of 3) for both;
exits with an error below 95% test accuracy.

    SWIFTMLP_LIBRARY=build/lib/libswiftmlp.so.0 python3 examples/python/lbfgs_digits.py [float32]
"""

import sys
import time
import warnings

import numpy as np

import _path  # noqa: F401  (finds bindings/python when swiftmlp is not installed)
from swiftmlp import Network

try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
except ImportError:
    sys.exit("lbfgs_digits.py needs scikit-learn: pip install scikit-learn")

dtype = sys.argv[1] if len(sys.argv) > 1 else "float64"
alpha, max_iter, max_fun, tol = 1e-4, 200, 15000, 1e-4   # MLPClassifier's defaults

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
mean, std = x_train.mean(axis=0), x_train.std(axis=0)
std[std == 0] = 1
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std


def best_of(runs, fit):
    """(result of the last run, shortest wall time of `runs` runs)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return result, min(times)


def fit_swiftmlp():
    network = Network([64, 100, 10], ["relu", "softmax"], loss="softmax_cross_entropy", dtype=dtype, seed=0)
    network.set_optimizer("sgd", weight_decay=alpha / len(x_train))
    summary = network.train(x_train.astype(dtype), y_train.astype(np.int32), method="lbfgs",
                            epochs=max_iter, max_fun=max_fun, tol=tol)
    return network, summary


(network, summary), seconds = best_of(3, fit_swiftmlp)
accuracy = network.evaluate(x_test.astype(dtype), y_test.astype(np.int32)).accuracy
print(f"swiftmlp L-BFGS ({dtype}): {summary.n_iter} iterations, {summary.n_fun} evaluations, "
      f"stopped on {summary.stop_reason}, objective {summary.final_objective:.3g}")
print(f"swiftmlp     test accuracy {100 * accuracy:.2f}%  in {seconds:.3f} s")


def fit_sklearn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # ConvergenceWarning when max_iter is reached
        return MLPClassifier(hidden_layer_sizes=(100,), solver="lbfgs", alpha=alpha, max_iter=max_iter,
                             max_fun=max_fun, tol=tol, random_state=0).fit(x_train, y_train)


classifier, sk_seconds = best_of(3, fit_sklearn)
print(f"scikit-learn test accuracy {100 * classifier.score(x_test, y_test):.2f}%  in {sk_seconds:.3f} s "
      f"({classifier.n_iter_} iterations): swiftmlp is {sk_seconds / seconds:.1f}x faster")

if accuracy < 0.95:
    sys.exit("test accuracy below the 95% this example promises")
