"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

They follow ``sklearn.neural_network``: the same parameters with the same meanings,
defaults and error messages, the same fitted attributes (``classes_``,
``n_features_in_``, ``coefs_``, ``intercepts_``, ``loss_``, ``loss_curve_``,
``best_loss_``, ``validation_scores_``, ``best_validation_score_``, ``n_iter_``,
``t_``...), and the same training loop (epochs, tol and n_iter_no_change,
early stopping on the validation score with the best epoch's parameters kept,
learning_rate "constant", "invscaling" and "adaptive" for SGD, sample weights,
sparse X, warm_start, partial_fit). The arithmetic runs in libswiftmlp. They
subclass ``sklearn.base.BaseEstimator`` and the Classifier/Regressor mixins when
scikit-learn is installed; without it a small fallback base provides
get_params/set_params/score.

What swiftmlp adds, each an explicit parameter whose default is scikit-learn's
behaviour: ``dtype`` (None: float32 input trains a float32 model, anything else
float64, as scikit-learn; or force "float32"/"float64"), ``standardize`` (False;
True keeps a feature scaler inside the model), ``progress`` (False; True shows a
tqdm progress bar), solvers "adamw" and "rmsprop" and learning_rate "cosine".
An int random_state gives scikit-learn's initial weights and early-stopping split
(its RandomState draws, in its order); the mini-batches are shuffled by the
library's generator. Where the results cannot be scikit-learn's bit for bit: that
shuffling, Adam's epsilon (PyTorch's placement), SGD momentum (PyTorch's form: the
same as scikit-learn's at a constant learning rate, not under "invscaling" or
"adaptive"), the library's L-BFGS, the log-loss (exact; scikit-learn clips
probabilities below machine epsilon), and the L2 term alpha on the stochastic
solvers: a weight decay of alpha / batch_size on every batch, where scikit-learn
divides by each batch's own sum of sample weights (without weights its size: the
same except for a shorter last batch, when batch_size does not divide the number
of samples, and for partial_fit calls of other sizes). With sample weights, lbfgs
runs scipy's L-BFGS-B on scikit-learn's weighted objective, as scikit-learn does.
bindings/python/tests/sklearn_conformance runs scikit-learn's own test_mlp.py
against these estimators and lists what differs, and why.
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
import warnings
from typing import Any

import numpy as np

from ._capi import Loss, Status
from ._errors import NonFiniteError
from ._progress import progress_bar
from ._names import _ACTIVATION_NAMES, _LOSS_NAMES, _code
from .network import Network

try:  # scikit-learn is optional
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data
    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised by a subprocess test
    HAVE_SKLEARN = False

    class ConvergenceWarning(UserWarning):
        """Training stopped at max_iter before the loss settled."""

    class DataConversionWarning(UserWarning):
        """The target was reshaped."""

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before fit."""

    class BaseEstimator:
        """The part of sklearn.base.BaseEstimator these estimators need."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            signature = inspect.signature(cls.__init__)
            return sorted(name for name, p in signature.parameters.items()
                          if name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params: Any) -> "BaseEstimator":
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"Invalid parameter {key!r} for estimator {self}. "
                                     f"Valid parameters are: {valid!r}.")
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
            changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                       if not (isinstance(v, type(defaults.get(k))) and v == defaults.get(k))]
            return f"{type(self).__name__}({', '.join(changed)})"

    class ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X: Any, y: Any) -> float:
            """Mean accuracy (subset accuracy for multilabel)."""
            predicted = self.predict(X)
            y = np.asarray(y)
            if y.ndim == 2 and predicted.ndim == 2:
                return float(np.mean(np.all(predicted == y, axis=1)))
            return float(np.mean(predicted == y.reshape(predicted.shape)))

    class RegressorMixin:
        _estimator_type = "regressor"

        def score(self, X: Any, y: Any) -> float:
            """R^2 (uniform average over outputs)."""
            predicted = np.asarray(self.predict(X), dtype=float)
            y = np.asarray(y, dtype=float).reshape(predicted.shape)
            if y.ndim == 1:
                y, predicted = y[:, None], predicted[:, None]
            residual = ((y - predicted) ** 2).sum(axis=0)
            total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                              np.where(residual == 0, 1.0, 0.0))
            return float(r2.mean())

    def check_random_state(seed: Any) -> np.random.RandomState:
        if seed is None or seed is np.random:
            return np.random.mtrand._rand
        if isinstance(seed, numbers.Integral):
            return np.random.RandomState(int(seed))
        if isinstance(seed, np.random.RandomState):
            return seed
        raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")

__all__ = ["MLPClassifier", "MLPRegressor"]


class _available_if:  # noqa: N801 - as sklearn.utils.metaestimators.available_if
    """A method that exists only when check(estimator) is true. Unlike sklearn's, an
    exception raised by check reaches the caller as it is (see _PartialFitUnavailable)."""

    def __init__(self, check: Any) -> None:
        self.check = check

    def __call__(self, function: Any) -> "_available_if":
        self.function = function
        return self

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.function
        if not self.check(obj):
            raise AttributeError(f"This {type(obj).__name__} has no attribute {self.function.__name__!r}")
        return self.function.__get__(obj, owner)

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "leaky_relu": "leaky_relu"}
_STOCHASTIC_SOLVERS = ("adam", "sgd", "adamw", "rmsprop")
_SOLVERS = ("lbfgs", *_STOCHASTIC_SOLVERS)
_SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")
_NON_FINITE_MESSAGE = ("Solver produced non-finite parameter weights. The input data may contain "
                       "large values and need to be preprocessed.")


class _PartialFitUnavailable(AttributeError, ValueError):
    """partial_fit with early_stopping=True: sklearn's ValueError (same message), and
    an AttributeError, so that hasattr(estimator, "partial_fit") is False and generic
    code (check_estimator) does not call a method that cannot run."""


class _OptimizerState:
    """What sklearn's ``_optimizer`` attribute exposes: the learning rate the next
    epoch uses (``learning_rate_init`` divided as "invscaling" and "adaptive" say)."""

    def __init__(self, solver: str, learning_rate: float) -> None:
        self.solver = solver
        self.learning_rate = learning_rate
        self.drops = 0  # "adaptive": how many times the rate was divided by 5


def _r2(y: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None) -> float:
    """sklearn.metrics.r2_score (uniform average over outputs, force_finite)."""
    y = y.reshape(len(y), -1).astype(np.float64)
    predicted = predicted.reshape(len(predicted), -1).astype(np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w[:, None]
    numerator = (w * (y - predicted) ** 2).sum(axis=0)
    mean = (w * y).sum(axis=0) / w.sum()
    denominator = (w * (y - mean) ** 2).sum(axis=0)
    scores = np.ones(y.shape[1])
    nonzero = denominator != 0
    scores[nonzero] = 1 - numerator[nonzero] / denominator[nonzero]
    scores[(numerator != 0) & ~nonzero] = 0.0
    return float(scores.mean())


def _accuracy(y: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None) -> float:
    """sklearn.metrics.accuracy_score (subset accuracy for a label matrix)."""
    right = np.all(y == predicted, axis=1) if y.ndim == 2 else (y == predicted)
    return float(np.average(right, weights=weights))


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share (not public)."""

    _out_activation: str = "identity"

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: Any = 10, max_fun: int = 15000, dtype: Any = None,
                 standardize: bool = False, progress: bool = False) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.standardize = standardize
        self.progress = progress

    # -- scikit-learn plumbing -----------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags

    def _check_fitted(self) -> None:
        if HAVE_SKLEARN:
            check_is_fitted(self)
        elif not hasattr(self, "network_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments before using this estimator.")

    def _check_solver(self) -> bool:
        """partial_fit exists for the stochastic solvers only (as in sklearn), and not
        with early_stopping=True (sklearn's partial_fit raises ValueError then)."""
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        if self.early_stopping:
            raise _PartialFitUnavailable("partial_fit does not support early_stopping=True")
        return True

    def _input_dtypes(self, reset: bool) -> Any:
        """The dtype X is validated to: the model's once there is one; else the
        ``dtype`` parameter, or with None float32 for float32 X and float64 otherwise."""
        network = getattr(self, "network_", None)
        if network is not None and not reset:
            return network.dtype
        if self.dtype is None:
            return (np.float64, np.float32)
        dtype = np.dtype(self.dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}")
        return dtype

    def _dense(self, X: Any) -> np.ndarray:
        """A validated X as the C-contiguous dense array the library reads (a sparse X
        is densified: the library computes on dense rows)."""
        if hasattr(X, "toarray"):
            X = X.toarray()
        return np.ascontiguousarray(X)

    def _validate_X(self, X: Any, reset: bool, dtype: Any = None) -> np.ndarray:
        dtype = self._input_dtypes(reset) if dtype is None else dtype
        if HAVE_SKLEARN:
            return self._dense(validate_data(self, X, reset=reset, dtype=dtype,
                                             accept_sparse=["csr", "csc"]))
        X = self._dense(X) if hasattr(X, "toarray") else X
        X = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if np.iscomplexobj(X):
            raise ValueError("Complex data not supported")
        if isinstance(dtype, tuple):
            dtype = np.float32 if X.dtype == np.float32 else np.float64
        X = np.ascontiguousarray(X, dtype=dtype)
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead. Reshape your data.")
        if X.shape[0] < 1:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
        if not np.all(np.isfinite(X)):
            raise ValueError("Input X contains NaN or infinity.")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return X

    def _validate_Xy(self, X: Any, y: Any, reset: bool, y_numeric: bool) -> tuple[np.ndarray, np.ndarray]:
        dtype = self._input_dtypes(reset)
        if HAVE_SKLEARN:
            X, y = validate_data(self, X, y, reset=reset, dtype=dtype, accept_sparse=["csr", "csc"],
                                 multi_output=True, y_numeric=y_numeric)
            return self._dense(X), y
        X = self._validate_X(X, reset)
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                             f"[{X.shape[0]}, {y.shape[0]}]")
        return X, y

    def _check_sample_weight(self, sample_weight: Any, n_samples: int) -> np.ndarray | None:
        """sample_weight as float64 (n_samples,), or None when absent or all ones (the
        same training as none, so the fast path runs)."""
        if sample_weight is None:
            return None
        if isinstance(sample_weight, numbers.Number):
            weights = np.full(n_samples, float(sample_weight))
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if weights.ndim != 1 or weights.shape[0] != n_samples:
                raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n_samples},)!")
        if not np.all(np.isfinite(weights)):
            raise ValueError("Input sample_weight contains NaN or infinity.")
        if np.any(weights < 0):
            raise ValueError("Negative values in data passed to `sample_weight`")
        if weights.sum() <= 0:
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return None if np.all(weights == 1.0) else weights

    def _check_hyperparameters(self) -> tuple[tuple[int, ...], str]:
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, numbers.Integral):
            hidden = (hidden,)
        try:
            hidden = tuple(int(h) for h in hidden)
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be an int or a sequence of ints, "
                             f"got {self.hidden_layer_sizes!r}") from None
        if any(h <= 0 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {list(hidden)}.")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"The 'activation' parameter of {type(self).__name__} must be a str among "
                             f"{sorted(_ACTIVATIONS)}. Got {self.activation!r} instead.")
        if self.solver not in _SOLVERS:
            raise ValueError(f"The 'solver' parameter of {type(self).__name__} must be a str among "
                             f"{list(_SOLVERS)}. Got {self.solver!r} instead.")
        if self.learning_rate not in _SCHEDULES:
            raise ValueError(f"The 'learning_rate' parameter of {type(self).__name__} must be a str "
                             f"among {list(_SCHEDULES)}. Got {self.learning_rate!r} instead.")
        checks = [
            ("max_iter", self.max_iter, lambda v: isinstance(v, numbers.Integral) and v >= 1, "an int >= 1"),
            ("max_fun", self.max_fun, lambda v: isinstance(v, numbers.Integral) and v >= 1, "an int >= 1"),
            ("n_iter_no_change", self.n_iter_no_change,
             lambda v: (isinstance(v, numbers.Integral) and v >= 1) or (isinstance(v, numbers.Real)
                                                                        and v == math.inf),
             "an int >= 1 or numpy.inf"),
            ("alpha", self.alpha, lambda v: isinstance(v, numbers.Real) and v >= 0, "a number >= 0"),
            ("learning_rate_init", self.learning_rate_init,
             lambda v: isinstance(v, numbers.Real) and v > 0, "a number > 0"),
            ("power_t", self.power_t, lambda v: isinstance(v, numbers.Real) and v >= 0, "a number >= 0"),
            ("tol", self.tol, lambda v: isinstance(v, numbers.Real) and v >= 0, "a number >= 0"),
            ("momentum", self.momentum, lambda v: isinstance(v, numbers.Real) and 0 <= v <= 1, "in [0, 1]"),
            ("beta_1", self.beta_1, lambda v: isinstance(v, numbers.Real) and 0 <= v < 1, "in [0, 1)"),
            ("beta_2", self.beta_2, lambda v: isinstance(v, numbers.Real) and 0 <= v < 1, "in [0, 1)"),
            ("epsilon", self.epsilon, lambda v: isinstance(v, numbers.Real) and v > 0, "a number > 0"),
            ("validation_fraction", self.validation_fraction,
             lambda v: isinstance(v, numbers.Real) and 0 < v < 1, "in (0, 1)"),
            ("batch_size", self.batch_size,
             lambda v: v == "auto" or (isinstance(v, numbers.Integral) and v >= 1), "'auto' or an int >= 1"),
        ]
        for name, value, ok, expected in checks:
            if isinstance(value, bool) or not ok(value):
                raise ValueError(f"The '{name}' parameter of {type(self).__name__} must be {expected}. "
                                 f"Got {value!r} instead.")
        self._input_dtypes(reset=True)  # validates dtype
        return hidden, _ACTIVATIONS[self.activation]

    def _seed(self) -> int:
        """The library's seed (its generator shuffles the mini-batches): an int
        random_state itself, else a draw from this fit's _random_state."""
        if isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool):
            return int(self.random_state) & 0xFFFFFFFFFFFFFFFF
        return int(self._random_state.randint(0, 2**31 - 1))

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                          "It is going to be clipped", UserWarning)
        return max(1, min(int(self.batch_size), n_samples))

    def _set_optimizer(self, network: Network, batch_size: int, mean_weight: float = 1.0) -> None:
        """A fresh optimizer (state reset), as sklearn makes one each fit."""
        settings: dict[str, Any] = {"learning_rate": float(self.learning_rate_init)}
        # scikit-learn adds alpha * W / (the batch's sum of sample weights) to the
        # gradient: an L2 weight decay of alpha / (batch_size * mean weight) on the
        # weights (not the biases); exact without weights on batches of batch_size
        # rows (not on a shorter last one) and with one batch.
        decay = float(self.alpha) / (batch_size * mean_weight)
        if self.solver == "sgd":
            momentum = float(self.momentum)
            if momentum >= 1:  # sklearn allows 1; the library's SGD needs < 1
                momentum = math.nextafter(1.0, 0.0)
            settings.update(momentum=momentum, nesterov=bool(self.nesterovs_momentum) and momentum > 0,
                            weight_decay=decay)
            if self.learning_rate == "invscaling" and self.power_t > 0:
                # lr / (e + 1)^power_t with e set to the samples seen before each epoch.
                settings.update(schedule="inverse_scaling", gamma=float(self.power_t))
            elif self.learning_rate == "adaptive":
                # lr * 0.2^e with e set to the number of divisions by 5 before each epoch.
                settings.update(schedule="exponential", gamma=0.2)
        elif self.solver in ("adam", "adamw"):
            settings.update(beta1=float(self.beta_1), beta2=float(self.beta_2), epsilon=float(self.epsilon),
                            weight_decay=float(self.alpha) if self.solver == "adamw" else decay)
        else:  # rmsprop
            settings.update(momentum=float(self.momentum) if self.momentum < 1 else 0.0,
                            epsilon=float(self.epsilon), weight_decay=decay)
        if self.learning_rate == "cosine":
            settings.update(schedule="cosine", t_max=int(self.max_iter))
            network.epoch = 0
        network.set_optimizer(self.solver, **settings)
        self._optimizer = _OptimizerState(self.solver, float(self.learning_rate_init))

    # -- what the subclasses define ---------------------------------------------------------

    def _loss_name(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_outputs(self, outputs: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    # -- training --------------------------------------------------------------------------------

    def _new_network(self, n_features: int, n_outputs: int, dtype: np.dtype) -> Network:
        hidden, activation = self._check_hyperparameters()
        sizes = (n_features, *hidden, n_outputs)
        activations = [activation] * len(hidden) + [self._out_activation]
        seed = self._seed()
        network = Network(sizes, activations, loss=self._loss_name(), dtype=dtype, seed=seed,
                          init="glorot_uniform")
        # sklearn's initialisation, its very draws: layer by layer, W (fan_in x fan_out)
        # then b, uniform in +-sqrt(factor / (fan_in + fan_out)) (factor 6, or 2 for
        # logistic), from this fit's RandomState, which then draws the early-stopping
        # split; so an int random_state starts where scikit-learn's MLP starts.
        flat = network.params
        weights, biases = network.unflatten(flat)
        rng = self._random_state
        factor = 2.0 if self.activation == "logistic" else 6.0
        for w, b in zip(weights, biases):
            bound = math.sqrt(factor / (w.shape[0] + w.shape[1]))
            w[...] = rng.uniform(-bound, bound, w.shape)
            b[...] = rng.uniform(-bound, bound, b.shape[0])
        network.params = flat
        pending = self.__dict__.pop("_pending_layers", None)
        if pending is not None:
            # coefs_ / intercepts_ assigned before the first fit (as sklearn allows).
            self.network_ = network
            weights, biases = pending
            if weights is not None:
                self._set_layers(list(weights), None)
            if biases is not None:
                self._set_layers(None, list(biases))
        return network

    def _start(self, X: np.ndarray, n_outputs: int, first_pass: bool) -> None:
        """A new model and history on the first pass; else the model continues."""
        if first_pass:
            self.network_ = self._new_network(X.shape[1], n_outputs, X.dtype)
            self.n_iter_ = 0
            self.t_ = 0
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_: list[float] | None = []
                self.best_validation_score_: float | None = -math.inf
                self.best_loss_: float | None = None
            else:
                self.validation_scores_ = None
                self.best_validation_score_ = None
                self.best_loss_ = math.inf
            self.__dict__.pop("_best_params", None)
            self.__dict__.pop("_optimizer", None)
        else:
            self._follow_changed_settings()
            if self.early_stopping and self.validation_scores_ is None:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -math.inf, None
            elif not self.early_stopping and self.best_loss_ is None:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, math.inf
        self.n_outputs_ = n_outputs
        self.n_layers_ = self.network_.n_layers + 1
        self.out_activation_ = self._out_activation_name

    def _outputs_per_loss(self, targets: np.ndarray) -> int:
        """What the library's loss is divided by to be sklearn's: the outputs of a
        squared error (sklearn's is a mean over them, the library's a sum), else 1."""
        return targets.shape[1] if (self._loss_name() == "mse" and targets.ndim == 2) else 1

    def _follow_changed_settings(self) -> None:
        """A warm start or partial_fit after set_params changed the activation or the
        loss: sklearn continues from the same coefficients with the new ones, so the
        network is rebuilt with them around its parameters and scaler."""
        hidden, activation = self._check_hyperparameters()
        network = self.network_
        names = [activation] * len(hidden) + [self._out_activation]
        if (network.activations == tuple(_code(name, _ACTIVATION_NAMES, "activation") for name in names)
                and network.loss == _code(self._loss_name(), _LOSS_NAMES, "loss")):
            return
        rebuilt = Network(network.layer_sizes, names, loss=self._loss_name(), dtype=network.dtype,
                          seed=self._seed())
        rebuilt.params = network.params
        if network.scaler is not None:
            rebuilt.set_scaler(*network.scaler)
        self.network_ = rebuilt
        self.__dict__.pop("_optimizer", None)

    def _snapshot(self) -> dict[str, Any]:
        """What a failed fit puts back."""
        state = {key: value for key, value in self.__dict__.items()
                 if key.endswith("_") and not key.startswith("__") or key in (
                     "_no_improvement_count", "_optimizer", "_best_params", "_kind", "_y_1d")}
        for key in ("loss_curve_", "validation_scores_"):
            if isinstance(state.get(key), list):
                state[key] = list(state[key])
        network = state.get("network_")
        if network is not None:
            state["_params"] = network.params
            state["_epoch"] = network.epoch
        return state

    def _restore(self, state: dict[str, Any], first_pass: bool) -> None:
        for key in [k for k in self.__dict__ if k.endswith("_") and not k.startswith("__")]:
            if key not in state:
                del self.__dict__[key]
        for key, value in state.items():
            if key not in ("_params", "_epoch"):
                self.__dict__[key] = value
        network = state.get("network_")
        if network is not None and not first_pass:
            network.params = state["_params"]
            network.epoch = state["_epoch"]

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool, classes: Any = None) -> "_BaseMLP":
        self._check_hyperparameters()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        if not incremental and not self.warm_start:
            # A plain fit starts from the initialisation, as sklearn's does: coefs_ and
            # intercepts_ assigned before it are not used.
            self.__dict__.pop("_pending_layers", None)
        # as sklearn, every fit starts its own stream: an int gives the same draws each time
        self._random_state = check_random_state(self.random_state)
        state = self._snapshot()
        try:
            X, targets, weights = self._prepare(X, y, sample_weight, incremental, first_pass, classes)
            self._start(X, targets.shape[1] if targets.ndim == 2 else len(self.classes_), first_pass)
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, targets, weights)
            else:
                self._fit_stochastic(X, targets, weights, incremental)
        except NonFiniteError as error:
            self._restore(state, first_pass)
            raise ValueError(_NON_FINITE_MESSAGE) from error
        except BaseException:
            if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
                self._restore(state, first_pass)
            raise
        return self

    def _fit_lbfgs(self, X: np.ndarray, targets: np.ndarray, weights: np.ndarray | None) -> None:
        """sklearn's lbfgs: L-BFGS on the whole data set (the library's), at most
        max_iter iterations and max_fun loss-and-gradient evaluations, stopping when
        every gradient entry is within tol, minimising the mean loss plus
        0.5 * alpha * ||W||^2 / n_samples. No early stopping, as in sklearn. With
        sample weights, scipy's L-BFGS-B (`_fit_lbfgs_weighted`)."""
        network = self.network_
        self._fit_scaler(network, X, weights)
        self._optimizer = _OptimizerState(self.solver, float(self.learning_rate_init))
        if weights is not None:
            self._fit_lbfgs_weighted(X, targets, weights)
            return
        network.set_optimizer("sgd", learning_rate=float(self.learning_rate_init),
                              weight_decay=float(self.alpha) / X.shape[0])
        verbose = bool(self.verbose)
        reports: list[Any] = []
        per_output = self._outputs_per_loss(targets)

        def report(epoch: Any) -> bool:
            reports.append(epoch)
            if verbose:
                print("Iteration %d, loss = %.8f" % (epoch.epoch, epoch.train_loss))
            return False

        try:
            summary = network.train(X, targets, method="lbfgs", epochs=int(self.max_iter),
                                    max_fun=int(self.max_fun), tol=float(self.tol), callback=report,
                                    progress=bool(self.progress))
        except KeyboardInterrupt:
            # Ctrl-C: the library stopped after the current iteration, whose weights the
            # model keeps; the attributes say how far it got (loss_: the mean loss plus
            # the L2 term, the objective L-BFGS minimises).
            if reports:
                self.n_iter_ = len(reports)
                self.t_ = self.t_ + X.shape[0] * self.n_iter_
                self.loss_curve_.extend(float(r.train_loss) / per_output for r in reports)
                self.loss_ = float(reports[-1].train_loss) / per_output + self._l2_penalty(network) / X.shape[0]
            raise
        self.n_iter_ = min(int(summary.n_iter), int(self.max_iter))
        self.t_ = self.t_ + X.shape[0] * self.n_iter_
        # The objective minimised, with its data term on sklearn's scale: the same
        # gradient, but sklearn reports squared errors as a mean over the outputs too.
        self.loss_ = float(summary.final_objective) - float(summary.final_train_loss) * (1 - 1 / per_output)
        self.loss_curve_.extend(float(v) / per_output for v in summary.loss_curve)
        self._lbfgs_evaluations = int(summary.n_fun)
        messages = {
            "max_epochs": (1, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"),
            "max_function_evals": (1, "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"),
            "line_search_failed": (2, "ABNORMAL: no step along the search direction lowered the loss"),
        }
        if summary.stop_reason in messages:
            status, message = messages[summary.stop_reason]
            self._warn_lbfgs_not_converged(status, message, summary.stop_reason == "max_epochs")

    def _warn_lbfgs_not_converged(self, status: int, message: str, iteration_limit: bool) -> None:
        """sklearn's ConvergenceWarning of an lbfgs fit that stopped on a limit."""
        text = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={status}):\n"
                f"{message}\n")
        if iteration_limit:
            text += ("\nIncrease the number of iterations to improve the convergence "
                     f"(max_iter={self.max_iter}).")
        text += ("\nYou might also want to scale the data as shown in:\n"
                 "    https://scikit-learn.org/stable/modules/preprocessing.html")
        warnings.warn(text, ConvergenceWarning, stacklevel=5)

    def _fit_lbfgs_weighted(self, X: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        """lbfgs with sample weights, as sklearn's: scipy's L-BFGS-B on
        sum_i w_i l_i / sum w + 0.5 alpha ||W||^2 / sum w. The loss comes from the
        network's outputs; the gradient from the library, on targets shifted so that
        the batch's mean gradient is the weighted one (as in `_weighted_epoch`)."""
        try:
            from scipy.optimize import minimize
        except ImportError as error:  # scikit-learn needs scipy; the estimators alone do not
            raise ImportError("solver='lbfgs' with sample_weight runs scipy's L-BFGS-B, as "
                              "scikit-learn does: pip install scipy") from error

        network = self.network_
        dense64 = self._dense_rows(network, targets).astype(np.float64)
        n, w_sum = X.shape[0], float(weights.sum())
        if not w_sum > 0:
            raise ValueError("the sample weights sum to 0: there is nothing to fit")
        scale = (weights * n / w_sum)[:, None]
        decay = np.zeros(network.param_count)
        for info in network._layers:
            decay[info.weight_offset:info.bias_offset] = float(self.alpha) / w_sum
        per_output = self._outputs_per_loss(targets)
        curve: list[float] = []

        def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
            network.params = p.astype(network.dtype)
            outputs = network.predict(X).astype(np.float64)
            data = float(np.dot(weights, self._sample_losses(outputs, dense64))) / w_sum
            shifted = self._weighted_gradient_targets(outputs, dense64, scale, network.dtype)
            gradient = network.gradients(X, shifted).flat.astype(np.float64)
            curve.append(data / per_output)
            return data + 0.5 * float(np.dot(decay * p, p)), gradient + decay * p

        result = minimize(objective, network.params.astype(np.float64), method="L-BFGS-B", jac=True,
                          options={"maxfun": int(self.max_fun), "maxiter": int(self.max_iter),
                                   "gtol": float(self.tol)})
        network.params = result.x.astype(network.dtype)
        self.n_iter_ = min(int(result.nit), int(self.max_iter))
        self.t_ = self.t_ + n * self.n_iter_
        data = curve[-1] if curve else math.nan
        self.loss_ = float(result.fun) - data * (per_output - 1)
        self.loss_curve_.extend(curve)
        self._lbfgs_evaluations = int(result.nfev)
        if result.status != 0:
            self._warn_lbfgs_not_converged(int(result.status), str(result.message), int(result.nit) >= self.max_iter)

    def _fit_scaler(self, network: Network, X: np.ndarray, weights: np.ndarray | None) -> None:
        """With standardize, the scaler of the training rows, weighted as they are (the
        statistics of rows repeated by their weights), on the first fit; without it,
        none."""
        if not self.standardize:
            if network.scaler is not None:
                network.clear_scaler()
            return
        if network.scaler is not None:
            return
        if weights is None:
            network.fit_scaler(X)
            return
        data = X.astype(np.float64)
        mean = np.average(data, axis=0, weights=weights)
        variance = np.average((data - mean) ** 2, axis=0, weights=weights)
        # a constant feature (scikit-learn's test, up to rounding) keeps std 1
        eps, count = np.finfo(np.float64).eps, X.shape[0]
        constant = variance <= count * eps * variance + (count * mean * eps) ** 2
        network.set_scaler(mean, np.where(constant, 1.0, np.sqrt(variance)))

    def _split(self, X: np.ndarray, targets: np.ndarray, weights: np.ndarray | None) -> tuple:
        """sklearn's split: train_test_split with validation_fraction, stratified on a
        single-output classifier's target."""
        stratify = self._stratify(targets)
        arrays = [X, targets] if weights is None else [X, targets, weights]
        if HAVE_SKLEARN:
            from sklearn.model_selection import train_test_split
            parts = train_test_split(*arrays, random_state=self._random_state,
                                     test_size=self.validation_fraction, stratify=stratify)
        else:
            order = self._random_state.permutation(X.shape[0])
            n_val = int(math.ceil(self.validation_fraction * X.shape[0]))
            if n_val < 1 or n_val >= X.shape[0]:
                raise ValueError(f"With n_samples={X.shape[0]}, test_size={self.validation_fraction} "
                                 "the resulting train set will be empty.")
            val, train = order[:n_val], order[n_val:]
            parts = [p for a in arrays for p in (a[train], a[val])]
        X_train, X_val, t_train, t_val = parts[:4]
        w_train, w_val = (parts[4], parts[5]) if weights is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return X_train, X_val, t_train, t_val, w_train, w_val

    def _stratify(self, targets: np.ndarray) -> np.ndarray | None:
        return None

    def _l2_penalty(self, network: Network) -> float:
        """0.5 * alpha * sum of squared weights (not biases), as in sklearn's loss."""
        if self.alpha == 0:
            return 0.0
        flat = network.params
        total = 0.0
        for info in network._layers:
            w = flat[info.weight_offset:info.bias_offset].astype(np.float64)
            total += float(np.dot(w, w))
        return 0.5 * float(self.alpha) * total

    def _fit_stochastic(self, X: np.ndarray, targets: np.ndarray, weights: np.ndarray | None,
                        incremental: bool) -> None:
        network = self.network_
        early_stopping = bool(self.early_stopping)
        X_val = t_val = w_val = None
        if early_stopping:
            X, X_val, targets, t_val, weights, w_val = self._split(X, targets, weights)
        n_train = X.shape[0]
        batch_size = self._batch_size(n_train)
        if not incremental or not hasattr(self, "_optimizer"):
            self._set_optimizer(network, batch_size, 1.0 if weights is None else float(weights.mean()))
        self._fit_scaler(network, X, weights)
        optimizer = self._optimizer
        n_batches = -(-n_train // batch_size)
        n_outputs_for_loss = self._outputs_per_loss(targets)
        order = np.arange(n_train)  # the weighted epochs' sample order, shuffled as sklearn's
        schedule = self.solver == "sgd" and self.learning_rate in ("invscaling", "adaptive")
        max_iter = 1 if incremental else int(self.max_iter)
        bar = progress_bar(max_iter, "training", bool(self.progress) and not incremental)
        diverged = False
        interrupted: BaseException | None = None
        reports: list[Any] = []
        self.n_iter_ = 0
        try:
            for _ in range(max_iter):
                if schedule:
                    fresh = optimizer.learning_rate == self.learning_rate_init and optimizer.drops == 0
                    if self.learning_rate == "invscaling":
                        network.epoch = 0 if fresh else self.t_
                    else:
                        network.epoch = optimizer.drops
                if diverged:
                    loss = math.nan
                else:
                    try:
                        # sklearn adds each batch's L2 term at the weights the batch starts
                        # from: exact here with one batch, the epoch's start otherwise
                        penalty = self._l2_penalty(network)
                        if weights is None:
                            reports.clear()
                            try:
                                network.train(X, targets, epochs=1, batch_size=batch_size,
                                              shuffle=bool(self.shuffle), callback=reports.append)
                            except KeyboardInterrupt as error:
                                # Ctrl-C: the library finished this epoch; count it, then stop.
                                if not reports:
                                    raise
                                interrupted = error
                            data_loss = reports[-1].train_loss
                            penalty_factor = n_batches / n_train
                        else:
                            data_loss, penalty_factor = self._weighted_epoch(network, X, targets, weights,
                                                                             batch_size, order)
                        # sklearn's loss: the data term plus each batch's
                        # 0.5 alpha ||W||^2 / (its weight sum), averaged over samples.
                        loss = data_loss / n_outputs_for_loss + penalty * penalty_factor
                    except NonFiniteError:
                        if not early_stopping:
                            raise
                        # sklearn goes on with NaN weights, its validation scores NaN,
                        # until patience runs out, and then keeps the best epoch's.
                        diverged, loss = True, math.nan
                self.n_iter_ += 1
                self.t_ += n_train
                self.loss_ = loss
                self.loss_curve_.append(loss)
                if bar is not None:
                    bar.update(1, loss=loss)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, loss))
                self._update_no_improvement_count(early_stopping, X_val, t_val, w_val, diverged)
                if interrupted is not None:
                    raise interrupted
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    optimizer.learning_rate = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        message = ("Validation score did not improve more than tol=%f for %d consecutive "
                                   "epochs." % (self.tol, self.n_iter_no_change))
                    else:
                        message = ("Training loss did not improve more than tol=%f for %d consecutive "
                                   "epochs." % (self.tol, self.n_iter_no_change))
                    if self._trigger_stopping(message):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                                  "optimization hasn't converged yet." % self.max_iter, ConvergenceWarning)
        finally:
            if bar is not None:
                bar.close()
            if early_stopping and getattr(self, "_best_params", None) is not None:
                network.params = self._best_params

    def _trigger_stopping(self, message: str) -> bool:
        optimizer = self._optimizer
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(message + " Stopping.")
            return True
        if optimizer.learning_rate <= 1e-6:
            if self.verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        optimizer.learning_rate /= 5.0
        optimizer.drops += 1
        if self.verbose:
            print(message + " Setting learning rate to %f" % optimizer.learning_rate)
        return False

    def _update_no_improvement_count(self, early_stopping: bool, X_val: Any, t_val: Any, w_val: Any,
                                     diverged: bool) -> None:
        if early_stopping:
            score = math.nan if diverged else self._validation_score(X_val, t_val, w_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self.network_.params
        else:
            loss = self.loss_curve_[-1]
            if loss > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if loss < self.best_loss_:
                self.best_loss_ = loss

    def _validation_score(self, X_val: np.ndarray, t_val: np.ndarray, w_val: np.ndarray | None) -> float:
        outputs = self.network_.predict(X_val)
        if not np.all(np.isfinite(outputs)):
            return math.nan
        return self._score_outputs(outputs, t_val, w_val)

    def _weighted_epoch(self, network: Network, X: np.ndarray, targets: np.ndarray, weights: np.ndarray,
                        batch_size: int, order: np.ndarray) -> float:
        """One epoch with sample weights: sklearn's gradient, sum_i w_i dL_i / sum_i w_i
        over each batch. With the canonical output/loss pairs dL/dz = a - y, so a step
        on targets a - c_i (a - y_i), with c_i = w_i n_batch / sum w, gives exactly that
        mean gradient. Returns the epoch's loss as sklearn averages it, and the factor
        of its L2 term, sum over batches of n_batch / (sum w) / n."""
        n = X.shape[0]
        dense = self._dense_rows(network, targets)
        if self.shuffle:  # sklearn.utils.shuffle(order, random_state=this fit's RandomState)
            permutation = np.arange(n)
            self._random_state.shuffle(permutation)
            order[...] = order[permutation]
        total = penalty_factor = 0.0
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            xb, yb, wb = X[index], dense[index], weights[index]
            w_sum = wb.sum()
            outputs = network.predict(xb).astype(np.float64)
            losses = self._sample_losses(outputs, yb.astype(np.float64))
            if not np.all(np.isfinite(losses)):
                raise NonFiniteError("the weighted loss is not finite", Status.ERR_NON_FINITE)
            if w_sum > 0:
                total += float(np.dot(wb, losses)) / w_sum * len(index)
                penalty_factor += len(index) / w_sum
                scale = (wb * len(index) / w_sum)[:, None]
                network.step(xb, self._weighted_gradient_targets(outputs, yb, scale, network.dtype))
        network.epoch = network.epoch + 1
        return total / n, penalty_factor / n

    @staticmethod
    def _dense_rows(network: Network, targets: np.ndarray) -> np.ndarray:
        """Targets as rows: class labels become one-hot rows."""
        return np.eye(network.n_outputs, dtype=network.dtype)[targets] if targets.ndim == 1 else targets

    def _weighted_gradient_targets(self, outputs: np.ndarray, y: np.ndarray, scale: np.ndarray,
                                   dtype: np.dtype) -> np.ndarray:
        """Targets whose batch gradient is the weighted one: with the canonical
        output/loss pairs dL/dz = g(z) - y (g the identity, sigmoid or softmax output, or
        exp for Poisson, whose output is z itself), targets g(z) - c_i (g(z) - y_i) give
        c_i (g(z) - y_i)."""
        fitted = np.exp(outputs) if self._loss_name() == "poisson" else outputs
        return np.ascontiguousarray(fitted - scale * (fitted - y), dtype=dtype)

    def _sample_losses(self, outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample loss as the library defines it, from outputs a and targets y."""
        loss = self._loss_name()
        if loss == "mse":
            return 0.5 * ((outputs - y) ** 2).sum(axis=1)
        if loss == "poisson":  # outputs are z, the log of the mean
            entropy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
            return (np.exp(outputs) - y * outputs + entropy - y).sum(axis=1)
        eps = np.finfo(np.float64).eps
        clipped = np.clip(outputs, eps, 1 - eps)
        if loss == "binary_cross_entropy":
            return -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).sum(axis=1)
        return -(y * np.log(clipped)).sum(axis=1)

    # -- fitted attributes shared with sklearn's MLP -----------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape (n_in, n_out) for layer i: read-only
        copies (assign a list of arrays to change the model's weights)."""
        network = self.__dict__.get("network_")
        if network is None:
            pending = self.__dict__.get("_pending_layers")
            if pending is None or pending[0] is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute 'coefs_'")
            return pending[0]
        weights, _ = network.unflatten(self._read_only_params())
        return weights

    @coefs_.setter
    def coefs_(self, values: list[np.ndarray]) -> None:
        if "network_" not in self.__dict__:
            # Before the first fit (sklearn allows it): used by the first partial_fit,
            # or by a warm-started fit, when the shapes match.
            pending = self.__dict__.setdefault("_pending_layers", [None, None])
            pending[0] = values
            return
        self._set_layers(values, None)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape (n_out,): read-only copies (assignable)."""
        network = self.__dict__.get("network_")
        if network is None:
            pending = self.__dict__.get("_pending_layers")
            if pending is None or pending[1] is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute 'intercepts_'")
            return pending[1]
        _, biases = network.unflatten(self._read_only_params())
        return biases

    @intercepts_.setter
    def intercepts_(self, values: list[np.ndarray]) -> None:
        if "network_" not in self.__dict__:
            pending = self.__dict__.setdefault("_pending_layers", [None, None])
            pending[1] = values
            return
        self._set_layers(None, values)

    def _read_only_params(self) -> np.ndarray:
        flat = self.network_.params
        flat.flags.writeable = False
        return flat

    def _set_layers(self, weights: list | None, biases: list | None) -> None:
        network = self.network_
        flat = network.params
        current_w, current_b = network.unflatten(flat)
        for target, source in ((current_w, weights), (current_b, biases)):
            if source is None:
                continue
            if len(source) != len(target):
                raise ValueError(f"expected {len(target)} arrays, got {len(source)}")
            for view, value in zip(target, source):
                value = np.asarray(value)
                if value.shape != view.shape and value.size == view.size:
                    value = value.reshape(view.shape)
                if value.shape != view.shape:
                    raise ValueError(f"expected shape {view.shape}, got {value.shape}")
                view[...] = value
        network.params = flat

    def _forward(self, X: Any) -> np.ndarray:
        """The network's outputs for X, computed in the model's precision, in the dtype
        scikit-learn's MLP gives: X's (float32 stays, anything else is float64)
        promoted with the model's, so float64 X gives float64 outputs."""
        self._check_fitted()
        X = self._validate_X(X, reset=False, dtype=(np.float64, np.float32))
        network = self.network_
        outputs = network.predict(np.ascontiguousarray(X, dtype=network.dtype))
        return outputs.astype(np.result_type(X.dtype, network.dtype), copy=False)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier (log-loss), scikit-learn's MLPClassifier.

    Binary problems (and a single class) use one sigmoid output and binary
    cross-entropy; multiclass problems a softmax output and cross-entropy on integer
    labels (``classes_`` maps any labels); multilabel problems (a 2-D 0/1 indicator
    ``y``) one sigmoid output per label.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
        Width of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity", "leaky_relu"}, default "relu"
        Activation of the hidden layers.
    solver : {"adam", "sgd", "lbfgs", "adamw", "rmsprop"}, default "adam"
        The optimizer. "lbfgs" is the library's L-BFGS on the whole data set
        (max_iter iterations, max_fun evaluations, gradient tolerance tol; integer
        sample weights only). "adamw" (alpha is the decoupled weight decay) and
        "rmsprop" are swiftmlp's additions.
    alpha : float, default 1e-4
        L2 penalty on the weights: a weight decay of alpha / batch_size on the mean
        gradient, and 0.5 * alpha * ||W||^2 / n_samples in the reported loss.
    batch_size : int or "auto", default "auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default "constant"
        For solver "sgd": "invscaling" uses ``learning_rate_init / (t + 1)^power_t``
        after each epoch, t the samples seen; "adaptive" divides the rate by 5 each
        time n_iter_no_change + 1 epochs in a row fail to improve by tol, and stops
        below 1e-6. "cosine" (swiftmlp's, any solver) anneals to 0 over max_iter epochs.
    learning_rate_init : float, default 0.001
    power_t : float, default 0.5
        The exponent of "invscaling".
    max_iter : int, default 200
        Epochs (stochastic solvers) or iterations (lbfgs).
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    random_state : int, RandomState or None, default None
        Seeds the weights, the shuffling and the early-stopping split. Each fit draws
        from check_random_state(random_state), as sklearn: the initial weights layer by
        layer, then the split, so an int gives scikit-learn's own initial weights and
        split; an int also seeds the library's generator, which shuffles the
        mini-batches (otherwise its seed is the first draw).
    tol : float, default 1e-4
        An epoch improves when the loss drops (or the validation score rises) by more
        than tol.
    verbose : bool, default False
        Print the loss of each iteration ("Iteration 1, loss = ..."), as sklearn.
    warm_start : bool, default False
        Continue from the previous fit's weights (the optimizer restarts); the classes
        must be the same.
    momentum : float, default 0.9
        SGD (and RMSprop) momentum.
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out validation_fraction of the data (stratified for a single-output
        classifier) and stop when the validation accuracy has not improved by tol for
        more than n_iter_no_change epochs; the parameters of the epoch with the best
        validation accuracy are kept.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float
        Adam's parameters.
    n_iter_no_change : int or numpy.inf, default 10
    max_fun : int, default 15000
        lbfgs only: the most loss evaluations.
    dtype : None, "float32" or "float64", default None
        Precision of the model. None follows the first fit's X, as sklearn: float32
        X gives a float32 model (its coefs_ and computations are float32), any other
        X float64. Predictions are in sklearn's dtype whatever the model's: float32
        for float32 X on a float32 model, float64 otherwise.
    standardize : bool, default False
        Standardise the features with a scaler kept inside the model (fitted on the
        training data by the first fit or partial_fit). coefs_ then act on the
        standardised features.
    progress : bool, default False
        Show a progress bar over the epochs (tqdm when installed).

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_ (with DataFrame input), loss_,
    best_loss_, loss_curve_, validation_scores_, best_validation_score_, t_,
    n_iter_, n_layers_, n_outputs_, out_activation_, coefs_, intercepts_ (read-only
    arrays; assign whole lists to change them), network_ (the :class:`~swiftmlp.Network`).

    A fit that fails (e.g. weights that overflow: ValueError "Solver produced
    non-finite parameter weights...") leaves the estimator as it was before it.
    Ctrl-C during fit stops after the current epoch and re-raises
    KeyboardInterrupt; the estimator stays fitted with the epochs completed so far.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _loss_name(self) -> str:
        return "softmax_cross_entropy" if self._kind == "multiclass" else "binary_cross_entropy"

    def _prepare(self, X: Any, y: Any, sample_weight: Any, incremental: bool, first_pass: bool,
                 classes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        X, y = self._validate_Xy(X, y, reset=first_pass, y_numeric=False)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                          "the shape of y to (n_samples,), for example using ravel().",
                          DataConversionWarning, stacklevel=4)
            y = y.ravel()
        if HAVE_SKLEARN:
            check_classification_targets(y)
            kind = type_of_target(y)
        else:
            kind = "multilabel-indicator" if y.ndim == 2 else "multiclass"
            if y.dtype.kind == "f" and not np.all(y == np.round(y)):
                raise ValueError("Unknown label type: continuous")
        weights = self._check_sample_weight(sample_weight, X.shape[0])
        multilabel = kind == "multilabel-indicator"
        labels = np.arange(y.shape[1]) if multilabel else np.unique(y)
        if first_pass and not hasattr(self, "network_") or (not self.warm_start and not incremental):
            if incremental and classes is not None and not multilabel:
                labels = np.unique(np.asarray(classes))
            if multilabel:
                self._kind = "multilabel"
            else:
                self._kind = {1: "single", 2: "binary"}.get(len(labels), "multiclass")
            self.classes_ = labels
            self._out_activation_name = "softmax" if self._kind == "multiclass" else "logistic"
            self._out_activation = "softmax" if self._kind == "multiclass" else "sigmoid"
        elif self.warm_start:
            if set(labels) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                 f"previous call to fit. Previously got {self.classes_}, `y` has {labels}")
        elif len(np.setdiff1d(labels, self.classes_, assume_unique=True)):
            raise ValueError("`y` has classes not in `self.classes_`. "
                             f"`self.classes_` has {self.classes_}. 'y' has {labels}.")
        return X, self._targets(y, X.dtype if first_pass else self.network_.dtype), weights

    def _targets(self, y: np.ndarray, dtype: Any) -> np.ndarray:
        """The library's targets for labels y."""
        if self._kind == "multilabel":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"y must be a multilabel indicator matrix with {len(self.classes_)} columns")
            return np.ascontiguousarray(y, dtype=dtype)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D class labels, got shape {y.shape}")
        indices = np.searchsorted(self.classes_, y)
        indices = np.clip(indices, 0, len(self.classes_) - 1)
        unknown = self.classes_[indices] != y
        if np.any(unknown):
            raise ValueError(f"y contains labels not in classes_ {list(self.classes_)}: "
                             f"{list(np.unique(y[unknown]))[:10]}")
        if self._kind in ("binary", "single"):
            return indices.astype(dtype).reshape(-1, 1)
        return indices.astype(np.int32)

    def _stratify(self, targets: np.ndarray) -> np.ndarray | None:
        # sklearn stratifies a single-output classifier (binary) on its binarised
        # target column (a boolean n x 1 array, which names the classes 'True').
        if self._kind in ("binary", "single"):
            return targets.reshape(-1, 1) == 1
        return None

    def _labels_from_outputs(self, outputs: np.ndarray) -> np.ndarray:
        if self._kind == "multilabel":
            return (outputs > 0.5).astype(int)
        if self._kind == "single":
            return np.repeat(self.classes_, outputs.shape[0])
        if self._kind == "binary":
            return self.classes_[(outputs[:, 0] > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(outputs, axis=1)]

    def _score_outputs(self, outputs: np.ndarray, targets: np.ndarray, weights: np.ndarray | None) -> float:
        predicted = self._labels_from_outputs(outputs)
        if self._kind == "multilabel":
            truth = targets.astype(int)
        elif targets.ndim == 2:
            truth = self.classes_[targets[:, 0].astype(np.intp)] if self._kind == "binary" \
                else np.repeat(self.classes_, len(targets))
        else:
            truth = self.classes_[targets]
        return _accuracy(truth, predicted, weights)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPClassifier":
        """Trains on X (n_samples x n_features, dense or sparse) and labels y; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @_available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> "MLPClassifier":
        """One epoch over (X, y). The first call needs ``classes`` (all the labels
        that will ever appear), except for a multilabel indicator y."""
        if not hasattr(self, "network_"):
            if classes is None and np.ndim(y) != 2:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            if classes is not None:
                y_labels = np.unique(np.asarray(y))
                known = np.unique(np.asarray(classes))
                if len(np.setdiff1d(y_labels, known)):
                    # scikit-learn's message (its classes_ are the classes given)
                    raise ValueError("`y` has classes not in `self.classes_`. "
                                     f"`self.classes_` has {known}. 'y' has {y_labels}.")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call to "
                             f"partial_fit: {self.classes_!r}")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, n_samples x n_classes (columns in classes_ order);
        for multilabel, the probability of each label (they need not sum to 1)."""
        output = self._forward(X)
        if self._kind in ("binary", "single"):
            p = output[:, 0]
            return np.column_stack([1 - p, p])
        return output

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of predict_proba."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (a 0/1 matrix for multilabel)."""
        return self._labels_from_outputs(self._forward(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor, scikit-learn's MLPRegressor. Parameters and
    attributes as :class:`MLPClassifier` (without classes_), plus ``loss``:
    "squared_error" (identity output) or "poisson" (half the Poisson deviance with an
    exponential output, out_activation_ "exp": the network's output is the log of
    the mean, and predict returns the mean; y >= 0). ``y`` may be 1-D or
    n_samples x n_outputs.

    With early_stopping, validation_scores_ holds each epoch's validation R^2.
    """

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 loss: str = "squared_error", solver: str = "adam", alpha: float = 0.0001,
                 batch_size: Any = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: Any = 10, max_fun: int = 15000,
                 dtype: Any = None, standardize: bool = False, progress: bool = False) -> None:
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dtype=dtype, standardize=standardize, progress=progress)
        self.loss = loss

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _loss_name(self) -> str:
        return "poisson" if self.loss == "poisson" else "mse"

    def _check_hyperparameters(self) -> tuple[tuple[int, ...], str]:
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError("The 'loss' parameter of MLPRegressor must be a str among "
                             f"{{'poisson', 'squared_error'}}. Got {self.loss!r} instead.")
        return super()._check_hyperparameters()

    def _prepare(self, X: Any, y: Any, sample_weight: Any, incremental: bool, first_pass: bool,
                 classes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        X, y = self._validate_Xy(X, y, reset=first_pass, y_numeric=True)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson "
                             "regression.")
        weights = self._check_sample_weight(sample_weight, X.shape[0])
        dtype = X.dtype if first_pass else self.network_.dtype
        targets = np.ascontiguousarray(y, dtype=dtype)
        targets = targets.reshape(-1, 1) if targets.ndim == 1 else targets
        if first_pass:
            self._out_activation_name = "exp" if self.loss == "poisson" else "identity"
            self._out_activation = "identity"
            self._y_1d = y.ndim == 1
        elif targets.shape[1] != self.network_.n_outputs:
            raise ValueError(f"y has {targets.shape[1]} outputs but the model was fitted with "
                             f"{self.network_.n_outputs}")
        return X, targets, weights

    def _score_outputs(self, outputs: np.ndarray, targets: np.ndarray, weights: np.ndarray | None) -> float:
        mean = self._mean(outputs)
        if not np.all(np.isfinite(mean)):
            return math.nan
        return _r2(targets, mean, weights)

    def _mean(self, outputs: np.ndarray) -> np.ndarray:
        """The predicted mean: the network's output, or exp of it for Poisson (the
        library's Poisson output is the log of the mean). The fitted network's loss
        decides, not a loss set since."""
        if self.network_.loss != Loss.POISSON:
            return outputs
        with np.errstate(over="ignore"):
            return np.exp(outputs)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """Trains on X (n_samples x n_features, dense or sparse) and targets y; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @_available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: 1-D when fitted on a 1-D y, else n_samples x n_outputs."""
        output = self._mean(self._forward(X))
        return output[:, 0] if self._y_1d else output
