"""Saving and loading (``layerkit.save`` / ``layerkit.load``): bit-exact round trips for
every built-in layer, activation, loss and dtype and for custom layers; training that
continues after a load exactly as it would have; atomic writes; and clear
``ModelFileError``s for truncated, corrupted, foreign or newer files. Loading never
imports or unpickles anything.

Files with a *valid* checksum but altered metadata are crafted with ``hostile.rewrite``,
which recomputes the checksum from the documented format, as ``save`` does.
"""

from __future__ import annotations

import gc
import sys
import warnings
import zipfile

import hostile
import numpy as np
import pytest

import layerkit as lk
import layerkit.io as lkio

# ---------------------------------------------------------------------------- helpers

ACTIVATIONS = [
    ("identity", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {"alpha": 0.13}),
    ("elu", {"alpha": 0.7}),
    ("softmax", {}),
    ("tsin", {"A": 0.35}),
]
DTYPES = ["float32", "float64"]


def _data(n=30, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, k, n)
    return X, y


def _output_for(loss, k):
    if loss == "categorical_crossentropy":
        return [lk.Dense(k, "softmax")], np.arange(30) % k
    if loss == "binary_crossentropy":
        return [lk.Dense(1, "sigmoid")], np.arange(30) % 2
    rng = np.random.default_rng(5)
    return [lk.Dense(k), lk.Activation("sigmoid")], rng.random((30, k))


def _every_layer_net(
    activation, params, *, loss="categorical_crossentropy", dtype="float64", seed=3
):
    """Input, Dense with the activation, Dropout, Dense, an Activation layer with it, output."""
    out, y = _output_for(loss, 3)
    layers = [
        lk.Input(4),
        lk.Dense(6, activation, activation_params=params, penalty=0.01),
        lk.Dropout(0.25),
        lk.Dense(5, use_bias=False),
        lk.Activation(activation, **params),
        *out,
    ]
    return lk.Network(layers, loss, seed=seed, dtype=dtype, penalty=0.002, name="every"), y


def _trained(net, y, epochs=2, optimizer="adam"):
    X, _ = _data()
    net.train(X, y, X, y, epochs=epochs, batch_size=7, optimizer=optimizer, verbose=0)
    return net


def _weights_equal(a, b):
    return len(a) == len(b) and all(
        x.dtype == z.dtype and np.array_equal(x, z) for x, z in zip(a, b, strict=True)
    )


def _optimizer_equal(a, b):
    if a is None or b is None:
        return a is b
    sa, sb = a.get_state(), b.get_state()
    return (
        type(a) is type(b)
        and a.get_config() == b.get_config()
        and a.learning_rate == b.learning_rate
        and a.initial_learning_rate == b.initial_learning_rate
        and sa["iterations"] == sb["iterations"]
        and len(sa["slots"]) == len(sb["slots"])
        and all(
            x.keys() == z.keys() and all(np.array_equal(x[k], z[k]) for k in x)
            for x, z in zip(sa["slots"], sb["slots"], strict=True)
        )
    )


def _history_without_times(history):
    d = history.as_dict()
    d.pop("epoch_time")
    return d


def _small_saved(tmp_path, name="model.npz"):
    X, y = _data(k=2)
    net = lk.Network([lk.Input(4), lk.Dense(5, "tanh"), lk.Dense(2, "softmax")], seed=1)
    net.train(X, y, epochs=1, batch_size=8, optimizer="adam", verbose=0)
    return net, net.save(tmp_path / name)


# ---------------------------------------------------------------------------- custom layers


@lk.register_layer
class IoTestScale(lk.Layer):
    """Elementwise learned scale times a fixed factor (a registered custom layer)."""

    def __init__(self, factor=1.0, *, name=None):
        super().__init__(name=name)
        self.factor = float(factor)

    def build(self, input_shape):
        self.add_param("s", 1.0 + 0.1 * self.rng.standard_normal(input_shape), penalize=True)

    def forward(self, x, training=False):
        self._x = x
        return x * (self.params["s"] * self.factor)

    def backward(self, grad_out):
        self.grads["s"][...] = (grad_out * self._x).sum(axis=0) * self.factor
        return grad_out * (self.params["s"] * self.factor)

    def get_config(self):
        return {"factor": self.factor, "name": self.name}


class IoTestUnregistered(lk.Layer):
    """A custom layer nobody registered."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_out):
        return grad_out


class IoTestBadConfig(IoTestUnregistered):
    """Registered, but ``get_config`` returns something JSON cannot store."""

    def get_config(self):
        return {"name": self.name, "weird": {1, 2}}


class IoTestRaisingConfig(IoTestUnregistered):
    """Registered, but ``get_config`` raises."""

    def get_config(self):
        raise RuntimeError("user bug in get_config")


lk.register_layer(IoTestBadConfig)
lk.register_layer(IoTestRaisingConfig)


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("activation", "params"), ACTIVATIONS, ids=[a for a, _ in ACTIVATIONS])
def test_round_trip_predictions_are_bit_identical_for_every_activation(
    tmp_path, activation, params, dtype
):
    net, y = _every_layer_net(activation, params, dtype=dtype)
    _trained(net, y)
    X, _ = _data(n=17, seed=9)
    path = lk.save(net, tmp_path / "m.npz")
    loaded = lk.load(path)
    assert np.array_equal(loaded.predict(X), net.predict(X))
    assert loaded.predict(X).dtype == np.dtype(dtype)
    assert _weights_equal(loaded.get_weights(), net.get_weights())
    assert loaded.loss(X, y[:17]) == net.loss(X, y[:17])
    # the architecture came back, parameters of activations included
    assert [type(la) for la in loaded.layers] == [type(la) for la in net.layers]
    assert [la.name for la in loaded.layers] == [la.name for la in net.layers]
    assert loaded.layers[1].activation == net.layers[1].activation
    assert loaded.layers[4].activation.get_config() == params
    assert loaded.layers[2].rate == 0.25
    assert loaded.layers[1].penalty == 0.01 and loaded.layers[3].use_bias is False
    assert (loaded.penalty, loaded.seed, loaded.name) == (0.002, 3, "every")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "loss", ["sum_of_squares", "mse", "binary_crossentropy", "categorical_crossentropy"]
)
def test_round_trip_is_bit_identical_for_every_loss(tmp_path, loss, dtype):
    net, y = _every_layer_net("tanh", {}, loss=loss, dtype=dtype)
    _trained(net, y, optimizer=lk.SGD(0.05, momentum=0.9))
    X, _ = _data(seed=4)
    loaded = lk.load(net.save(tmp_path / "m"))
    assert loaded.loss_fn.name == net.loss_fn.name
    assert np.array_equal(loaded.predict(X), net.predict(X))
    assert loaded.evaluate(X, y) == net.evaluate(X, y)
    assert loaded.backprop(X, y) == net.backprop(X, y)
    for la, lb in zip(loaded.layers, net.layers, strict=True):
        for key in la.grads:
            assert np.array_equal(la.grads[key], lb.grads[key])


def test_save_adds_the_npz_suffix_and_load_finds_it_without(tmp_path):
    net, _ = _every_layer_net("relu", {})
    written = net.save(tmp_path / "model")
    assert written == tmp_path / "model.npz" and written.is_file()
    assert np.array_equal(lk.load(tmp_path / "model").predict(np.eye(4)), net.predict(np.eye(4)))


def test_registered_custom_layer_round_trips_bit_for_bit(tmp_path):
    X, y = _data(k=2)
    net = lk.Network(
        [lk.Input(4), IoTestScale(0.5), lk.Dense(3, "relu"), lk.Dense(2, "softmax")], seed=2
    )
    net.train(X, y, epochs=2, batch_size=8, optimizer="rmsprop", verbose=0)
    loaded = lk.load(net.save(tmp_path / "c.npz"))
    assert isinstance(loaded.layers[1], IoTestScale) and loaded.layers[1].factor == 0.5
    assert np.array_equal(loaded.predict(X), net.predict(X))
    assert _optimizer_equal(loaded.optimizer, net.optimizer)


def test_custom_layer_passed_in_custom_objects_loads_when_not_registered(tmp_path, monkeypatch):
    X, _ = _data(k=2)
    net = lk.Network([lk.Input(4), IoTestScale(2.0), lk.Dense(2, "softmax")], seed=2)
    path = net.save(tmp_path / "c.npz")
    monkeypatch.delitem(lkio._LAYERS, "IoTestScale")  # a fresh process without the decorator
    with pytest.raises(lk.LayerkitValueError, match="IoTestScale") as info:
        lk.load(path)
    assert "custom_objects" in str(info.value) and "register_layer" in str(info.value)
    loaded = lk.load(path, custom_objects={"IoTestScale": IoTestScale})
    assert np.array_equal(loaded.predict(X), net.predict(X))


def test_saving_an_unregistered_custom_layer_says_to_register_it_and_writes_nothing(tmp_path):
    net = lk.Network([lk.Input(4), IoTestUnregistered(), lk.Dense(2, "softmax")], seed=0)
    with pytest.raises(lk.LayerkitValueError, match="IoTestUnregistered") as info:
        net.save(tmp_path / "u.npz")
    assert "register_layer" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_something_that_is_not_a_network(tmp_path):
    with pytest.raises(lk.LayerkitTypeError, match="save expects a Network; received dict"):
        lk.save({}, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- unknown classes


def test_loading_an_unknown_layer_class_names_it(tmp_path, monkeypatch):
    net = lk.Network([lk.Input(4), IoTestScale(), lk.Dense(2, "softmax")], seed=0)
    path = net.save(tmp_path / "m.npz")
    monkeypatch.delitem(lkio._LAYERS, "IoTestScale")
    with pytest.raises(lk.LayerkitValueError, match=r"layer class 'IoTestScale'"):
        lk.load(path)


def test_a_file_naming_a_module_path_as_layer_class_never_imports_it(tmp_path, monkeypatch):
    """The class name is a dotted path to a module on ``sys.path`` whose import would leave
    a marker: loading must fail naming the class and the module must never be imported."""
    marker = tmp_path / "imported.txt"
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "lk_evil_module.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n"
        "import layerkit as lk\n"
        "class Evil(lk.Layer):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(pkg))
    _, path = _small_saved(tmp_path)

    def edit(meta, arrays):
        meta["network"]["layers"][1]["class"] = "lk_evil_module.Evil"

    bad = hostile.rewrite(path, tmp_path / "evil.npz", edit)
    imported = []
    real_import = __import__

    def spy(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", spy)
    with pytest.raises(lk.LayerkitValueError, match=r"'lk_evil_module\.Evil'"):
        lk.load(bad)
    monkeypatch.undo()
    assert not marker.exists()
    assert "lk_evil_module" not in sys.modules
    assert not any("evil" in name for name in imported)


def test_a_file_naming_an_unknown_optimiser_class_is_an_error_not_an_import(tmp_path):
    _, path = _small_saved(tmp_path)
    bad = hostile.rewrite(
        path,
        tmp_path / "o.npz",
        lambda meta, arrays: meta["optimizer"].__setitem__("class", "os.system"),
    )
    with pytest.raises(lk.LayerkitValueError, match=r"'os\.system'"):
        lk.load(bad)


def test_edited_metadata_without_a_new_checksum_is_reported_as_corrupted(tmp_path):
    _, path = _small_saved(tmp_path)

    def edit(meta, arrays):
        meta["network"]["layers"][1]["class"] = "SomethingElse"

    bad = hostile.rewrite(path, tmp_path / "e.npz", edit, fix_checksum=False)
    with pytest.raises(lk.ModelFileError, match="checksum"):
        lk.load(bad)


# ---------------------------------------------------------------------------- continuing


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: lk.Adam(0.01),
        lambda: lk.SGD(0.05, momentum=0.9, nesterov=True),
        lambda: lk.RMSProp(0.01),
        lambda: lk.SGD(0.1),
    ],
    ids=["adam", "nesterov", "rmsprop", "sgd"],
)
def test_training_continues_after_load_exactly_as_without_saving(tmp_path, make_optimizer):
    X, y = _data()
    a, _ = _every_layer_net("elu", {"alpha": 0.7})
    a.train(X, y, X, y, epochs=2, batch_size=7, optimizer=make_optimizer(), verbose=0)
    b = lk.load(a.save(tmp_path / "m.npz"))
    assert _optimizer_equal(b.optimizer, a.optimizer)
    assert b.rng.bit_generator.state == a.rng.bit_generator.state
    # optimizer=None continues with the network's (loaded) optimiser and its state
    ha = a.train(X, y, X, y, epochs=3, batch_size=7, verbose=0)
    hb = b.train(X, y, X, y, epochs=3, batch_size=7, verbose=0)
    assert _weights_equal(b.get_weights(), a.get_weights())
    assert _history_without_times(hb) == _history_without_times(ha)
    assert _optimizer_equal(b.optimizer, a.optimizer)


def test_history_survives_the_round_trip(tmp_path):
    X, y = _data()
    net, _ = _every_layer_net("tanh", {})
    net.train(
        X,
        y,
        X,
        y,
        epochs=4,
        batch_size=10,
        optimizer="adam",
        early_stopping=lk.Patience(1),
        verbose=0,
    )
    loaded = lk.load(net.save(tmp_path / "m.npz"))
    assert isinstance(loaded.history, lk.History)
    assert loaded.history.as_dict() == net.history.as_dict()


def test_an_untrained_network_round_trips_without_optimizer_or_history(tmp_path):
    net, _ = _every_layer_net("sigmoid", {})
    loaded = lk.load(net.save(tmp_path / "m.npz"))
    assert loaded.optimizer is None and loaded.history is None
    assert loaded.rng.bit_generator.state == net.rng.bit_generator.state
    assert _weights_equal(loaded.get_weights(), net.get_weights())


def test_optimizer_slots_and_iteration_count_survive(tmp_path):
    X, y = _data()
    net, _ = _every_layer_net("relu", {})
    net.train(
        X,
        y,
        epochs=3,
        batch_size=4,
        optimizer=lk.Adam(0.003, beta_1=0.8),
        verbose=0,
        schedule=lk.TimeDecay(0.5),
    )
    loaded = lk.load(net.save(tmp_path / "m.npz"))
    assert loaded.optimizer.iterations == net.optimizer.iterations > 0
    assert loaded.optimizer.beta_1 == 0.8
    assert loaded.optimizer.initial_learning_rate == 0.003
    assert loaded.optimizer.learning_rate == net.optimizer.learning_rate != 0.003
    assert _optimizer_equal(loaded.optimizer, net.optimizer)
    assert all(np.any(s["m"]) for s in loaded.optimizer.slots)


def test_every_saved_file_opens_with_numpy_without_pickle(tmp_path):
    paths = []
    for i, (activation, params) in enumerate(ACTIVATIONS):
        net, y = _every_layer_net(activation, params)
        _trained(net, y, epochs=1)
        paths.append(net.save(tmp_path / f"m{i}.npz"))
    net = lk.Network([lk.Input(4), IoTestScale(), lk.Dense(2, "softmax")], seed=0)
    paths.append(net.save(tmp_path / "custom.npz"))
    for path in paths:
        with np.load(path, allow_pickle=False) as archive:
            for name in archive.files:
                assert archive[name].dtype != object
        with zipfile.ZipFile(path) as zf:
            assert all(n.endswith(".npy") for n in zf.namelist())


# ---------------------------------------------------------------------------- atomic writes


def test_a_successful_save_leaves_only_the_model_file(tmp_path):
    net, _ = _every_layer_net("tanh", {})
    net.save(tmp_path / "m.npz")
    net.save(tmp_path / "m.npz")  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


@pytest.mark.parametrize("layer_cls", [IoTestBadConfig, IoTestRaisingConfig])
def test_a_failing_get_config_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, layer_cls):
    _, path = _small_saved(tmp_path, "m.npz")
    before = path.read_bytes()
    net = lk.Network([lk.Input(4), layer_cls(), lk.Dense(2, "softmax")], seed=0)
    with pytest.raises(lk.LayerkitValueError, match=layer_cls.__name__):
        net.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert path.read_bytes() == before


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_the_old_file_intact_and_no_temporary_file(
    tmp_path, monkeypatch, exc
):
    good, path = _small_saved(tmp_path, "m.npz")
    before = path.read_bytes()

    def half_write(handle, **arrays):
        handle.write(b"PK\x03\x04 partial")
        raise exc

    monkeypatch.setattr(lkio.np, "savez", half_write)
    with pytest.raises(type(exc)):
        good.save(path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert path.read_bytes() == before
    assert np.array_equal(lk.load(path).predict(np.eye(4)), good.predict(np.eye(4)))


# ---------------------------------------------------------------------------- bad files


def test_truncated_files_are_model_file_errors(tmp_path):
    _, path = _small_saved(tmp_path)
    data = path.read_bytes()
    for cut in sorted(
        {0, 1, 4, 30, 100, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1}
    ):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(lk.ModelFileError, match=r"cut\d+\.npz") as info:
            lk.load(bad)
        message = str(info.value)
        assert any(w in message for w in ("truncated", "corrupted", "not a", "checksum")), message


def test_every_single_flipped_byte_is_a_model_file_error_or_an_identical_model(tmp_path):
    """Flip each byte in turn (every 3rd, to stay fast): a zip field nobody reads may be
    harmless, but whatever loads must be the very model saved, and nothing but
    ModelFileError may escape."""
    net, path = _small_saved(tmp_path)
    data = path.read_bytes()
    X = np.random.default_rng(0).standard_normal((5, 4))
    expected = net.predict(X)
    bad = tmp_path / "flip.npz"
    escaped = {}
    for i in range(0, len(data), 3):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        bad.write_bytes(bytes(flipped))
        try:
            loaded = lk.load(bad)
        except lk.ModelFileError:
            continue
        except Exception as exc:
            escaped.setdefault(type(exc).__name__, []).append(i)
            continue
        assert np.array_equal(loaded.predict(X), expected), f"byte {i} changed the model"
    assert not escaped, f"non-ModelFileError exceptions at byte offsets: {escaped}"


def test_a_flipped_byte_in_an_array_is_a_checksum_error(tmp_path):
    _, path = _small_saved(tmp_path)
    data = bytearray(path.read_bytes())
    # flip one byte inside p0's data: zip CRC or our checksum must catch it
    offset = data.find(b"p0.npy") + 200
    data[offset] ^= 0x01
    bad = tmp_path / "b.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(lk.ModelFileError, match=r"corrupted|checksum|CRC"):
        lk.load(bad)


def test_a_file_that_is_not_a_zip_archive(tmp_path):
    bad = tmp_path / "text.npz"
    bad.write_text("hello, I am not a model\n")
    with pytest.raises(lk.ModelFileError, match=r"text\.npz.* is not a layerkit model file"):
        lk.load(bad)


def test_an_npz_without_layerkit_metadata(tmp_path):
    bad = tmp_path / "plain.npz"
    np.savez(bad, W=np.ones((2, 2)))
    with pytest.raises(lk.ModelFileError, match=r"not a layerkit model file \(no __layerkit__"):
        lk.load(bad)


def test_metadata_that_is_not_json(tmp_path):
    bad = tmp_path / "garbage.npz"
    np.savez(bad, __layerkit__=np.frombuffer(b"\xff\xfe{not json", dtype=np.uint8))
    with pytest.raises(lk.ModelFileError, match="not valid JSON"):
        lk.load(bad)


def test_metadata_of_another_format(tmp_path):
    bad = tmp_path / "other.npz"
    np.savez(bad, __layerkit__=np.frombuffer(b'{"format": "keras"}', dtype=np.uint8))
    with pytest.raises(lk.ModelFileError, match="not a layerkit model file"):
        lk.load(bad)


def test_a_newer_format_version_asks_to_upgrade(tmp_path):
    _, path = _small_saved(tmp_path)
    bad = hostile.rewrite(
        path,
        tmp_path / "v2.npz",
        lambda meta, arrays: meta.__setitem__("format_version", lkio.FORMAT_VERSION + 1),
    )
    with pytest.raises(lk.ModelFileError, match=r"format version 2, newer.*upgrade layerkit"):
        lk.load(bad)


def test_a_missing_file_and_a_folder(tmp_path):
    with pytest.raises(lk.ModelFileError, match=r"no model file at .*nothing\.npz"):
        lk.load(tmp_path / "nothing.npz")
    with pytest.raises(lk.ModelFileError, match="no model file"):
        lk.load(tmp_path)


def test_a_file_whose_parameter_shape_does_not_fit_its_architecture(tmp_path):
    _, path = _small_saved(tmp_path)
    bad = hostile.rewrite(
        path,
        tmp_path / "s.npz",
        lambda meta, arrays: arrays.__setitem__("p0", np.zeros((3, 3), np.float32)),
    )
    with pytest.raises(lk.ModelFileError, match=r"shape \(3, 3\)"):
        lk.load(bad)


MALFORMED = {
    "no network": lambda meta, arrays: meta.pop("network"),
    "no params": lambda meta, arrays: meta.pop("params"),
    "missing parameter array": lambda meta, arrays: arrays.pop("p0"),
    "missing optimiser slot": lambda meta, arrays: arrays.pop("o0_m"),
    "layers not a list": lambda meta, arrays: meta["network"].__setitem__("layers", 5),
    "layer entry not a dict": lambda meta, arrays: meta["network"]["layers"].__setitem__(0, "x"),
    "unknown config key": lambda meta, arrays: meta["network"]["layers"][1]["config"].update(
        bogus=1
    ),
    "bad history": lambda meta, arrays: meta.__setitem__("history", {"bogus": 1}),
    "bad rng state": lambda meta, arrays: meta.__setitem__("rng_state", {"bit_generator": "?"}),
    "complex weights": lambda meta, arrays: arrays.__setitem__(
        "p0", arrays["p0"].astype(np.complex64)
    ),
}


@pytest.mark.parametrize("edit", MALFORMED.values(), ids=list(MALFORMED))
def test_structurally_malformed_metadata_with_a_valid_checksum_is_a_clear_value_error(
    tmp_path, edit
):
    """A hand-made or foreign-tool file with a correct checksum but missing or mistyped
    entries: load must say so with a ValueError/TypeError subclass (ideally
    ModelFileError), never KeyError, AttributeError or IndexError."""
    _, path = _small_saved(tmp_path)
    bad = hostile.rewrite(path, tmp_path / "bad.npz", edit)
    with pytest.raises(Exception) as info:
        lk.load(bad)
    assert isinstance(info.value, lk.LayerkitValueError | lk.LayerkitTypeError), (
        f"{type(info.value).__name__}: {info.value}"
    )


def test_a_corrupt_file_does_not_leak_an_open_file_handle(tmp_path):
    """np.load(path) on a broken zip leaves its file object open (ResourceWarning); on
    Windows that also locks the corrupt file so the user cannot replace it."""
    _, path = _small_saved(tmp_path)
    bad = tmp_path / "cut.npz"
    bad.write_bytes(path.read_bytes()[:300])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(lk.ModelFileError):
            lk.load(bad)
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
