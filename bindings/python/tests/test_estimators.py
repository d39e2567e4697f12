"""MLPClassifier and MLPRegressor follow scikit-learn's estimator conventions."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import swiftmlp  # noqa: E402
from swiftmlp import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True)
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_check_estimator(estimator, check):
    """scikit-learn's own estimator checks (check_estimator), one test each."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_constructor_stores_parameters_unchanged():
    model = MLPClassifier(hidden_layer_sizes=[7, 3], activation="tanh", solver="sgd", alpha=0.5,
                          batch_size=16, learning_rate="cosine", random_state=np.random.RandomState(0),
                          dtype="float32", standardize=False)
    params = model.get_params()
    assert params["hidden_layer_sizes"] == [7, 3] and params["dtype"] == "float32"
    assert params["standardize"] is False and params["batch_size"] == 16
    sk = set(sklearn.neural_network.MLPClassifier().get_params())
    ours = set(params)
    assert ours - sk == {"dtype", "standardize", "progress"}
    assert sk - ours == set()
    sk_regressor = set(sklearn.neural_network.MLPRegressor().get_params())
    assert set(MLPRegressor().get_params()) - sk_regressor == {"dtype", "standardize", "progress"}
    assert sk_regressor - set(MLPRegressor().get_params()) == set()
    assert model.set_params(alpha=1.0) is model and model.alpha == 1.0
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(nonsense=1)
    assert is_classifier(MLPClassifier()) and is_regressor(MLPRegressor())


def test_clone_gives_an_unfitted_equal_estimator(iris):
    x_train, _, y_train, _ = iris
    model = MLPClassifier(hidden_layer_sizes=(10,), max_iter=20, random_state=1).fit(x_train, y_train)
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "network_")
    twin.fit(x_train, y_train)
    assert np.array_equal(twin.coefs_[0], model.coefs_[0])  # same random_state, same fit


def test_iris_accuracy_and_fitted_attributes(iris):
    x_train, x_test, y_train, y_test = iris
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0, learning_rate_init=0.01)
    assert model.fit(x_train, y_train) is model
    assert model.score(x_test, y_test) >= 0.9
    assert list(model.classes_) == [0, 1, 2] and model.n_features_in_ == 4
    assert [c.shape for c in model.coefs_] == [(4, 16), (16, 3)]
    assert [b.shape for b in model.intercepts_] == [(16,), (3,)]
    assert model.n_layers_ == 3 and model.n_outputs_ == 3 and model.out_activation_ == "softmax"
    assert len(model.loss_curve_) == model.n_iter_ and model.loss_ == model.loss_curve_[-1]
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.t_ == model.n_iter_ * len(x_train)
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    proba = model.predict_proba(x_test)
    assert proba.shape == (len(x_test), 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(model.predict(x_test), model.classes_[proba.argmax(axis=1)])
    assert np.allclose(model.predict_log_proba(x_test), np.log(proba))
    assert isinstance(model.network_, swiftmlp.Network)


def test_digits_accuracy(digits):
    x_train, x_test, y_train, y_test = digits
    model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=60, random_state=0).fit(x_train, y_train)
    assert model.score(x_test, y_test) >= 0.95


def test_forward_pass_matches_numpy_with_coefs(iris):
    """coefs_ and intercepts_ mean what they mean in scikit-learn."""
    x_train, x_test, y_train, _ = iris
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0, standardize=False)
    model.fit(x_train, y_train)
    hidden = np.maximum(x_test @ model.coefs_[0] + model.intercepts_[0], 0)
    logits = hidden @ model.coefs_[1] + model.intercepts_[1]
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(model.predict_proba(x_test), expected)
    # assigning coefs_ changes the model
    zeros = [np.zeros_like(c) for c in model.coefs_]
    model.coefs_ = zeros
    model.intercepts_ = [np.zeros(8), np.array([0.0, 5.0, 0.0])]
    assert np.all(model.predict(x_test) == 1)
    with pytest.raises(ValueError, match="expected shape"):
        model.coefs_ = [np.zeros((2, 2)), np.zeros((8, 3))]


def test_binary_uses_one_sigmoid_output_and_string_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=200, random_state=0, learning_rate_init=0.01)
    model.fit(x, y)
    assert list(model.classes_) == ["no", "yes"]
    assert model.network_.n_outputs == 1 and model.out_activation_ == "logistic"
    assert model.network_.loss == swiftmlp.Loss.BINARY_CROSS_ENTROPY
    proba = model.predict_proba(x)
    assert proba.shape == (120, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(model.predict(x)) <= {"yes", "no"} and model.score(x, y) > 0.9
    assert [c.shape for c in model.coefs_] == [(3, 8), (8, 1)]


def test_multiclass_with_arbitrary_labels():
    rng = np.random.default_rng(1)
    centers = np.array([[4, 0], [0, 4], [-4, 0], [0, -4]])
    index = rng.integers(0, 4, size=200)
    x = centers[index] + rng.normal(size=(200, 2))
    labels = np.array([-7, 3, 10, 42])[index]
    model = MLPClassifier(hidden_layer_sizes=(10,), max_iter=100, random_state=0, learning_rate_init=0.01)
    model.fit(x, labels)
    assert list(model.classes_) == [-7, 3, 10, 42]
    assert model.network_.loss == swiftmlp.Loss.SOFTMAX_CROSS_ENTROPY
    assert model.score(x, labels) > 0.95
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        model.partial_fit(x[:5], np.array([1, 2, 3, 4, 5]))


def test_multilabel():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 4))
    y = np.column_stack([x[:, 0] > 0, x[:, 1] > 0, x[:, 0] + x[:, 2] > 0]).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0, learning_rate_init=0.01)
    model.fit(x, y)
    assert list(model.classes_) == [0, 1, 2] and model.network_.n_outputs == 3
    predicted = model.predict(x)
    assert predicted.shape == (200, 3) and model.score(x, y) > 0.8
    assert model.predict_proba(x).shape == (200, 3)


def test_one_class_behaves_as_sklearn():
    """sklearn fits a single class (one sigmoid output trained towards 0): predict
    gives that class and predict_proba two columns, as its LabelBinarizer does."""
    x = np.random.default_rng(0).normal(size=(6, 2))
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(x, np.full(6, 3))
    assert list(model.classes_) == [3] and model.n_outputs_ == 1 and model.out_activation_ == "logistic"
    assert np.array_equal(model.predict(x), np.full(6, 3))
    proba = model.predict_proba(x)
    assert proba.shape == (6, 2) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(x, np.full(6, 3)) == 1.0


def test_regressor():
    x, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    model = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, learning_rate_init=0.01, random_state=0)
    model.fit(x, y)
    assert model.score(x, y) > 0.95
    assert model.predict(x).shape == (200,) and model.out_activation_ == "identity"
    two = np.column_stack([y, -2 * y])
    model.fit(x, two)
    assert model.predict(x).shape == (200, 2) and model.n_outputs_ == 2
    assert model.score(x, two) > 0.9


def test_float32_models(iris):
    x_train, x_test, y_train, y_test = iris
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0, dtype="float32",
                          learning_rate_init=0.01)
    model.fit(x_train, y_train)
    assert model.network_.dtype == np.float32 and model.coefs_[0].dtype == np.float32
    # computed in float32; returned in scikit-learn's dtype (float64 for float64 X)
    assert model.predict_proba(x_test.astype(np.float32)).dtype == np.float32
    assert model.predict_proba(x_test).dtype == np.float64 and model.score(x_test, y_test) >= 0.9
    with pytest.raises(ValueError, match="dtype must be"):
        MLPClassifier(dtype="float16").fit(x_train, y_train)


def test_partial_fit(iris):
    x_train, x_test, y_train, y_test = iris
    model = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(x_train, y_train)
    for epoch in range(100):
        model.partial_fit(x_train[:50], y_train[:50], classes=[0, 1, 2])
        model.partial_fit(x_train[50:], y_train[50:])
    # as in sklearn, n_iter_ counts the iterations of the last call (1 for partial_fit)
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 200 and model.t_ == 100 * len(x_train)
    assert model.score(x_test, y_test) >= 0.9
    with pytest.raises(ValueError, match="X has 3 features"):
        model.partial_fit(x_train[:, :3], y_train)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        model.partial_fit(x_train, y_train, classes=[0, 1])
    regressor = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    x, y = make_regression(n_samples=50, n_features=3, random_state=1)
    regressor.partial_fit(x, y)
    regressor.partial_fit(x, y)
    assert regressor.n_iter_ == 1 and len(regressor.loss_curve_) == 2
    assert regressor.predict(x).shape == (50,)


def test_tol_stops_training_like_sklearn():
    x, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5000, tol=1e-2, n_iter_no_change=3,
                              random_state=0).fit(x, y)
    assert model.n_iter_ < 5000
    # sklearn's rule: more than n_iter_no_change epochs without a tol improvement
    curve = np.array(model.loss_curve_)
    best, count = np.inf, 0
    for value in curve:
        count = count + 1 if value > best - 1e-2 else 0
        best = min(best, value)
    assert count == 4


def test_max_iter_reached_warns():
    x, y = load_iris(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(max_iter=3, random_state=0).fit(x, y)


def test_early_stopping(digits):
    x_train, x_test, y_train, y_test = digits
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=500, early_stopping=True, n_iter_no_change=5,
                          validation_fraction=0.2, random_state=0, learning_rate_init=0.01)
    model.fit(x_train, y_train)
    assert model.n_iter_ < 500
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_loss_ is None and model.best_validation_score_ in model.validation_scores_
    assert 0.9 < model.best_validation_score_ <= 1.0
    assert model.t_ == model.n_iter_ * (len(x_train) - int(np.ceil(0.2 * len(x_train))))
    assert model.score(x_test, y_test) > 0.9
    x, y = make_regression(n_samples=300, n_features=4, noise=0.1, random_state=0)
    regressor = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, max_iter=500,
                             learning_rate_init=0.01, random_state=0).fit(x, y)
    assert 0.9 < max(regressor.validation_scores_) <= 1.0


def test_regressor_validation_score_is_r2():
    from sklearn.metrics import r2_score
    x, y = make_regression(n_samples=100, n_features=3, noise=5.0, random_state=0)
    model = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=3, random_state=0,
                         n_iter_no_change=50)
    model.fit(x, y)
    # sklearn's split: its RandomState(0) draws the initial W and b, then the split
    rng = np.random.RandomState(0)
    for fan_in, fan_out in ((3, 8), (8, 1)):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        rng.uniform(-bound, bound, (fan_in, fan_out))
        rng.uniform(-bound, bound, fan_out)
    train_x, val_x, train_y, val_y = train_test_split(x, y.reshape(-1, 1), test_size=0.1, random_state=rng)
    assert model.validation_scores_[-1] == pytest.approx(r2_score(val_y, model.predict(val_x)), rel=1e-6)


def test_warm_start_continues():
    x, y = load_iris(return_X_y=True)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0).fit(x, y)
    first = model.coefs_[0].copy()
    network = model.network_
    model.fit(x, y)
    # n_iter_ is this fit's (sklearn resets it each fit); loss_curve_ keeps growing
    assert model.network_ is network and model.n_iter_ == 5 and len(model.loss_curve_) == 10
    assert not np.array_equal(first, model.coefs_[0])
    cold = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(x, y)
    assert np.array_equal(cold.fit(x, y).coefs_[0], first)  # refit from scratch


def test_pipeline_cross_val_score_and_grid_search(iris):
    x, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(10,), max_iter=200,
                                                             random_state=0, standardize=False,
                                                             learning_rate_init=0.01))
    pipeline.fit(x, y)
    assert pipeline.score(x, y) > 0.9
    scores = cross_val_score(pipeline, x, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    search = GridSearchCV(
        MLPClassifier(max_iter=100, random_state=0, learning_rate_init=0.01),
        {"hidden_layer_sizes": [(4,), (16,)], "alpha": [1e-4, 1e-2]}, cv=3)
    search.fit(x, y)
    assert set(search.best_params_) == {"hidden_layer_sizes", "alpha"}
    assert search.best_score_ > 0.85 and len(search.cv_results_["params"]) == 4
    assert isinstance(search.best_estimator_, MLPClassifier)
    regression = GridSearchCV(make_pipeline(StandardScaler(), MLPRegressor(max_iter=50, random_state=0)),
                              {"mlpregressor__activation": ["relu", "tanh"]}, cv=2)
    xr, yr = make_regression(n_samples=60, n_features=3, random_state=0)
    regression.fit(xr, yr)
    assert regression.best_params_["mlpregressor__activation"] in ("relu", "tanh")


def test_parallel_cross_val_score_pickles_the_estimator():
    x, y = load_iris(return_X_y=True)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=100, random_state=0, learning_rate_init=0.01)
    scores = cross_val_score(model, x, y, cv=3, n_jobs=2)
    assert scores.mean() > 0.8


def test_pickle_round_trip(iris):
    x_train, x_test, y_train, _ = iris
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(x_train, y_train)
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.predict_proba(x_test), model.predict_proba(x_test))
    assert again.get_params() == model.get_params() and again.n_iter_ == model.n_iter_


def test_not_fitted():
    for model in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError):
            model.predict(np.ones((2, 2)))
        with pytest.raises(AttributeError):
            model.coefs_


@pytest.mark.parametrize("params, message", [
    ({"solver": "newton"}, "The 'solver' parameter of MLPClassifier must be a str among"),
    ({"activation": "softmax"}, "The 'activation' parameter of MLPClassifier must be a str among"),
    ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must be > 0"),
    ({"learning_rate": "step"}, "The 'learning_rate' parameter of MLPClassifier must be a str among"),
    ({"max_iter": 0}, "The 'max_iter' parameter of MLPClassifier must be an int >= 1. Got 0 instead."),
    ({"batch_size": 0}, "'batch_size' parameter of MLPClassifier must be 'auto' or an int >= 1"),
    ({"validation_fraction": 1.0}, "'validation_fraction' parameter of MLPClassifier must be in"),
    ({"learning_rate_init": -1.0}, "'learning_rate_init' parameter of MLPClassifier must be a number > 0"),
    ({"n_iter_no_change": 0.5}, "must be an int >= 1 or numpy.inf"),
    ({"dtype": "float16"}, "dtype must be None, 'float32' or 'float64'"),
])
def test_invalid_hyperparameters_are_reported_at_fit(params, message):
    model = MLPClassifier(**params)  # the constructor never checks
    with pytest.raises(ValueError, match=message):
        model.fit(np.random.rand(10, 2), np.arange(10) % 2)


def test_solvers_and_cosine_schedule(iris):
    x_train, x_test, y_train, y_test = iris
    for solver in ("sgd", "adam", "adamw", "rmsprop"):
        model = MLPClassifier(hidden_layer_sizes=(16,), solver=solver, max_iter=200, random_state=0,
                              learning_rate_init=0.01, learning_rate="cosine").fit(x_train, y_train)
        assert model.score(x_test, y_test) >= 0.85, solver


def test_progress_shows_a_progress_bar(monkeypatch, capsys):
    import swiftmlp._progress as progress
    monkeypatch.setattr(progress, "TqdmBar", lambda total, desc: progress.PlainBar(total, desc))
    x, y = load_iris(return_X_y=True)
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=7, progress=True, random_state=0).fit(x, y)
    captured = capsys.readouterr()
    assert "7/7 epochs" in captured.err and captured.out == ""
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=7, random_state=0).fit(x, y)
    assert capsys.readouterr().err == ""


def test_keyboard_interrupt_in_fit_keeps_a_usable_model(monkeypatch):
    x, y = load_iris(return_X_y=True)
    import swiftmlp.network as network_module
    real_train = network_module.Network.train

    calls = []

    def interrupted_train(self, *args, callback=None, **kwargs):
        # The estimator trains one epoch per call; Ctrl-C arrives during the third.
        calls.append(1)

        def wrapped(report):
            result = callback(report)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return result
        return real_train(self, *args, callback=wrapped, **kwargs)

    monkeypatch.setattr(network_module.Network, "train", interrupted_train)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=100, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    assert model.predict(x).shape == (150,)


def test_keyboard_interrupt_in_lbfgs_fit_keeps_its_history(monkeypatch):
    """solver='lbfgs' trains in one library call: Ctrl-C in its fourth iteration
    leaves n_iter_, loss_curve_ and loss_ for the four iterations done."""
    x, y = load_iris(return_X_y=True)
    import swiftmlp.network as network_module
    real_train = network_module.Network.train

    def interrupted_train(self, *args, callback=None, **kwargs):
        def wrapped(report):
            callback(report)
            if report.epoch == 4:
                raise KeyboardInterrupt
            return False
        return real_train(self, *args, callback=wrapped, **kwargs)

    monkeypatch.setattr(network_module.Network, "train", interrupted_train)
    model = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=100, alpha=0.1, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y)
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 4 and model.t_ == 4 * 150
    assert model.loss_ == pytest.approx(model.loss_curve_[-1] + model._l2_penalty(model.network_) / 150)
    assert model.predict(x).shape == (150,)


def test_fallback_without_scikit_learn(tmp_path):
    """With scikit-learn unimportable the estimators still work (tiny base class)."""
    from conftest import BINDING_ROOT, run_python
    import os
    code = r"""
import sys
sys.modules["sklearn"] = None  # make `import sklearn` fail
import numpy as np
import swiftmlp
from swiftmlp import estimators
assert not estimators.HAVE_SKLEARN
rng = np.random.default_rng(0)
x = rng.normal(size=(150, 3))
y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 1)
model = swiftmlp.MLPClassifier(hidden_layer_sizes=(8,), max_iter=100, random_state=0, learning_rate_init=0.01)
params = model.get_params()
assert params["hidden_layer_sizes"] == (8,) and "standardize" in params
assert model.set_params(alpha=0.1) is model and model.alpha == 0.1
try:
    model.predict(x)
except estimators.NotFittedError:
    pass
else:
    raise AssertionError("predict before fit")
model.fit(x, y)
assert model.score(x, y) > 0.85 and model.n_features_in_ == 3
reg = swiftmlp.MLPRegressor(hidden_layer_sizes=(8,), max_iter=200, random_state=0, learning_rate_init=0.01)
reg.fit(x, x[:, 0] * 2 + 1)
assert reg.score(x, x[:, 0] * 2 + 1) > 0.9
try:
    model.predict(np.ones((2, 5)))
except ValueError as e:
    assert "expecting 3 features" in str(e)
print("fallback ok", repr(model))
"""
    env = dict(os.environ, PYTHONPATH=str(BINDING_ROOT))
    done = run_python(code, env=env, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "fallback ok MLPClassifier(" in done.stdout
