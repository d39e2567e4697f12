#!/usr/bin/env python3
"""An independent NumPy implementation of everything libswiftmlp computes.

Read it next to docs/backprop.md: the sections below follow that page's sections, and
the function names follow its equations (forward_dense, backward_dense,
backward_softmax_cross_entropy, ...). Every function says the shapes it takes and
returns, with the page's notation:

    n        rows (samples) in the batch
    n_l      width of layer l's input; n_{l+1} width of its output; k = n_D outputs
    X        n x n_0 inputs            Y  n x k targets (or n integer labels)
    W_l      n_l x n_{l+1}             b_l  n_{l+1}
    Z_l, A_l n x n_{l+1}               dZ_l = dL/dZ_l, n x n_{l+1}

It shares no code with the library or its Python binding; it was written from
include/swiftmlp.h and docs/backprop.md. It is deliberately plain: one array operation
per equation, no fusing, no in-place tricks that hide the maths. It computes in the
dtype of the arrays it is given (float32 or float64), casting hyper-parameters to that
dtype where the header says the model computes in its dtype, so a float32 run can be
compared with a float32 model.

What is here, by docs/backprop.md section:
  1  the flat parameter layout             layer_offsets, unpack, pack, weight_mask
  2  the forward pass                      activation_forward, forward_dense, forward
  3  losses, reduction, output delta       per_sample_loss, reduced_loss,
                                           backward_mean_squared_error,
                                           backward_binary_cross_entropy,
                                           backward_softmax_cross_entropy,
                                           loss_and_output_delta
  4  the backward pass                     backward_dense, backward, loss_and_gradients
  6  activation derivatives (from A)       activation_backward
  8  optimizers, clipping, schedules       OptimizerConfig, Optimizer, clip_scale,
                                           scheduled_learning_rate
  9  the PRNG and initial weights          Xoshiro256StarStar, initial_params
     a model that ties it all together     ReferenceModel
 12  self-checks (finite differences)      self_check (run this file to run them)

The forward pass and the loss (reference_loss) are written against an array module
`xp` (NumPy by default), so the same code can be differentiated by jax.grad
(scripts/compare_numpy.py does that when JAX is installed).

Run `python3 scripts/numpy_reference.py` for the self-checks: the PRNG test vectors of
docs/backprop.md section 9, every gradient against central finite differences (every
hidden activation, every output activation / loss / target form, both reductions), the
batch-additivity identity, and the optimizer rules on hand-computed scalar examples.
Exit status 0 when all pass.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, replace

import numpy as np

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
LOSSES = ("mse", "bce", "softmax_ce")
REDUCTIONS = ("mean", "sum")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "exponential", "cosine")
INITS = ("auto", "glorot", "he")


@dataclass(frozen=True)
class Architecture:
    """What smlp_config describes (minus dtype, init and seed)."""
    sizes: tuple            # (n_0, n_1, ..., n_D): input width first
    activations: tuple      # D names from ACTIVATIONS, one per weight layer
    loss: str = "mse"       # one of LOSSES
    reduction: str = "mean"  # one of REDUCTIONS
    leaky_relu_slope: float = 0.01

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        object.__setattr__(self, "activations", tuple(self.activations))
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes {self.sizes}: need >= 2 widths, each >= 1")
        if len(self.activations) != len(self.sizes) - 1:
            raise ValueError("need one activation per weight layer")
        if "softmax" in self.activations[:-1]:
            raise ValueError("softmax is allowed on the output layer only")
        output = self.activations[-1]
        if self.loss == "bce" and output != "sigmoid":
            raise ValueError("binary cross-entropy needs a sigmoid output")
        if self.loss == "softmax_ce" and output != "softmax":
            raise ValueError("softmax cross-entropy needs a softmax output")
        if self.loss not in LOSSES or self.reduction not in REDUCTIONS:
            raise ValueError(f"unknown loss {self.loss!r} or reduction {self.reduction!r}")
        if not (math.isfinite(self.leaky_relu_slope) and self.leaky_relu_slope >= 0):
            raise ValueError("leaky_relu_slope must be finite and >= 0")

    @property
    def n_layers(self):
        return len(self.sizes) - 1


# =====================================================================================
# 1. The flat parameter layout
#    [ W_0 (n_0 x n_1, row-major) | b_0 (n_1) | W_1 (n_1 x n_2) | b_1 (n_2) | ... ]
# =====================================================================================

def layer_offsets(sizes):
    """[(weight_offset, bias_offset, n_in, n_out) for each layer l], as
    smlp_layer_info_get returns them."""
    offsets, position = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        offsets.append((position, position + n_in * n_out, n_in, n_out))
        position += n_in * n_out + n_out
    return offsets


def param_count(sizes):
    """sum_l (n_l * n_{l+1} + n_{l+1})."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def unpack(p, sizes):
    """Flat vector (param_count) -> [(W_l (n_l x n_{l+1}), b_l (n_{l+1}))], as views
    (C order, no transpose). Works for the gradient vector too (same layout)."""
    layers = []
    for w_off, b_off, n_in, n_out in layer_offsets(sizes):
        layers.append((p[w_off:b_off].reshape(n_in, n_out), p[b_off:b_off + n_out]))
    return layers


def pack(layers):
    """[(W_l, b_l)] -> flat vector, the inverse of unpack."""
    return np.concatenate([part for W, b in layers for part in (W.ravel(), b.ravel())])


def weight_mask(sizes):
    """Boolean vector (param_count): True on W entries, False on b entries."""
    mask = np.zeros(param_count(sizes), dtype=bool)
    for w_off, b_off, _, _ in layer_offsets(sizes):
        mask[w_off:b_off] = True
    return mask


# =====================================================================================
# 2. The forward pass
#    Z_l = A_{l-1} W_l + 1 b_l^T        A_l = f_l(Z_l)        A_{-1} = X
# =====================================================================================

def sigmoid(Z, xp=np):
    """The logistic function, stable: never evaluates e^x for large positive x.
    z >= 0: 1 / (1 + e^-z);  z < 0: e^z / (1 + e^z).  Both use e = e^-|z| <= 1."""
    e = xp.exp(-xp.abs(Z))
    return xp.where(Z >= 0, 1 / (1 + e), e / (1 + e))


def softmax(Z, xp=np):
    """Row-wise softmax of Z (n x k), shifted by the row maximum (no overflow)."""
    E = xp.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def activation_forward(name, Z, slope=0.01, xp=np):
    """A = f(Z), same shape as Z (n x width). `slope` is leaky relu's negative slope."""
    if name == "identity":
        return Z
    if name == "sigmoid":
        return sigmoid(Z, xp)
    if name == "tanh":
        return xp.tanh(Z)
    if name == "relu":
        return xp.where(Z > 0, Z, xp.zeros_like(Z))
    if name == "leaky_relu":
        return xp.where(Z > 0, Z, slope * Z)
    if name == "softmax":
        return softmax(Z, xp)
    raise ValueError(f"unknown activation {name!r}")


def forward_dense(A_prev, W, b, activation, slope=0.01, xp=np):
    """One layer.  A_prev: n x n_l, W: n_l x n_{l+1}, b: n_{l+1}.
    Returns Z, A: both n x n_{l+1}."""
    Z = A_prev @ W + b                 # (n x n_l)(n_l x n_{l+1}) + broadcast row b
    A = activation_forward(activation, Z, slope, xp)
    return Z, A


def forward(params, arch, X, xp=np):
    """All layers.  params: flat (param_count), X: n x n_0.
    Returns [(Z_l, A_l)] for l = 0 .. D-1; A_{D-1} is the network output (n x k)."""
    cache, A = [], X
    for (W, b), activation in zip(unpack(params, arch.sizes), arch.activations):
        Z, A = forward_dense(A, W, b, activation, arch.leaky_relu_slope, xp)
        cache.append((Z, A))
    return cache


def predict(params, arch, X):
    """smlp_predict: the output A_{D-1}, n x k."""
    return forward(params, arch, X)[-1][1]


# =====================================================================================
# 3. Losses, reduction and the output delta
#    L = s * sum_r L_r,  s = 1/n (mean) or 1 (sum);  dZ_{D-1} = s * [dL_r/dz rows]
# =====================================================================================

def one_hot(labels, k, dtype=np.float64):
    """n integer labels in [0, k) -> n x k one-hot rows."""
    Y = np.zeros((len(labels), k), dtype=dtype)
    Y[np.arange(len(labels)), labels] = 1
    return Y


def log_sum_exp(Z, xp=np):
    """lse(z) = m + log sum_j e^{z_j - m}, m = max_j z_j, per row: n x k -> n."""
    M = Z.max(axis=1)
    return M + xp.log(xp.exp(Z - M[:, None]).sum(axis=1))


def per_sample_loss(loss, Z, A, Y=None, labels=None, xp=np):
    """L_r for every row r (n), in the dtype of Z.  Z, A, Y: n x k; labels: n ints.
      mse         1/2 sum_j (a_j - y_j)^2
      bce         sum_j max(z_j, 0) - z_j y_j + log(1 + e^{-|z_j|})     (from logits)
      softmax_ce  sum_j y_j (lse(z) - z_j);  with label c: lse(z) - z_c  (from logits)"""
    if loss == "mse":
        return 0.5 * ((A - Y) ** 2).sum(axis=1)
    if loss == "bce":
        return (xp.maximum(Z, 0) - Z * Y + xp.log1p(xp.exp(-xp.abs(Z)))).sum(axis=1)
    if loss == "softmax_ce":
        lse = log_sum_exp(Z, xp)
        if labels is not None:
            return lse - Z[xp.arange(Z.shape[0]), labels]
        return (Y * (lse[:, None] - Z)).sum(axis=1)
    raise ValueError(f"unknown loss {loss!r}")


def reduction_scale(reduction, n, dtype):
    """s: 1/n for mean, 1 for sum, in the model's dtype (it multiplies dZ)."""
    return dtype(1) / dtype(n) if reduction == "mean" else dtype(1)


def reduced_loss(per_sample, reduction, xp=np):
    """L = (1/n) sum_r L_r or sum_r L_r, accumulated in float64 (as the library
    returns *out_loss as a double)."""
    total = per_sample.astype(xp.float64).sum()
    return total / per_sample.shape[0] if reduction == "mean" else total


def reference_loss(params, arch, X, Y=None, labels=None, xp=np):
    """The reduced batch loss L(params) as smlp_gradients reports it; pure, so it can be
    finite-differenced or given to jax.grad (with xp=jax.numpy)."""
    Z, A = forward(params, arch, X, xp)[-1]
    return reduced_loss(per_sample_loss(arch.loss, Z, A, Y, labels, xp), arch.reduction, xp)


def backward_mean_squared_error(A, Y, s, output_activation, slope):
    """dZ for L = s sum_r 1/2 |a_r - y_r|^2:  dA = s (A - Y), then back through the
    output activation (section 6; softmax uses its Jacobian-vector product).
    A, Y: n x k -> dZ: n x k."""
    dA = (A - Y) * s
    return activation_backward(output_activation, dA, A, slope)


def backward_binary_cross_entropy(A, Y, s):
    """dZ = s (A - Y) for sigmoid + BCE from logits: the a(1-a) of the sigmoid cancels.
    A, Y: n x k -> n x k."""
    return (A - Y) * s


def backward_softmax_cross_entropy(A, Y, s):
    """dZ = s (A * sum_j y_j - Y) for softmax + CE from logits; A - Y for one-hot rows
    or labels (give labels as one_hot(labels)).  A, Y: n x k -> n x k."""
    return (A * Y.sum(axis=1, keepdims=True) - Y) * s


def loss_and_output_delta(arch, Z, A, Y=None, labels=None):
    """The reduced loss L and dZ_{D-1} (n x k) for the last layer's Z, A (n x k)."""
    n, k = A.shape
    s = reduction_scale(arch.reduction, n, A.dtype.type)
    L = reduced_loss(per_sample_loss(arch.loss, Z, A, Y, labels), arch.reduction)
    if arch.loss == "mse":
        dZ = backward_mean_squared_error(A, Y, s, arch.activations[-1], arch.leaky_relu_slope)
    elif arch.loss == "bce":
        dZ = backward_binary_cross_entropy(A, Y, s)
    else:
        T = one_hot(labels, k, A.dtype) if labels is not None else Y
        dZ = backward_softmax_cross_entropy(A, T, s)
    return float(L), dZ


# =====================================================================================
# 6. Activation derivatives, taken from the cached output A (never from Z)
# =====================================================================================

def activation_backward(name, dA, A, slope=0.01):
    """dZ = dA * f'(A), element-wise (softmax: row-wise Jacobian-vector product).
    dA, A: n x width -> dZ: n x width.
      identity 1;  sigmoid a(1-a);  tanh 1-a^2;  relu [a>0];  leaky relu a>0 ? 1 : slope;
      softmax  dz_i = a_i (g_i - sum_j g_j a_j)."""
    if name == "identity":
        return dA
    if name == "sigmoid":
        return dA * A * (1 - A)
    if name == "tanh":
        return dA * (1 - A * A)
    if name == "relu":
        return np.where(A > 0, dA, 0).astype(dA.dtype)
    if name == "leaky_relu":
        return np.where(A > 0, dA, slope * dA).astype(dA.dtype)
    if name == "softmax":
        c = (dA * A).sum(axis=1, keepdims=True)      # n x 1: g . a per row
        return A * (dA - c)
    raise ValueError(f"unknown activation {name!r}")


# =====================================================================================
# 4. The backward pass
#    dW_l = A_{l-1}^T dZ_l   db_l = 1^T dZ_l   dA_{l-1} = dZ_l W_l^T
#    dZ_{l-1} = dA_{l-1} * f'_{l-1}(A_{l-1})
# =====================================================================================

def backward_dense(A_prev, dZ, W, need_dA_prev=True):
    """One layer's gradients.  A_prev: n x n_l (X for layer 0), dZ: n x n_{l+1},
    W: n_l x n_{l+1}.  Returns dW (n_l x n_{l+1}), db (n_{l+1}), dA_prev (n x n_l, or
    None for layer 0: the input gradient is never needed)."""
    dW = A_prev.T @ dZ                   # (n_l x n)(n x n_{l+1}): sums the batch
    db = dZ.sum(axis=0)                  # column sums: the bias is shared by all rows
    dA_prev = dZ @ W.T if need_dA_prev else None   # (n x n_{l+1})(n_{l+1} x n_l)
    return dW, db, dA_prev


def backward(params, arch, X, cache, dZ_last):
    """The gradient vector (param_count, the parameter layout) from the forward cache
    and dZ_{D-1}.  Also returns [dZ_l] for l = 0 .. D-1 (what SMLP_CACHE_DZ shows)."""
    layers = unpack(params, arch.sizes)
    grads = [None] * arch.n_layers
    dZs = [None] * arch.n_layers
    dZ = dZ_last
    for l in range(arch.n_layers - 1, -1, -1):
        A_prev = X if l == 0 else cache[l - 1][1]
        dW, db, dA_prev = backward_dense(A_prev, dZ, layers[l][0], need_dA_prev=l > 0)
        grads[l], dZs[l] = (dW, db), dZ
        if l > 0:
            dZ = activation_backward(arch.activations[l - 1], dA_prev, cache[l - 1][1],
                                     arch.leaky_relu_slope)
    return pack(grads), dZs


def loss_and_gradients(params, arch, X, Y=None, labels=None):
    """smlp_gradients: (L, grad (param_count), cache) where cache is a list of
    {"Z", "A", "dZ"} per layer, like smlp_get_layer_cache."""
    cache = forward(params, arch, X)
    L, dZ_last = loss_and_output_delta(arch, *cache[-1], Y=Y, labels=labels)
    grad, dZs = backward(params, arch, X, cache, dZ_last)
    layers = [{"Z": Z, "A": A, "dZ": dZ} for (Z, A), dZ in zip(cache, dZs)]
    return L, grad, layers


# =====================================================================================
# 8. Optimizers, clipping and learning-rate schedules (PyTorch's torch.optim rules)
# =====================================================================================

@dataclass
class OptimizerConfig:
    """smlp_optimizer_config. Build one with optimizer_defaults(kind, ...)."""
    kind: str = "sgd"
    learning_rate: float = 0.01
    momentum: float = 0.0          # SGD, RMSprop
    nesterov: bool = False         # SGD with momentum
    beta1: float = 0.9             # Adam(W)
    beta2: float = 0.999
    epsilon: float = 1e-8          # Adam(W), RMSprop
    alpha: float = 0.99            # RMSprop smoothing
    weight_decay: float = 0.0
    decay_biases: bool = False     # False: decay W ranges only
    clip_norm: float = 0.0         # 0: no clipping
    schedule: str = "constant"
    step_size: int = 10            # STEP
    gamma: float = 0.1             # STEP, EXPONENTIAL
    t_max: int = 100               # COSINE
    min_lr: float = 0.0            # COSINE


def optimizer_defaults(kind, **overrides):
    """smlp_optimizer_config_init: PyTorch's defaults for `kind`, then `overrides`.
    SGD lr 0.01; Adam lr 1e-3; AdamW lr 1e-3 and weight_decay 0.01; RMSprop lr 0.01."""
    base = {"sgd": OptimizerConfig("sgd", 0.01), "adam": OptimizerConfig("adam", 0.001),
            "adamw": OptimizerConfig("adamw", 0.001, weight_decay=0.01),
            "rmsprop": OptimizerConfig("rmsprop", 0.01)}[kind]
    return replace(base, **overrides)


def scheduled_learning_rate(config, epoch):
    """The rate at epoch e (smlp_set_epoch / smlp_train), as PyTorch's schedulers
    stepped once per epoch:
      constant     lr
      step         lr * gamma^floor(e / step_size)                 (StepLR)
      exponential  lr * gamma^e                                    (ExponentialLR)
      cosine       min_lr + (lr - min_lr)(1 + cos(pi min(e, t_max) / t_max)) / 2"""
    lr = config.learning_rate
    if config.schedule == "constant":
        return lr
    if config.schedule == "step":
        return lr * config.gamma ** (epoch // config.step_size)
    if config.schedule == "exponential":
        return lr * config.gamma ** epoch
    if config.schedule == "cosine":
        progress = min(epoch, config.t_max) / config.t_max
        return config.min_lr + (lr - config.min_lr) * (1 + math.cos(math.pi * progress)) / 2
    raise ValueError(f"unknown schedule {config.schedule!r}")


def clip_scale(grad, clip_norm):
    """torch.nn.utils.clip_grad_norm_: the factor min(1, c / (||g||_2 + 1e-6)) for the
    whole gradient vector, the norm summed in float64; 1 when clipping is off."""
    if clip_norm <= 0:
        return 1.0
    norm = math.sqrt(float(np.sum(grad.astype(np.float64) ** 2)))
    coefficient = clip_norm / (norm + 1e-6)
    return coefficient if coefficient < 1 else 1.0


class Optimizer:
    """The update rules of the header, per parameter p with gradient g at step t:
      SGD      g += wd p; if momentum: v = mu v + g, g = nesterov ? g + mu v : v
               p -= lr g
      Adam     g += wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
               p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
      AdamW    p *= 1 - lr wd; then Adam without the g += wd p term
      RMSprop  g += wd p; s = alpha s + (1-alpha) g^2; d = g / (sqrt(s) + eps)
               if momentum: v = mu v + d, p -= lr v; else p -= lr d
    wd applies to the W ranges only unless decay_biases. The gradient is first scaled
    by clip_scale. Arithmetic is in the parameters' dtype (hyper-parameters cast to
    it); the bias corrections and lr * wd are formed in float64 first."""

    def __init__(self, config, sizes, dtype=np.float64):
        self.config = config
        self.t = 0                                   # steps taken
        count = param_count(sizes)
        mask = weight_mask(sizes)
        decay = config.weight_decay
        self.wd64 = np.where(mask, decay, decay if config.decay_biases else 0.0)
        self.wd = self.wd64.astype(dtype)            # per-parameter weight decay
        zeros = lambda: np.zeros(count, dtype)       # noqa: E731
        self.velocity = zeros()                      # SGD, RMSprop momentum buffer
        self.m, self.v = zeros(), zeros()            # Adam moments
        self.square = zeros()                        # RMSprop square average s

    def step(self, params, grad, epoch=0):
        """Updates params (flat) in place from grad (flat), at the scheduled rate."""
        c = self.config
        dt = params.dtype.type
        self.t += 1
        t = self.t
        lr64 = scheduled_learning_rate(c, epoch)
        lr, mu = dt(lr64), dt(c.momentum)
        g = grad * dt(clip_scale(grad, c.clip_norm))
        if c.kind == "sgd":
            g = g + self.wd * params
            if c.momentum > 0:
                self.velocity = mu * self.velocity + g
                g = g + mu * self.velocity if c.nesterov else self.velocity
            params -= lr * g
        elif c.kind in ("adam", "adamw"):
            if c.kind == "adamw":
                params *= (1 - lr64 * self.wd64).astype(params.dtype)   # decoupled
            else:
                g = g + self.wd * params
            b1, b2, eps = dt(c.beta1), dt(c.beta2), dt(c.epsilon)
            self.m = b1 * self.m + (1 - b1) * g
            self.v = b2 * self.v + (1 - b2) * g * g
            step_size = dt(lr64 / (1 - c.beta1 ** t))
            root2 = dt(math.sqrt(1 - c.beta2 ** t))
            params -= step_size * self.m / (np.sqrt(self.v) / root2 + eps)
        elif c.kind == "rmsprop":
            g = g + self.wd * params
            alpha, eps = dt(c.alpha), dt(c.epsilon)
            self.square = alpha * self.square + (1 - alpha) * g * g
            d = g / (np.sqrt(self.square) + eps)
            if c.momentum > 0:
                self.velocity = mu * self.velocity + d
                params -= lr * self.velocity
            else:
                params -= lr * d
        else:
            raise ValueError(f"unknown optimizer {c.kind!r}")
        return params


# =====================================================================================
# 9. The PRNG and the initial weights (bit for bit)
# =====================================================================================

MASK64 = (1 << 64) - 1


def rotl(x, k):
    """Rotate a 64-bit word left by k."""
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro256StarStar:
    """xoshiro256** whose four state words are four successive SplitMix64 outputs of
    the seed."""

    def __init__(self, seed):
        s, self.s = seed & MASK64, []
        for _ in range(4):                                   # SplitMix64
            s = (s + 0x9E3779B97F4A7C15) & MASK64
            z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            self.s.append(z ^ (z >> 31))

    def next(self):
        """The next 64-bit output."""
        s = self.s
        result = (rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def unit(self):
        """A float64 in [0, 1): the top 53 bits times 2^-53."""
        return (self.next() >> 11) * 2.0 ** -53


def init_range(init, activation, n_in, n_out):
    """Half-width r of U(-r, r): Glorot sqrt(6/(n_in+n_out)), He sqrt(6/n_in); auto is
    He for relu and leaky relu layers, Glorot otherwise."""
    he = init == "he" or (init == "auto" and activation in ("relu", "leaky_relu"))
    return math.sqrt(6.0 / n_in) if he else math.sqrt(6.0 / (n_in + n_out))


def initial_params(sizes, activations, seed, init="auto", dtype=np.float64):
    """The library's initial parameter vector for this seed: one draw per weight, W_0
    row-major, then W_1, ...; w = (2u - 1) r in float64, rounded to dtype; b = 0."""
    rng, parts = Xoshiro256StarStar(seed), []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        r = init_range(init, activations[l], n_in, n_out)
        w = np.array([(2.0 * rng.unit() - 1.0) * r for _ in range(n_in * n_out)])
        parts += [w.astype(dtype), np.zeros(n_out, dtype)]
    return np.concatenate(parts)


# =====================================================================================
# A whole model: parameters, optimizer and epoch, like an smlp_model
# =====================================================================================

@dataclass
class ReferenceModel:
    """smlp_create + smlp_set_optimizer + smlp_gradients / smlp_step / smlp_predict."""
    arch: Architecture
    dtype: type = np.float64
    seed: int = 0
    init: str = "auto"
    params: np.ndarray = None
    optimizer_config: OptimizerConfig = field(default_factory=lambda: optimizer_defaults("sgd"))
    epoch: int = 0

    def __post_init__(self):
        if self.params is None:
            self.params = initial_params(self.arch.sizes, self.arch.activations, self.seed,
                                         self.init, self.dtype)
        self.params = np.array(self.params, dtype=self.dtype)
        self.set_optimizer(self.optimizer_config)

    def set_optimizer(self, config):
        """Sets the optimizer and resets its state."""
        self.optimizer_config = config
        self.optimizer = Optimizer(config, self.arch.sizes, self.dtype)

    def gradients(self, X, Y=None, labels=None):
        """(L, grad, layer caches)."""
        return loss_and_gradients(self.params, self.arch, X, Y, labels)

    def step(self, X, Y=None, labels=None):
        """One optimizer step; returns (loss before the update, gradient used)."""
        L, grad, _ = self.gradients(X, Y, labels)
        self.optimizer.step(self.params, grad, self.epoch)
        return L, grad

    def predict(self, X):
        return predict(self.params, self.arch, X)


# =====================================================================================
# 12. Self-checks
# =====================================================================================

def central_differences(loss_of, params, h=1e-5):
    """(L(p + h e_i) - L(p - h e_i)) / 2h for every i, in float64, dividing by the
    step actually taken."""
    p = np.array(params, dtype=np.float64)
    numeric = np.empty_like(p)
    for i in range(p.size):
        old = p[i]
        p[i] = old + h
        up, step_up = loss_of(p), p[i] - old
        p[i] = old - h
        down, step_down = loss_of(p), old - p[i]
        p[i] = old
        numeric[i] = (up - down) / (step_up + step_down)
    return numeric


def relative_error(actual, expected):
    """Normwise relative difference max_i |actual - expected| / max_i |expected|
    (0 when both are all zero). Unlike an element-wise ratio it is not inflated by
    entries that are zero up to rounding."""
    actual = np.asarray(actual, np.float64).ravel()
    expected = np.asarray(expected, np.float64).ravel()
    difference = float(np.max(np.abs(actual - expected), initial=0.0))
    scale = float(np.max(np.abs(expected), initial=0.0))
    if difference == 0.0:
        return 0.0
    return difference / scale if scale > 0 else math.inf


def blockwise_relative_error(actual, expected, sizes):
    """The largest relative_error over the blocks W_0, b_0, W_1, ... of the flat layout,
    so an error confined to one small block (say one bias) is not hidden by the larger
    entries of another."""
    return max(relative_error(actual[start:stop], expected[start:stop])
               for start, stop in blocks(sizes))


def blocks(sizes):
    """[(start, stop)] of W_0, b_0, W_1, b_1, ... in the flat vector."""
    return [span for w_off, b_off, n_in, n_out in layer_offsets(sizes)
            for span in ((w_off, b_off), (b_off, b_off + n_out))]


def random_targets(rng, variant, n, k, dtype=np.float64):
    """(Y, labels) for a target variant: "dense" (normal, for MSE), "binary" (0/1),
    "onehot", "labels", "soft" (positive rows that do NOT sum to 1)."""
    if variant == "dense":
        return rng.normal(size=(n, k)).astype(dtype), None
    if variant == "binary":
        return (rng.random((n, k)) < 0.5).astype(dtype), None
    labels = rng.integers(0, k, size=n).astype(np.int32)
    if variant == "onehot":
        return one_hot(labels, k, dtype), None
    if variant == "labels":
        return None, labels
    if variant == "soft":
        Y = rng.random((n, k)) * rng.uniform(0.5, 1.5, size=(n, 1))
        return Y.astype(dtype), None
    raise ValueError(variant)


#: (output activation, loss, target variant): every pairing smlp_create accepts, with
#: every target form.
OUTPUT_CASES = (
    ("identity", "mse", "dense"), ("sigmoid", "mse", "dense"), ("tanh", "mse", "dense"),
    ("relu", "mse", "dense"), ("leaky_relu", "mse", "dense"), ("softmax", "mse", "dense"),
    ("sigmoid", "bce", "binary"), ("sigmoid", "bce", "soft"),
    ("softmax", "softmax_ce", "onehot"), ("softmax", "softmax_ce", "labels"),
    ("softmax", "softmax_ce", "soft"),
)
HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")


def _away_from_kinks(params, arch, X, margin=1e-3):
    """True when no relu / leaky relu pre-activation is within margin of 0."""
    for (Z, _), activation in zip(forward(params, arch, X), arch.activations):
        if activation in ("relu", "leaky_relu") and np.min(np.abs(Z)) < margin:
            return False
    return True


def check_gradients(arch, rng, n=5):
    """Analytic gradient vs central differences for a random network of `arch`; returns
    blockwise_relative_error."""
    variant = {"mse": "dense", "bce": "binary", "softmax_ce": "onehot"}[arch.loss]
    return check_gradients_with(arch, rng, variant, n)


def check_gradients_with(arch, rng, variant, n=5):
    """The same with targets of the given random_targets variant."""
    k = arch.sizes[-1]
    for _ in range(100):
        params = rng.normal(scale=0.7, size=param_count(arch.sizes))
        X = rng.normal(size=(n, arch.sizes[0]))
        if _away_from_kinks(params, arch, X):
            break
    Y, labels = random_targets(rng, variant, n, k)
    _, grad, _ = loss_and_gradients(params, arch, X, Y, labels)
    numeric = central_differences(lambda p: reference_loss(p, arch, X, Y, labels), params)
    return blockwise_relative_error(grad, numeric, arch.sizes)


def self_check(verbose=True):
    """Runs every self-check; returns a list of failure messages (empty: all pass)."""
    failures = []

    def report(name, ok, detail=""):
        if verbose:
            print(f"  {'ok  ' if ok else 'FAIL'} {name}{'  ' + detail if detail else ''}")
        if not ok:
            failures.append(f"{name} {detail}")

    if verbose:
        print("PRNG and initial weights (docs/backprop.md section 9 test vectors):")
    rng0 = Xoshiro256StarStar(0)
    report("SplitMix64 state for seed 0",
           rng0.s == [0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f,
                      0xf88bb8a8724c81ec])
    first = [rng0.next() for _ in range(3)]
    report("first three xoshiro256** outputs for seed 0",
           first == [0x99ec5f36cb75f2b4, 0xbf6e1f784956452a, 0x1a5f849d4933e6e0])
    p = initial_params((2, 4, 1), ("tanh", "sigmoid"), 42)
    report("[2,4,1] seed 42 weights",
           p[0] == -0.83227405788023567 and p[1] == -0.24203949867466279
           and p[12] == 0.57264257772322569 and p.size == 17 and not p[8:12].any())

    if verbose:
        print("Gradients vs central differences (float64, h = 1e-5, blockwise relative error < 1e-6):")
    rng = np.random.default_rng(20240601)
    worst = 0.0
    for output, loss, variant in OUTPUT_CASES:
        for reduction in REDUCTIONS:
            errors = []
            for hidden in HIDDEN:
                # Pairwise distinct widths and n, k >= 2 (docs/backprop.md section 10).
                arch = Architecture((3, 5, 4, 2), (hidden, hidden, output), loss, reduction,
                                    leaky_relu_slope=0.05)
                errors.append(check_gradients_with(arch, rng, variant, n=6))
            error = max(errors)
            worst = max(worst, error)
            report(f"output {output:10s} {loss:10s} {variant:6s} {reduction:4s} "
                   f"(hidden: all five)", error < 1e-6, f"max rel error {error:.1e}")
    for sizes in ((4, 3), (4, 6, 3), (4, 3, 6, 5, 2)):
        depth = len(sizes) - 1
        arch = Architecture(sizes, ("tanh",) * (depth - 1) + ("sigmoid",), "bce", "sum")
        error = check_gradients(arch, rng, n=7)
        report(f"depth {depth} network {sizes}", error < 1e-6, f"max rel error {error:.1e}")

    if verbose:
        print("Batch identity (sum reduction: batch gradient = sum of one-row gradients):")
    arch = Architecture((3, 5, 2), ("tanh", "softmax"), "softmax_ce", "sum")
    params = rng.normal(size=param_count(arch.sizes))
    X = rng.normal(size=(6, 3))
    labels = rng.integers(0, 2, size=6).astype(np.int32)
    _, batch_grad, _ = loss_and_gradients(params, arch, X, labels=labels)
    rows = sum(loss_and_gradients(params, arch, X[i:i + 1], labels=labels[i:i + 1])[1]
               for i in range(6))
    mean_arch = replace(arch, reduction="mean")
    _, mean_grad, _ = loss_and_gradients(params, mean_arch, X, labels=labels)
    report("sum == sum of rows, mean == sum / n",
           np.allclose(batch_grad, rows, rtol=1e-13, atol=1e-14)
           and np.allclose(mean_grad, rows / 6, rtol=1e-13, atol=1e-14))

    if verbose:
        print("Optimizer rules on hand-computed scalar examples:")
    for name, config, grads, expected in _optimizer_examples():
        opt = Optimizer(config, (1, 1))          # W (1 x 1) then b (1): decay on W only
        p = np.array([1.0, 1.0])
        for g in grads:
            opt.step(p, np.array([g, g]))
        ok = np.allclose(p, expected, rtol=1e-12, atol=0)
        report(name, ok, "" if ok else f"got {p.tolist()} expected {expected}")
    report("cosine schedule: lr at 0, t_max/2, t_max, after",
           [scheduled_learning_rate(optimizer_defaults("sgd", learning_rate=1.0,
                                                       schedule="cosine", t_max=4,
                                                       min_lr=0.2), e)
            for e in (0, 2, 4, 9)] == [1.0, 0.6000000000000001, 0.2, 0.2])
    report("step schedule", [scheduled_learning_rate(optimizer_defaults(
        "sgd", learning_rate=1.0, schedule="step", step_size=2, gamma=0.5), e)
        for e in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25])
    report("clip scale: norm 5 clipped to 1",
           abs(clip_scale(np.array([3.0, 4.0]), 1.0) - 1 / (5 + 1e-6)) < 1e-16
           and clip_scale(np.array([3.0, 4.0]), 10.0) == 1.0)
    return failures


def _optimizer_examples():
    """(name, config, gradients per step, expected [W, b] after those steps), starting
    at W = b = 1 and giving W and b the same gradient; worked out by hand."""
    ex = []
    # SGD, wd 0.5 on W only: W: 1 - 0.1 (2 + 0.5) = 0.75;  b: 1 - 0.1 * 2 = 0.8
    ex.append(("SGD + weight decay on W only",
               optimizer_defaults("sgd", learning_rate=0.1, weight_decay=0.5), [2.0], [0.75, 0.8]))
    # decay_biases: b also 0.75
    ex.append(("SGD + weight decay on all",
               optimizer_defaults("sgd", learning_rate=0.1, weight_decay=0.5, decay_biases=True),
               [2.0], [0.75, 0.75]))
    # momentum 0.9, g = 1, 1: v1 = 1, p = 0.9; v2 = 1.9, p = 0.9 - 0.19 = 0.71
    ex.append(("SGD momentum", optimizer_defaults("sgd", learning_rate=0.1, momentum=0.9),
               [1.0, 1.0], [0.71, 0.71]))
    # Nesterov: v1 = 1, step 1 + 0.9 = 1.9 -> 0.81; v2 = 1.9, step 1 + 1.71 = 2.71 -> 0.539
    ex.append(("SGD Nesterov", optimizer_defaults("sgd", learning_rate=0.1, momentum=0.9,
                                                   nesterov=True), [1.0, 1.0], [0.539, 0.539]))
    # Adam step 1: m = 0.1 g, v = 0.001 g^2 -> m/(1-b1) = g, sqrt(v/(1-b2)) = |g|:
    # p = 1 - lr g / (|g| + eps) = 1 - 0.1 * 4 / (4 + 1e-8)
    step1 = 1 - 0.1 * 4 / (4 + 1e-8)
    ex.append(("Adam first step", optimizer_defaults("adam", learning_rate=0.1), [4.0],
               [step1, step1]))
    # AdamW wd 0.5, lr 0.1: W first shrinks by 1 - 0.05 = 0.95, b does not.
    ex.append(("AdamW first step (decay W only)",
               optimizer_defaults("adamw", learning_rate=0.1, weight_decay=0.5), [4.0],
               [0.95 - 0.1 * 4 / (4 + 1e-8), step1]))
    # RMSprop step 1: s = 0.01 g^2 -> d = g / (0.1 |g| + eps) = 10 / (1 + 2.5e-8)
    d = 4 / (0.4 + 1e-8)
    ex.append(("RMSprop first step", optimizer_defaults("rmsprop", learning_rate=0.01), [4.0],
               [1 - 0.01 * d, 1 - 0.01 * d]))
    # RMSprop momentum 0.5, two steps of g = 4: s1 = 0.16, d1 = 4/(0.4+eps);
    # s2 = 0.99*0.16 + 0.16 = 0.3184, d2 = 4/(sqrt(0.3184)+eps); v2 = 0.5 d1 + d2
    d2 = 4 / (math.sqrt(0.99 * 0.16 + 0.01 * 16) + 1e-8)
    p2 = 1 - 0.01 * d - 0.01 * (0.5 * d + d2)
    ex.append(("RMSprop momentum, two steps",
               optimizer_defaults("rmsprop", learning_rate=0.01, momentum=0.5), [4.0, 4.0],
               [p2, p2]))
    return ex


def main():
    print("numpy_reference.py self-checks")
    failures = self_check(verbose=True)
    if failures:
        print(f"\n{len(failures)} self-check(s) FAILED:")
        for failure in failures:
            print("  " + failure)
        return 1
    print("\nall self-checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
