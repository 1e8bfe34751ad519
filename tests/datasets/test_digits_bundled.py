"""load_digits: the bundled 8x8 digits, their fixed stratified split, and provenance."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from layerkit.datasets import DIGITS_TEST_EVERY, Dataset, load_digits

DATA = resources.files("layerkit.datasets") / "data"
# The file as shipped in the scikit-learn 1.9.1 wheel (sklearn/datasets/data/digits.csv.gz).
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_bundled_file_is_the_scikit_learn_copy_byte_for_byte():
    digest = hashlib.sha256((DATA / "digits.csv.gz").read_bytes()).hexdigest()
    assert digest == DIGITS_SHA256


def test_licence_file_sits_beside_the_data_and_credits_uci_and_scikit_learn():
    text = (DATA / "DIGITS_LICENSE.txt").read_text(encoding="utf-8")
    for needle in ["Alpaydin", "Kaynak", "UCI", "CC BY 4.0", "scikit-learn", "BSD 3-Clause"]:
        assert needle in text


def test_full_arrays_have_1797_samples_scaled_to_unit_interval():
    X, y = load_digits(split=False)
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    # pixel / 16 is exact in float32: every value is a multiple of 1/16.
    np.testing.assert_array_equal(X * 16, np.round(X * 16))
    np.testing.assert_array_equal(np.bincount(y), CLASS_COUNTS)


def test_values_and_order_equal_scikit_learn_load_digits():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    reference = sklearn_datasets.load_digits()
    X, y = load_digits(split=False)
    np.testing.assert_array_equal(X.astype(np.float64) * 16, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    X_img, _ = load_digits(split=False, flatten=False)
    np.testing.assert_array_equal(X_img.astype(np.float64) * 16, reference.images)


def test_split_is_every_fifth_image_of_each_class_in_file_order():
    X, y = load_digits(split=False)
    data = load_digits()
    assert isinstance(data, Dataset) and data.name == "digits"
    assert data.X_train.shape == (1442, 64) and data.X_test.shape == (355, 64)
    expected_test = np.zeros(len(y), dtype=bool)
    for k in range(10):
        members = np.flatnonzero(y == k)
        expected_test[members[DIGITS_TEST_EVERY - 1 :: DIGITS_TEST_EVERY]] = True
    np.testing.assert_array_equal(data.X_test, X[expected_test])
    np.testing.assert_array_equal(data.y_test, y[expected_test])
    np.testing.assert_array_equal(data.X_train, X[~expected_test])
    np.testing.assert_array_equal(data.y_train, y[~expected_test])


def test_split_is_stratified_with_each_class_within_one_image_of_twenty_percent():
    data = load_digits()
    test_counts = np.bincount(data.y_test, minlength=10)
    np.testing.assert_array_equal(test_counts, np.array(CLASS_COUNTS) // 5)
    assert np.all(np.abs(test_counts - 0.2 * np.array(CLASS_COUNTS)) < 1)


def test_flatten_false_gives_8_by_8_images_in_both_parts():
    data = load_digits(flatten=False)
    assert data.X_train.shape == (1442, 8, 8) and data.X_test.shape == (355, 8, 8)
    np.testing.assert_array_equal(data.X_train.reshape(1442, -1), load_digits().X_train)


def test_each_call_returns_fresh_writable_arrays():
    first = load_digits()
    first.X_train[:] = -1.0
    first.y_train[:] = -1
    second = load_digits()
    assert second.X_train.min() == 0.0 and second.y_train.min() == 0


def test_class_names_are_the_digits_as_strings():
    assert load_digits().class_names == tuple("0123456789")


def test_non_bool_arguments_raise_type_error_naming_them():
    with pytest.raises(TypeError, match="flatten must be True or False"):
        load_digits(flatten=1)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="split must be True or False"):
        load_digits(split="no")  # type: ignore[call-overload]


def test_dataset_repr_is_short_and_describes_shapes():
    text = repr(load_digits())
    assert (
        text
        == "Dataset(name='digits', X_train=(1442, 64) float32, X_test=(355, 64) float32, n_classes=10)"
    )
