#!/usr/bin/env python3
"""Data-parallel training over MPI from Python: examples/mpi_train.c with mpi4py.

The same network (64-64-10 relu/softmax on the 8x8 digits), the same seeds, the same
unequal shards (rank r's share of each global batch of 64 is proportional to r + 1),
the same shuffle generator (SplitMix64) and the same per-epoch lines, so it prints
what the C example prints. Each step, every rank:

    flat = net.gradients(x_shard, y_shard).flat        # SUM reduction: shard's sum
    comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)     # the global batch's sum
    net.apply_gradients(flat, scale=1 / rows)          # its mean, on every rank

    OPENBLAS_NUM_THREADS=1 mpirun -np 2 python3 scripts/mpi4py_train.py [data-folder]

Needs NumPy and mpi4py (``pip install mpi4py`` builds it against the system MPI:
libopenmpi-dev). Without mpi4py it prints a SKIP line and exits 0. The library is
found as the bindings document; from a source tree, build/lib is used when
SWIFTMLP_LIBRARY is not set. See docs/distributed.md.
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_BATCH = 64
EPOCHS = 30
MODEL_SEED = 2024
SHUFFLE_SEED = 7
MASK = (1 << 64) - 1

try:
    from mpi4py import MPI
except ImportError:
    # Under mpirun every rank gets here; let only the first one say it.
    if os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMI_RANK", "0")) == "0":
        print("SKIP: mpi4py is not installed (pip install mpi4py; it builds against "
              "libopenmpi-dev), so scripts/mpi4py_train.py did not run")
    sys.exit(0)

import numpy as np  # noqa: E402  (after the mpi4py check, on purpose)

if "SWIFTMLP_LIBRARY" not in os.environ and (ROOT / "build/lib/libswiftmlp.so.0").exists():
    os.environ["SWIFTMLP_LIBRARY"] = str(ROOT / "build/lib/libswiftmlp.so.0")
sys.path.insert(0, str(ROOT / "bindings/python"))
import swiftmlp  # noqa: E402


class SplitMix64:
    """The shuffle generator of examples/mpi_train.c, bit for bit."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def shuffle(order: list[int], rng: SplitMix64) -> None:
    for i in range(len(order), 1, -1):
        j = rng.next() % i
        order[i - 1], order[j] = order[j], order[i - 1]


def shard_bounds(rows: int, rank: int, size: int) -> tuple[int, int]:
    """Rows [lo, hi) of a batch for `rank`: shares proportional to rank + 1."""
    total = size * (size + 1) // 2
    before = rank * (rank + 1) // 2
    return rows * before // total, rows * (before + rank + 1) // total


def cosine_lr(lr: float, epoch: int, t_max: int, min_lr: float = 0.0) -> float:
    e = min(epoch, t_max)
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * e / t_max)) / 2


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    return np.ascontiguousarray(data[:, :64], dtype=np.float64), data[:, 64].astype(np.int32)


def main() -> int:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples/data"
    train_x, train_y = load(folder / "digits_train.csv")
    test_x, test_y = load(folder / "digits_test.csv")
    n_train = len(train_y)

    net = swiftmlp.Network((64, 64, 10), ("relu", "softmax"), loss="softmax_cross_entropy",
                           reduction="sum", seed=MODEL_SEED)
    net.set_optimizer("adam", learning_rate=0.003, schedule="cosine", t_max=EPOCHS)

    # Rank 0's parameters and the global scaler, for everyone.
    params = net.params
    comm.Bcast(params, root=0)
    net.params = params
    stats = np.empty((2, 64))
    if rank == 0:
        net.fit_scaler(train_x)
        stats[0], stats[1] = net.scaler
    comm.Bcast(stats, root=0)
    net.set_scaler(stats[0], stats[1])

    if rank == 0:
        shares = [hi - lo for lo, hi in (shard_bounds(GLOBAL_BATCH, r, size) for r in range(size))]
        print(f"data-parallel training on {size} rank{'s' if size > 1 else ''} (mpi4py), "
              f"global batch {GLOBAL_BATCH} rows; shard rows per rank: {' '.join(map(str, shares))}",
              flush=True)

    order = list(range(n_train))
    rng = SplitMix64(SHUFFLE_SEED)
    n_params = net.param_count
    message = np.empty(n_params + 2)  # [ gradient sum | loss sum | failed ranks ]
    reduce_seconds = 0.0
    comm.Barrier()
    start_time = MPI.Wtime()
    for epoch in range(EPOCHS):
        net.epoch = epoch
        shuffle(order, rng)
        indices = np.asarray(order)
        loss_sum = 0.0
        for start in range(0, n_train, GLOBAL_BATCH):
            rows = min(GLOBAL_BATCH, n_train - start)
            lo, hi = shard_bounds(rows, rank, size)
            message[:] = 0.0  # an empty shard contributes nothing
            if hi > lo:
                mine = indices[start + lo:start + hi]
                try:
                    g = net.gradients(train_x[mine], train_y[mine])
                    message[:n_params] = g.flat
                    message[n_params] = g.loss
                except swiftmlp.SwiftMLPError as error:
                    # Do not stop alone (the others would wait in Allreduce for ever):
                    # tell them through the same reduction, as the C example does.
                    print(f"rank {rank}: {error}", file=sys.stderr, flush=True)
                    message[:n_params + 1] = 0.0
                    message[n_params + 1] = 1.0
            t0 = MPI.Wtime()
            comm.Allreduce(MPI.IN_PLACE, message, op=MPI.SUM)
            reduce_seconds += MPI.Wtime() - t0
            if message[n_params + 1] != 0:
                if rank == 0:
                    print("a rank failed to compute its gradient; stopping", file=sys.stderr, flush=True)
                return 1
            net.apply_gradients(message[:n_params], scale=1.0 / rows)
            loss_sum += message[n_params]
        if rank == 0:
            ev = net.evaluate(test_x, test_y)
            print(f"epoch {epoch + 1:2d}  lr {cosine_lr(0.003, epoch, EPOCHS):.4f}  train loss "
                  f"{loss_sum / n_train:.4f}  validation loss {ev.loss:.4f}  validation accuracy "
                  f"{100 * ev.accuracy:.2f}%", flush=True)
    seconds = MPI.Wtime() - start_time
    net.epoch = EPOCHS

    mine = net.params
    theirs = mine.copy()
    comm.Bcast(theirs, root=0)
    differing = comm.reduce(int(not np.array_equal(mine.view(np.uint64), theirs.view(np.uint64))), op=MPI.SUM, root=0)
    status = 0
    if rank == 0:
        ev = net.evaluate(test_x, test_y)
        print(f"trained {EPOCHS} epochs in {seconds:.2f} s of wall time on {size} rank"
              f"{'s' if size > 1 else ''}; allreduce {100 * reduce_seconds / seconds:.1f}% of it")
        print(f"parameters identical on all ranks: {'yes' if differing == 0 else 'NO'}")
        print(f"test loss {ev.loss:.4f}, test accuracy {100 * ev.accuracy:.2f}% ({len(test_y)} images)")
        if differing or ev.accuracy < 0.96:
            status = 1
    return comm.bcast(status, root=0)


if __name__ == "__main__":
    sys.exit(main())
