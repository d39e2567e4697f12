#!/usr/bin/env python3
"""RPROP in NumPy, written from the published rules, to check libswiftmlp's SMLP_RPROP.

iRPROP- and iRPROP+ are those of C. Igel and M. Huesken, "Improving the Rprop Learning
Algorithm" (NC 2000), figures of iRprop- and iRprop+; iRPROP- is also the rule of
PyTorch's torch.optim.Rprop (its docstring's algorithm: step sizes multiplied by
etaplus / etaminus / 1 by the sign of g * g_prev, clamped to step_sizes, the gradient
zeroed where the sign changed, then p -= sign(g) * step). Nothing here comes from the
library or its binding. Names follow the C header's smlp_optimizer_config fields.

Per parameter, with s = sign(g) * sign(g_prev):

    iRPROP-   s > 0: D = min(D * increase, delta_max)
              s < 0: D = max(D * decrease, delta_min); g = 0
              p -= sign(g) * D;  g_prev = g
    iRPROP+   s > 0: D = min(D * increase, delta_max); u = -sign(g) * D; p += u; g_prev = g
              s < 0: D = max(D * decrease, delta_min); if E > E_prev: p -= u
                     u = 0; g_prev = 0
              s = 0: u = -sign(g) * D; p += u; g_prev = g
              E_prev = E     (E: the loss at p before this step)

D starts at delta0, g_prev and u at 0, E_prev at +inf. D is clamped to
[delta_min, delta_max] on every step, as PyTorch does.

Run `python3 scripts/rprop_reference.py` for its self-checks on hand-worked steps.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np


@dataclass
class RpropConfig:
    """The RPROP fields of smlp_optimizer_config, with the library's defaults."""
    variant: str = "irprop-"       # or "irprop+"
    increase: float = 1.2          # eta+ (PyTorch etas[1])
    decrease: float = 0.5          # eta- (PyTorch etas[0])
    delta0: float = 0.1            # initial step (FANN's 0.1; PyTorch's lr, 0.01)
    delta_min: float = 1e-6        # PyTorch step_sizes[0]; FANN uses 0
    delta_max: float = 50.0        # step_sizes[1]


class Rprop:
    """The optimizer's state and one step, on a flat parameter vector."""

    def __init__(self, config: RpropConfig, count: int, dtype=np.float64):
        if config.variant not in ("irprop-", "irprop+"):
            raise ValueError(f"variant {config.variant!r}")
        self.c = config
        self.dtype = dtype
        self.g_prev = np.zeros(count, dtype)
        self.step_size = np.full(count, config.delta0, dtype)
        self.update = np.zeros(count, dtype)
        self.loss_prev = np.inf
        self.undone = 0     # parameters moved back so far (iRPROP+), for the tests

    def step(self, params: np.ndarray, grad: np.ndarray, loss: float = np.inf) -> None:
        """Updates params in place from grad (and, for iRPROP+, the loss at params)."""
        c, t = self.c, self.dtype
        g = np.asarray(grad, t).copy()
        s = np.sign(g) * np.sign(self.g_prev)
        factor = np.where(s > 0, t(c.increase), np.where(s < 0, t(c.decrease), t(1)))
        self.step_size = np.clip(self.step_size * factor, t(c.delta_min), t(c.delta_max)).astype(t)
        if c.variant == "irprop-":
            g[s < 0] = 0
            params -= np.sign(g) * self.step_size
            self.g_prev = g
        else:
            back = s < 0
            if loss > self.loss_prev:
                params[back] -= self.update[back]
                self.undone += int(np.count_nonzero(back))
            move = -np.sign(g) * self.step_size
            params[~back] += move[~back]
            self.update = np.where(back, t(0), move).astype(t)
            self.g_prev = np.where(back, t(0), g).astype(t)
        self.loss_prev = loss


def self_check(verbose: bool = True) -> bool:
    """Hand-worked steps of both variants on three scalars."""
    ok = True

    def expect(name, got, want):
        nonlocal ok
        good = np.array_equal(np.asarray(got, np.float64), np.asarray(want, np.float64))
        ok &= good
        if verbose or not good:
            print(f"{'ok  ' if good else 'FAIL'} {name}: {got} (expected {want})")

    p = np.array([1.0, 1.0, 1.0])
    r = Rprop(RpropConfig(), 3)
    r.step(p, np.array([2.0, -3.0, 0.0]))      # s = 0 everywhere: D stays 0.1
    expect("iRPROP- step 1", p, [0.9, 1.1, 1.0])
    r.step(p, np.array([1.0, 5.0, 0.0]))       # same, opposite, zero
    expect("iRPROP- step 2 params", p, [0.9 - 0.1 * 1.2, 1.1, 1.0])
    expect("iRPROP- step 2 steps", r.step_size, [0.1 * 1.2, 0.1 * 0.5, 0.1])
    expect("iRPROP- step 2 g_prev", r.g_prev, [1.0, 0.0, 0.0])
    r.step(p, np.array([1.0, 5.0, 0.0]))       # after a zeroed g_prev: s = 0, D kept
    expect("iRPROP- step 3 params", p, [0.9 - 0.1 * 1.2 - 0.1 * 1.2 * 1.2, 1.1 - 0.05, 1.0])

    p = np.array([1.0, 1.0])
    r = Rprop(RpropConfig(variant="irprop+", delta0=0.5), 2)
    r.step(p, np.array([1.0, 1.0]), loss=2.0)
    expect("iRPROP+ step 1", p, [0.5, 0.5])
    r.step(p, np.array([-1.0, 1.0]), loss=3.0)  # loss rose: param 0 moves back
    expect("iRPROP+ step 2 params", p, [1.0, 0.5 - 0.6])
    expect("iRPROP+ step 2 update", r.update, [0.0, -0.6])
    r.step(p, np.array([-1.0, 1.0]), loss=1.0)
    expect("iRPROP+ step 3 params", p, [1.0 + 0.25, 0.5 - 0.6 - 0.72])
    r2 = Rprop(RpropConfig(variant="irprop+", delta0=0.5), 1)
    q = np.array([1.0])
    r2.step(q, np.array([1.0]), loss=2.0)
    r2.step(q, np.array([-1.0]), loss=1.0)      # loss fell: no undo
    expect("iRPROP+ no undo when the loss fell", q, [0.5])

    r3 = Rprop(RpropConfig(delta_min=0.3, delta_max=0.35, delta0=0.32), 1)
    q = np.array([0.0])
    r3.step(q, np.array([1.0]))
    r3.step(q, np.array([1.0]))
    expect("clamped to delta_max", r3.step_size, [0.35])
    r3.step(q, np.array([-1.0]))
    expect("clamped to delta_min", r3.step_size, [0.3])
    return ok


if __name__ == "__main__":
    sys.exit(0 if self_check() else 1)
