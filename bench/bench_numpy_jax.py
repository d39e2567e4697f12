"""The NumPy reference step (bench/numpy_reference_step.py) and JAX with jit, float32
and float64, for every configuration. One JSON line per cell (bench/report.py).

NumPy brings its own OpenBLAS (the wheel's scipy-openblas), not the system one the
library uses; bench/run.sh runs this script with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from its environment (they are meant for the old system
OpenBLAS and only slow a current one), and records which kernel NumPy then runs.

JAX: the same network written with jax.numpy, one jitted function computing the
loss, its gradient (jax.value_and_grad) and the SGD update, the parameters donated
so XLA updates them in place; x64 is enabled so float64 is real float64. A sample
blocks until its last step's loss is ready (a training loop's throughput; dispatch
is asynchronous). JAX uses XLA's own CPU kernels, not OpenBLAS.

    python3 bench/bench_numpy_jax.py [only=a,b,...]
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

import pybench
from numpy_reference_step import NumpyMLP


def numpy_blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
        infos = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
        if infos:
            i = infos[0]
            return (f"{i.get('version')} core {i.get('architecture')} threads "
                    f"{i.get('num_threads')} ({os.path.basename(i.get('filepath', ''))})")
    except Exception:
        pass
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')} (threadpoolctl missing: core unknown)"
    except Exception:
        return "unknown"


def jax_step_factory(config: pybench.Config, dtype: str):
    import jax
    import jax.numpy as jnp

    last = len(config.sizes) - 2
    one = config.one_output

    def loss_fn(params, x, y):
        a = x
        z = x
        for l, (W, b) in enumerate(params):
            z = a @ W + b
            if l < last:
                a = jax.nn.relu(z)
        if one:
            per_sample = jnp.sum(jax.nn.softplus(z) - y * z, axis=1)
        else:
            per_sample = jax.nn.logsumexp(z, axis=1) - jnp.sum(y * z, axis=1)
        return jnp.mean(per_sample)

    lr = 0.01

    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        new = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return new, loss

    step = jax.jit(step, donate_argnums=(0,))
    rng = np.random.default_rng(1)
    params = []
    for n_in, n_out in zip(config.sizes[:-1], config.sizes[1:]):
        r = math.sqrt(6.0 / n_in)
        params.append((jnp.asarray(rng.uniform(-r, r, (n_in, n_out)), dtype=dtype),
                       jnp.zeros((n_out,), dtype=dtype)))
    return step, params


def main() -> int:
    only = pybench.parse_only(sys.argv)
    configs = [c for c in pybench.read_configs() if pybench.wanted(only, c.name)]
    jax_error = None
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        jax_version = jax.__version__
        jax_devices = str(jax.devices())
    except Exception as error:
        jax_error = f"n/a (jax not installed: {type(error).__name__})"
        jax_version = jax_devices = None
    pybench.emit_meta(source="numpy_jax", numpy=np.__version__, numpy_blas=numpy_blas_info(),
                      jax=jax_version, jax_devices=jax_devices, jax_error=jax_error,
                      xla_flags=os.environ.get("XLA_FLAGS", ""))
    for config in configs:
        for dtype in ("float32", "float64"):
            x, y = pybench.make_batch(config, dtype)
            model = NumpyMLP(config.sizes, dtype=dtype)
            contender = pybench.Contender("numpy", lambda: model.step(x, y))
            pybench.measure_group([contender])
            note = "" if math.isfinite(model.step(x, y)) else "loss not finite"
            pybench.emit("numpy", dtype, config, contender, note)

            if jax_error:
                pybench.emit_missing("jax-jit", dtype, config, jax_error)
                continue
            try:
                step, params = jax_step_factory(config, dtype)
                jx, jy = jnp.asarray(x), jnp.asarray(y)
                state = {"params": params, "loss": None}

                def call():
                    state["params"], state["loss"] = step(state["params"], jx, jy)

                def sync():
                    state["loss"].block_until_ready()

                call()
                sync()  # compile outside the timing
                contender = pybench.Contender("jax-jit", call, sync)
                pybench.measure_group([contender])
                note = "" if math.isfinite(float(state["loss"])) else "loss not finite"
                pybench.emit("jax-jit", dtype, config, contender, note)
            except Exception as error:
                pybench.emit_missing("jax-jit", dtype, config,
                                     f"failed: {type(error).__name__}: {error}"[:160].replace('"', "'"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
