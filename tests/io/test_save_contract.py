"""What ``save`` checks before writing (the config round trip of every layer), layer
state in files and checkpoints, user metadata, and the checkpoint functions the
training loop uses (``write_checkpoint`` / ``read_checkpoint`` / ``apply_checkpoint``)."""

from __future__ import annotations

import hostile as h
import numpy as np
import pytest

import layerkit as lk
import layerkit.io as lkio

# ---------------------------------------------------------------------------- the config round trip


class _ScaleBase(lk.Layer):
    def __init__(self, k, *, name=None):
        super().__init__(name=name)
        self.k = float(k)

    def forward(self, x, training=False):
        return x * self.k

    def backward(self, grad_out):
        return grad_out * self.k


@lk.register_layer
class SaveScaleNoConfig(_ScaleBase):
    """Forgets to override get_config: ``k`` is required and missing."""


@lk.register_layer
class SaveScaleDefault(_ScaleBase):
    """``k`` has a default and get_config leaves it out: a rebuilt layer would use 1.0."""

    def __init__(self, k=1.0, *, name=None):
        super().__init__(k, name=name)


@lk.register_layer
class SaveScaleWrongConfig(_ScaleBase):
    """get_config returns an argument the constructor does not take."""

    def get_config(self):
        return {"k": self.k, "factor": 2, "name": self.name}


@lk.register_layer
class SaveScaleGood(_ScaleBase):
    def get_config(self):
        return {"k": self.k, "name": self.name}


class SaveScaleUnregistered(SaveScaleGood):
    pass


def _net_with(layer):
    return lk.Network([lk.Input(3), layer, lk.Dense(2, "softmax")], seed=0)


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (
            SaveScaleNoConfig(2.0, name="scale_1"),
            r"layer 'scale_1' \(SaveScaleNoConfig\): get_config\(\) does not return the constructor argument 'k'; override get_config",
        ),
        (
            SaveScaleDefault(3.0, name="scale_2"),
            r"layer 'scale_2' \(SaveScaleDefault\): get_config\(\) does not return the constructor argument 'k'",
        ),
        (
            SaveScaleWrongConfig(2.0, name="scale_3"),
            r"layer 'scale_3' \(SaveScaleWrongConfig\): SaveScaleWrongConfig\.from_config\(get_config\(\)\) fails",
        ),
        (
            SaveScaleUnregistered(2.0, name="scale_4"),
            r"layer 'scale_4' \(SaveScaleUnregistered\): its class is not registered.*@layerkit\.register_layer",
        ),
    ],
    ids=[
        "required argument missing",
        "default argument missing",
        "unknown argument",
        "unregistered",
    ],
)
def test_save_refuses_a_layer_that_does_not_rebuild_and_writes_nothing(tmp_path, layer, match):
    net = _net_with(layer)
    with pytest.raises(lk.LayerkitValueError, match=match):
        lk.save(net, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_layer_that_rebuilds_saves_and_loads_bit_for_bit(tmp_path):
    net = _net_with(SaveScaleGood(2.5))
    loaded = lk.load(lk.save(net, tmp_path / "m.npz"))
    X = np.random.default_rng(0).standard_normal((4, 3))
    assert np.array_equal(loaded.predict(X), net.predict(X))


# ---------------------------------------------------------------------------- layer state


@lk.register_layer
class SaveRunningMean(lk.Layer):
    """A layer with non-trainable state (a running mean), as ``add_state`` registers it."""

    def __init__(self, momentum=0.5, *, name=None):
        super().__init__(name=name)
        self.momentum = float(momentum)

    def build(self, input_shape):
        self.add_param("g", np.ones(input_shape))
        add_state = getattr(self, "add_state", None)
        if add_state is not None:
            add_state("mean", np.zeros(input_shape))
        else:
            self.state = {"mean": np.zeros(input_shape, dtype=self.dtype)}

    def forward(self, x, training=False):
        if training:
            m = self.state["mean"]
            m[...] = self.momentum * m + (1 - self.momentum) * x.mean(axis=0)
        self._x = x
        return (x - self.state["mean"]) * self.params["g"]

    def backward(self, grad_out):
        self.grads["g"][...] = (grad_out * (self._x - self.state["mean"])).sum(axis=0)
        return grad_out * self.params["g"]

    def get_config(self):
        return {"momentum": self.momentum, "name": self.name}


def _stateful_net(seed=0):
    net = lk.Network(
        [lk.Input(4), SaveRunningMean(), lk.Dense(3, "softmax")], seed=seed, dtype="float64"
    )
    X, y = h.data()
    net.train(X, y, epochs=2, batch_size=8, verbose=0, optimizer="adam")
    return net


def test_layer_state_is_saved_and_loaded(tmp_path):
    net = _stateful_net()
    mean = net.layers[1].state["mean"]
    assert np.any(mean != 0)
    loaded = lk.load(lk.save(net, tmp_path / "m.npz"))
    assert np.array_equal(loaded.layers[1].state["mean"], mean)
    X, _ = h.data()
    assert np.array_equal(loaded.predict(X), net.predict(X))


def test_a_state_array_of_the_wrong_shape_is_refused(tmp_path):
    path = lk.save(_stateful_net(), tmp_path / "m.npz")
    bad = h.rewrite(path, tmp_path / "bad.npz", lambda m, a: a.__setitem__("s0", np.zeros(7)))
    with pytest.raises(lk.ModelFileError, match=r"states\[0\] \(layer .*'mean'\) has shape \(7,\)"):
        lk.load(bad)


def test_layer_state_is_restored_by_resume(tmp_path):
    net = _stateful_net()
    X, y = h.data()
    ck = tmp_path / "ck.npz"
    net.train(X, y, epochs=1, batch_size=8, verbose=0, checkpoint=ck)
    saved_mean = net.layers[1].state["mean"].copy()
    other = _stateful_net(seed=3)
    assert not np.array_equal(other.layers[1].state["mean"], saved_mean)
    lkio.apply_checkpoint(other, lkio.read_checkpoint(other, ck))
    assert np.array_equal(other.layers[1].state["mean"], saved_mean)


# ---------------------------------------------------------------------------- user metadata


def test_user_metadata_round_trips_and_is_validated(tmp_path):
    net = h.trained_net()
    net.metadata = {"author": "me", "tags": ["a", 1, None], "nested": {"x": 1.5}}
    loaded = lk.load(lk.save(net, tmp_path / "m.npz"))
    assert loaded.metadata == net.metadata
    net.metadata = {"bad": {1, 2}}
    with pytest.raises(lk.LayerkitValueError, match="metadata must be JSON-serialisable"):
        lk.save(net, tmp_path / "x.npz")
    net.metadata = {"nan": float("nan")}
    with pytest.raises(lk.LayerkitValueError, match="metadata"):
        lk.save(net, tmp_path / "x.npz")
    deep: dict = {}
    node = deep
    for _ in range(100):
        node["d"] = {}
        node = node["d"]
    net.metadata = deep
    with pytest.raises(lk.LayerkitValueError, match="too deeply nested"):
        lk.save(net, tmp_path / "x.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# ---------------------------------------------------------------------------- checkpoint functions


def test_write_read_apply_checkpoint_round_trip(tmp_path):
    net = h.trained_net()
    best = [w + 1 for w in net.get_weights()]
    arrays = {f"b{i}": b for i, b in enumerate(best)}
    state = {"epoch": 2, "stopper": None, "schedule": {}, "best": sorted(arrays)}
    path = lkio.write_checkpoint(net, tmp_path / "ck", state, arrays, key=b"k")
    assert path.name == "ck.npz"
    other = h.trained_net(seed=9)
    before = h.state_of(other)
    ck = lkio.read_checkpoint(other, path, key=b"k")
    h.assert_unchanged(other, before)  # reading changes nothing
    assert ck.epoch == 2 and ck.training["best"] == sorted(arrays)
    assert all(np.array_equal(ck.arrays[f"b{i}"], b) for i, b in enumerate(best))
    lkio.apply_checkpoint(other, ck)
    assert all(
        np.array_equal(a, b) for a, b in zip(other.get_weights(), net.get_weights(), strict=True)
    )
    assert other.rng.bit_generator.state == net.rng.bit_generator.state
    assert other.optimizer.iterations == net.optimizer.iterations
    assert other.history.as_dict() == net.history.as_dict()


def test_write_checkpoint_refuses_a_state_it_could_not_read_back(tmp_path):
    net = h.trained_net()
    with pytest.raises(lk.LayerkitValueError, match=r"training\.epoch"):
        lkio.write_checkpoint(net, tmp_path / "ck.npz", {"epoch": "x"}, {})
    with pytest.raises(lk.LayerkitValueError, match="JSON"):
        lkio.write_checkpoint(net, tmp_path / "ck.npz", {"epoch": 1, "x": {1}}, {})
    with pytest.raises(lk.LayerkitValueError, match="used by the model"):
        lkio.write_checkpoint(net, tmp_path / "ck.npz", {"epoch": 1}, {"p0": np.zeros(1)})
    with pytest.raises(lk.LayerkitValueError, match="finite floating-point"):
        lkio.write_checkpoint(net, tmp_path / "ck.npz", {"epoch": 1}, {"b0": np.array([np.nan])})
    with pytest.raises(lk.LayerkitValueError, match="not given"):
        lkio.write_checkpoint(net, tmp_path / "ck.npz", {"epoch": 1, "best": ["b0"]}, {})
    assert list(tmp_path.iterdir()) == []


def test_read_checkpoint_refuses_a_saved_model_and_apply_refuses_another_network(tmp_path):
    net = h.trained_net()
    model = lk.save(net, tmp_path / "m.npz")
    with pytest.raises(lk.ModelFileError, match="not a checkpoint"):
        lkio.read_checkpoint(net, model)
    ck = lkio.read_checkpoint(
        net, lkio.write_checkpoint(net, tmp_path / "ck.npz", {"epoch": 0}, {})
    )
    wider = lk.Network([lk.Input(4), lk.Dense(6, "tanh"), lk.Dense(3, "softmax")], seed=0)
    with pytest.raises(lk.LayerkitValueError, match="another architecture"):
        lkio.apply_checkpoint(wider, ck)


def test_resume_with_early_stopping_restores_best_weights_and_state(tmp_path):
    """The best-weights arrays of a checkpoint cover every variable (parameters and
    state, layer by layer); a resumed run equals the uninterrupted one."""
    X, y = h.data()
    straight = _stateful_net()
    straight.train(X, y, X, y, epochs=4, batch_size=8, verbose=0, early_stopping=2)
    first = _stateful_net()
    ck = tmp_path / "ck.npz"
    first.train(X, y, X, y, epochs=2, batch_size=8, verbose=0, early_stopping=2, checkpoint=ck)
    ck_read = lkio.read_checkpoint(first, ck)
    assert len(ck_read.training["best"]) == len(first.variables())
    resumed = _stateful_net()
    resumed.train(X, y, X, y, epochs=4, batch_size=8, verbose=0, early_stopping=2, resume=ck)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        assert np.array_equal(a, b)


def test_a_checkpoint_whose_best_state_array_has_the_wrong_shape_is_refused(tmp_path):
    X, y = h.data()
    net = _stateful_net()
    ck = tmp_path / "ck.npz"
    net.train(X, y, X, y, epochs=1, batch_size=8, verbose=0, early_stopping=2, checkpoint=ck)
    best = lkio.read_checkpoint(net, ck).training["best"]
    bad = h.rewrite(ck, tmp_path / "bad.npz", lambda m, a: a.__setitem__(best[1], np.zeros(9)))
    before = h.state_of(net)
    with pytest.raises(lk.ModelFileError, match=r"training\.best\[1\] has shape \(9,\)"):
        net.train(X, y, X, y, epochs=3, batch_size=8, verbose=0, early_stopping=2, resume=bad)
    h.assert_unchanged(net, before)
