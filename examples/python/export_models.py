"""export_models.py - a network trained in swiftmlp, leaving for other runtimes.

Trains a 2-16-16-3 classifier (relu, softmax, an input scaler kept in the model) on
three noisy spirals, then writes it as
  - spirals.onnx  ONNX (Sub/Div scaler, Gemm, Relu, Softmax), run with onnxruntime
                  when it is installed;
  - spirals.net   a FANN 2.1 file for fann_create_from_file (softmax is not in FANN,
                  so this one goes out with a sigmoid output layer retrained);
  - spirals.c     standalone C99 source with spirals_predict() (smlp_export_c);
  - a torch.nn.Sequential, when torch is installed.
Each is checked against Network.predict where its runtime is at hand (the C file
compiled with $CC or cc). Files go to the folder given as the first argument
(default: a temporary folder).

    SWIFTMLP_LIBRARY=build/lib/libswiftmlp.so.0 python3 examples/python/export_models.py [folder]
"""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import _path  # noqa: F401  (finds bindings/python when swiftmlp is not installed)
from swiftmlp import Network, interop

folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
rng = np.random.default_rng(1)
n = 300
t = rng.uniform(0.3, 3.0, size=n)
labels = rng.integers(0, 3, size=n)
angle = t * 2.2 + labels * 2 * np.pi / 3
x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) * 4 + 10 + rng.normal(scale=0.2, size=(n, 2))

network = Network([2, 16, 16, 3], "relu", loss="softmax_cross_entropy", seed=3)
network.fit_scaler(x)
network.set_optimizer("adam", learning_rate=0.01)
network.train(x, labels, epochs=300, batch_size=32)
accuracy = np.mean(network.predict(x).argmax(axis=1) == labels)
print(f"trained {network}: training accuracy {100 * accuracy:.1f}%")
failures = 0

# ONNX
try:
    interop.to_onnx(network, folder / "spirals.onnx")
except ImportError:
    print("ONNX: the onnx package is not installed, skipped")
else:
    print(f"ONNX: wrote {folder / 'spirals.onnx'} (opset {interop.ONNX_OPSET})")
    try:
        import onnxruntime
    except ImportError:
        print("    onnxruntime is not installed: not run")
    else:
        session = onnxruntime.InferenceSession(str(folder / "spirals.onnx"), providers=["CPUExecutionProvider"])
        difference = np.abs(session.run(None, {"input": x})[0] - network.predict(x)).max()
        print(f"    onnxruntime: largest difference from Network.predict {difference:.2g}")
        failures += difference > 1e-12

# FANN has no softmax: a one-vs-rest sigmoid output layer, trained the same way.
fann_network = Network([2, 16, 16, 3], ["relu", "relu", "sigmoid"], loss="binary_cross_entropy", seed=3)
fann_network.fit_scaler(x)
fann_network.set_optimizer("adam", learning_rate=0.01)
fann_network.train(x, np.eye(3)[labels], epochs=300, batch_size=32)
interop.to_fann(fann_network, folder / "spirals.net")
back = interop.load_fann(folder / "spirals.net")
difference = np.abs(back.predict(x) - fann_network.predict(x)).max()
print(f"FANN: wrote {folder / 'spirals.net'}; read back, largest difference {difference:.2g} "
      "(the scaler is folded into the first layer)")
failures += difference > 1e-12

# C source, compiled into a shared object and called through ctypes when a C
# compiler is at hand
network.export_c(folder / "spirals.c", "spirals")
print(f"C: wrote {folder / 'spirals.c'} with void spirals_predict(const double *x, double *out)")
compiler = shutil.which(os.environ.get("CC", "cc"))
if compiler is None:
    print("    no C compiler: not run")
else:
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(folder / "spirals.so"),
                    str(folder / "spirals.c"), "-lm"], check=True)
    predict = ctypes.CDLL(str(folder / "spirals.so")).spirals_predict
    predict.argtypes = [ctypes.POINTER(ctypes.c_double)] * 2
    rows = np.ascontiguousarray(x)
    outputs = np.empty((rows.shape[0], 3))
    pointer = ctypes.POINTER(ctypes.c_double)
    for row, out in zip(rows, outputs):
        predict(row.ctypes.data_as(pointer), out.ctypes.data_as(pointer))
    difference = np.abs(outputs - network.predict(x)).max()
    print(f"    compiled with {Path(compiler).name}: largest difference from Network.predict {difference:.2g}")
    failures += difference > 1e-12

# PyTorch
try:
    import torch
except ImportError:
    print("PyTorch: not installed, skipped")
else:
    module = interop.to_torch(network)
    with torch.no_grad():
        difference = np.abs(module(torch.from_numpy(x)).numpy() - network.predict(x)).max()
    print(f"PyTorch: {module}\n    largest difference {difference:.2g}")
    failures += difference > 1e-12

sys.exit(1 if failures else 0)
