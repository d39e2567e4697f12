"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

They follow scikit-learn's conventions and its ``sklearn.neural_network`` names:
the constructor only stores hyperparameters; ``fit`` learns attributes ending in
``_`` (``classes_``, ``n_features_in_``, ``coefs_``, ``intercepts_``,
``loss_curve_``, ``n_iter_``...). They subclass ``sklearn.base.BaseEstimator`` and
the Classifier/Regressor mixins when scikit-learn is installed, so they drop into
Pipeline, cross_val_score, GridSearchCV and ``sklearn.base.clone``; without
scikit-learn a small fallback base provides get_params/set_params/score.

Differences from ``sklearn.neural_network`` (all documented on the parameters):
solvers are ``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"`` (no ``"lbfgs"``);
``learning_rate`` is ``"constant"`` or ``"cosine"`` (no ``"invscaling"``,
``"adaptive"``); ``early_stopping`` watches the validation *loss* (and restores the
best epoch's parameters); two extra parameters, ``dtype`` and ``standardize``.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from typing import Any

import numpy as np

from .network import Network, TrainSummary

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

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "leaky_relu": "leaky_relu"}
_SOLVERS = ("adam", "sgd", "adamw", "rmsprop")
_SCHEDULES = {"constant": "constant", "cosine": "cosine"}


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share (not public)."""

    _out_activation: str = "identity"

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 max_iter: int = 200, shuffle: bool = True, random_state: Any = None,
                 tol: float = 1e-4, verbose: bool = False, warm_start: bool = False,
                 momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, dtype: str = "float64", standardize: bool = True) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
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
        self.dtype = dtype
        self.standardize = standardize

    # -- scikit-learn plumbing -----------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def _check_fitted(self) -> None:
        if HAVE_SKLEARN:
            check_is_fitted(self)
        elif not hasattr(self, "network_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments before using this estimator.")

    @property
    def _np_dtype(self) -> np.dtype:
        dtype = np.dtype(self.dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        return dtype

    def _validate_X(self, X: Any, reset: bool) -> np.ndarray:
        """X as a C-contiguous array of the model's dtype (no copy when it is one)."""
        dtype = self._np_dtype
        if HAVE_SKLEARN:
            return validate_data(self, X, reset=reset, dtype=dtype, order="C")
        X = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if np.iscomplexobj(X):
            raise ValueError("Complex data not supported")
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
        dtype = self._np_dtype
        if HAVE_SKLEARN:
            X, y = validate_data(self, X, y, reset=reset, dtype=dtype, order="C",
                                 multi_output=True, y_numeric=y_numeric)
            return X, y
        X = self._validate_X(X, reset)
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                             f"[{X.shape[0]}, {y.shape[0]}]")
        return X, y

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
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}")
        if self.solver not in _SOLVERS:
            extra = " (L-BFGS is not available in swiftmlp)" if self.solver == "lbfgs" else ""
            raise ValueError(f"solver must be one of {list(_SOLVERS)}, got {self.solver!r}{extra}")
        if self.learning_rate not in _SCHEDULES:
            raise ValueError(f"learning_rate must be 'constant' or 'cosine', got {self.learning_rate!r}")
        checks = [
            ("max_iter", self.max_iter, lambda v: isinstance(v, numbers.Integral) and v >= 1, "an int >= 1"),
            ("n_iter_no_change", self.n_iter_no_change,
             lambda v: isinstance(v, numbers.Integral) and v >= 1, "an int >= 1"),
            ("alpha", self.alpha, lambda v: isinstance(v, numbers.Real) and v >= 0, "a number >= 0"),
            ("learning_rate_init", self.learning_rate_init,
             lambda v: isinstance(v, numbers.Real) and v > 0, "a number > 0"),
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
                raise ValueError(f"{name} must be {expected}, got {value!r}")
        self._np_dtype  # noqa: B018 - validates dtype
        return hidden, _ACTIVATIONS[self.activation]

    def _seed(self) -> int:
        if isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool):
            return int(self.random_state) & 0xFFFFFFFFFFFFFFFF
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                          "It is going to be clipped", UserWarning)
        return max(1, min(int(self.batch_size), n_samples))

    def _optimizer_settings(self, batch_size: int) -> tuple[str, dict[str, Any]]:
        settings: dict[str, Any] = {"learning_rate": float(self.learning_rate_init)}
        # scikit-learn adds alpha * W / batch_size to the mean gradient: the same as
        # an L2 weight decay of alpha / batch_size on the weights (not the biases).
        decay = float(self.alpha) / batch_size
        if self.solver == "sgd":
            settings.update(momentum=float(self.momentum),
                            nesterov=bool(self.nesterovs_momentum) and self.momentum > 0,
                            weight_decay=decay)
        elif self.solver in ("adam", "adamw"):
            settings.update(beta1=float(self.beta_1), beta2=float(self.beta_2), epsilon=float(self.epsilon),
                            weight_decay=float(self.alpha) if self.solver == "adamw" else decay)
        else:  # rmsprop
            settings.update(momentum=float(self.momentum) if self.momentum < 1 else 0.0,
                            epsilon=float(self.epsilon), weight_decay=decay)
        if self.learning_rate == "cosine":
            settings.update(schedule="cosine", t_max=int(self.max_iter))
        return self.solver, settings

    # -- what the subclasses define ---------------------------------------------------------

    def _loss_name(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _targets(self, y: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _validation_score(self, validation_loss: float, validation_accuracy: float) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    # -- training --------------------------------------------------------------------------------

    def _new_network(self, n_features: int, n_outputs: int) -> Network:
        hidden, activation = self._check_hyperparameters()
        sizes = (n_features, *hidden, n_outputs)
        activations = [activation] * len(hidden) + [self._out_activation]
        return Network(sizes, activations, loss=self._loss_name(), dtype=self._np_dtype, seed=self._seed())

    def _reset_history(self) -> None:
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0
        self.t_ = 0
        self._no_improvement_count = 0
        self.best_loss_: float | None = math.inf
        self.validation_scores_: list[float] | None = [] if self.early_stopping else None
        self.best_validation_score_: float | None = -math.inf if self.early_stopping else None

    def _fit(self, X: np.ndarray, targets: np.ndarray, incremental: bool) -> "_BaseMLP":
        """Trains self.network_ on prepared X and targets (max_iter epochs, or one
        epoch when incremental)."""
        network = self.network_
        n_samples = X.shape[0]
        early_stopping = bool(self.early_stopping) and not incremental
        validation_data = None
        train_X, train_targets = X, targets
        if early_stopping:
            train_X, val_X, train_targets, val_targets = self._split(X, targets)
            validation_data = (val_X, val_targets)
            if self._loss_name() == "mse":  # for the regressor's R^2
                y_val = np.asarray(val_targets, dtype=np.float64).reshape(len(val_targets), -1)
                self._validation_sst = float(((y_val - y_val.mean(axis=0)) ** 2).sum()) / max(len(y_val), 1)
        batch_size = self._batch_size(train_X.shape[0])
        if not incremental or not getattr(self, "_optimizer_set", False):
            kind, settings = self._optimizer_settings(batch_size)
            network.set_optimizer(kind, **settings)
            self._optimizer_set = True
        if self.standardize and network.scaler is None:
            network.fit_scaler(train_X)
        elif not self.standardize and network.scaler is not None:
            network.clear_scaler()

        epochs = 1 if incremental else int(self.max_iter)
        converged = [False]
        n_train = train_X.shape[0]

        def on_epoch(report: Any) -> bool:
            self.n_iter_ += 1
            self.t_ += n_train
            self.loss_curve_.append(float(report.train_loss))
            if incremental:
                return False
            if early_stopping:
                score = self._validation_score(report.validation_loss, report.validation_accuracy)
                self.validation_scores_.append(score)
                return False
            # scikit-learn's rule: stop when the training loss has not improved by tol
            # for more than n_iter_no_change consecutive epochs.
            loss = self.loss_curve_[-1]
            if loss > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if loss < self.best_loss_:
                self.best_loss_ = loss
            if self._no_improvement_count > self.n_iter_no_change:
                converged[0] = True
                return True
            return False

        summary: TrainSummary | None = None
        interrupted: BaseException | None = None
        try:
            summary = network.train(
                train_X, train_targets, epochs=epochs, batch_size=batch_size, shuffle=bool(self.shuffle),
                validation_data=validation_data, patience=int(self.n_iter_no_change) + 1 if early_stopping else 0,
                min_delta=float(self.tol), restore_best=True, callback=on_epoch,
                progress=bool(self.verbose) and not incremental)
        except KeyboardInterrupt as error:
            interrupted = error
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else math.nan
        if early_stopping:
            self.best_loss_ = None
            if summary is not None and summary.best_epoch >= 1 and self.validation_scores_:
                start = len(self.validation_scores_) - summary.epochs_run
                self.best_validation_score_ = self.validation_scores_[start + summary.best_epoch - 1]
            elif self.validation_scores_:
                self.best_validation_score_ = max(self.validation_scores_)
            converged[0] = summary is not None and summary.stopped_early
        elif self.loss_curve_:
            self.best_loss_ = min(self.best_loss_, min(self.loss_curve_))
        if interrupted is not None:
            # The model keeps the epochs completed before Ctrl-C; it is usable.
            raise interrupted
        if not incremental and not converged[0] and summary is not None and summary.epochs_run == epochs:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                          "the optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def _split(self, X: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, ...]:
        stratify = self._stratify(targets)
        seed = self._seed()
        if HAVE_SKLEARN:
            from sklearn.model_selection import train_test_split
            return tuple(train_test_split(X, targets, test_size=self.validation_fraction,
                                          random_state=seed % (2**32), stratify=stratify))
        order = np.random.RandomState(seed % (2**32)).permutation(X.shape[0])
        n_val = max(1, int(math.ceil(self.validation_fraction * X.shape[0])))
        val, train = order[:n_val], order[n_val:]
        return X[train], X[val], targets[train], targets[val]

    def _stratify(self, targets: np.ndarray) -> np.ndarray | None:
        return None

    # -- fitted attributes shared with sklearn's MLP -----------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape (n_in, n_out) for layer i (copies;
        assign a list of arrays to change the model's weights)."""
        network = self.network_
        weights, _ = network.unflatten(network.params)
        return weights

    @coefs_.setter
    def coefs_(self, values: list[np.ndarray]) -> None:
        self._set_layers(values, None)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape (n_out,) (copies; assignable)."""
        network = self.network_
        _, biases = network.unflatten(network.params)
        return biases

    @intercepts_.setter
    def intercepts_(self, values: list[np.ndarray]) -> None:
        self._set_layers(None, values)

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
                if value.shape != view.shape:
                    raise ValueError(f"expected shape {view.shape}, got {value.shape}")
                view[...] = value
        network.params = flat

    @property
    def n_layers_(self) -> int:
        """Layers including input and output (as in sklearn)."""
        return self.network_.n_layers + 1

    @property
    def n_outputs_(self) -> int:
        return self.network_.n_outputs

    @property
    def out_activation_(self) -> str:
        return self._out_activation_name

    def _forward(self, X: Any) -> np.ndarray:
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        return self.network_.predict(X)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier (log-loss), scikit-learn compatible.

    Binary problems use one sigmoid output and binary cross-entropy; multiclass
    problems a softmax output and cross-entropy on integer labels (``classes_`` maps
    any labels); multilabel problems (a 2-D 0/1 indicator ``y``) one sigmoid output
    per label.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        Width of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity", "leaky_relu"}, default "relu"
        Activation of the hidden layers.
    solver : {"adam", "sgd", "adamw", "rmsprop"}, default "adam"
        The optimizer (sklearn's "lbfgs" is not available).
    alpha : float, default 1e-4
        L2 penalty on the weights, as in sklearn (a weight decay of alpha / batch_size
        on the mean gradient); for "adamw" it is the decoupled weight decay itself.
    batch_size : int or "auto", default "auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "cosine"}, default "constant"
        Learning-rate schedule: constant, or cosine annealing to 0 over max_iter epochs.
    learning_rate_init : float, default 0.001
    max_iter : int, default 200
        Epochs (passes over the data).
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    random_state : int, RandomState or None, default None
        Seeds the weights, the shuffling and the early-stopping split. An int is the
        library's seed itself.
    tol : float, default 1e-4
        Improvement below which an epoch counts as no improvement.
    verbose : bool, default False
        Show a progress bar (tqdm when installed).
    warm_start : bool, default False
        Continue from the previous fit's weights (the optimizer restarts).
    momentum : float, default 0.9
        SGD (and RMSprop) momentum.
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out validation_fraction of the data (stratified) and stop when the
        validation loss has not improved by tol for more than n_iter_no_change epochs;
        the parameters of the best validation epoch are kept. validation_scores_
        records the validation accuracy of each epoch.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float
        Adam's parameters.
    n_iter_no_change : int, default 10
    dtype : {"float64", "float32"}, default "float64"
        Precision of the model and of the data it is given.
    standardize : bool, default True
        Standardise the features with a scaler kept inside the model (fitted on the
        training data by fit, or on the first batch by partial_fit).

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_ (with DataFrame input), loss_,
    best_loss_, loss_curve_, validation_scores_, best_validation_score_, t_,
    n_iter_, n_layers_, n_outputs_, out_activation_, coefs_, intercepts_,
    network_ (the :class:`~swiftmlp.Network`).

    Ctrl-C during fit stops after the current epoch and re-raises KeyboardInterrupt;
    the estimator stays fitted with the epochs completed so far.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _loss_name(self) -> str:
        return "softmax_cross_entropy" if self._kind == "multiclass" else "binary_cross_entropy"

    def _prepare_targets(self, y: np.ndarray, classes: Any, first: bool) -> np.ndarray:
        """Learns classes_ (when first) and returns the library's targets for y."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                          "the shape of y to (n_samples,), for example using ravel().",
                          DataConversionWarning, stacklevel=3)
            y = y.ravel()
        if HAVE_SKLEARN:
            check_classification_targets(y)
            kind = type_of_target(y)
        else:
            kind = "multilabel-indicator" if y.ndim == 2 else "multiclass"
            if y.dtype.kind == "f" and not np.all(y == np.round(y)):
                raise ValueError("Unknown label type: continuous")
        dtype = self._np_dtype
        if first:
            if kind == "multilabel-indicator":
                self._kind = "multilabel"
                self.classes_ = np.arange(y.shape[1])
                self._out_activation_name = "logistic"
            else:
                self.classes_ = np.unique(y if classes is None else np.asarray(classes))
                if len(self.classes_) < 2:
                    raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in "
                                     f"the data, but the data contain only 1 class: {self.classes_[0]!r}")
                self._kind = "binary" if len(self.classes_) == 2 else "multiclass"
                self._out_activation_name = "logistic" if self._kind == "binary" else "softmax"
            self._out_activation = "sigmoid" if self._kind != "multiclass" else "softmax"
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
        if self._kind == "binary":
            return indices.astype(dtype).reshape(-1, 1)
        return indices.astype(np.int32)

    def _stratify(self, targets: np.ndarray) -> np.ndarray | None:
        if self._kind == "multilabel":
            return None
        labels = targets.ravel()
        counts = np.bincount(labels.astype(np.int64))
        return labels if counts[counts > 0].min() >= 2 else None

    def _validation_score(self, validation_loss: float, validation_accuracy: float) -> float:
        return float(validation_accuracy)

    def fit(self, X: Any, y: Any) -> "MLPClassifier":
        """Trains on X (n_samples x n_features) and labels y; returns self."""
        X, y = self._validate_Xy(X, y, reset=True, y_numeric=False)
        previous = getattr(self, "network_", None) if self.warm_start else None
        old_classes = getattr(self, "classes_", None)
        targets = self._prepare_targets(y, None, first=True)
        if (previous is None or previous.n_inputs != X.shape[1]
                or old_classes is None or not np.array_equal(old_classes, self.classes_)):
            self._reset_history()
            self._optimizer_set = False
            self.network_ = self._new_network(X.shape[1], self._n_outputs())
        else:
            self._check_hyperparameters()
        return self._fit(X, targets, incremental=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> "MLPClassifier":
        """One epoch over (X, y). The first call needs ``classes`` (all the labels
        that will ever appear), except for a multilabel indicator y."""
        first = not hasattr(self, "network_")
        X, y = self._validate_Xy(X, y, reset=first, y_numeric=False)
        if first:
            if classes is None and np.asarray(y).ndim != 2:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            targets = self._prepare_targets(y, classes, first=True)
            self._reset_history()
            self._optimizer_set = False
            self.network_ = self._new_network(X.shape[1], self._n_outputs())
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on the first call to "
                                 f"partial_fit: {self.classes_!r}")
            targets = self._prepare_targets(y, None, first=False)
        return self._fit(X, targets, incremental=True)

    def _n_outputs(self) -> int:
        return 1 if self._kind == "binary" else len(self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, n_samples x n_classes (columns in classes_ order);
        for multilabel, the probability of each label."""
        output = self._forward(X)
        if self._kind == "binary":
            p = output[:, 0]
            return np.column_stack([1 - p, p])
        return output

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of predict_proba."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (a 0/1 matrix for multilabel)."""
        output = self._forward(X)
        if self._kind == "multilabel":
            return (output > 0.5).astype(int)
        if self._kind == "binary":
            return self.classes_[(output[:, 0] > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(output, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor (squared error, identity output),
    scikit-learn compatible. Parameters and attributes as :class:`MLPClassifier`
    (without classes_); ``y`` may be 1-D or n_samples x n_outputs.

    With early_stopping, validation_scores_ holds each epoch's validation R^2,
    computed from the validation loss (for several outputs, the variance-weighted R^2).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _loss_name(self) -> str:
        return "mse"

    def _targets(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        targets = np.ascontiguousarray(y, dtype=self._np_dtype)
        return targets.reshape(-1, 1) if targets.ndim == 1 else targets

    def _validation_score(self, validation_loss: float, validation_accuracy: float) -> float:
        # The library's loss is 1/2 sum_j (a_j - y_j)^2 per sample, so
        # R^2 = 1 - SSE / SST = 1 - 2 * loss / (SST / n).
        sst = getattr(self, "_validation_sst", 0.0)
        if sst <= 0:
            return 1.0 if validation_loss == 0 else 0.0
        return float(1.0 - 2.0 * validation_loss / sst)

    def fit(self, X: Any, y: Any) -> "MLPRegressor":
        """Trains on X (n_samples x n_features) and targets y; returns self."""
        X, y = self._validate_Xy(X, y, reset=True, y_numeric=True)
        targets = self._targets(y)
        previous = getattr(self, "network_", None) if self.warm_start else None
        if previous is None or previous.n_inputs != X.shape[1] or previous.n_outputs != targets.shape[1]:
            self._reset_history()
            self._optimizer_set = False
            self._out_activation_name = "identity"
            self.network_ = self._new_network(X.shape[1], targets.shape[1])
        else:
            self._check_hyperparameters()
        self._y_1d = np.ndim(y) == 1
        return self._fit(X, targets, incremental=False)

    def partial_fit(self, X: Any, y: Any) -> "MLPRegressor":
        """One epoch over (X, y)."""
        first = not hasattr(self, "network_")
        X, y = self._validate_Xy(X, y, reset=first, y_numeric=True)
        targets = self._targets(y)
        if first:
            self._reset_history()
            self._optimizer_set = False
            self._out_activation_name = "identity"
            self.network_ = self._new_network(X.shape[1], targets.shape[1])
            self._y_1d = np.ndim(y) == 1
        return self._fit(X, targets, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: 1-D when fitted on a 1-D y, else n_samples x n_outputs."""
        output = self._forward(X)
        return output[:, 0] if self._y_1d else output
