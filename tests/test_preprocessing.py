"""Scalers (fit on training data, constant features, persistence, errors) and label helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layerkit.preprocessing import MinMaxScaler, NotFittedError, StandardScaler, one_hot, to_labels

finite_matrices = hnp.arrays(
    dtype=np.float64,
    shape=st.tuples(st.integers(2, 30), st.integers(1, 5)),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)


# ---------------------------------------------------------------------------- StandardScaler
def test_standard_scaler_uses_training_statistics_on_new_data():
    X_train = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
    scaler = StandardScaler().fit(X_train)
    np.testing.assert_allclose(scaler.mean_, [2.0, 10.0])
    np.testing.assert_allclose(scaler.scale_, [np.sqrt(8 / 3), 1.0])
    out = scaler.transform(np.array([[2.0, 10.0], [6.0, 11.0]]))
    np.testing.assert_allclose(out, [[0.0, 0.0], [4 / np.sqrt(8 / 3), 1.0]])


@settings(max_examples=60, deadline=None)
@given(X=finite_matrices)
def test_standardised_training_columns_have_mean_zero_and_unit_or_zero_spread(X):
    Z = StandardScaler().fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)
    std = Z.std(axis=0)
    for column, s in zip(X.T, std, strict=True):
        if np.ptp(column) == 0:
            assert s == 0.0
        elif np.ptp(column) > 1e-6 * np.abs(column).max() and np.ptp(column) > 1e-150:
            assert abs(s - 1.0) < 1e-6
        # else: spread at the level of rounding error; either outcome is legitimate.


@settings(max_examples=60, deadline=None)
@given(X=finite_matrices)
def test_standard_scaler_inverse_transform_recovers_the_data(X):
    scaler = StandardScaler().fit(X)
    np.testing.assert_allclose(
        scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-9, atol=1e-9
    )


def test_constant_feature_is_centred_without_division_by_zero():
    # 0.1 is not exact in binary: the computed variance can be a tiny positive number.
    X = np.column_stack([np.full(1000, 0.1), np.arange(1000.0)])
    scaler = StandardScaler().fit(X)  # RuntimeWarnings are errors in this suite
    assert scaler.scale_[0] == 1.0 and scaler.var_[0] == 0.0
    Z = scaler.transform(X)
    assert np.isfinite(Z).all() and np.abs(Z[:, 0]).max() < 1e-12


def test_with_mean_and_with_std_switch_off_their_step():
    X = np.array([[1.0], [3.0]])
    np.testing.assert_allclose(StandardScaler(with_mean=False).fit_transform(X), [[1.0], [3.0]])
    np.testing.assert_allclose(StandardScaler(with_std=False).fit_transform(X), [[-1.0], [1.0]])


def test_blockwise_statistics_match_numpy_on_data_larger_than_a_block():
    rng = np.random.default_rng(0)
    X = (rng.normal(5.0, 3.0, (5000, 3))).astype(np.float32)
    scaler = StandardScaler().fit(X)
    np.testing.assert_allclose(scaler.mean_, X.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.var_, X.astype(np.float64).var(axis=0), rtol=1e-10)


def test_float32_input_gives_float32_output_and_integers_give_float64():
    X32 = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert StandardScaler().fit(X32).transform(X32).dtype == np.float32
    assert MinMaxScaler().fit(X32).transform(X32).dtype == np.float32
    Xint = np.arange(12).reshape(6, 2)
    assert StandardScaler().fit_transform(Xint).dtype == np.float64


def test_transform_does_not_modify_its_input():
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    copy = X.copy()
    StandardScaler().fit(X).transform(X)
    MinMaxScaler().fit(X).transform(X)
    np.testing.assert_array_equal(X, copy)


# ---------------------------------------------------------------------------- MinMaxScaler
def test_min_max_scaler_maps_training_range_onto_feature_range():
    X = np.array([[0.0, -5.0], [5.0, 0.0], [10.0, 5.0]])
    np.testing.assert_allclose(MinMaxScaler().fit_transform(X), [[0, 0], [0.5, 0.5], [1, 1]])
    np.testing.assert_allclose(
        MinMaxScaler(feature_range=(-1, 1)).fit_transform(X), [[-1, -1], [0, 0], [1, 1]]
    )


@settings(max_examples=60, deadline=None)
@given(X=finite_matrices, lo=st.floats(-10, 0), width=st.floats(0.5, 10))
def test_min_max_training_output_stays_in_range_and_inverts(X, lo, width):
    scaler = MinMaxScaler(feature_range=(lo, lo + width)).fit(X)
    Z = scaler.transform(X)
    tolerance = 1e-9 * (1 + abs(lo) + width)
    assert Z.min() >= lo - tolerance and Z.max() <= lo + width + tolerance
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-9, atol=1e-7)


def test_min_max_constant_feature_maps_to_the_low_end():
    X = np.array([[3.0, 1.0], [3.0, 2.0]])
    Z = MinMaxScaler(feature_range=(-2, 2)).fit_transform(X)
    np.testing.assert_array_equal(Z[:, 0], [-2.0, -2.0])


def test_test_data_outside_the_training_range_is_extrapolated_unless_clipped():
    X_train, X_test = np.array([[0.0], [10.0]]), np.array([[-5.0], [20.0]])
    np.testing.assert_allclose(MinMaxScaler().fit(X_train).transform(X_test), [[-0.5], [2.0]])
    np.testing.assert_allclose(
        MinMaxScaler(clip=True).fit(X_train).transform(X_test), [[0.0], [1.0]]
    )


@pytest.mark.parametrize(
    ("feature_range", "error", "pattern"),
    [
        ((1, 0), ValueError, "lo < hi; got \\(1, 0\\)"),
        ((0, 0), ValueError, "lo < hi"),
        ((0, float("inf")), ValueError, "finite"),
        ((0, 1, 2), TypeError, "pair \\(lo, hi\\)"),
        (("a", "b"), TypeError, "pair \\(lo, hi\\) of numbers"),
        (5, TypeError, "pair"),
    ],
)
def test_invalid_feature_range_is_refused_with_its_value(feature_range, error, pattern):
    with pytest.raises(error, match=pattern):
        MinMaxScaler(feature_range=feature_range)


# ---------------------------------------------------------------------------- shared errors
@pytest.mark.parametrize("scaler_class", [StandardScaler, MinMaxScaler])
@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_using_a_scaler_before_fit_raises_not_fitted_error(scaler_class, method):
    with pytest.raises(
        NotFittedError, match=f"{scaler_class.__name__}.{method}\\(\\) called before fit"
    ):
        getattr(scaler_class(), method)(np.ones((2, 2)))
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


@pytest.mark.parametrize("scaler_class", [StandardScaler, MinMaxScaler])
def test_wrong_feature_count_names_both_counts(scaler_class):
    scaler = scaler_class().fit(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"X has 3 features but .* was fitted on 4"):
        scaler.transform(np.ones((2, 3)))


@pytest.mark.parametrize(
    ("X", "error", "pattern"),
    [
        (np.arange(5.0), ValueError, r"2-D.*shape \(5,\).*reshape\(-1, 1\)"),
        (np.zeros((2, 3, 3)), ValueError, r"flatten images first"),
        (np.zeros((0, 3)), ValueError, "at least one sample"),
        (np.array([[1.0, np.nan]]), ValueError, r"finite; found nan at index \(0, 1\)"),
        (np.array([["a", "b"]]), TypeError, "real numbers"),
    ],
)
def test_fit_refuses_bad_training_data_with_a_clear_message(X, error, pattern):
    for scaler in (StandardScaler(), MinMaxScaler()):
        with pytest.raises(error, match=pattern):
            scaler.fit(X)


# ---------------------------------------------------------------------------- persistence
@pytest.mark.parametrize(
    "make", [lambda: StandardScaler(with_std=False), lambda: MinMaxScaler((-1, 2), clip=True)]
)
def test_config_and_state_rebuild_an_identical_scaler_through_json(make):
    rng = np.random.default_rng(1)
    X_train, X_test = rng.normal(size=(20, 3)), rng.normal(size=(5, 3)) * 3
    original = make().fit(X_train)
    config = json.loads(json.dumps(original.get_config()))
    state = {k: np.array(v.tolist()) for k, v in original.get_state().items()}
    rebuilt = type(original).from_config(config).set_state(state)
    np.testing.assert_array_equal(rebuilt.transform(X_test), original.transform(X_test))
    assert rebuilt.n_features_in_ == 3 and repr(rebuilt) == repr(original)


def test_unfitted_scaler_has_empty_state():
    assert StandardScaler().get_state() == {} and MinMaxScaler().get_state() == {}


def test_set_state_refuses_missing_keys_and_mismatched_lengths():
    with pytest.raises(ValueError, match="exactly the keys"):
        StandardScaler().set_state({"mean_": np.zeros(2)})
    with pytest.raises(ValueError, match="same length"):
        StandardScaler().set_state({"mean_": np.zeros(2), "var_": np.ones(2), "scale_": np.ones(3)})


def test_from_config_refuses_a_config_of_another_class():
    with pytest.raises(ValueError, match="config is for 'MinMaxScaler', not 'StandardScaler'"):
        StandardScaler.from_config(MinMaxScaler().get_config())


# ---------------------------------------------------------------------------- labels
def test_one_hot_places_a_single_one_per_row():
    out = one_hot([2, 0, 1, 2])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_one_hot_honours_n_classes_and_dtype():
    out = one_hot(np.array([1], dtype=np.uint8), n_classes=4, dtype=np.float64)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 1, 0, 0]])
    assert one_hot(np.array([], dtype=int), n_classes=3).shape == (0, 3)


def test_one_hot_accepts_integral_float_labels():
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("y", "n_classes", "error", "pattern"),
    [
        ([0, -1], None, ValueError, "labels >= 0; found -1"),
        ([0, 1.5], None, ValueError, "integer class labels; found 1.5"),
        ([0, np.nan], None, ValueError, "NaN or infinity"),
        ([0, 3], 3, ValueError, r"labels in 0..2 for n_classes=3; found 3"),
        ([[0, 1]], None, ValueError, r"1-D.*shape \(1, 2\)"),
        (["a"], None, TypeError, "integer class labels"),
        ([], None, ValueError, "pass n_classes"),
        ([0], 0, ValueError, "n_classes must be >= 1; got 0"),
        ([0], 2.0, TypeError, "n_classes must be an int or None; got 2.0"),
    ],
)
def test_one_hot_refuses_bad_labels_naming_the_problem(y, n_classes, error, pattern):
    with pytest.raises(error, match=pattern):
        one_hot(y, n_classes)


@settings(max_examples=60, deadline=None)
@given(y=hnp.arrays(np.int64, st.integers(1, 50), elements=st.integers(0, 9)))
def test_to_labels_inverts_one_hot(y):
    np.testing.assert_array_equal(to_labels(one_hot(y, 10)), y)


def test_to_labels_takes_argmax_of_rows_and_thresholds_single_outputs():
    assert to_labels(np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]])).tolist() == [1, 0]
    # exactly 0.5 is class 0, as in Network.predict_classes and layerkit.metrics
    assert to_labels(np.array([[0.2], [0.5], [0.9]])).tolist() == [0, 0, 1]
    assert to_labels(np.array([0.3, 0.7]), threshold=0.6).tolist() == [0, 1]
    assert to_labels([[0.1, 0.9]]).dtype == np.int64


def test_to_labels_refuses_three_dimensional_input():
    with pytest.raises(ValueError, match=r"\(n, k\) or \(n,\); got \(2, 2, 2\)"):
        to_labels(np.zeros((2, 2, 2)))
