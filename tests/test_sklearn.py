"""layerkit.sklearn: scikit-learn's estimator checks, its tools, and the estimators' own
parameters and fitted attributes."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import joblib  # noqa: E402  (a dependency of scikit-learn)
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import layerkit as lk  # noqa: E402
from layerkit.sklearn import (  # noqa: E402
    LayerkitClassifier,
    LayerkitRegressor,
    expected_failed_checks,
)

# Small and quick, yet enough to pass the checks that ask for a decent score.
_QUICK = {"hidden_layer_sizes": (16,), "epochs": 30, "learning_rate": 0.01, "random_state": 0}


@parametrize_with_checks(
    [
        LayerkitClassifier(**_QUICK),
        LayerkitClassifier(**_QUICK, dtype="float64"),
        LayerkitRegressor(**_QUICK),
        LayerkitRegressor(**_QUICK, dtype="float64"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_estimator_passes_sklearn_check(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    d = lk.datasets.load_digits()
    return d.X_train[:600], d.y_train[:600], d.X_test, d.y_test


def _three_blobs(n=150, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    y = np.repeat(np.arange(3), n // 3)
    return centres[y] + rng.normal(size=(len(y), 2)), y


# ---------------------------------------------------------------------------- scikit-learn tools
def test_pipeline_with_scaler_learns_digits(digits):
    X, y, X_test, y_test = digits
    pipe = make_pipeline(StandardScaler(), LayerkitClassifier((32,), epochs=15, random_state=0))
    assert pipe.fit(X, y).score(X_test, y_test) > 0.9


def test_grid_search_with_two_jobs_picks_from_the_grid(digits):
    X, y, _, _ = digits
    grid = GridSearchCV(
        LayerkitClassifier(epochs=10, learning_rate=0.01, random_state=0),
        {"hidden_layer_sizes": [(8,), (32,)], "dropout": [0.0, 0.2]},
        cv=2,
        n_jobs=2,
    )
    grid.fit(X, y)
    assert grid.best_params_["hidden_layer_sizes"] in [(8,), (32,)]
    scores = grid.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all((scores > 0.5) & (scores <= 1.0))
    assert (
        grid.best_estimator_.network_.layers[1].units == grid.best_params_["hidden_layer_sizes"][0]
    )


def test_cross_val_score_gives_one_score_per_fold(digits):
    X, y, _, _ = digits
    scores = cross_val_score(
        LayerkitClassifier((32,), epochs=10, learning_rate=0.01, random_state=0), X, y, cv=3
    )
    assert scores.shape == (3,) and np.all(scores > 0.8)


def test_regressor_cross_val_score_is_r2():
    X = np.linspace(-1, 1, 300)[:, None]
    y = np.sin(3 * X[:, 0])
    reg = LayerkitRegressor((32,), "tanh", epochs=150, learning_rate=0.01, random_state=0)
    scores = cross_val_score(reg, X, y, cv=3, scoring="r2")
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    assert reg.fit(X, y).score(X, y) > 0.95


def test_clone_copies_parameters_not_the_fitted_network():
    X, y = _three_blobs()
    clf = LayerkitClassifier((8, 4), ["tanh", "relu"], dropout=[0.1, 0.0], epochs=3)
    clf.set_params(random_state=1).fit(X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "network_") and hasattr(clf, "network_")


# ---------------------------------------------------------------------------- the network built
def test_hidden_layers_follow_sizes_activations_and_dropout():
    X, y = _three_blobs()
    clf = LayerkitClassifier((8, 4), ["tanh", "elu"], dropout=[0.25, 0.0], epochs=1).fit(X, y)
    kinds = [type(layer).__name__ for layer in clf.network_.layers]
    assert kinds == ["Input", "Dense", "Dropout", "Dense", "Dense"]
    dense = [layer for layer in clf.network_.layers if isinstance(layer, lk.Dense)]
    assert [d.units for d in dense] == [8, 4, 3]
    assert [d.activation.name for d in dense] == ["tanh", "elu", "softmax"]
    assert clf.network_.layers[2].rate == 0.25
    assert clf.network_.loss_fn.name == "categorical_crossentropy"


def test_layers_spec_is_copied_and_left_reusable():
    X, y = _three_blobs()
    spec = [lk.Dense(6, "leaky_relu", activation_params={"alpha": 0.2}), lk.Dropout(0.1)]
    clf = LayerkitClassifier(layers=spec, epochs=2, random_state=0).fit(X, y)
    built = clf.network_.layers[1]
    assert built is not spec[0] and built.activation.alpha == 0.2
    # the user's layers were never built into the estimator's network: still usable
    lk.Network([lk.Input(2), *spec, lk.Dense(3, "softmax")], seed=0)


def test_binary_classifier_uses_one_sigmoid_unit_and_two_probability_columns():
    X, y = _three_blobs()
    keep = y < 2
    labels = np.where(y[keep] == 0, "cat", "dog")
    clf = LayerkitClassifier((8,), epochs=20, learning_rate=0.01, random_state=0)
    clf.fit(X[keep], labels)
    assert clf.network_.output_shape == (1,)
    assert clf.network_.loss_fn.name == "binary_crossentropy"
    proba = clf.predict_proba(X[keep])
    assert proba.shape == (keep.sum(), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == ["cat", "dog"]
    assert np.mean(clf.predict(X[keep]) == labels) > 0.95


def test_binary_with_categorical_loss_uses_two_softmax_units():
    X, y = _three_blobs()
    keep = y < 2
    clf = LayerkitClassifier((4,), loss="categorical_crossentropy", epochs=1, random_state=0)
    clf.fit(X[keep], y[keep])
    assert clf.network_.output_shape == (2,)


def test_regressor_multi_output_and_1d_shapes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    reg = LayerkitRegressor((16,), epochs=60, learning_rate=0.01, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (100, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.9
    assert reg.network_.layers[-1].activation.name == "identity"
    one = LayerkitRegressor((4,), epochs=1, random_state=0).fit(X, Y[:, 0])
    assert one.predict(X).shape == (100,)


def test_regressor_sum_of_squares_loss():
    X = np.linspace(-1, 1, 50)[:, None]
    reg = LayerkitRegressor((4,), loss="sum_of_squares", epochs=1, random_state=0).fit(X, X[:, 0])
    assert reg.network_.loss_fn.name == "sum_of_squares"


# ---------------------------------------------------------------------------- fitted attributes
def test_fitted_attributes_after_fit_with_validation_set(digits):
    X, y, X_test, y_test = digits
    clf = LayerkitClassifier((16,), epochs=4, random_state=0).fit(X, y, X_test, y_test)
    assert isinstance(clf.network_, lk.Network)
    assert isinstance(clf.history_, lk.History)
    assert clf.n_features_in_ == 64 and clf.n_iter_ == 4
    assert list(clf.classes_) == list(range(10))
    assert clf.loss_curve_ == clf.history_.train_cost and len(clf.loss_curve_) == 4
    assert clf.validation_loss_curve_ == clf.history_.val_cost
    assert len(clf.validation_loss_curve_) == 4
    assert not hasattr(clf, "feature_names_in_")


def test_no_validation_data_means_no_validation_curve():
    X, y = _three_blobs()
    clf = LayerkitClassifier((4,), epochs=2, random_state=0).fit(X, y)
    assert clf.validation_loss_curve_ is None


def test_feature_names_are_kept_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = _three_blobs()
    frame = pd.DataFrame(X, columns=["width", "height"])
    clf = LayerkitClassifier((4,), epochs=1, random_state=0).fit(frame, y)
    assert list(clf.feature_names_in_) == ["width", "height"]
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_same_random_state_gives_identical_networks():
    X, y = _three_blobs()
    a = LayerkitClassifier((8,), dropout=0.2, epochs=3, random_state=7).fit(X, y)
    b = LayerkitClassifier((8,), dropout=0.2, epochs=3, random_state=7).fit(X, y)
    for wa, wb in zip(a.network_.get_weights(), b.network_.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


# ---------------------------------------------------------------------------- continuing
def test_warm_start_continues_the_same_network():
    X, y = _three_blobs()
    clf = LayerkitClassifier((8,), epochs=3, warm_start=True, random_state=0).fit(X, y)
    net = clf.network_
    before = [w.copy() for w in net.get_weights()]
    clf.fit(X, y)
    assert clf.network_ is net and clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    assert any(not np.array_equal(a, b) for a, b in zip(before, net.get_weights(), strict=True))


def test_fit_without_warm_start_builds_a_new_network():
    X, y = _three_blobs()
    clf = LayerkitClassifier((8,), epochs=2, random_state=0).fit(X, y)
    first = clf.network_
    clf.fit(X, y)
    assert clf.network_ is not first and clf.n_iter_ == 2


def test_partial_fit_trains_one_epoch_per_call_and_needs_classes_first():
    X, y = _three_blobs()
    clf = LayerkitClassifier((8,), random_state=0)
    with pytest.raises(lk.LayerkitValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.network_.output_shape == (3,) and clf.n_iter_ == 1
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    with pytest.raises(lk.LayerkitValueError, match="not in classes_"):
        clf.partial_fit(X, y + 5)


def test_regressor_partial_fit_continues():
    X = np.linspace(-1, 1, 40)[:, None]
    reg = LayerkitRegressor((4,), random_state=0)
    reg.partial_fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    assert reg.n_iter_ == 2


def test_failed_warm_fit_leaves_the_network_as_it_was():
    X, y = _three_blobs()
    clf = LayerkitClassifier((8,), epochs=1, warm_start=True, random_state=0).fit(X, y)
    before = [w.copy() for w in clf.network_.get_weights()]
    with pytest.raises(ValueError, match="features"):
        clf.fit(np.hstack([X, X]), y)
    for a, b in zip(before, clf.network_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- class weights
def test_balanced_class_weight_equals_the_explicit_balanced_dict():
    X, y = _three_blobs()
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:10], np.flatnonzero(y == 2)]
    X, y = X[keep], np.array(["a", "b", "c"])[y[keep]]
    weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    explicit = dict(zip(np.unique(y), weights, strict=True))
    a = LayerkitClassifier((8,), epochs=3, class_weight="balanced", random_state=0).fit(X, y)
    b = LayerkitClassifier((8,), epochs=3, class_weight=explicit, random_state=0).fit(X, y)
    c = LayerkitClassifier((8,), epochs=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_class_weight_key_must_be_a_class():
    X, y = _three_blobs()
    with pytest.raises(lk.LayerkitValueError, match="class_weight has a key 9"):
        LayerkitClassifier((4,), epochs=1, class_weight={9: 2.0}).fit(X, y)


def test_balanced_class_weight_is_refused_by_partial_fit():
    X, y = _three_blobs()
    clf = LayerkitClassifier((4,), class_weight="balanced")
    with pytest.raises(lk.LayerkitValueError, match="partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


# ---------------------------------------------------------------------------- early stopping
@pytest.mark.parametrize("rule", [2, lk.Patience(2)], ids=["window", "patience"])
def test_early_stopping_holds_out_validation_fraction(rule):
    X, y = _three_blobs(n=300)
    clf = LayerkitClassifier(
        (16,), epochs=200, learning_rate=0.05, early_stopping=rule, random_state=0
    ).fit(X, y)
    assert clf.validation_loss_curve_ is not None
    assert clf.history_.stop_reason == "early_stopping"
    assert clf.n_iter_ < 200
    assert clf.history_.restored_epoch == clf.history_.best_epoch
    assert clf.early_stopping == rule  # the parameter itself is not modified


def test_early_stopping_watches_the_given_validation_set():
    X, y = _three_blobs(n=300)
    X_val, y_val = _three_blobs(n=60, seed=1)
    clf = LayerkitClassifier((8,), epochs=6, early_stopping=3, random_state=0)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    # the restored weights are those of the best epoch on (X_val, y_val)
    best = clf.history_.best_epoch
    assert clf.validation_loss_curve_[best - 1] == min(clf.validation_loss_curve_)
    np.testing.assert_allclose(
        clf.network_.evaluate(X_val, y_val).cost, clf.validation_loss_curve_[best - 1], rtol=1e-5
    )


# ---------------------------------------------------------------------------- pickling
def test_pickled_classifier_predicts_the_same_and_keeps_training():
    X, y = _three_blobs()
    clf = LayerkitClassifier((8,), epochs=2, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.history_.train_cost == clf.history_.train_cost
    copy.partial_fit(X, y)  # parameters and buffers are writable
    assert copy.n_iter_ == 3 and hasattr(clf, "network_")  # the original kept its network


def test_unpickled_from_a_read_only_memory_map_predicts_and_trains(tmp_path):
    X, y = _three_blobs()
    clf = LayerkitClassifier((8,), epochs=2, random_state=0).fit(X, y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    copy = joblib.load(tmp_path / "clf.joblib", mmap_mode="r")
    np.testing.assert_array_equal(copy.predict(X), clf.predict(X))
    copy.partial_fit(X, y)


# ---------------------------------------------------------------------------- bad parameters
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"loss": "hinge"}, "loss must be 'auto', 'categorical_crossentropy'"),
        ({"loss": "binary_crossentropy"}, "exactly 2 classes"),
        ({"early_stopping": "yes"}, "early_stopping must be"),
        ({"activation": ["relu"]}, r"activation must be one value or one per hidden layer \(2\)"),
        ({"dropout": [0.1, 0.2, 0.3]}, "dropout must be one value"),
        ({"class_weight": "auto"}, "class_weight must be a dict, 'balanced' or None"),
        ({"layers": lk.Dense(3)}, "layers must be a list"),
        ({"layers": [lk.Input(2)]}, "other than Input"),
    ],
)
def test_bad_classifier_parameter_is_named_at_fit(params, message):
    X, y = _three_blobs()
    clf = LayerkitClassifier((4, 4), epochs=1, **params)  # the constructor only stores
    with pytest.raises((ValueError, TypeError), match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


def test_bad_regressor_loss_is_named():
    X = np.zeros((10, 2))
    with pytest.raises(lk.LayerkitValueError, match="loss must be 'auto', 'mse'"):
        LayerkitRegressor(loss="categorical_crossentropy", epochs=1).fit(X, X[:, 0])


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes"):
        LayerkitClassifier(epochs=1).fit(np.zeros((5, 2)), np.ones(5))


def test_import_layerkit_does_not_import_sklearn():
    code = "import sys, layerkit; sys.exit('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_comparison_benchmark_quick_run_prints_both_libraries(capsys):
    pytest.importorskip("threadpoolctl")
    from benchmarks import sklearn_compare

    assert sklearn_compare.main(["--quick", "--no-write", "--repeats", "1"]) == 0
    table = capsys.readouterr().out
    for name in ("MLPClassifier", "LayerkitClassifier", "MLPRegressor", "LayerkitRegressor"):
        assert f"| {name} |" in table


def test_layerkit_sklearn_is_reachable_as_an_attribute_of_layerkit():
    assert lk.sklearn.LayerkitClassifier is LayerkitClassifier
