"""A minimal NumPy training step: the reference the benchmark compares against.

forward (X W + b, ReLU hidden, softmax or sigmoid output), the loss (softmax
cross-entropy or binary cross-entropy from the logits, mean over the batch),
backward (dZ = (A - Y) / n at the output; dW = A_prev^T dZ, db = column sums,
dA_prev = dZ W^T, ReLU mask), and the plain SGD update W -= lr dW, b -= lr db.

Written the way a careful NumPy user would: matrix products go to NumPy's BLAS,
elementwise work is vectorised, and buffers are not preallocated (NumPy has no
cheap way around temporaries in a readable step). Same equations as
docs/backprop.md.
"""

from __future__ import annotations

import numpy as np


class NumpyMLP:
    def __init__(self, sizes, dtype=np.float64, learning_rate=0.01, seed=1):
        rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.lr = self.dtype.type(learning_rate)
        self.W, self.b = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            r = np.sqrt(6.0 / n_in)  # He uniform, as swiftmlp's auto init for ReLU
            self.W.append(rng.uniform(-r, r, size=(n_in, n_out)).astype(self.dtype))
            self.b.append(np.zeros(n_out, dtype=self.dtype))
        self.sigmoid_output = sizes[-1] == 1

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        n = x.shape[0]
        last = len(self.W) - 1
        inputs = [x]
        a = x
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            z = a @ W
            z += b
            if l < last:
                np.maximum(z, 0, out=z)
            inputs.append(z)
            a = z
        z = inputs.pop()  # logits
        if self.sigmoid_output:
            # BCE from logits: log(1 + e^z) - y z, stable form
            loss = float(np.mean(np.sum(np.logaddexp(0, z) - y * z, axis=1)))
            p = 1 / (1 + np.exp(-z))
        else:
            shifted = z - z.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            s = e.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(s[:, 0]) - np.sum(y * shifted, axis=1)))
            p = e / s
        dz = p - y
        dz *= self.dtype.type(1.0 / n)
        for l in range(last, -1, -1):
            a_prev = inputs[l]
            dW = a_prev.T @ dz
            db = dz.sum(axis=0)
            if l > 0:
                da = dz @ self.W[l].T
                da *= (a_prev > 0)
                dz = da
            self.W[l] -= self.lr * dW
            self.b[l] -= self.lr * db
        return loss
