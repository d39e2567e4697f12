"""import_models.py - models trained elsewhere, predicting in swiftmlp.

1. scikit-learn: a StandardScaler + MLPClassifier pipeline trained on the 8x8 digits
   becomes a Network (the scaler kept inside it) with the same predict_proba.
2. FANN: examples/data/xor_fann.net, saved by libfann's fann_save, loads with its
   steepness folded into the weights and gives fann_run's outputs.
3. PyTorch (when torch is installed): an nn.Sequential becomes a Network.

Each model is then saved as swiftmlp's .smlp file (for C programs: smlp_load) into
the folder given as the first argument (default: a temporary folder).

    SWIFTMLP_LIBRARY=build/lib/libswiftmlp.so.0 python3 examples/python/import_models.py [folder]
"""

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

import _path  # noqa: F401  (finds bindings/python when swiftmlp is not installed)
from swiftmlp import interop

folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
failures = 0

# 1. scikit-learn
try:
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
except ImportError:
    print("scikit-learn: not installed, skipped")
else:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), max_iter=200,
                                                             random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(x_train, y_train)
    network = interop.from_sklearn(pipeline)
    difference = np.abs(network.predict(x_test) - pipeline.predict_proba(x_test)).max()
    labels = pipeline[-1].classes_[network.predict(x_test).argmax(axis=1)]
    accuracy = np.mean(labels == y_test)
    print(f"scikit-learn: {network}, largest predict_proba difference {difference:.2g}, "
          f"test accuracy {100 * accuracy:.1f}%")
    failures += difference > 1e-12
    network.save(folder / "digits_sklearn.smlp")

# 2. FANN
fann_file = Path(__file__).resolve().parents[1] / "data" / "xor_fann.net"
network = interop.load_fann(fann_file)
xor = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
outputs = network.predict(xor)[:, 0]
fann_run = np.array([-0.93815161108049705, 0.96676216098216283, 0.96657989772585218, -0.93481828353016327])
print(f"FANN: {network}")
for (a, b), got in zip(xor, outputs):
    print(f"    {a:+g} XOR {b:+g} -> {got:+.6f}")
print(f"    largest difference from libfann's fann_run: {np.abs(outputs - fann_run).max():.2g}")
failures += np.abs(outputs - fann_run).max() > 1e-12
network.save(folder / "xor_fann.smlp")

# 3. PyTorch
try:
    import torch
    from torch import nn
except ImportError:
    print("PyTorch: not installed, skipped")
else:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=-1)).double()
    network = interop.from_torch(module)
    sample = np.random.default_rng(0).normal(size=(16, 4))
    with torch.no_grad():
        difference = np.abs(network.predict(sample) - module(torch.from_numpy(sample)).numpy()).max()
    print(f"PyTorch: {network}, largest difference {difference:.2g}")
    failures += difference > 1e-12
    network.save(folder / "torch.smlp")

print(f"saved to {folder}")
sys.exit(1 if failures else 0)
