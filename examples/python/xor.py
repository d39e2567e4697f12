"""xor.py - the smallest useful network, as examples/xor.c does it in C.

2 inputs, 4 tanh hidden units, 1 sigmoid output, binary cross-entropy, full-batch
SGD with momentum. Prints the loss as it falls, then the four predictions.

    SWIFTMLP_LIBRARY=build/lib/libswiftmlp.so.0 python3 examples/python/xor.py
"""

import sys

import numpy as np

import _path  # noqa: F401  (finds bindings/python when swiftmlp is not installed)
import swiftmlp

x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y = np.array([0, 1, 1, 0], dtype=np.float64)

network = swiftmlp.Network([2, 4, 1], ["tanh", "sigmoid"], loss="binary_cross_entropy", seed=42)
network.set_optimizer("sgd", learning_rate=0.5, momentum=0.9)
print(f"libswiftmlp {swiftmlp.version_string()}, {network.param_count} parameters")

for epoch in range(1, 501):
    loss = network.step(x, y)  # one SGD step on the whole data set
    if epoch == 1 or epoch % 50 == 0:
        print(f"epoch {epoch:3d}  loss {loss:.6f}")

predictions = network.predict(x)[:, 0]
for (a, b), target, p in zip(x, y, predictions):
    print(f"{a:g} XOR {b:g} = {target:g}   predicted {p:.4f}")
correct = int(np.sum((predictions > 0.5) == (y > 0.5)))
print(f"{correct} of 4 correct")
sys.exit(0 if correct == 4 else 1)
