"""swiftmlp through its Python binding: ``swiftmlp.Network(...).step(x, y)``, float32
and float64, for every configuration. One JSON line per cell (bench/report.py).

Run by bench/run.sh with PYTHONPATH=bindings/python and SWIFTMLP_LIBRARY pointing at
build/lib/libswiftmlp.so.0, so it measures the library `make` just built. When the
binding cannot be imported or has no Network.step, every row says so instead.

    python3 bench/bench_binding.py [only=a,b,...]
"""

from __future__ import annotations

import math
import sys

import numpy as np

import pybench


def main() -> int:
    only = pybench.parse_only(sys.argv)
    configs = [c for c in pybench.read_configs() if pybench.wanted(only, c.name)]
    try:
        import swiftmlp  # noqa: F401
        network_class = swiftmlp.Network
        if not callable(getattr(network_class, "step", None)):
            raise AttributeError("swiftmlp.Network has no step()")
    except Exception as error:  # the binding is being written: report, don't fail
        reason = f"n/a (binding missing: {type(error).__name__}: {error})".replace('"', "'")[:160]
        pybench.emit_meta(source="binding", error=reason)
        for config in configs:
            for dtype in ("float32", "float64"):
                pybench.emit_missing("swiftmlp-python", dtype, config, reason)
        return 0
    library = getattr(swiftmlp, "library_path", None)
    pybench.emit_meta(source="binding", swiftmlp_version=getattr(swiftmlp, "__version__", "?"),
                      library=str(library() if callable(library) else library),
                      numpy=np.__version__)
    for config in configs:
        for dtype in ("float32", "float64"):
            x, y = pybench.make_batch(config, dtype)
            loss = "binary_cross_entropy" if config.one_output else "softmax_cross_entropy"
            try:
                net = swiftmlp.Network(config.sizes, "relu", loss=loss, reduction="mean",
                                       dtype=dtype, seed=1)
                if hasattr(net, "set_optimizer"):
                    net.set_optimizer("sgd", learning_rate=0.01)
                step = net.step
                contender = pybench.Contender("swiftmlp-python", lambda: step(x, y))
                pybench.measure_group([contender])
                last = step(x, y)
                note = "" if math.isfinite(last) else "loss not finite"
                pybench.emit("swiftmlp-python", dtype, config, contender, note)
            except Exception as error:
                pybench.emit_missing("swiftmlp-python", dtype, config,
                                     f"failed: {type(error).__name__}: {error}"[:160].replace('"', "'"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
