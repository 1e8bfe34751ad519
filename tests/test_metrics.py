"""Metrics: hand-computed examples, input forms, zero division, errors, and agreement with
scikit-learn on random label vectors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layerkit.metrics import (
    PrecisionRecallF1,
    accuracy,
    classification_report,
    confusion_matrix,
    precision_recall_f1,
    top_k_accuracy,
)

# The worked example used throughout: 5 samples, 3 classes.
Y_TRUE = np.array([0, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 2, 2, 1])


@st.composite
def label_pairs(draw, max_n: int = 200, max_k: int = 12):
    """(y_true, y_pred, k): two label vectors of one length n <= 200 over k <= 12 classes."""
    k = draw(st.integers(1, max_k))
    n = draw(st.integers(1, max_n))
    labels = hnp.arrays(np.int64, n, elements=st.integers(0, k - 1))
    return draw(labels), draw(labels), k


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[y]


# ---------------------------------------------------------------------------- hand examples
def test_accuracy_of_worked_example_is_three_of_five():
    assert accuracy(Y_TRUE, Y_PRED) == 0.6


def test_confusion_matrix_rows_are_true_classes_and_columns_predictions():
    expected = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 2]])
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64
    # a three predicted as an eight is counted at [3, 8], not [8, 3] (seed 000, 4.2.3)
    cm = confusion_matrix([3], [8], n_classes=10)
    assert cm[3, 8] == 1 and cm.sum() == 1


def test_per_class_precision_recall_f1_match_hand_counts():
    p, r, f1, support = precision_recall_f1(Y_TRUE, Y_PRED)
    # class 0: TP 1, FP 1, FN 0; class 1: TP 0, FP 1, FN 1; class 2: TP 2, FP 0, FN 1
    np.testing.assert_allclose(p, [1 / 2, 0, 1])
    np.testing.assert_allclose(r, [1, 0, 2 / 3])
    np.testing.assert_allclose(f1, [2 / 3, 0, 4 / 5])
    np.testing.assert_array_equal(support, [1, 1, 3])
    assert support.dtype == np.int64


def test_averages_of_worked_example_match_hand_values():
    macro = precision_recall_f1(Y_TRUE, Y_PRED, average="macro")
    assert macro.precision == pytest.approx(1.5 / 3)
    assert macro.recall == pytest.approx((1 + 2 / 3) / 3)
    assert macro.f1 == pytest.approx((2 / 3 + 4 / 5) / 3)
    assert macro.support == 5
    weighted = precision_recall_f1(Y_TRUE, Y_PRED, average="weighted")
    assert weighted.precision == pytest.approx((0.5 + 0 + 3) / 5)
    assert weighted.recall == pytest.approx(0.6)
    assert weighted.f1 == pytest.approx((2 / 3 + 0 + 3 * 4 / 5) / 5)
    micro = precision_recall_f1(Y_TRUE, Y_PRED, average="micro")
    assert micro == (0.6, 0.6, 0.6, 5)


def test_result_is_a_named_tuple_unpackable_in_order():
    result = precision_recall_f1(Y_TRUE, Y_PRED)
    assert isinstance(result, PrecisionRecallF1)
    p, r, f1, support = result
    assert p is result.precision and r is result.recall
    assert f1 is result.f1 and support is result.support


def test_majority_class_predictor_has_90_percent_accuracy_but_zero_minority_recall():
    # Seed 002, section 2.5: 90% / 10% classes, a model predicting the majority class only.
    y_true = np.array([0] * 90 + [1] * 10)
    y_pred = np.zeros(100, dtype=int)
    assert accuracy(y_true, y_pred) == 0.9
    p, r, f1, _ = precision_recall_f1(y_true, y_pred)
    np.testing.assert_allclose(p, [0.9, 0.0])
    np.testing.assert_allclose(r, [1.0, 0.0])
    np.testing.assert_allclose(f1, [1.8 / 1.9, 0.0])
    assert precision_recall_f1(y_true, y_pred, average="macro").f1 == pytest.approx(0.9 / 1.9)


def test_classification_report_matches_hand_written_table():
    report = classification_report(Y_TRUE, Y_PRED, class_names=["cat", "dog", "owl"], digits=2)
    expected = (
        "              precision    recall  f1-score   support\n"
        "\n"
        "         cat       0.50      1.00      0.67         1\n"
        "         dog       0.00      0.00      0.00         1\n"
        "         owl       1.00      0.67      0.80         3\n"
        "\n"
        "    accuracy                           0.60         5\n"
        "   macro avg       0.50      0.56      0.49         5\n"
        "weighted avg       0.70      0.60      0.61         5\n"
    )
    assert report == expected


def test_classification_report_lists_every_named_class_and_widens_for_long_names():
    report = classification_report([0, 0], [0, 0], class_names=["a very long class name", "b"])
    lines = report.splitlines()
    assert lines[2].startswith("a very long class name ")
    assert lines[3].split() == ["b", "0.000", "0.000", "0.000", "0"]
    assert len({len(line) for line in lines if line}) == 1  # columns aligned


# ---------------------------------------------------------------------------- input forms
def test_one_hot_scores_and_labels_give_the_same_results():
    scores = np.array(
        [[0.8, 0.1, 0.1], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.0, 0.4, 0.6], [0.2, 0.5, 0.3]]
    )
    assert accuracy(one_hot(Y_TRUE, 3), scores) == accuracy(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(
        confusion_matrix(one_hot(Y_TRUE, 3), scores), confusion_matrix(Y_TRUE, Y_PRED)
    )
    np.testing.assert_array_equal(
        precision_recall_f1(Y_TRUE, scores).f1, precision_recall_f1(Y_TRUE, Y_PRED).f1
    )


def test_single_probability_column_is_class_one_strictly_above_one_half():
    proba = np.array([[0.2], [0.5], [0.51], [1.0]])
    np.testing.assert_array_equal(confusion_matrix([0, 0, 1, 1], proba), [[2, 0], [0, 2]])
    assert accuracy([0, 1, 1, 1], proba) == 0.75  # 0.5 itself is class 0


def test_bool_and_whole_float_labels_are_accepted():
    assert accuracy([True, False, True], np.array([1.0, 0.0, 0.0])) == pytest.approx(2 / 3)


def test_argmax_ties_go_to_the_first_column():
    assert accuracy([0, 1], [[0.5, 0.5], [0.5, 0.5]]) == 0.5


def test_n_classes_adds_rows_and_columns_for_absent_classes():
    cm = confusion_matrix([0, 1], [1, 1], n_classes=4)
    assert cm.shape == (4, 4)
    np.testing.assert_array_equal(cm[:2, :2], [[0, 1], [0, 1]])
    assert cm[2:].sum() == 0 and cm[:, 2:].sum() == 0


def test_number_of_classes_is_inferred_from_score_width():
    scores = np.zeros((2, 5))
    scores[:, 1] = 1
    assert confusion_matrix([1, 1], scores).shape == (5, 5)


def test_zero_division_gives_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # class 1 is never predicted (precision 0/0) and class 2 never occurs (recall 0/0)
        p, r, f1, support = precision_recall_f1([0, 1], [0, 2], n_classes=3)
        macro = precision_recall_f1([0, 1], [0, 2], n_classes=3, average="macro")
    np.testing.assert_array_equal(p, [1, 0, 0])
    np.testing.assert_array_equal(r, [1, 0, 0])
    np.testing.assert_array_equal(f1, [1, 0, 0])
    np.testing.assert_array_equal(support, [1, 1, 0])
    assert macro.f1 == pytest.approx(1 / 3)


def test_macro_average_skips_classes_absent_from_both_vectors():
    # class 1 never appears: the macro mean is over classes 0 and 2 only
    macro = precision_recall_f1([0, 2], [0, 2], n_classes=3, average="macro")
    assert macro == (1.0, 1.0, 1.0, 2)


def test_top_k_accuracy_counts_true_class_among_k_best():
    scores = np.array([[0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    y = np.array([1, 0, 2])
    assert top_k_accuracy(y, scores, k=1) == 0.0
    assert top_k_accuracy(y, scores, k=2) == pytest.approx(2 / 3)
    assert top_k_accuracy(y, scores, k=3) == 1.0
    assert top_k_accuracy(y, scores, k=10) == 1.0
    assert top_k_accuracy(one_hot(y, 3), scores, k=2) == pytest.approx(2 / 3)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 50),
    c=st.integers(2, 6),
)
def test_top_1_accuracy_equals_accuracy_even_with_ties(data, n, c):
    # few distinct score values, so ties are common
    scores = data.draw(hnp.arrays(np.float64, (n, c), elements=st.sampled_from([0.0, 0.5, 1.0])))
    y = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    assert top_k_accuracy(y, scores, k=1) == accuracy(y, scores)


# ---------------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(pair=label_pairs())
def test_confusion_matrix_margins_are_supports_and_prediction_counts(pair):
    y_true, y_pred, k = pair
    cm = confusion_matrix(y_true, y_pred, n_classes=k)
    assert cm.shape == (k, k)
    assert cm.sum() == len(y_true)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=k))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(y_pred, minlength=k))
    assert np.trace(cm) / len(y_true) == accuracy(y_true, y_pred)
    assert precision_recall_f1(y_true, y_pred, average="micro").f1 == pytest.approx(
        accuracy(y_true, y_pred)
    )


# ---------------------------------------------------------------------------- scikit-learn
# sklearn warns when y_true and y_pred hold a single label; the comparison is still valid.
sklearn_single_label = pytest.mark.filterwarnings("ignore:A single label was found")


@sklearn_single_label
@settings(max_examples=40, deadline=None)
@given(pair=label_pairs())
def test_confusion_matrix_and_accuracy_agree_with_sklearn(pair):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred, k = pair
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, n_classes=k),
        skm.confusion_matrix(y_true, y_pred, labels=np.arange(k)),
    )
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))


@sklearn_single_label
@settings(max_examples=40, deadline=None)
@given(pair=label_pairs())
def test_per_class_precision_recall_f1_agree_with_sklearn(pair):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred, k = pair
    ours = precision_recall_f1(y_true, y_pred, n_classes=k)
    theirs = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(k), average=None, zero_division=0
    )
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


@sklearn_single_label
@settings(max_examples=40, deadline=None)
@given(pair=label_pairs(), average=st.sampled_from(["macro", "micro", "weighted"]))
def test_averaged_precision_recall_f1_agree_with_sklearn(pair, average):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred, k = pair
    ours = precision_recall_f1(y_true, y_pred, n_classes=k, average=average)
    theirs = skm.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
    np.testing.assert_allclose(ours[:3], theirs[:3], atol=1e-12)
    assert ours.support == len(y_true)


@settings(max_examples=25, deadline=None)
@given(pair=label_pairs(max_k=9), digits=st.integers(0, 5))
def test_classification_report_text_equals_sklearn_when_all_classes_occur(pair, digits):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred, k = pair
    # sklearn's macro average with explicit labels counts absent classes; ours skips them
    y_true = np.concatenate([np.arange(k), y_true])
    y_pred = np.concatenate([np.arange(k), y_pred])
    names = [f"class {c}" for c in range(k)]
    theirs = skm.classification_report(
        y_true, y_pred, labels=np.arange(k), target_names=names, digits=digits, zero_division=0
    )
    assert classification_report(y_true, y_pred, class_names=names, digits=digits) == theirs


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 100), c=st.integers(3, 12))
def test_top_k_accuracy_agrees_with_sklearn_without_ties(data, n, c):
    skm = pytest.importorskip("sklearn.metrics")
    k = data.draw(st.integers(1, c - 1))
    y = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    scores = np.random.default_rng(seed).random((n, c))  # continuous: ties have probability 0
    expected = skm.top_k_accuracy_score(y, scores, k=k, labels=np.arange(c))
    assert top_k_accuracy(y, scores, k=k) == pytest.approx(expected)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("function", [accuracy, confusion_matrix, precision_recall_f1])
def test_length_mismatch_names_both_lengths(function):
    with pytest.raises(ValueError, match=r"y_true and y_pred .* received 3 and 2"):
        function([0, 1, 1], [0, 1])


@pytest.mark.parametrize("empty", [[], np.zeros((0, 3))])
def test_empty_input_is_rejected(empty):
    with pytest.raises(ValueError, match="y_true is empty"):
        accuracy(empty, empty)


def test_negative_label_is_rejected_with_its_index():
    with pytest.raises(ValueError, match=r"y_pred holds negative label -1 at index 1"):
        confusion_matrix([0, 1], [0, -1])


def test_label_beyond_n_classes_is_rejected():
    with pytest.raises(ValueError, match=r"y_true holds label 3 at index 2, but n_classes=3"):
        confusion_matrix([0, 1, 3], [0, 1, 2], n_classes=3)


def test_score_width_other_than_n_classes_is_rejected():
    with pytest.raises(ValueError, match=r"y_pred is 2-D with scores for 4 classes.*n_classes=3"):
        precision_recall_f1([0, 1], np.eye(4)[:2], n_classes=3)


@pytest.mark.parametrize(
    "bad", [np.array(["a", "b"]), np.array([0, 1], dtype=object), np.array([1j, 0j])]
)
def test_non_numeric_dtypes_raise_type_error_naming_the_dtype(bad):
    with pytest.raises(TypeError, match=rf"y_true must hold numbers .* dtype {bad.dtype}"):
        accuracy(bad, [0, 1])


def test_ragged_input_raises_type_error():
    with pytest.raises(TypeError, match="y_pred must be a numeric array"):
        accuracy([0, 1], [[0.1, 0.9], [0.5]])


def test_nan_scores_are_rejected_with_their_row():
    scores = np.array([[0.1, 0.9], [np.nan, 0.5]])
    with pytest.raises(ValueError, match=r"y_pred contains NaN \(first in row 1\)"):
        accuracy([0, 1], scores)
    with pytest.raises(ValueError, match=r"y_pred contains NaN"):
        accuracy([0, 1], np.array([[0.2], [np.nan]]))


def test_non_integer_1d_labels_are_rejected_with_a_hint_about_shapes():
    with pytest.raises(ValueError, match=r"received 0\.7 at index 1.*shape \(n, 1\)"):
        accuracy([0, 1], [0.0, 0.7])
    with pytest.raises(ValueError, match="whole numbers"):
        accuracy([0, np.inf], [0, 1])


def test_probability_column_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]; received 2 at row 1"):
        accuracy([0, 1], np.array([[0], [2]]))


def test_three_dimensional_input_is_rejected():
    with pytest.raises(ValueError, match=r"y_true must be 1-D labels .* shape \(2, 2, 2\)"):
        accuracy(np.zeros((2, 2, 2)), [0, 1])


def test_unknown_average_is_rejected_listing_the_choices():
    with pytest.raises(ValueError, match=r"average must be None or one of 'macro'.*'binary'"):
        precision_recall_f1([0, 1], [0, 1], average="binary")


@pytest.mark.parametrize(
    ("n_classes", "error"), [(True, TypeError), (2.0, TypeError), (0, ValueError)]
)
def test_invalid_n_classes_is_rejected(n_classes, error):
    with pytest.raises(error, match="n_classes"):
        confusion_matrix([0, 1], [0, 1], n_classes=n_classes)


def test_top_k_accuracy_rejects_labels_as_scores_and_bad_k():
    with pytest.raises(ValueError, match=r"y_score must be class scores of shape \(n, c\)"):
        top_k_accuracy([0, 1], [0, 1])
    with pytest.raises(ValueError, match="k must be at least 1; received 0"):
        top_k_accuracy([0, 1], np.eye(2), k=0)
    with pytest.raises(ValueError, match=r"y_true holds label 2 .* n_classes=2"):
        top_k_accuracy([0, 2], np.eye(2), k=1)


def test_classification_report_rejects_bad_names_and_digits():
    with pytest.raises(TypeError, match="class_names must be a sequence"):
        classification_report([0], [0], class_names="ab")
    with pytest.raises(ValueError, match="class_names is empty"):
        classification_report([0], [0], class_names=[])
    with pytest.raises(ValueError, match="digits must be at least 0; received -1"):
        classification_report([0], [0], digits=-1)
    with pytest.raises(ValueError, match="n_classes=2"):
        classification_report([0, 2], [0, 1], class_names=["a", "b"])
