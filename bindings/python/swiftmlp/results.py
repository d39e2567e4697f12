"""The result types of :class:`~swiftmlp.Network`'s calls (mirrors of the header's
result structs, with the enums as enums)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ._capi import Activation, DType, Loss, Reduction

__all__ = ["EpochReport", "TrainSummary", "Evaluation", "Gradients", "GradCheck", "ModelInfo", "LayerInfo"]


@dataclass(frozen=True)
class EpochReport:
    """What :meth:`Network.train` reports after each epoch (see smlp_epoch_report)."""
    epoch: int
    train_loss: float
    validation_loss: float
    validation_accuracy: float
    learning_rate: float


@dataclass
class TrainSummary:
    """The result of :meth:`Network.train` (see smlp_train_summary), plus the history."""
    epochs_run: int
    best_epoch: int
    best_validation_loss: float
    final_train_loss: float
    final_validation_loss: float
    stopped_early: bool
    stopped_by_callback: bool
    history: list[EpochReport] = field(default_factory=list)
    #: L-BFGS iterations, or optimizer steps of mini-batch training (smlp_train_details).
    n_iter: int = 0
    #: Loss-and-gradient evaluations (L-BFGS: over the whole data set, line search included).
    n_fun: int = 0
    #: Why training stopped: "max_epochs", "early_stopping", "callback",
    #: "gradient_tolerance", "loss_change", "max_function_evals" or "line_search_failed".
    stop_reason: str = "max_epochs"
    #: L-BFGS: the objective minimised (loss + weight_decay/2 ||W||^2) at the end; NaN otherwise.
    final_objective: float = float("nan")

    @property
    def loss_curve(self) -> list[float]:
        """The train loss after each epoch (L-BFGS: each iteration), as scikit-learn's loss_curve_."""
        return [report.train_loss for report in self.history]

    @property
    def converged(self) -> bool:
        """L-BFGS stopped on a tolerance (not on a limit, a callback or early stopping)."""
        return self.stop_reason in ("gradient_tolerance", "loss_change", "line_search_failed")


class Evaluation(NamedTuple):
    """Mean per-sample loss, and accuracy (NaN for mean squared error)."""
    loss: float
    accuracy: float


class Gradients(NamedTuple):
    """The loss of a batch and its gradient: ``dW[l]`` (n_in x n_out) and ``db[l]``
    (n_out) are views into ``flat``, which has the parameter layout."""
    loss: float
    dW: list[np.ndarray]
    db: list[np.ndarray]
    flat: np.ndarray


class GradCheck(NamedTuple):
    """Largest relative error per layer of the analytic gradient against central
    finite differences, over each W_l and each b_l."""
    weights: np.ndarray
    biases: np.ndarray

    @property
    def max(self) -> float:
        return float(max(self.weights.max(initial=0.0), self.biases.max(initial=0.0)))


@dataclass(frozen=True)
class ModelInfo:
    """What a model is (see smlp_model_info), with the enums as enums."""
    dtype: DType
    n_layers: int
    n_inputs: int
    n_outputs: int
    param_count: int
    loss: Loss
    reduction: Reduction
    leaky_relu_slope: float
    epoch: int
    has_scaler: bool


@dataclass(frozen=True)
class LayerInfo:
    """One weight layer (see smlp_layer_info)."""
    n_inputs: int
    n_outputs: int
    activation: Activation
    weight_offset: int
    bias_offset: int
