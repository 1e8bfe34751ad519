"""Holdout splits, k-fold indices and cross-validation: partitions, stratification,
determinism, memmap gathering, errors, and cross_validate's use of a model."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layerkit.model_selection import (
    CrossValidationResult,
    cross_validate,
    kfold_indices,
    train_test_split,
    train_val_test_split,
)


def ids(X: np.ndarray) -> np.ndarray:
    """Sample ids stored in column 0 of the test feature matrices."""
    return X[:, 0].astype(np.int64)


def features(n: int) -> np.ndarray:
    """An (n, 2) matrix whose row i is [i, -i], so every part tells which samples it holds."""
    return np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float64)


labels_strategy = st.integers(1, 6).flatmap(
    lambda c: hnp.arrays(np.int64, st.integers(3, 200), elements=st.integers(0, c - 1))
)


def assert_within_one_per_class(y: np.ndarray, part: np.ndarray, part_size: int) -> None:
    classes, counts = np.unique(y, return_counts=True)
    got = np.array([np.count_nonzero(part == c) for c in classes])
    ideal = counts * part_size / len(y)
    assert np.all(np.abs(got - ideal) < 1), (got, ideal)


# ---------------------------------------------------------------------------- holdout
def test_default_split_is_60_20_20_and_partitions_the_samples():
    X, y = features(100), np.arange(100) % 4
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(X, y, seed=0)
    assert (len(X_tr), len(X_va), len(X_te)) == (60, 20, 20)
    all_ids = np.concatenate([ids(X_tr), ids(X_va), ids(X_te)])
    np.testing.assert_array_equal(np.sort(all_ids), np.arange(100))
    for X_part, y_part in ((X_tr, y_tr), (X_va, y_va), (X_te, y_te)):
        np.testing.assert_array_equal(y_part, y[ids(X_part)])  # rows stay paired
        np.testing.assert_array_equal(X_part, X[ids(X_part)])
        assert np.all(np.diff(ids(X_part)) > 0)  # original order kept within a part
    # 25 per class: exactly 15 / 5 / 5 of each
    for y_part, expected in ((y_tr, 15), (y_va, 5), (y_te, 5)):
        np.testing.assert_array_equal(np.bincount(y_part), [expected] * 4)


@settings(max_examples=60, deadline=None)
@given(
    y=labels_strategy,
    val=st.floats(0.05, 0.45),
    test=st.floats(0.05, 0.45),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_holdout_partitions_and_keeps_each_class_within_one_sample(y, val, test, seed):
    n = len(y)
    n_val, n_test = int(np.floor(val * n + 0.5)), int(np.floor(test * n + 0.5))
    if n_val < 1 or n_test < 1 or n_val + n_test >= n:
        with pytest.raises(ValueError):
            train_val_test_split(features(n), y, val_size=val, test_size=test, seed=seed)
        return
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(
        features(n), y, val_size=val, test_size=test, seed=seed
    )
    assert (len(y_va), len(y_te), len(y_tr)) == (n_val, n_test, n - n_val - n_test)
    parts = [ids(X_tr), ids(X_va), ids(X_te)]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))
    for part, y_part in zip(parts, (y_tr, y_va, y_te), strict=True):
        np.testing.assert_array_equal(y_part, y[part])
        assert_within_one_per_class(y, y_part, len(y_part))


def test_same_seed_gives_same_split_and_other_seeds_differ():
    X, y = features(50), np.arange(50) % 3
    first = train_val_test_split(X, y, seed=7)
    again = train_val_test_split(X, y, seed=7)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = train_val_test_split(X, y, seed=8)
    assert not np.array_equal(first[2], other[2])


def test_sizes_may_be_absolute_counts():
    X_tr, X_va, X_te, *_ = train_val_test_split(
        features(30), np.zeros(30, int), val_size=4, test_size=0.1
    )
    assert (len(X_tr), len(X_va), len(X_te)) == (23, 4, 3)


def test_one_hot_targets_are_stratified_and_returned_one_hot():
    y = np.eye(2)[np.array([0] * 90 + [1] * 10)]
    _, _, _, y_tr, y_va, y_te = train_val_test_split(features(100), y, seed=3)
    assert y_va.shape == (20, 2)
    np.testing.assert_array_equal(y_va.sum(axis=0), [18, 2])
    np.testing.assert_array_equal(y_te.sum(axis=0), [18, 2])
    np.testing.assert_array_equal(y_tr.sum(axis=0), [54, 6])


def test_rare_class_is_spread_by_stratification_but_not_necessarily_without():
    y = np.array([0] * 95 + [1] * 5)
    for seed in range(5):
        *_, y_te = train_test_split(features(100), y, test_size=0.2, seed=seed)
        assert np.count_nonzero(y_te) == 1  # 5 * 0.2
    counts = {
        int(np.count_nonzero(train_test_split(features(100), y, stratify=False, seed=s)[3]))
        for s in range(30)
    }
    assert len(counts) > 1  # a plain shuffle varies


def test_real_valued_targets_are_split_by_plain_shuffle():
    y = np.linspace(0, 1, 40)
    X_tr, X_te, _, y_te = train_test_split(features(40), y, test_size=0.25, seed=0)
    assert (len(X_tr), len(X_te)) == (30, 10)
    np.testing.assert_array_equal(y_te, y[ids(X_te)])


def test_memmap_features_are_gathered_by_index(tmp_path):
    n = 64
    path = tmp_path / "X.dat"
    X_disk = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, 3))
    X_disk[:] = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    X_disk.flush()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, 3))
    y = np.arange(n) % 2
    X_tr, X_va, X_te, *_ = train_val_test_split(X, y, seed=0)
    for X_part in (X_tr, X_va, X_te):
        assert type(X_part) is np.ndarray  # an in-memory copy of the part's rows only
        rows = (X_part[:, 0] // 3).astype(int)
        np.testing.assert_array_equal(X_part, np.asarray(X)[rows])
    assert len(X_tr) + len(X_va) + len(X_te) == n


class RecordingArray(np.ndarray):
    """An ndarray that records how it is indexed."""

    accesses: ClassVar[list] = []

    def __getitem__(self, key):
        type(self).accesses.append(key)
        return np.asarray(self).__getitem__(key)


def test_features_are_read_only_by_integer_index_arrays_once_per_sample():
    RecordingArray.accesses = []
    X = features(30).view(RecordingArray)
    train_val_test_split(X, np.arange(30) % 3, seed=0)
    keys = RecordingArray.accesses
    assert len(keys) == 3
    assert all(isinstance(k, np.ndarray) and k.dtype.kind == "i" for k in keys)
    np.testing.assert_array_equal(np.sort(np.concatenate(keys)), np.arange(30))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"val_size": 0.6, "test_size": 0.4}, ValueError, r"leave 0 of 10 samples for training"),
        (
            {"test_size": 1.0},
            ValueError,
            r"test_size as a fraction must be in \(0, 1\); received 1\.0",
        ),
        ({"val_size": 0.0}, ValueError, r"val_size as a fraction must be in \(0, 1\)"),
        ({"test_size": 10}, ValueError, r"test_size as a number of samples must be in \[1, 9\]"),
        ({"test_size": 0.01}, ValueError, r"test_size=0\.01 of 10 samples rounds to 0"),
        ({"test_size": True}, TypeError, r"test_size must be a fraction .* received bool"),
        ({"test_size": "0.2"}, TypeError, r"test_size must be a fraction"),
        ({"seed": 1.5}, TypeError, r"seed must be None or an int; received float"),
        ({"seed": -1}, ValueError, r"seed must be non-negative"),
    ],
)
def test_bad_sizes_and_seeds_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        train_val_test_split(features(10), np.arange(10) % 2, **kwargs)


def test_mismatched_and_empty_inputs_are_rejected():
    with pytest.raises(
        ValueError, match="X and y must have the same number of samples; received 5 and 4"
    ):
        train_test_split(features(5), np.zeros(4))
    with pytest.raises(ValueError, match="X is empty"):
        train_test_split(np.zeros((0, 2)), np.zeros(0))


# ---------------------------------------------------------------------------- k-fold
@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    y=labels_strategy,
    stratify=st.booleans(),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_kfold_validates_every_sample_exactly_once(data, y, stratify, shuffle, seed):
    n = len(y)
    k = data.draw(st.integers(2, min(n, 10)))
    folds = list(kfold_indices(y, k, stratify=stratify, shuffle=shuffle, seed=seed))
    assert len(folds) == k
    val = [v for _, v in folds]
    np.testing.assert_array_equal(np.sort(np.concatenate(val)), np.arange(n))
    sizes = [len(v) for v in val]
    assert max(sizes) - min(sizes) <= 1
    for train_idx, val_idx in folds:
        assert np.intersect1d(train_idx, val_idx).size == 0
        np.testing.assert_array_equal(np.union1d(train_idx, val_idx), np.arange(n))
        if stratify:
            assert_within_one_per_class(y, y[val_idx], n / k)


def test_stratified_folds_hold_each_class_within_one_of_its_share():
    y = np.array([0] * 23 + [1] * 7 + [2] * 2)
    for _, val_idx in kfold_indices(y, 4, seed=1):
        counts = np.bincount(y[val_idx], minlength=3)
        assert np.all(np.abs(counts - np.array([23, 7, 2]) / 4) < 1)


def test_unshuffled_unstratified_folds_are_consecutive_blocks():
    folds = list(kfold_indices(7, 3, shuffle=False))
    np.testing.assert_array_equal(folds[0][1], [0, 1, 2])
    np.testing.assert_array_equal(folds[1][1], [3, 4])
    np.testing.assert_array_equal(folds[2][1], [5, 6])
    np.testing.assert_array_equal(folds[1][0], [0, 1, 2, 5, 6])


def test_kfold_is_deterministic_for_a_seed_and_int_equals_unstratified():
    a = list(kfold_indices(20, 4, seed=5))
    b = list(kfold_indices(20, 4, seed=5))
    c = list(kfold_indices(np.linspace(0, 1, 20), 4, seed=5))  # real targets: no strata
    for (ta, va), (tb, vb), (tc, vc) in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(va, vb)
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(va, vc)
        np.testing.assert_array_equal(ta, tc)


def test_kfold_checks_arguments_when_called_not_when_iterated():
    with pytest.raises(
        ValueError, match=r"k must be in \[2, n\] = \[2, 3\] folds for 3 samples; received 4"
    ):
        kfold_indices(3, 4)
    with pytest.raises(ValueError, match="received 1"):
        kfold_indices(10, 1)
    with pytest.raises(TypeError, match="k must be an int; received float"):
        kfold_indices(10, 2.0)
    with pytest.raises(TypeError, match="n_or_y must be the number of samples"):
        kfold_indices(10.0, 2)
    with pytest.raises(ValueError, match="n_or_y is empty"):
        kfold_indices([], 2)


# ---------------------------------------------------------------------------- cross-validation
class FakeEvaluation:
    """Unpackable as (cost, accuracy) with attributes, like Network.evaluate's result."""

    def __init__(self, cost, accuracy):
        self.cost, self.accuracy = cost, accuracy

    def __iter__(self):
        return iter((self.cost, self.accuracy))


class FakeNet:
    """Records what it is trained and evaluated on; its cost is the mean validation id."""

    built: ClassVar[list[FakeNet]] = []

    def __init__(self, seed=None, regression=False):
        self.seed = seed
        self.regression = regression
        self.trained_on = None
        FakeNet.built.append(self)

    def train(self, X, y, X_val=None, y_val=None, **kwargs):
        self.trained_on = (ids(X), y, ids(X_val), y_val)
        self.train_kwargs = kwargs
        return {"history of": self.seed, "n_train": len(X)}

    def evaluate(self, X, y):
        self.evaluated_on = ids(X)
        accuracy = None if self.regression else float(np.mean(y == 0))
        return FakeEvaluation(float(np.mean(ids(X))), accuracy)


@pytest.fixture
def fresh_registry():
    FakeNet.built = []
    yield FakeNet.built


def test_each_fold_trains_on_exactly_the_other_folds_and_results_are_aggregated(fresh_registry):
    X, y = features(23), np.arange(23) % 3
    result = cross_validate(lambda: FakeNet(), X, y, k=4, seed=0, epochs=3, verbose=False)
    nets = fresh_registry
    assert len(nets) == 4 and len({id(net) for net in nets}) == 4
    expected = list(kfold_indices(y, 4, seed=0))  # the same folds as kfold_indices
    for net, (train_idx, val_idx), fold in zip(nets, expected, result.folds, strict=True):
        train_ids, y_train, val_ids, y_val = net.trained_on
        np.testing.assert_array_equal(train_ids, train_idx)
        np.testing.assert_array_equal(val_ids, val_idx)
        np.testing.assert_array_equal(np.sort(np.concatenate([train_ids, val_ids])), np.arange(23))
        np.testing.assert_array_equal(y_train, y[train_idx])
        np.testing.assert_array_equal(y_val, y[val_idx])
        np.testing.assert_array_equal(net.evaluated_on, val_idx)
        assert net.train_kwargs == {"epochs": 3, "verbose": False}
        np.testing.assert_array_equal(fold[1], val_idx)
    np.testing.assert_array_equal(
        np.sort(np.concatenate([v for _, v in result.folds])), np.arange(23)
    )
    costs = np.array([np.mean(v) for _, v in expected])
    accs = np.array([np.mean(y[v] == 0) for _, v in expected])
    np.testing.assert_allclose(result.costs, costs)
    np.testing.assert_allclose(result.accuracies, accs)
    assert result.mean_cost == pytest.approx(costs.mean())
    assert result.std_cost == pytest.approx(costs.std())
    assert result.mean_accuracy == pytest.approx(accs.mean())
    assert result.std_accuracy == pytest.approx(accs.std())
    assert result.k == 4
    assert [h["n_train"] for h in result.histories] == [len(t) for t, _ in expected]
    assert result.seeds is None  # the lambda takes no seed
    assert isinstance(result, CrossValidationResult)
    assert str(result).startswith("4-fold cross-validation: cost")


def test_build_fn_with_seed_gets_distinct_reproducible_per_fold_seeds(fresh_registry):
    X, y = features(20), np.arange(20) % 2
    first = cross_validate(lambda seed: FakeNet(seed=seed), X, y, k=5, seed=11)
    again = cross_validate(lambda seed: FakeNet(seed=seed), X, y, k=5, seed=11)
    other = cross_validate(lambda seed: FakeNet(seed=seed), X, y, k=5, seed=12)
    assert first.seeds == again.seeds
    assert len(set(first.seeds)) == 5
    assert first.seeds != other.seeds
    assert [net.seed for net in fresh_registry[:5]] == list(first.seeds)
    assert [h["history of"] for h in first.histories] == list(first.seeds)


def test_regression_models_report_no_accuracy(fresh_registry):
    result = cross_validate(
        lambda: FakeNet(regression=True), features(10), np.linspace(0, 1, 10), k=2
    )
    assert result.accuracies is None
    assert result.mean_accuracy is None and result.std_accuracy is None
    assert "accuracy" not in str(result)
    np.testing.assert_array_equal(
        np.sort(np.concatenate([v for _, v in result.folds])), np.arange(10)
    )


def test_cross_validate_rejects_shared_model_validation_kwargs_and_non_callables():
    shared = FakeNet()
    with pytest.raises(
        ValueError, match="build_fn returned the same model object for folds 0 and 1"
    ):
        cross_validate(lambda: shared, features(10), np.arange(10) % 2, k=2)
    with pytest.raises(ValueError, match="train_kwargs must not contain X_val"):
        cross_validate(FakeNet, features(10), np.arange(10) % 2, k=2, X_val=features(2))
    with pytest.raises(TypeError, match="build_fn must be a callable"):
        cross_validate(shared, features(10), np.arange(10) % 2, k=2)
    with pytest.raises(ValueError, match="X and y must have the same number of samples"):
        cross_validate(FakeNet, features(10), np.arange(9) % 2, k=2)


def test_cross_validate_runs_a_real_network():
    lk = pytest.importorskip("layerkit")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)

    def build(seed):
        return lk.Network([lk.Input(2), lk.Dense(2, "softmax")], seed=seed)

    result = cross_validate(build, X, y, k=3, seed=0, epochs=30, learning_rate=0.5, verbose=False)
    assert result.costs.shape == (3,) and np.all(np.isfinite(result.costs))
    assert result.mean_accuracy > 0.8  # a linearly separable problem


def _separable_build(seed):
    import layerkit as lk

    return lk.Network([lk.Input(2), lk.Dense(3, "tanh"), lk.Dense(2, "softmax")], seed=seed)


def test_cross_validate_on_two_loky_processes_equals_the_serial_run():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    kw = dict(k=3, seed=4, epochs=4, learning_rate=0.3, verbose=0, threads_per_worker=1)
    serial = cross_validate(_separable_build, X, y, **kw)
    parallel = cross_validate(_separable_build, X, y, n_jobs=2, **kw)
    assert parallel.costs.tolist() == serial.costs.tolist()
    assert parallel.accuracies.tolist() == serial.accuracies.tolist()
    assert parallel.seeds == serial.seeds
    assert [h.train_cost for h in parallel.histories] == [h.train_cost for h in serial.histories]
    assert [len(v) for _, v in parallel.folds] == [30, 30, 30]


def test_a_failing_fold_stops_cross_validation_with_its_own_exception():
    def build(seed):
        raise RuntimeError(f"cannot build for seed {seed}")

    with pytest.raises(RuntimeError, match="cannot build for seed"):
        cross_validate(build, features(10), np.arange(10) % 2, k=2, seed=0)


def test_model_selection_errors_are_layerkit_errors():
    import layerkit as lk

    with pytest.raises(lk.LayerkitValueError, match="k must be in"):
        list(kfold_indices(5, k=6))
    with pytest.raises(lk.LayerkitTypeError, match="seed must be None or an int"):
        train_test_split(features(10), np.arange(10) % 2, seed="x")
    with pytest.raises(lk.LayerkitValueError, match="n_jobs must be >= 1"):
        cross_validate(FakeNet, features(10), np.arange(10) % 2, k=2, n_jobs=0)
