"""digits.py - 8x8 handwritten digits with the scikit-learn estimator.

MLPClassifier (128 ReLU units, softmax output, Adam with a cosine learning rate),
the pixels standardised by a scaler kept inside the model. Prints the test accuracy
(at least 96%) and saves the trained network, which C can load with smlp_load.

    SWIFTMLP_LIBRARY=build/lib/libswiftmlp.so.0 python3 examples/python/digits.py [model-path]
"""

import sys
import time

import _path  # noqa: F401  (finds bindings/python when swiftmlp is not installed)
import swiftmlp

try:
    from sklearn.datasets import load_digits
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split
except ImportError:
    sys.exit("digits.py needs scikit-learn: pip install scikit-learn")

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)

model = swiftmlp.MLPClassifier(hidden_layer_sizes=(128,), learning_rate_init=0.003, learning_rate="cosine",
                               alpha=1e-3, max_iter=100, random_state=0, standardize=True,
                               progress=sys.stderr.isatty())
start = time.perf_counter()
model.fit(x_train, y_train)
seconds = time.perf_counter() - start

accuracy = model.score(x_test, y_test)
print(f"trained {model.n_iter_} epochs in {seconds:.2f} s, final training loss {model.loss_:.4f}")
print(f"test accuracy {100 * accuracy:.2f}% on {len(x_test)} images")
print("confusion matrix (rows: true digit, columns: predicted):")
print(confusion_matrix(y_test, model.predict(x_test)))

if len(sys.argv) > 1:
    model.network_.metadata["dataset"] = "sklearn load_digits"
    model.network_.save(sys.argv[1])
    print(f"saved the network to {sys.argv[1]}")

if accuracy < 0.96:
    sys.exit("test accuracy below the 96% this example promises")
