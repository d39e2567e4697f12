"""two_moons.py - a non-linear decision boundary, drawn.

Trains MLPClassifier on scikit-learn's make_moons, then writes a PNG with the
decision boundary (the predicted probability as a colour map, the data on top) and
the loss curve.

    SWIFTMLP_LIBRARY=build/lib/libswiftmlp.so.0 python3 examples/python/two_moons.py [out.png]

The picture goes to the path given, by default two_moons.png in the current folder.
Needs scikit-learn and matplotlib (pip install scikit-learn matplotlib).
"""

import sys

import numpy as np

import _path  # noqa: F401  (finds bindings/python when swiftmlp is not installed)
import swiftmlp

try:
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split
except ImportError:
    print("two_moons.py needs scikit-learn: pip install scikit-learn")
    sys.exit(0)
try:
    import matplotlib
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt
except ImportError:
    print("two_moons.py draws with matplotlib, which is not installed: pip install matplotlib "
          "(skipping the example)")
    sys.exit(0)

output = sys.argv[1] if len(sys.argv) > 1 else "two_moons.png"

x, y = make_moons(n_samples=600, noise=0.2, random_state=0)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0)
model = swiftmlp.MLPClassifier(hidden_layer_sizes=(16, 16), activation="tanh", learning_rate_init=0.01,
                               learning_rate="cosine", batch_size=32, max_iter=200, random_state=0)
model.fit(x_train, y_train)
accuracy = model.score(x_test, y_test)
print(f"{model.n_iter_} epochs, test accuracy {100 * accuracy:.1f}%")

# The probability of class 1 on a grid covering the data.
margin = 0.5
xs = np.linspace(x[:, 0].min() - margin, x[:, 0].max() + margin, 300)
ys = np.linspace(x[:, 1].min() - margin, x[:, 1].max() + margin, 300)
grid_x, grid_y = np.meshgrid(xs, ys)
grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
probability = model.predict_proba(grid)[:, 1].reshape(grid_x.shape)

figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
contour = left.contourf(grid_x, grid_y, probability, levels=20, cmap="RdBu_r", alpha=0.8, vmin=0, vmax=1)
left.contour(grid_x, grid_y, probability, levels=[0.5], colors="black", linewidths=2)
for label, marker in ((0, "o"), (1, "s")):
    chosen = y_train == label
    left.scatter(x_train[chosen, 0], x_train[chosen, 1], c="C0" if label == 0 else "C3", marker=marker,
                 edgecolors="white", linewidths=0.6, s=28, label=f"class {label} (train)")
left.scatter(x_test[:, 0], x_test[:, 1], c=np.where(y_test == 1, "C3", "C0"), marker="x", s=28,
             label="test")
left.set_title(f"Decision boundary (p = 0.5), test accuracy {100 * accuracy:.1f}%")
left.set_xlabel("x1")
left.set_ylabel("x2")
left.legend(loc="lower left", fontsize=8)
figure.colorbar(contour, ax=left, label="P(class 1)")

right.plot(np.arange(1, len(model.loss_curve_) + 1), model.loss_curve_, color="C2")
right.set_yscale("log")
right.set_title("Training loss (binary cross-entropy)")
right.set_xlabel("epoch")
right.set_ylabel("mean loss per sample")
right.grid(True, which="both", alpha=0.3)

figure.suptitle("swiftmlp MLPClassifier(hidden_layer_sizes=(16, 16), activation='tanh') on make_moons")
figure.tight_layout()
figure.savefig(output, dpi=100)
print(f"wrote {output}")
