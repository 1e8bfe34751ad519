"""Error messages speak plain Python, and every module raises layerkit's error classes."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk
from layerkit import datasets, metrics, preprocessing
from layerkit._validation import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.int64(1), "1"),
        (np.float32("nan"), "nan"),
        (np.float32(0.1), "0.1"),
        (np.float64(-np.inf), "-inf"),
        (np.bool_(True), "True"),
        (np.array(3.5), "3.5"),
        ((np.int64(2), np.int64(3)), "(2, 3)"),
        ((np.int32(7),), "(7,)"),
        ([np.float64(0.5), "a"], "[0.5, 'a']"),
        ("name", "'name'"),
        (None, "None"),
    ],
)
def test_fmt_writes_numpy_scalars_as_plain_numbers(value, text):
    assert fmt(value) == text


def _network():
    return lk.Network([lk.Input(3), lk.Dense(2, "softmax")], seed=0)


def _message(call) -> str:
    with pytest.raises((lk.LayerkitValueError, lk.LayerkitTypeError)) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        # a NaN inside float32 data
        lambda: _network().predict(np.array([[0.0, np.nan, 1.0]], dtype=np.float32)),
        # labels out of range, as NumPy integers
        lambda: _network().train(np.ones((4, 3)), np.array([0, 1, 5, 1]), verbose=0),
        # NumPy scalars given as arguments
        lambda: _network().train(np.ones((4, 3)), np.array([0, 1, 0, 1]), epochs=np.int64(-1)),
        lambda: _network().train(
            np.ones((4, 3)), np.array([0, 1, 0, 1]), learning_rate=np.float32("nan")
        ),
        # float64 values beyond float32
        lambda: _network().predict(np.full((1, 3), 1e300)),
        lambda: preprocessing.MinMaxScaler(feature_range=(np.float32(1), np.float32(0))),
        lambda: datasets.make_moons(np.int64(-3)),
        lambda: datasets.make_spirals(10, turns=np.float64(-1)),
    ],
)
def test_error_messages_show_no_numpy_repr(call):
    message = _message(call)
    assert "np." not in message and "numpy." not in message, message


@pytest.mark.parametrize(
    ("call", "cls"),
    [
        (lambda: metrics.accuracy([0, 1], [0]), lk.LayerkitValueError),
        (lambda: metrics.confusion_matrix([0, 1], [0, 1], n_classes=0), lk.LayerkitValueError),
        (lambda: metrics.confusion_matrix([0, 1], [0, 1], n_classes="2"), lk.LayerkitTypeError),
        (
            lambda: metrics.classification_report([0, 1], [0, 1], class_names="ab"),
            lk.LayerkitTypeError,
        ),
        (lambda: preprocessing.StandardScaler().fit(np.ones(3)), lk.LayerkitValueError),
        (lambda: preprocessing.StandardScaler().fit([["a"]]), lk.LayerkitTypeError),
        (lambda: preprocessing.one_hot([0, -1]), lk.LayerkitValueError),
        (lambda: preprocessing.to_labels(np.ones((2, 2, 2))), lk.LayerkitValueError),
        (lambda: datasets.load_digits(flatten="yes"), lk.LayerkitTypeError),
        (lambda: datasets.make_moons(0), lk.LayerkitValueError),
        (lambda: datasets.make_four_groups(10, noise=-1.0), lk.LayerkitValueError),
        (lambda: datasets.load_mnist_family("cifar"), lk.LayerkitValueError),
        (lambda: datasets.read_idx(3), lk.LayerkitTypeError),
        (lambda: datasets.write_idx("x.idx", np.ones(3, dtype=complex)), lk.LayerkitTypeError),
    ],
)
def test_metrics_preprocessing_and_datasets_raise_layerkit_errors(call, cls, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cls):
        call()
    # still the built-in classes, so `except ValueError` in user code keeps working
    assert issubclass(lk.LayerkitValueError, ValueError)
    assert issubclass(lk.LayerkitTypeError, TypeError)
