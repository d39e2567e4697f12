"""The Python binding on one row (issue 16): ``Network.predict`` of one sample and
``Network.step`` on one row, against the same C calls made through ctypes with
every argument precomputed (the floor of any ctypes binding) and against the C
times of bench/bench_small.c.

Networks as in bench_small.c: every layer sigmoid, MSE, float32, seed 1, SGD
learning rate 0.1 momentum 0.4, inputs uniform in [-1, 1), targets in [0.5, 1);
each call takes the next of 1,000 rows, as bench_small.c does. Rows:

  predict   ``net.predict(x[i])`` (1-D row, 1-D result) next to ``smlp_predict``
            called through the binding's declared ctypes function with ctypes
            objects made beforehand (handle, dtype, sizes, row and output addresses)
  step      ``net.step(x[i:i+1], y[i:i+1])`` next to ``smlp_step`` with one
            prepared ``smlp_dataset`` per row (passed as the struct itself, which
            ctypes turns into a pointer more cheaply than it checks a byref())

The timing is bench/pybench.py's (bench_common.h's rules: samples of >= 100 us,
the two contenders of a group alternate, the median per call), two rounds, the
better median counting. "C" is the time of
the same call measured from C by bench_small (``--c-results`` its JSON lines,
which bench/run.sh passes); the target is Python - C <= 2 us for both. Without a
C measurement the lines compare against the ctypes floor and say so.

    bench_python_small.py [--c-results FILE] [--only 10-16-1,d]

Prints a Markdown table and the target lines (nothing is asserted about time).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from ctypes import c_double, c_int, c_size_t, c_void_p
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pybench import Contender, measure_group  # noqa: E402

import swiftmlp  # noqa: E402
from swiftmlp import _capi  # noqa: E402
from swiftmlp._native import lib  # noqa: E402

NETS = [("10-16-1", (10, 16, 1)), ("125-32-2", (125, 32, 2)), ("d", (2, 4, 1))]
ROWS = 1000
TARGET = 2e-6
# Rounds per network, the better median of each contender counts (as bench/report.py
# does), with at least MIN_BUDGET seconds of samples a group even under --quick: the
# whole script then takes ~5 s, and one burst of load on a shared machine no longer
# decides a target line.
ROUNDS = 2
MIN_BUDGET = 0.25


def make_network(sizes: tuple[int, ...]) -> swiftmlp.Network:
    network = swiftmlp.Network(sizes, ["sigmoid"] * (len(sizes) - 1), loss="mse", dtype="float32", seed=1)
    network.set_optimizer("sgd", learning_rate=0.1, momentum=0.4)
    return network


def measure(name: str, sizes: tuple[int, ...]) -> dict[str, float]:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, size=(ROWS, sizes[0])).astype(np.float32)
    y = (0.5 + 0.5 * rng.uniform(0.0, 1.0, size=(ROWS, sizes[-1]))).astype(np.float32)
    network = make_network(sizes)
    n_in, n_out = sizes[0], sizes[-1]

    # The floor: the declared ctypes functions, every argument a ctypes object made here.
    handle = c_void_p(network._h)
    dtype = c_int(int(_capi.DType.FLOAT32))
    one, c_in, c_out = c_size_t(1), c_size_t(n_in), c_size_t(n_out)
    out = np.empty(n_out, np.float32)
    out_pointer = c_void_p(out.ctypes.data)
    row_pointers = [c_void_p(x[i].ctypes.data) for i in range(ROWS)]
    datasets = []
    for i in range(ROWS):
        dataset = _capi.smlp_dataset(int(_capi.DType.FLOAT32), 1, n_in, x[i].ctypes.data, n_out,
                                     y[i].ctypes.data, None)
        datasets.append(dataset)
    loss = c_double()
    predict_c, step_c = lib.smlp_predict, lib.smlp_step

    # What a user writes: a row of an array, a one-row slice for step.
    rows = [x[i] for i in range(ROWS)]
    pairs = [(x[i:i + 1], y[i:i + 1]) for i in range(ROWS)]

    # Same results first: the binding and the floor compute the same bits.
    check_net = make_network(sizes)
    floor_net = make_network(sizes)
    for i in range(3):
        expected = np.empty(n_out, np.float32)
        status = predict_c(c_void_p(floor_net._h), dtype, row_pointers[i], one, c_in,
                           c_void_p(expected.ctypes.data), c_out)
        assert status == 0 and np.array_equal(check_net.predict(rows[i]), expected), name
        status = step_c(c_void_p(floor_net._h), datasets[i], loss)
        assert status == 0 and check_net.step(*pairs[i]) == loss.value, name
    check_net.close()
    floor_net.close()

    next_row, next_pointer = itertools.cycle(rows).__next__, itertools.cycle(row_pointers).__next__
    next_pair = itertools.cycle(pairs).__next__
    next_dataset = itertools.cycle(datasets).__next__
    net = network

    def python_step() -> None:
        x_row, y_row = next_pair()
        net.step(x_row, y_row)

    predict = [Contender("Network.predict", lambda: net.predict(next_row())),
               Contender("ctypes floor", lambda: predict_c(handle, dtype, next_pointer(), one, c_in,
                                                          out_pointer, c_out))]
    step = [Contender("Network.step", python_step),
            Contender("ctypes floor", lambda: step_c(handle, next_dataset(), loss))]
    best = {"predict": math.inf, "predict_floor": math.inf, "step": math.inf, "step_floor": math.inf}
    for _ in range(ROUNDS):
        measure_group(predict)
        measure_group(step)
        for key, contender in (("predict", predict[0]), ("predict_floor", predict[1]),
                               ("step", step[0]), ("step_floor", step[1])):
            best[key] = min(best[key], contender.median)
    network.close()
    return best


def read_c_results(path: str | None) -> dict[tuple[str, str], float]:
    times: dict[tuple[str, str], float] = {}
    if not path or not Path(path).exists():
        return times
    for line in Path(path).read_text().splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("kind") == "cell" and record.get("impl") in ("predict", "step") \
                and isinstance(record.get("median"), (int, float)):
            times[(record["config"], record["impl"])] = float(record["median"])
    return times


def us(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1e6:.2f} µs"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--c-results", help="bench_small's JSON lines (C times)")
    parser.add_argument("--only", default="", help="comma-separated network names")
    args = parser.parse_args(argv)
    try:
        budget = float(os.environ.get("BENCH_BUDGET", ""))
    except ValueError:
        budget = 0.0
    os.environ["BENCH_BUDGET"] = str(max(budget, MIN_BUDGET))
    c_times = read_c_results(args.c_results)
    wanted = [net for net in NETS if not args.only or net[0] in args.only.split(",")]
    results = {name: measure(name, sizes) for name, sizes in wanted}

    print("## Python binding, one row (float32, 1 thread)\n")
    print("`bench/bench_python_small.py`, swiftmlp from `bindings/python`, "
          f"NumPy {np.__version__}, Python {sys.version.split()[0]}. Medians per call. "
          "Floor: the same C call through the binding's ctypes function with every argument "
          "made beforehand. C: bench_small's time for the call from C"
          + ("" if c_times else " (not measured in this run: differences are against the floor)") + ".\n")
    print("| network | predict | floor | C | Python − C | step | floor | C | Python − C |")
    print("|---|---|---|---|---|---|---|---|---|")
    lines = []
    for name, _ in wanted:
        r = results[name]
        cells = [name]
        for kind in ("predict", "step"):
            c = c_times.get((name, kind))
            base = c if c is not None else r[kind + "_floor"]
            diff = r[kind] - base
            cells += [us(r[kind]), us(r[kind + "_floor"]), us(c) if c is not None else "n/a",
                      f"{diff * 1e6:+.2f} µs"]
            verdict = "PASS" if diff <= TARGET else "FAIL"
            what = "C" if c is not None else "the ctypes floor (no C time)"
            lines.append(f"- {verdict} {name}: Network.{kind} of one row − {what} = {diff * 1e6:+.2f} µs "
                         f"(target <= {TARGET * 1e6:.0f} µs)")
        print("| " + " | ".join(cells) + " |")
    passed = sum(line.startswith("- PASS") for line in lines)
    print(f"\nTargets: {passed} of {len(lines)} pass.")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
