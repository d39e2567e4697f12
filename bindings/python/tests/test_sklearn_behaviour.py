"""The estimators behave as scikit-learn's MLPs where issue #18 found they did not:
one regression test per bug and per feature, beyond scikit-learn's own test_mlp.py
(which sklearn_conformance runs)."""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
import sklearn.neural_network  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import swiftmlp  # noqa: E402
from swiftmlp import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


# ---- bugs -------------------------------------------------------------------------

@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_partial_fit_after_early_stopping_fit_raises_before_training(Estimator, iris):
    x, y = iris
    model = Estimator(hidden_layer_sizes=(5,), early_stopping=True, max_iter=20, random_state=0).fit(x, y)
    before, curve = model.network_.params, list(model.loss_curve_)
    for _ in range(2):
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
            model.partial_fit(x, y)
    assert np.array_equal(model.network_.params, before) and model.loss_curve_ == curve


@pytest.mark.parametrize("seed", range(5))
def test_early_stopping_keeps_the_best_validation_epoch(seed):
    """With a large tol, patience runs out long after epochs that improved by less
    than tol: the kept parameters are still those of the best validation score."""
    x, y = make_regression(n_samples=200, n_features=6, noise=20.0, random_state=seed)
    y = (y - y.mean()) / y.std()
    model = MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", early_stopping=True, tol=0.2,
                         max_iter=300, learning_rate_init=0.01, random_state=seed).fit(x, y)
    assert model.best_validation_score_ == max(model.validation_scores_)
    # the split is scikit-learn's: its RandomState(random_state) draws the initial W and b
    # layer by layer, then train_test_split(random_state=that RandomState) the split
    rng = np.random.RandomState(seed)
    for fan_in, fan_out in ((6, 16), (16, 1)):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        rng.uniform(-bound, bound, (fan_in, fan_out))
        rng.uniform(-bound, bound, fan_out)
    _, x_val, _, y_val = train_test_split(x, y.reshape(-1, 1), test_size=0.1, random_state=rng)
    # the kept parameters score best_validation_score_ (to rounding: r2_score sums in
    # another order than the estimator's)
    assert r2_score(y_val, model.predict(x_val)) == pytest.approx(model.best_validation_score_, abs=1e-12)


def test_warm_start_with_other_classes_raises_like_sklearn(iris):
    x, y = iris
    model = MLPClassifier(hidden_layer_sizes=(3,), warm_start=True, max_iter=5, random_state=0).fit(x, y)
    params = model.network_.params
    message = ("warm_start can only be used where `y` has the same classes as in the previous call "
               "to fit. Previously got [0 1 2], `y` has [0 1]")
    with pytest.raises(ValueError, match=re.escape(message)):
        model.fit(x, y % 2)
    assert np.array_equal(model.network_.params, params) and list(model.classes_) == [0, 1, 2]
    model.fit(x[::-1], y[::-1])  # the same classes: continues
    assert model.n_iter_ == 5 and len(model.loss_curve_) == 10


def test_failed_fit_leaves_the_estimator_as_it_was():
    rng = np.random.RandomState(0)
    x = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    model = MLPRegressor()
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights") as raised:
        model.fit(x, y)
    assert isinstance(raised.value.__cause__, swiftmlp.NonFiniteError)
    assert not hasattr(model, "network_") and not hasattr(model, "n_iter_")
    assert not hasattr(model, "loss_curve_") and not hasattr(model, "n_features_in_")
    with pytest.raises(sklearn.exceptions.NotFittedError):
        model.predict(x)
    # a warm-started fit that fails keeps the previous fit's model and history
    good_x = rng.normal(size=(40, 2))
    model = MLPRegressor(hidden_layer_sizes=(4,), warm_start=True, max_iter=3, random_state=0)
    model.fit(good_x, good_x[:, 0])
    params, curve, n_iter, t = model.network_.params, list(model.loss_curve_), model.n_iter_, model.t_
    with pytest.raises(ValueError, match="non-finite"):
        model.fit(x[:, :2] * np.array([1.0, 1.0]), y)
    assert np.array_equal(model.network_.params, params)
    assert model.loss_curve_ == curve and model.n_iter_ == n_iter and model.t_ == t


def test_early_stopping_on_a_small_multiclass_set():
    """sklearn stratifies only a single-output target; a 3-class set of 15 samples
    with validation_fraction 0.1 (2 validation samples) must train."""
    x, y = load_iris(return_X_y=True)
    index = np.r_[0:5, 50:55, 100:105]
    model = MLPClassifier(hidden_layer_sizes=(4,), early_stopping=True, max_iter=10, random_state=0)
    model.fit(x[index], y[index])
    assert len(model.validation_scores_) == model.n_iter_


def test_one_sample_validation_set_is_refused():
    x, y = make_regression(n_samples=5, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.2).fit(x, y)


def test_n_iter_resets_each_fit_and_verbose_prints_iterations(capsys, iris):
    x, y = iris
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=4, warm_start=True, verbose=True, random_state=0)
    model.fit(x, y)
    model.fit(x, y)
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 8 and model.t_ == 8 * len(x)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Iteration")]
    assert lines[0] == "Iteration 1, loss = %.8f" % model.loss_curve_[0] and len(lines) == 8
    MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, early_stopping=True, verbose=True).fit(x, y)
    assert "Validation score: " in capsys.readouterr().out


def test_input_dtype_picks_the_precision(iris):
    x, y = iris
    x32 = x.astype(np.float32)
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(x32, y)
    assert model.network_.dtype == np.float32 and model.coefs_[0].dtype == np.float32
    # predictions in scikit-learn's dtype: X's promoted with the model's
    assert model.predict_proba(x32).dtype == np.float32
    proba = model.predict_proba(x)
    assert proba.dtype == np.float64 and np.array_equal(proba, model.predict_proba(x32))
    model.partial_fit(x, y)  # float64 data on a float32 model: converted
    assert MLPClassifier(max_iter=2).fit(x, y).network_.dtype == np.float64
    assert MLPClassifier(max_iter=2).fit(x.astype(int), y).network_.dtype == np.float64
    forced = MLPRegressor(max_iter=2, dtype="float64").fit(x32, y)
    assert forced.network_.dtype == np.float64 and forced.predict(x32).dtype == np.float64
    forced = MLPRegressor(max_iter=2, dtype="float32").fit(x, y)
    assert forced.network_.dtype == np.float32 and forced.predict(x).dtype == np.float64
    assert forced.predict(x32).dtype == np.float32 and forced.predict(x.astype(int)).dtype == np.float64


# ---- features ---------------------------------------------------------------------

def test_invscaling_follows_sklearns_rate_exactly():
    """SGD with "invscaling": epoch k (k >= 2) uses lr / (t + 1)^power_t, t the samples
    seen; replayed here with plain Network steps (full batch, no momentum)."""
    x, y = make_regression(n_samples=30, n_features=3, random_state=0)
    y = y / y.std()
    params = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate="invscaling", power_t=0.25,
                  momentum=0.0, alpha=0.0, batch_size=30, shuffle=False, max_iter=4,
                  learning_rate_init=0.05, random_state=3)
    model = MLPRegressor(**params).fit(x, y)
    twin_model = MLPRegressor(**params)
    twin_model._random_state = np.random.RandomState(3)
    twin = twin_model._new_network(3, 1, np.dtype(np.float64))  # the same initial model
    for epoch in range(4):
        twin.set_optimizer("sgd", lr=0.05 / (epoch * 30 + 1) ** 0.25)
        twin.step(x, y.reshape(-1, 1))
    assert np.allclose(model.network_.params, twin.params, rtol=1e-12, atol=1e-14)
    assert model._optimizer.learning_rate == 0.05 / (4 * 30 + 1) ** 0.25


def test_adaptive_divides_the_rate_by_five():
    x, y = [[3, 2], [1, 6]], [1, 0]
    model = MLPClassifier(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive", verbose=False,
                          random_state=0).fit(x, y)
    assert model.n_iter_ < 3000 and model._optimizer.learning_rate < 1e-6
    assert model._optimizer.learning_rate == pytest.approx(0.001 / 5 ** model._optimizer.drops)


def test_n_iter_no_change_inf_runs_max_iter():
    x, y = [[3, 2], [1, 6], [2, 2], [0, 5]], [1, 0, 1, 0]
    model = MLPClassifier(hidden_layer_sizes=(3,), tol=1e9, max_iter=50, n_iter_no_change=np.inf,
                          random_state=0).fit(x, y)
    assert model.n_iter_ == 50 and model._no_improvement_count == 49


def test_sample_weight_is_repetition_with_one_batch():
    """One batch (batch_size >= n): integer weights are the same as repeated rows,
    and zero weights the same as removed rows."""
    x, y = make_regression(n_samples=20, n_features=3, random_state=1)
    y = y / y.std()
    weights = np.r_[np.full(10, 2.0), np.zeros(5), np.ones(5)]
    repeated = np.r_[np.repeat(np.arange(10), 2), np.arange(15, 20)]
    params = dict(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, batch_size=200, max_iter=30,
                  shuffle=False, learning_rate_init=0.05, random_state=0, tol=0.0)
    weighted = MLPRegressor(**params).fit(x, y, sample_weight=weights)
    plain = MLPRegressor(**params).fit(x[repeated], y[repeated])
    assert np.allclose(weighted.predict(x), plain.predict(x), rtol=1e-9, atol=1e-12)
    assert np.allclose(weighted.loss_curve_, plain.loss_curve_, rtol=1e-9)
    ones = MLPRegressor(**params).fit(x, y, sample_weight=np.ones(20))
    assert np.array_equal(ones.predict(x), MLPRegressor(**params).fit(x, y).predict(x))
    with pytest.raises(ValueError, match="Negative values"):
        MLPRegressor().fit(x, y, sample_weight=-np.ones(20))


def test_sample_weight_classifier_and_partial_fit(iris):
    x, y = iris
    weights = np.where(y == 2, 3.0, 1.0)
    params = dict(hidden_layer_sizes=(8,), max_iter=200, random_state=0, learning_rate_init=0.01)
    model = MLPClassifier(**params).fit(x, y, sample_weight=weights)
    plain = MLPClassifier(**params).fit(x, y)
    assert model.score(x, y) > 0.9
    # class 2 weighs three times as much: the model leans towards it
    assert model.predict_proba(x)[:, 2].mean() > plain.predict_proba(x)[:, 2].mean()
    model.partial_fit(x, y, sample_weight=weights)
    assert len(model.loss_curve_) == 201 and model.n_iter_ == 1


def test_sparse_input_gives_the_dense_results(iris):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    x, y = iris
    dense = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(x, y)
    for make in (scipy_sparse.csr_matrix, scipy_sparse.csc_matrix, scipy_sparse.coo_matrix):
        sparse = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(make(x), y)
        assert np.array_equal(sparse.network_.params, dense.network_.params)
        assert np.array_equal(sparse.predict_proba(make(x)), dense.predict_proba(x))


def test_multilabel_predict_proba_is_per_label():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = np.column_stack([x[:, 0] > 0, x[:, 1] > 0, x[:, 2] > 0]).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=200, learning_rate_init=0.01, random_state=0)
    proba = model.fit(x, y).predict_proba(x)
    assert proba.shape == (60, 3) and not np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(proba > 0.5, model.predict(x).astype(bool))


def test_coefs_are_read_only_and_can_be_set_before_fit():
    model = MLPClassifier(hidden_layer_sizes=(2,), solver="sgd", momentum=0, max_iter=1, random_state=0)
    model.coefs_ = [np.ones((3, 2)), np.ones((2, 1))]
    model.intercepts_ = [np.zeros(2), np.zeros(1)]
    model.partial_fit(np.ones((1, 3)), [0], classes=[0, 1])  # starts from the given weights
    assert model.coefs_[0].shape == (3, 2) and np.all(model.coefs_[0] < 1)
    with pytest.raises(ValueError, match="read-only"):
        model.coefs_[0][0, 0] = 5.0


def test_first_partial_fit_with_an_unknown_label_says_what_sklearn_says():
    from sklearn.neural_network import MLPClassifier as SklearnClassifier
    x, y = np.zeros((3, 2)), [0, 1, 2]
    messages = []
    for estimator in (MLPClassifier(hidden_layer_sizes=(2,)), SklearnClassifier(hidden_layer_sizes=(2,))):
        with pytest.raises(ValueError) as info:
            estimator.partial_fit(x, y, classes=[0, 1])
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_coefs_set_before_a_plain_fit_are_not_used():
    """As in sklearn, a plain fit (no warm_start, not partial_fit) starts from the
    initialisation whatever coefs_ were assigned; a warm-started one from them."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    settings = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=1, random_state=0)
    zeros = [np.zeros((4, 5)), np.zeros((5, 3))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier(**settings).fit(x, y)
        assigned = MLPClassifier(**settings)
        assigned.coefs_ = zeros
        assigned.fit(x, y)
        assert assigned.loss_curve_ == plain.loss_curve_
        warm = MLPClassifier(warm_start=True, **settings)
        warm.coefs_ = zeros
        warm.fit(x, y)
        assert warm.loss_curve_ != plain.loss_curve_


def test_lbfgs_limits_and_attributes():
    """solver='lbfgs': max_iter bounds the iterations and max_fun the evaluations,
    each with sklearn's ConvergenceWarning; n_iter_ and loss_curve_ follow."""
    x, y = make_regression(n_samples=80, n_features=4, noise=1.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 5 iteration\(s\)"):
        model = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(x, y)
    assert model.n_iter_ == 5 and len(model.loss_curve_) == 5
    with pytest.warns(ConvergenceWarning, match="F,G EVALUATIONS EXCEEDS LIMIT"):
        model = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=500, max_fun=7,
                             random_state=0).fit(x, y)
    assert model.n_iter_ <= 7 and model._lbfgs_evaluations == 7  # the library never exceeds max_fun
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=2000, tol=1e-3,
                             random_state=0).fit(x, y)
    assert model.n_iter_ < 2000 and model.score(x, y) > 0.99
    # Sample weights, fractional or large (rows were once repeated by integer weights:
    # 20000 each took gigabytes): sklearn's weighted objective through scipy's L-BFGS-B,
    # as sklearn's own. From sklearn's initial weights the two fits agree to rounding,
    # which 30 iterations amplify to ~2e-15 here (1e-10 leaves room; by 100 iterations
    # it reaches ~1e-8).
    params = dict(solver="lbfgs", hidden_layer_sizes=(4,), max_iter=30, random_state=0, alpha=0.01)
    for weights in (np.r_[np.full(40, 2.5), np.full(40, 0.5)], np.full(80, 20000.0)):
        ours = MLPRegressor(**params).fit(x, y, sample_weight=weights)
        theirs = sklearn.neural_network.MLPRegressor(**params).fit(x, y, sample_weight=weights)
        assert ours.n_iter_ == theirs.n_iter_ == 30
        np.testing.assert_allclose(ours.predict(x), theirs.predict(x), rtol=1e-10,
                                   atol=1e-10 * np.abs(theirs.predict(x)).max())
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)


def test_poisson_regressor():
    """loss='poisson': the network's output is the log of the mean, predict gives
    the mean; with no hidden nonlinearity it is Poisson regression (a GLM)."""
    rng = np.random.RandomState(0)
    x = rng.uniform(size=(300, 2))
    y = rng.poisson(np.exp(0.5 + x[:, 0] - x[:, 1]))
    model = MLPRegressor(loss="poisson", hidden_layer_sizes=(1,), activation="identity", alpha=0,
                         solver="lbfgs", tol=1e-8, random_state=0).fit(x, y)
    from sklearn.linear_model import PoissonRegressor
    glm = PoissonRegressor(alpha=0, tol=1e-10).fit(x, y)
    assert model.out_activation_ == "exp" and model.network_.loss == swiftmlp.Loss.POISSON
    # L-BFGS stops (as scipy's in sklearn) once an iteration lowers the objective by less
    # than ftol = 2.2e-9 relative: the objective is then the GLM's minimum to that order
    # (measured 1e-10 at worst over seeds 0-9), the predictions to about its square root
    # (measured 2e-5 at worst)
    mu_glm = glm.predict(x)
    glm_loss = np.mean(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu_glm), 0) - y + mu_glm)
    assert model.loss_ == pytest.approx(glm_loss, rel=2.2e-9)
    assert np.allclose(model.predict(x), mu_glm, rtol=1e-4)
    z = model.network_.predict(x)[:, 0]
    assert np.allclose(model.predict(x), np.exp(z))
    # the loss is half the Poisson deviance, as sklearn's: mean(y log(y/mu) - y + mu)
    mu = model.predict(x)
    deviance = np.mean(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0) - y + mu)
    assert model.loss_ == pytest.approx(deviance, rel=1e-9)
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(x, -y - 1.0)
    # sample weights with a stochastic solver: one batch, repetition == weighting
    weights = np.r_[np.full(150, 2.0), np.ones(150)]
    rows = np.r_[np.repeat(np.arange(150), 2), np.arange(150, 300)]
    params = dict(loss="poisson", hidden_layer_sizes=(3,), solver="sgd", momentum=0.0, batch_size=1000,
                  shuffle=False, max_iter=20, learning_rate_init=0.01, random_state=0, tol=0.0)
    weighted = MLPRegressor(**params).fit(x, y, sample_weight=weights)
    repeated = MLPRegressor(**params).fit(x[rows], y[rows])
    assert np.allclose(weighted.predict(x), repeated.predict(x), rtol=1e-9)
    assert np.allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


def test_partial_fit_is_absent_with_lbfgs():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPRegressor(solver="sgd"), "partial_fit")


# ---- early stopping as scikit-learn's, step for step ---------------------------------

def _blobs():
    """check_classifiers_train's data: 300 standardised 3-class blobs, and the binary
    problem of its classes 0 and 1."""
    from sklearn.datasets import make_blobs
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils import shuffle
    x, y = make_blobs(n_samples=300, random_state=0)
    x, y = shuffle(x, y, random_state=7)
    x = StandardScaler().fit_transform(x)
    return x, y


@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("seed", [0, 1])
def test_early_stopping_follows_sklearn_step_for_step(problem, seed):
    """With one batch per epoch (no shuffling left to differ) and SGD, an early-stopped
    fit is scikit-learn's own: the same initial weights and validation split (its
    RandomState draws), the validation score (accuracy, R^2) as the stopping rule, and
    the best-scoring epoch's parameters kept. Measured differences are 1e-16 (BLAS and
    NumPy sum in other orders), so 1e-12 leaves room for other BLAS builds and no more."""
    from sklearn.neural_network import MLPClassifier as SkClassifier, MLPRegressor as SkRegressor
    if problem == "regression":
        # few noisy samples: the validation R^2 peaks, then falls as the fit overfits
        x, y = make_regression(n_samples=100, n_features=20, noise=50.0, random_state=0)
        y = y / y.std()
        ours, theirs = MLPRegressor, SkRegressor
        params = dict(learning_rate_init=0.01, tol=0.0, max_iter=500)
    else:
        x, y = _blobs()
        if problem == "binary":
            x, y = x[y != 2], y[y != 2]
        ours, theirs = MLPClassifier, SkClassifier
        params = dict(learning_rate_init=0.05, activation="tanh", max_iter=60)
    params.update(solver="sgd", batch_size=1000, early_stopping=True, random_state=seed)
    mine, reference = ours(**params).fit(x, y), theirs(**params).fit(x, y)
    assert mine.n_iter_ == reference.n_iter_ < params["max_iter"]  # stopped early
    assert mine.best_loss_ is None and reference.best_loss_ is None
    np.testing.assert_allclose(mine.validation_scores_, reference.validation_scores_, rtol=0, atol=1e-12)
    assert mine.best_validation_score_ == pytest.approx(reference.best_validation_score_, abs=1e-12)
    assert mine.best_validation_score_ == max(mine.validation_scores_)
    # the kept epoch is the best one, not the last (patience ran out after it)
    assert int(np.argmax(mine.validation_scores_)) + 1 < mine.n_iter_
    np.testing.assert_allclose(mine.loss_curve_, reference.loss_curve_, rtol=1e-12)
    assert mine.loss_ == pytest.approx(reference.loss_, rel=1e-12)
    for a, b in zip(mine.coefs_ + mine.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_weighted_fit_follows_sklearn_batch_for_batch(early_stopping):
    """With sample weights the estimator steps batch by batch itself, in scikit-learn's
    order (sklearn.utils.shuffle with the fit's RandomState, after the split): several
    shuffled mini-batches with SGD and momentum give scikit-learn's fit. alpha=0: with
    weights the L2 decay uses the mean weight, not each batch's (documented).
    Measured differences 3e-15; 1e-12 as above."""
    from sklearn.neural_network import MLPClassifier as SkClassifier
    x, y = load_iris(return_X_y=True)
    weights = np.random.RandomState(0).randint(1, 4, len(y)).astype(float)
    params = dict(solver="sgd", batch_size=32, early_stopping=early_stopping, random_state=0,
                  max_iter=40, learning_rate_init=0.05, hidden_layer_sizes=(8,), alpha=0.0)
    mine = MLPClassifier(**params).fit(x, y, sample_weight=weights)
    reference = SkClassifier(**params).fit(x, y, sample_weight=weights)
    assert mine.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(mine.loss_curve_, reference.loss_curve_, rtol=1e-12)
    for a, b in zip(mine.coefs_ + mine.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_initial_weights_are_sklearns():
    """random_state=int: the initial coefs_ and intercepts_ are scikit-learn's draws
    (factor 2 for logistic), in the model's dtype. lr=1e-300 makes the one epoch's
    step vanish against the weights, so the fitted weights are the initial ones."""
    from sklearn.neural_network import MLPClassifier as SkClassifier
    x, y = load_iris(return_X_y=True)
    for activation, dtype in (("relu", np.float64), ("logistic", np.float64), ("tanh", np.float32)):
        params = dict(hidden_layer_sizes=(7, 5), activation=activation, solver="sgd", momentum=0.0,
                      learning_rate_init=1e-300, max_iter=1, random_state=3)
        mine = MLPClassifier(**params).fit(x.astype(dtype), y)
        reference = SkClassifier(**params).fit(x.astype(dtype), y)
        for a, b in zip(mine.coefs_ + mine.intercepts_, reference.coefs_ + reference.intercepts_):
            assert a.dtype == b.dtype == dtype
            assert np.array_equal(a, b)


def _check_classifiers_train_failures(estimator, seeds, monkeypatch):
    """The seeds at which scikit-learn's check_classifiers_train fails for estimator.
    The check sets random_state=0 itself (set_random_state); patched to each seed."""
    import sklearn.utils.estimator_checks as checks
    failed, seeded = [], set()

    def set_random_state(est, random_state=0, seed=None):
        seeded.add(seed)
        est.set_params(random_state=seed)

    for seed in seeds:
        monkeypatch.setattr(checks, "set_random_state",
                            lambda est, random_state=0, seed=seed: set_random_state(est, seed=seed))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                checks.check_classifiers_train("MLPClassifier", estimator)
        except AssertionError:
            failed.append(seed)
    assert seeded == set(seeds)  # the patch reached the check: it ran at each seed
    return failed


def test_check_classifiers_train_with_early_stopping_fails_where_sklearns_does(monkeypatch):
    """check_classifiers_train wants training accuracy above 0.83. With
    early_stopping=True scikit-learn's own MLPClassifier fails it at about one seed in
    four (26 of seeds 0-99, e.g. 4 and 15: a start that predicts one class scores 0.5
    on the validation set for n_iter_no_change epochs, and the fit stops there).
    Ours, starting from the same weights and split, fails at the same seeds (the same
    26 of 100 measured; 0-15 here to keep the test short)."""
    from sklearn.neural_network import MLPClassifier as SkClassifier
    seeds = range(16)
    reference = _check_classifiers_train_failures(SkClassifier(early_stopping=True), seeds, monkeypatch)
    mine = _check_classifiers_train_failures(MLPClassifier(early_stopping=True), seeds, monkeypatch)
    assert mine == reference


# ---- check_estimator at the settings the issue names --------------------------------

# Each expected failure is one scikit-learn's own MLP has at the same setting too (run
# as a third-party estimator: for its own MLPs check_estimator swaps in other
# parameters for the sample-weight checks), or that follows from a setting only
# swiftmlp has (dtype).
_TINY = ("its data sets are too small to hold out a validation set of 2 samples, which "
         "scikit-learn's MLP refuses too ('The validation set is too small' or a stratified "
         "test_size error)")
_SW_SPLIT = ("the early-stopping split of the weighted rows differs from the split of the repeated "
             "rows, so the two fits train on other data; scikit-learn's MLP fails it too")
_REFIT = "with warm_start=True the second fit continues from the first, as in scikit-learn"
_SW32 = ("float32 arithmetic: the weighted and the repeated fits agree to float32 rounding, not to "
         "the check's rtol 1e-7; scikit-learn's MLP fitted on the check's data as float32 fails it "
         "too (relative differences 1e-3 classifier, 2e-6 regressor)")
_EARLY = {"check_sample_weight_equivalence_on_dense_data": _SW_SPLIT,
          "check_sample_weight_equivalence_on_sparse_data": _SW_SPLIT,
          "check_estimators_nan_inf": _TINY, "check_fit2d_1feature": _TINY}
EXPECTED = {
    ("MLPClassifier", "defaults"): {},
    ("MLPRegressor", "defaults"): {},
    ("MLPClassifier", "early_stopping=True"): {**_EARLY, "check_classifiers_one_label": _TINY},
    ("MLPRegressor", "early_stopping=True"): {**_EARLY, "check_regressors_no_decision_function": _TINY},
    ("MLPClassifier", "warm_start=True"): {
        "check_classifiers_multilabel_representation_invariance": _REFIT,
        "check_supervised_y_2d": _REFIT},
    ("MLPRegressor", "warm_start=True"): {"check_supervised_y_2d": _REFIT},
    ("MLPClassifier", "solver=sgd"): {},
    ("MLPRegressor", "solver=sgd"): {},
    ("MLPClassifier", "solver=lbfgs"): {
        "check_classifiers_multilabel_output_format_predict_proba":
            "lbfgs drives this check's logits past 37, where a float64 sigmoid is exactly 1.0 "
            "(scikit-learn's expit too); the check wants probabilities strictly below 1"},
    ("MLPRegressor", "solver=lbfgs"): {},
    ("MLPClassifier", "dtype=float32"): {
        "check_sample_weight_equivalence_on_dense_data": _SW32,
        "check_sample_weight_equivalence_on_sparse_data": _SW32},
    ("MLPRegressor", "dtype=float32"): {
        "check_sample_weight_equivalence_on_dense_data": _SW32,
        "check_sample_weight_equivalence_on_sparse_data": _SW32},
}
SETTINGS = {"defaults": {}, "early_stopping=True": {"early_stopping": True},
            "warm_start=True": {"warm_start": True}, "solver=sgd": {"solver": "sgd"},
            "solver=lbfgs": {"solver": "lbfgs"}, "dtype=float32": {"dtype": "float32"}}


def _sklearns_failures(name: str, settings: dict, checks: set) -> set:
    """Which of checks fail for scikit-learn's own MLP (class name) at settings, run as
    a third-party estimator: a subclass, since for its own classes check_estimator
    replaces the parameters of some checks (PER_ESTIMATOR_CHECK_PARAMS)."""
    from sklearn import neural_network
    from sklearn.utils.estimator_checks import estimator_checks_generator
    reference = type(name, (getattr(neural_network, name),), {})
    failed = set()
    for estimator, check in estimator_checks_generator(reference(**settings), mark=None):
        check_name = getattr(check, "func", check).__name__
        if check_name in checks:
            try:
                check(estimator)
            except Exception:  # noqa: BLE001 - a failed check, as check_estimator counts it
                failed.add(check_name)
    return failed


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_check_estimator(Estimator, name):
    """check_estimator at each setting the issue names: every check passes except the
    expected failures, each of those does fail (the list stays true), and scikit-learn's
    own MLP fails each of them at the same setting (dtype is swiftmlp's only). Most
    checks set random_state=0 themselves; the estimator's own random_state=0 keeps
    the others deterministic (the same outcome was measured at 1, 2, 3 and None).
    check_classifiers_train over other seeds is the test above."""
    expected = EXPECTED[Estimator.__name__, name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(Estimator(random_state=0, **SETTINGS[name]), on_fail=None,
                                  expected_failed_checks=expected)
        if expected and "dtype" not in SETTINGS[name]:
            assert _sklearns_failures(Estimator.__name__, SETTINGS[name], set(expected)) == set(expected)
    failed = sorted({r["check_name"] for r in results if r["status"] == "failed"})
    assert failed == [], failed
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(expected), set(expected) - xfailed


def test_changed_settings_after_fit():
    """set_params after a fit: predict keeps using the fitted model (a loss set
    since does not turn its outputs into exp of them), and a warm start or
    partial_fit continues from the same coefficients with the new activation and
    loss, as sklearn does."""
    x, y = make_regression(n_samples=60, n_features=3, noise=1.0, random_state=0)
    y = (y - y.mean()) / y.std()
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(x, y)
    before = model.predict(x)
    model.set_params(loss="poisson")
    np.testing.assert_array_equal(model.predict(x), before)
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(x, y)
    coefs = [c.copy() for c in model.coefs_]
    model.set_params(activation="tanh", warm_start=True, max_iter=1, learning_rate_init=1e-12)
    model.fit(x, y)
    assert model.network_.activations[0].name == "TANH"
    for new, old in zip(model.coefs_, coefs):  # one step at a negligible rate
        np.testing.assert_allclose(new, old, rtol=1e-9, atol=1e-9)


def test_lbfgs_multi_output_loss_on_sklearns_scale():
    """Squared error over several outputs: sklearn's loss_ averages over them (its
    gradient does not), on lbfgs as on the stochastic solvers: loss_ is the mean
    squared error / 2 plus the L2 term."""
    x, y = make_regression(n_samples=60, n_features=3, noise=1.0, random_state=0)
    y = (y - y.mean()) / y.std()
    targets = np.c_[y, -y, y / 2]
    model = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(5,), alpha=0.0, max_iter=50,
                         random_state=0).fit(x, targets)
    mse = float(((model.predict(x) - targets) ** 2).mean()) / 2
    assert model.loss_ == pytest.approx(mse, rel=1e-9)  # float64 sums in two orders


def test_standardize_with_weights_is_repeated_rows():
    """standardize=True with sample weights: the scaler's statistics are those of the
    rows repeated by their weights, as the fit's loss is."""
    x, y = make_regression(n_samples=40, n_features=3, noise=1.0, random_state=0)
    weights = np.r_[np.full(20, 3.0), np.ones(20)]
    rows = np.r_[np.repeat(np.arange(20), 3), np.arange(20, 40)]
    weighted = MLPRegressor(standardize=True, max_iter=1, random_state=0).fit(x, y, sample_weight=weights)
    repeated = MLPRegressor(standardize=True, max_iter=1, random_state=0).fit(x[rows], y[rows])
    for a, b in zip(weighted.network_.scaler, repeated.network_.scaler):
        np.testing.assert_allclose(a, b, rtol=1e-13)  # weighted vs repeated sums: rounding


def test_weighted_lbfgs_without_scipy_says_so(monkeypatch):
    """The estimators run without scikit-learn, so maybe without scipy: a weighted
    lbfgs fit, which needs scipy's L-BFGS-B, then says what to install."""
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    x, y = make_regression(n_samples=20, n_features=2, random_state=0)
    with pytest.raises(ImportError, match="pip install scipy"):
        MLPRegressor(solver="lbfgs", max_iter=3).fit(x, y, sample_weight=np.arange(20) + 1.0)
