"""What the Python benchmarks in bench/ share: configurations, data, timing, output.

The timing follows bench/bench_common.h exactly: one warm-up call, more warm-up
until BENCH_WARM seconds, samples of ``inner`` back-to-back calls lasting at least
100 us, about BENCH_BUDGET seconds of samples per cell (at least BENCH_MIN_SAMPLES),
the median per call. Contenders of one group take their samples alternately.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent


@dataclass
class Config:
    name: str
    sizes: tuple[int, ...]
    batch: int

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def one_output(self) -> bool:
        return self.sizes[-1] == 1


def read_configs(path: Path | str = HERE / "configs.txt") -> list[Config]:
    configs = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].split()
        if len(line) != 3:
            continue
        configs.append(Config(line[0], tuple(int(s) for s in line[1].split("-")), int(line[2])))
    return configs


def wanted(only: str | None, name: str) -> bool:
    return not only or name in only.split(",")


def make_batch(config: Config, dtype) -> tuple[np.ndarray, np.ndarray]:
    """X uniform in [-1, 1); Y one-hot (class (7r + 3) mod k) or, for one output, the
    XOR of the signs of the first two inputs: the same rule as bench_common.h."""
    rng = np.random.default_rng(12345)
    x = rng.uniform(-1.0, 1.0, size=(config.batch, config.sizes[0]))
    k = config.n_outputs
    if k == 1:
        s0 = x[:, 0] > 0
        s1 = x[:, 1] > 0 if x.shape[1] > 1 else np.zeros_like(s0)
        y = (s0 ^ s1).astype(np.float64).reshape(-1, 1)
    else:
        y = np.zeros((config.batch, k))
        y[np.arange(config.batch), (np.arange(config.batch) * 7 + 3) % k] = 1.0
    return np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(y, dtype=dtype)


@dataclass
class Contender:
    label: str
    call: Callable[[], object]
    # called after each sample's `inner` calls (JAX: block until the result is ready)
    sync: Callable[[], object] | None = None
    estimate: float = 0.0
    inner: int = 1
    samples: int = 0
    median: float = math.nan
    min: float = math.nan
    p25: float = math.nan
    p75: float = math.nan


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
        return value if value > 0 else default
    except ValueError:
        return default


def measure_group(contenders: list[Contender]) -> None:
    budget = _env_float("BENCH_BUDGET", 0.35)
    warm = _env_float("BENCH_WARM", 0.05)
    min_samples = int(_env_float("BENCH_MIN_SAMPLES", 5))
    floor = 100e-6
    clock = time.perf_counter
    slowest = 0.0
    for c in contenders:
        t0 = clock()
        c.call()
        if c.sync:
            c.sync()
        first = clock() - t0
        if first > 1.0:
            c.estimate = first
        else:
            calls = 0
            t0 = clock()
            while True:
                c.call()
                calls += 1
                if c.sync:
                    c.sync()
                t = clock() - t0
                if t >= warm and calls >= 2:
                    break
            c.estimate = t / calls
        c.inner = max(1, math.ceil(floor / c.estimate))
        slowest = max(slowest, c.inner * c.estimate)
    n = int(budget / slowest)
    n = max(min_samples, min(n, 20000))
    times = [[0.0] * n for _ in contenders]
    order = list(range(len(contenders)))
    for s in range(n):
        for i in (order if s % 2 == 0 else order[::-1]):
            c = contenders[i]
            call, sync, inner = c.call, c.sync, c.inner
            t0 = clock()
            for _ in range(inner):
                call()
            if sync:
                sync()
            times[i][s] = (clock() - t0) / inner
    for c, values in zip(contenders, times):
        v = np.sort(np.asarray(values))
        c.samples = n
        c.median = float(np.median(v))
        c.min = float(v[0])
        c.p25 = float(np.quantile(v, 0.25))
        c.p75 = float(np.quantile(v, 0.75))


def _base(impl: str, dtype: str, config: Config) -> dict:
    return {"kind": "cell", "impl": impl, "dtype": dtype, "config": config.name,
            "threads": int(os.environ.get("BENCH_THREADS", "0")),
            "round": int(os.environ.get("BENCH_ROUND", "0"))}


def emit(impl: str, dtype: str, config: Config, c: Contender, note: str = "") -> None:
    record = _base(impl, dtype, config)
    record.update(median=c.median, min=c.min, p25=c.p25, p75=c.p75, samples=c.samples,
                  inner=c.inner, note=note)
    print(json.dumps(record), flush=True)


def emit_missing(impl: str, dtype: str, config: Config, note: str) -> None:
    record = _base(impl, dtype, config)
    record.update(median=None, note=note)
    print(json.dumps(record), flush=True)


def emit_meta(**fields) -> None:
    print(json.dumps({"kind": "meta", **fields}), flush=True)


def parse_only(argv: list[str]) -> str | None:
    return argv[1] if len(argv) > 1 and argv[1] else None


if __name__ == "__main__":
    for c in read_configs():
        print(c)
    sys.exit(0)
