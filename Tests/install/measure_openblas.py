"""Predict speed of the loaded libswiftmlp, for docs/install.md's choice of the OpenBLAS
a wheel carries. Not a test: run it twice, once per OpenBLAS, and compare.

    SWIFTMLP_LIBRARY=build/lib/libswiftmlp.so.0 PYTHONPATH=bindings/python \\
        python3 Tests/install/measure_openblas.py [LABEL]

Configurations a, b, c of bench/configs.txt, float32, one thread, predict on a batch of
the configuration's size and on one row; prints the fastest of 7 rounds per cell (each
round about 0.2 s; the fastest, as the least disturbed on a shared machine), in
microseconds per call.
"""

import os
import sys
import time

import numpy as np

import swiftmlp

CONFIGS = {"a": ([784, 128, 10], 64), "b": ([784, 512, 512, 10], 256), "c": ([64, 32, 10], 32)}


def per_call(function, budget=0.2) -> float:
    function()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        function()
        calls += 1
    return (time.perf_counter() - start) / calls


def main() -> None:
    swiftmlp.set_num_threads(1)
    label = sys.argv[1] if len(sys.argv) > 1 else os.path.basename(swiftmlp.library_path)
    for name, (sizes, batch) in CONFIGS.items():
        activations = ["relu"] * (len(sizes) - 2) + ["softmax"]
        network = swiftmlp.Network(sizes, activations, loss="softmax_cross_entropy",
                                   dtype="float32", seed=1)
        rng = np.random.default_rng(0)
        for rows in (batch, 1):
            x = rng.standard_normal((rows, sizes[0])).astype(np.float32)
            out = np.empty((rows, sizes[-1]), dtype=np.float32)
            rounds = sorted(per_call(lambda: network.predict(x, out=out)) for _ in range(7))
            print(f"{label}\t{name} {'-'.join(map(str, sizes))}\tbatch {rows}\t"
                  f"{rounds[0] * 1e6:.1f} us")


if __name__ == "__main__":
    main()
