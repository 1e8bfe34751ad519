"""The seeded 2-D problems: shapes, balance, reproducibility, geometry, and argument errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerkit.datasets import make_four_groups, make_moons, make_spirals

MAKERS = {
    "moons": (make_moons, 2),
    "four_groups": (make_four_groups, 4),
    "spirals": (make_spirals, 2),
}


@pytest.mark.parametrize("name", MAKERS)
def test_outputs_are_float32_points_and_int64_labels(name):
    maker, n_classes = MAKERS[name]
    X, y = maker(101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) == set(range(n_classes))
    assert np.isfinite(X).all()


@settings(max_examples=40, deadline=None)
@given(n_samples=st.integers(4, 400), n_classes=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_class_sizes_differ_by_at_most_one(n_samples, n_classes, seed):
    for X, y, k in [
        (*make_moons(n_samples, seed=seed), 2),
        (*make_four_groups(n_samples, seed=seed), 4),
        (*make_spirals(max(n_samples, n_classes), n_classes=n_classes, seed=seed), n_classes),
    ]:
        counts = np.bincount(y, minlength=k)
        assert len(counts) == k and counts.max() - counts.min() <= 1 and counts.sum() == len(X)


@pytest.mark.parametrize("name", MAKERS)
def test_same_seed_gives_identical_data_and_other_seeds_differ(name):
    maker, _ = MAKERS[name]
    X1, y1 = maker(200, seed=42)
    X2, y2 = maker(200, seed=42)
    X3, _ = maker(200, seed=43)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", MAKERS)
def test_a_generator_is_used_and_advanced(name):
    maker, _ = MAKERS[name]
    rng = np.random.default_rng(7)
    X1, _ = maker(50, seed=rng)
    X2, _ = maker(50, seed=rng)
    assert not np.array_equal(X1, X2)
    np.testing.assert_array_equal(X1, maker(50, seed=np.random.default_rng(7))[0])


@pytest.mark.parametrize("name", MAKERS)
def test_rows_are_shuffled_so_a_tail_slice_holds_every_class(name):
    maker, n_classes = MAKERS[name]
    _, y = maker(400, seed=0)
    assert set(np.unique(y[-80:]).tolist()) == set(range(n_classes))


def test_noiseless_moons_lie_on_the_two_half_circles():
    X, y = make_moons(500, noise=0.0, seed=1)
    X = X.astype(np.float64)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    assert (upper[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()


def test_moons_defeat_a_linear_classifier_as_in_the_source():
    # Jones (2019), section 4.1: logistic regression reaches about 88% training accuracy.
    X, y = make_moons(2000, noise=0.1, seed=0)
    design = np.column_stack([X, np.ones(len(X))]).astype(np.float64)
    w, *_ = np.linalg.lstsq(design, 2.0 * y - 1.0, rcond=None)
    accuracy = float(((design @ w > 0) == (y == 1)).mean())
    assert 0.80 < accuracy < 0.93


def test_noiseless_four_groups_follow_the_disc_and_half_square_rule():
    X, y = make_four_groups(2000, noise=0.0, seed=3)
    X = X.astype(np.float64)
    assert (X >= 0).all() and (X <= 1).all()
    inside = np.hypot(X[:, 0] - 0.5, X[:, 1] - 0.5) < 0.4
    expected = np.where(inside, np.where(X[:, 1] > 0.5, 0, 1), np.where(X[:, 0] > 0.5, 2, 3))
    # float32 rounding may move a point that sat within 1e-7 of a border.
    assert (expected == y).mean() > 0.999


def test_four_groups_outer_classes_are_split_by_one_vertical_line():
    X, y = make_four_groups(1000, seed=0)
    assert (X[y == 2, 0] >= 0.5).all() and (X[y == 3, 0] <= 0.5).all()


def test_four_groups_inner_classes_fill_the_disc_uniformly():
    X, y = make_four_groups(8000, seed=5)
    inner = X[y <= 1].astype(np.float64)
    r = np.hypot(inner[:, 0] - 0.5, inner[:, 1] - 0.5)
    # Uniform over a disc of radius R: P(r < R / sqrt 2) = 1/2.
    assert abs(float((r < 0.4 / math.sqrt(2)).mean()) - 0.5) < 0.03


def test_noiseless_spiral_points_sit_on_their_class_arm():
    n_classes, turns = 3, 1.0
    X, y = make_spirals(600, n_classes=n_classes, noise=0.0, turns=turns, seed=2)
    X = X.astype(np.float64)
    r = np.hypot(X[:, 0], X[:, 1])
    assert (r <= 1 + 1e-6).all() and (r > 0).all()
    angle = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * (y / n_classes + turns * r)
    wrapped = np.angle(np.exp(1j * (angle - expected)))
    np.testing.assert_allclose(wrapped, 0.0, atol=1e-4)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: make_moons(1), ValueError, "n_samples must be >= 2; got 1"),
        (lambda: make_four_groups(3), ValueError, "n_samples must be >= 4; got 3"),
        (lambda: make_spirals(2, n_classes=3), ValueError, "n_samples must be >= 3; got 2"),
        (lambda: make_spirals(10, n_classes=1), ValueError, "n_classes must be >= 2; got 1"),
        (lambda: make_moons(10.0), TypeError, "n_samples must be an int; got 10.0"),
        (lambda: make_moons(10, noise=-0.1), ValueError, "noise must be finite and >= 0; got -0.1"),
        (lambda: make_moons(10, noise=float("nan")), ValueError, "noise must be finite"),
        (lambda: make_moons(10, noise="low"), TypeError, "noise must be a real number"),
        (lambda: make_spirals(10, turns=0), ValueError, "turns must be finite and > 0; got 0"),
        (lambda: make_moons(10, seed=1.5), TypeError, "seed must be None, a non-negative int"),
        (lambda: make_moons(10, seed=True), TypeError, "seed must be None"),
        (lambda: make_moons(10, seed=-1), ValueError, "seed must be a non-negative int; got -1"),
    ],
)
def test_bad_arguments_raise_errors_naming_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
