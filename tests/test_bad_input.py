"""Bad arguments to every public entry point: a ValueError/TypeError subclass whose message
names the argument, what was expected and what was received, raised before any state
changes (weights, gradients, optimiser state, history, random generator).

``train``'s own argument table lives in ``tests/test_training.py``; the train cases here
are only the data problems that table does not cover.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import layerkit as lk
import layerkit.cli as cli

# ---------------------------------------------------------------------------- helpers

N = 20


def _data(n=N, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = rng.integers(0, 3, n)
    y[:3] = [0, 1, 2]
    return X, y


X_OK, Y_OK = _data()


def _net():
    """A trained classifier with dropout: optimiser state, history, a used generator."""
    net = lk.Network(
        [lk.Input(3, name="in"), lk.Dense(5, "tanh"), lk.Dropout(0.2), lk.Dense(3, "softmax")],
        seed=0,
        dtype="float64",
        penalty=1e-3,
    )
    net.train(X_OK, Y_OK, epochs=2, batch_size=8, optimizer="adam", verbose=0)
    return net


def _state(net):
    opt = net.optimizer
    return {
        "weights": net.get_weights(),
        "grads": [layer.grads[key].copy() for layer, key, _ in net.parameters()],
        "optimizer": opt,
        "opt_state": None if opt is None else opt.get_state(),
        "opt_lr": None if opt is None else (opt.learning_rate, opt.initial_learning_rate),
        "history": net.history,
        "history_dict": None if net.history is None else net.history.as_dict(),
        "rng": net.rng.bit_generator.state,
    }


def _arrays_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def assert_state_unchanged(net, before):
    after = _state(net)
    assert _arrays_equal(after["weights"], before["weights"]), "weights changed"
    assert _arrays_equal(after["grads"], before["grads"]), "gradients changed"
    assert after["optimizer"] is before["optimizer"], "optimizer replaced"
    assert after["opt_lr"] == before["opt_lr"], "learning rate changed"
    if before["opt_state"] is not None:
        assert after["opt_state"]["iterations"] == before["opt_state"]["iterations"]
        for a, b in zip(after["opt_state"]["slots"], before["opt_state"]["slots"], strict=True):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert after["history"] is before["history"], "history replaced"
    assert after["history_dict"] == before["history_dict"], "history changed"
    assert after["rng"] == before["rng"], "random generator advanced"


def _check_error(info, error):
    assert isinstance(info.value, error)
    # one exception family: every bad-input error is layerkit's, so `except
    # lk.LayerkitValueError` catches what a plain `except ValueError` would
    family = lk.LayerkitValueError if issubclass(error, ValueError) else lk.LayerkitTypeError
    assert isinstance(info.value, family), type(info.value).__mro__


def _with(X, index, value):
    X = np.array(X, dtype=np.float64)
    X[index] = value
    return X


# ---------------------------------------------------------------------------- X, for every method

X_CASES = {
    "one sample 1-D": (
        X_OK[0],
        ValueError,
        r"^X must have shape \(n_samples, 3\) for layer 'in' with input shape "
        r"\(3,\); received shape \(3,\) \(a single sample\?",
    ),
    "3-D": (
        X_OK[:, :, None],
        ValueError,
        r"^X must have shape \(n_samples, 3\) for layer 'in'"
        r".*received shape \(20, 3, 1\)",
    ),
    "feature count": (
        X_OK[:, :2],
        ValueError,
        r"^X must have shape \(n_samples, 3\).*received shape \(20, 2\)",
    ),
    "too many features": (np.hstack([X_OK, X_OK]), ValueError, r"received shape \(20, 6\)"),
    "scalar": (3.0, ValueError, r"^X must have shape .*received shape \(\)"),
    "NaN": (
        _with(X_OK, (2, 1), np.nan),
        ValueError,
        r"^X contains NaN or infinity \(first at index \(2, 1\): .*nan\)",
    ),
    "inf": (_with(X_OK, (0, 0), np.inf), ValueError, r"^X contains NaN or infinity .*inf"),
    "-inf float32": (
        _with(X_OK, (5, 2), -np.inf).astype(np.float32),
        ValueError,
        r"^X contains NaN or infinity \(first at index \(5, 2\)",
    ),
    "empty rows": (np.empty((0, 3)), ValueError, r"^X is empty \(shape \(0, 3\)\)"),
    "empty features": (np.empty((N, 0)), ValueError, r"^X is empty \(shape \(20, 0\)\)"),
    "strings": (X_OK.astype(str), TypeError, r"^X must hold real numbers.*dtype <U"),
    "objects": (X_OK.astype(object), TypeError, r"^X must hold real numbers.*dtype object"),
    "complex": (X_OK.astype(complex), TypeError, r"^X must hold real numbers.*dtype complex128"),
    "datetimes": (
        np.zeros((N, 3), dtype="datetime64[s]"),
        TypeError,
        r"^X must hold real numbers.*datetime64",
    ),
    "ragged list": (
        [[1.0, 2.0, 3.0], [1.0, 2.0]],
        TypeError,
        r"^X must be a numeric array; could not convert list",
    ),
    "None": (None, TypeError, r"^X must hold real numbers.*dtype object"),
}

METHODS = {
    "predict": lambda net, X, y: net.predict(X),
    "predict_classes": lambda net, X, y: net.predict_classes(X),
    "forward": lambda net, X, y: net.forward(X, training=True),
    "evaluate": lambda net, X, y: net.evaluate(X, y),
    "loss": lambda net, X, y: net.loss(X, y, training=True),
    "backprop": lambda net, X, y: net.backprop(X, y, training=True),
    "gradcheck": lambda net, X, y: lk.gradcheck(net, X, y, max_entries=2),
    "train": lambda net, X, y: net.train(X, y, epochs=1, verbose=0),
    "train X_val": lambda net, X, y: net.train(X_OK, Y_OK, X, y, epochs=1, verbose=0),
}
# already in tests/test_training.py's table
_COVERED = {("train", "NaN"), ("train", "feature count")}


@pytest.mark.parametrize("case", list(X_CASES))
@pytest.mark.parametrize("method", list(METHODS))
def test_bad_X_names_the_argument_and_value_and_changes_nothing(method, case):
    if (method, case) in _COVERED:
        pytest.skip("covered by tests/test_training.py")
    X, error, match = X_CASES[case]
    if method == "train X_val":
        match = match.replace("^X", "^X_val")
    net = _net()
    before = _state(net)
    if method == "train X_val" and X is None:
        pytest.skip("X_val=None means no validation data")
    n = len(X) if hasattr(X, "__len__") else N
    y = Y_OK[:n] if 0 < n <= N else Y_OK
    with pytest.raises(error, match=match) as info:
        METHODS[method](net, X, y)
    _check_error(info, error)
    assert_state_unchanged(net, before)


# ---------------------------------------------------------------------------- y, for every method

ONE_HOT = np.eye(3)[Y_OK]
Y_CASES = {
    "length": (
        Y_OK[:-1],
        ValueError,
        r"^X and y must have the same number of samples; received 20 and 19",
    ),
    "label too big": (
        np.where(Y_OK == 2, 3, Y_OK),
        ValueError,
        r"^y class labels must be in \[0, 2\] for a network with 3 outputs; "
        r"received labels from .*0.* to .*3",
    ),
    "negative label": (Y_OK - 1, ValueError, r"^y class labels must be in \[0, 2\].*-1"),
    "fractional label": (Y_OK + 0.5, ValueError, r"^y class labels must be whole numbers.*0\.5"),
    "one-hot row sum": (
        _with(ONE_HOT, (4,), [0.5, 0.2, 0.0]),
        ValueError,
        r"^y one-hot rows must sum to 1 for categorical_crossentropy; row 4 "
        r"sums to 0\.7",
    ),
    "probability > 1": (
        _with(ONE_HOT, (1,), [2.0, -1.0, 0.0]),
        ValueError,
        r"^y rows for categorical_crossentropy must hold probabilities in "
        r"\[0, 1\]; received values from .*-1.* to .*2",
    ),
    "NaN": (_with(Y_OK, 3, np.nan), ValueError, r"^y contains NaN or infinity .*index \(3,\)"),
    "inf one-hot": (
        _with(ONE_HOT, (2, 1), np.inf),
        ValueError,
        r"^y contains NaN or infinity \(first at index \(2, 1\)",
    ),
    "empty": (np.empty(0), ValueError, r"^y is empty \(shape \(0,\)\)"),
    "strings": (Y_OK.astype(str), TypeError, r"^y must hold real numbers.*dtype <U"),
    "objects": (Y_OK.astype(object), TypeError, r"^y must hold real numbers.*dtype object"),
    "complex": (Y_OK.astype(complex), TypeError, r"^y must hold real numbers.*complex"),
    "wrong width": (
        np.zeros((N, 4)),
        ValueError,
        r"^y must be integer class labels of shape \(n_samples,\) or one-hot rows of "
        r"shape \(n_samples, 3\).*received shape \(20, 4\)",
    ),
    "3-D": (ONE_HOT[:, :, None], ValueError, r"^y must be integer class labels.*\(20, 3, 1\)"),
}
Y_METHODS = {k: v for k, v in METHODS.items() if not k.startswith("predict") and k != "forward"}
_Y_COVERED = {
    ("train", "length"),
    ("train", "label too big"),
    ("train", "negative label"),
    ("train", "fractional label"),
}


@pytest.mark.parametrize("case", list(Y_CASES))
@pytest.mark.parametrize("method", list(Y_METHODS))
def test_bad_y_names_the_argument_and_value_and_changes_nothing(method, case):
    if (method, case) in _Y_COVERED:
        pytest.skip("covered by tests/test_training.py")
    y, error, match = Y_CASES[case]
    if method == "train X_val":
        match = match.replace("^y", "^y_val").replace("^X and y", "^X_val and y_val")
    net = _net()
    before = _state(net)
    with pytest.raises(error, match=match) as info:
        Y_METHODS[method](net, X_OK, y)
    _check_error(info, error)
    assert_state_unchanged(net, before)


def _regression_net():
    net = lk.Network([lk.Input(3, name="in"), lk.Dense(2)], loss="mse", seed=0)
    net.train(X_OK, np.zeros((N, 2)), epochs=1, optimizer="sgd", verbose=0)
    return net


def _sigmoid_net():
    net = lk.Network(
        [lk.Input(3, name="in"), lk.Dense(1, "sigmoid")], loss="binary_crossentropy", seed=0
    )
    net.train(X_OK, Y_OK % 2, epochs=1, optimizer="sgd", verbose=0)
    return net


TARGET_KIND_CASES = {
    "labels for a 2-output regression": (
        _regression_net,
        Y_OK,
        ValueError,
        r"^y must have shape \(n_samples, 2\) to match the "
        r"network's 2 outputs; received shape \(20,\)",
    ),
    "regression NaN": (
        _regression_net,
        _with(np.zeros((N, 2)), (0, 1), np.nan),
        ValueError,
        r"^y contains NaN",
    ),
    "binary label 2": (
        _sigmoid_net,
        Y_OK,
        ValueError,
        r"^y for binary_crossentropy with one sigmoid output must hold values in "
        r"\[0, 1\]; received values from .*0.* to .*2",
    ),
    "binary label -1": (_sigmoid_net, -(Y_OK % 2), ValueError, r"\[0, 1\].*-1"),
}


@pytest.mark.parametrize("case", list(TARGET_KIND_CASES))
@pytest.mark.parametrize("method", ["loss", "backprop", "evaluate", "train", "gradcheck"])
def test_targets_of_the_wrong_kind_for_the_loss(method, case):
    make, y, error, match = TARGET_KIND_CASES[case]
    net = make()
    before = _state(net)
    with pytest.raises(error, match=match) as info:
        METHODS[method](net, X_OK, y)
    _check_error(info, error)
    assert_state_unchanged(net, before)


# ---------------------------------------------------------------------------- other method arguments

METHOD_ARG_CASES = {
    "predict batch_size=0": (
        lambda net: net.predict(X_OK, batch_size=0),
        ValueError,
        r"batch_size.*0",
    ),
    "predict batch_size=-1": (
        lambda net: net.predict(X_OK, batch_size=-1),
        ValueError,
        r"batch_size.*-1",
    ),
    "predict batch_size=1.5": (
        lambda net: net.predict(X_OK, batch_size=1.5),
        TypeError,
        r"batch_size.*1\.5",
    ),
    "loss sample_weight<0": (
        lambda net: net.loss(X_OK, Y_OK, sample_weight=-np.ones(N)),
        ValueError,
        r"^sample_weight must be >= 0.*-1",
    ),
    "backprop sample_weight shape": (
        lambda net: net.backprop(X_OK, Y_OK, sample_weight=[1, 2]),
        ValueError,
        r"^sample_weight must have shape \(20,\).*\(2,\)",
    ),
    "evaluate sample_weight NaN": (
        lambda net: net.evaluate(X_OK, Y_OK, sample_weight=_with(np.ones(N), 0, np.nan)),
        ValueError,
        r"^sample_weight contains NaN",
    ),
    "set_weights count": (
        lambda net: net.set_weights([np.zeros(3)]),
        ValueError,
        r"^weights must hold 4 arrays.*received 1",
    ),
    "set_weights shape": (
        lambda net: net.set_weights([np.zeros((2, 2))] * 4),
        ValueError,
        r"weights for .*W must have shape \(3, 5\); received \(2, 2\)",
    ),
    "gradcheck eps<0": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, eps=-1e-4),
        ValueError,
        r"^eps must be in \(0\.0, inf\); received eps=-0\.0001",
    ),
    "gradcheck eps NaN": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, eps=float("nan")),
        ValueError,
        r"^eps must be finite; received eps=nan",
    ),
    "gradcheck rtol=0": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, rtol=0),
        ValueError,
        r"^rtol must be in \(0\.0, inf\); received rtol=0",
    ),
    "gradcheck floor<0": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, floor=-1),
        ValueError,
        r"^floor .*received floor=-1",
    ),
    "gradcheck mode": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, mode="all"),
        ValueError,
        r"^mode must be 'entries' or 'directional'; received mode='all'",
    ),
    "gradcheck max_entries=0": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, max_entries=0),
        ValueError,
        r"^max_entries must be a positive int; received 0",
    ),
    "gradcheck max_entries=True": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, max_entries=True),
        ValueError,
        r"^max_entries .*received True",
    ),
    "gradcheck seed=-1": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, seed=-1),
        ValueError,
        r"seed.*-1",
    ),
    "gradcheck seed='a'": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, seed="a"),
        TypeError,
        r"seed.*'a'",
    ),
    "gradcheck no y": (
        lambda net: lk.gradcheck(net, X_OK),
        ValueError,
        r"^gradcheck of a Network needs targets y",
    ),
    "gradcheck sample_weight": (
        lambda net: lk.gradcheck(net, X_OK, Y_OK, sample_weight=-np.ones(N)),
        ValueError,
        r"^sample_weight must be >= 0",
    ),
    "train early stopping without validation": (
        lambda net: net.train(X_OK, Y_OK, epochs=2, early_stopping=3, verbose=0),
        ValueError,
        r"^early_stopping=3 needs validation data",
    ),
    "train ValidationWindow(0)": (
        lambda net: net.train(X_OK, Y_OK, X_OK, Y_OK, early_stopping=lk.ValidationWindow(0)),
        ValueError,
        r"early_stopping window must be >= 1; received early_stopping window=0",
    ),
    "train Patience(0)": (
        lambda net: net.train(X_OK, Y_OK, X_OK, Y_OK, early_stopping=lk.Patience(0)),
        ValueError,
        r"^patience must be >= 1; received patience=0",
    ),
    "train optimizer lr<0": (
        lambda net: net.train(X_OK, Y_OK, optimizer=lk.SGD(learning_rate=-0.1)),
        ValueError,
        r"^learning_rate must be in \(0\.0, inf\); received learning_rate=-0\.1",
    ),
    "train optimizer lr NaN": (
        lambda net: net.train(X_OK, Y_OK, optimizer=lk.Adam(learning_rate=float("nan"))),
        ValueError,
        r"^learning_rate must be finite; received learning_rate=nan",
    ),
    "train momentum=1": (
        lambda net: net.train(X_OK, Y_OK, optimizer=lk.SGD(0.1, momentum=1.0)),
        ValueError,
        r"^momentum must be in \[0\.0, 1\.0\); received momentum=1\.0",
    ),
    "train penalty inf": (
        lambda net: net.train(X_OK, Y_OK, penalty=float("inf"), verbose=0),
        ValueError,
        r"^penalty must be finite; received penalty=inf",
    ),
    "train X_val without y_val": (
        lambda net: net.train(X_OK, Y_OK, X_val=X_OK, batch_size=None, verbose=0),
        ValueError,
        r"X_val and y_val go together; received X_val without y_val",
    ),
}


@pytest.mark.parametrize("case", list(METHOD_ARG_CASES))
def test_bad_method_arguments_name_the_argument_and_change_nothing(case):
    call, error, match = METHOD_ARG_CASES[case]
    net = _net()
    before = _state(net)
    with pytest.raises(error, match=match) as info:
        call(net)
    _check_error(info, error)
    assert_state_unchanged(net, before)


@pytest.mark.parametrize("batch_size", [N, N + 1, 10**6])
def test_a_batch_size_at_or_above_the_data_size_is_full_batch_training(batch_size):
    """Documented: a size above n means full batch, i.e. the same as batch_size=None."""
    a, b = _net(), _net()
    ha = a.train(X_OK, Y_OK, epochs=3, batch_size=batch_size, verbose=0)
    hb = b.train(X_OK, Y_OK, epochs=3, batch_size=None, verbose=0)
    assert _arrays_equal(a.get_weights(), b.get_weights())
    assert ha.train_cost == hb.train_cost
    assert a.optimizer.iterations == 2 * 3 + 3  # 3 steps per epoch, then 1 per epoch


def test_predict_results_do_not_depend_on_its_batch_size():
    # Equal to rounding, as documented: BLAS may take another path for a single row.
    net = _net()
    expected = net.predict(X_OK)
    for batch_size in (1, 3, N, 10**6):
        got = net.predict(X_OK, batch_size=batch_size)
        np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(got.dtype).eps, atol=0)


# ---------------------------------------------------------------------------- constructors


def _layers():
    return [
        lk.Input(3, name="in"),
        lk.Dense(4, "tanh", name="hidden"),
        lk.Dense(2, "softmax", name="out"),
    ]


NETWORK_CASES = {
    "softmax with binary loss": (
        lambda: lk.Network(_layers(), loss="binary_crossentropy"),
        ValueError,
        r"^binary_crossentropy expects sigmoid probabilities, but the last layer 'out' "
        r"\(Dense\) uses activation 'softmax'; use activation='sigmoid'",
    ),
    "softmax Activation with binary loss": (
        lambda: lk.Network(
            [lk.Input(3), lk.Dense(2), lk.Activation("softmax", name="sm")], loss="bce"
        ),
        ValueError,
        r"last layer 'sm' .* uses activation 'softmax'",
    ),
    "categorical loss with one unit": (
        lambda: lk.Network([lk.Input(3), lk.Dense(1, "sigmoid", name="one")]),
        ValueError,
        r"^categorical_crossentropy needs at least 2 output units; the last layer 'one' has 1",
    ),
    "penalty<0": (
        lambda: lk.Network(_layers(), penalty=-0.1),
        ValueError,
        r"^penalty must be in \[0\.0, inf\); received penalty=-0\.1",
    ),
    "penalty NaN": (
        lambda: lk.Network(_layers(), penalty=float("nan")),
        ValueError,
        r"^penalty must be finite; received penalty=nan",
    ),
    "penalty str": (
        lambda: lk.Network(_layers(), penalty="0.1"),
        TypeError,
        r"^penalty must be a real number; received '0\.1'",
    ),
    "dtype": (
        lambda: lk.Network(_layers(), dtype="int32"),
        ValueError,
        r"^dtype must be 'float32' or 'float64'; received dtype='int32'",
    ),
    "dtype float16": (
        lambda: lk.Network(_layers(), dtype=np.float16),
        ValueError,
        r"^dtype must be 'float32' or 'float64'.*float16",
    ),
    "loss": (
        lambda: lk.Network(_layers(), loss="hinge"),
        ValueError,
        r"^loss must be one of .*; received 'hinge'",
    ),
    "seed<0": (
        lambda: lk.Network(_layers(), seed=-1),
        TypeError,
        r"^seed must be a non-negative int or None; received -1",
    ),
    "seed float": (lambda: lk.Network(_layers(), seed=1.5), TypeError, r"^seed .*received 1\.5"),
    "layers empty": (lambda: lk.Network([]), ValueError, r"^layers is empty"),
    "layers not a list": (
        lambda: lk.Network(lk.Dense(2)),
        TypeError,
        r"^layers must be a list of Layer objects.*received Dense",
    ),
    "no Input first": (
        lambda: lk.Network(_layers()[1:]),
        ValueError,
        r"^layers\[0\] must be an Input layer.*received Dense",
    ),
    "only the Input": (
        lambda: lk.Network([lk.Input(3)]),
        ValueError,
        r"^layers holds only the Input",
    ),
    "two Inputs": (
        lambda: lk.Network([lk.Input(3), lk.Input(3), lk.Dense(2, "softmax")]),
        ValueError,
        r"^only layers\[0\] may be an Input layer; layers\[1\] is one too",
    ),
    "not a layer": (
        lambda: lk.Network([lk.Input(3), "dense"]),
        TypeError,
        r"^layers\[1\] must be a Layer instance; received 'dense'",
    ),
    "same layer twice": (
        lambda: lk.Network([lk.Input(3), *[lk.Dense(3, "softmax", name="d")] * 2]),
        ValueError,
        r"^layers\[2\] \('d'\) appears twice",
    ),
    "Dense on 2-D samples": (
        lambda: lk.Network([lk.Input((3, 2), name="img"), lk.Dense(2, "softmax", name="d")]),
        ValueError,
        r"^cannot build layer 'd' \(Dense\) on the output of layer 'img' \(shape "
        r"\(3, 2\)\).*flat inputs",
    ),
}


@pytest.mark.parametrize("case", list(NETWORK_CASES))
def test_bad_network_arguments_name_the_argument_and_value(case):
    make, error, match = NETWORK_CASES[case]
    with pytest.raises(error, match=match) as info:
        make()
    _check_error(info, error)


@pytest.mark.parametrize(
    "kwargs", [{"loss": "binary_crossentropy"}, {"penalty": -1.0}, {"dtype": "float16"}]
)
def test_a_failed_network_constructor_leaves_its_layers_reusable(kwargs):
    """Validation comes before building: the user fixes the argument and retries with the
    very same layer objects, which must then build exactly like fresh ones."""
    layers = _layers()
    with pytest.raises(ValueError):
        lk.Network(layers, seed=0, **kwargs)
    assert all(not layer.params for layer in layers[1:])
    net = lk.Network(layers, seed=0)
    fresh = lk.Network(_layers(), seed=0)
    assert _arrays_equal(net.get_weights(), fresh.get_weights())


LAYER_CASES = {
    "Dense units=0": (lambda: lk.Dense(0), ValueError, r"^units must be >= 1; received units=0"),
    "Dense units<0": (lambda: lk.Dense(-3), ValueError, r"^units must be >= 1; received units=-3"),
    "Dense units float": (
        lambda: lk.Dense(2.5),
        TypeError,
        r"^units must be an integer; received 2\.5",
    ),
    "Dense units str": (
        lambda: lk.Dense("8"),
        TypeError,
        r"^units must be an integer; received '8'",
    ),
    "Dense units bool": (lambda: lk.Dense(True), TypeError, r"^units .*received True"),
    "Dense activation": (
        lambda: lk.Dense(2, "swish"),
        ValueError,
        r"^unknown activation 'swish'; expected one of",
    ),
    "Dense activation type": (
        lambda: lk.Dense(2, 3),
        TypeError,
        r"^activation must be a name.*received 3 of type int",
    ),
    "Dense penalty<0": (
        lambda: lk.Dense(2, penalty=-0.5),
        ValueError,
        r"^penalty must be in \[0\.0, inf\); received penalty=-0\.5",
    ),
    "Dense penalty NaN": (
        lambda: lk.Dense(2, penalty=float("nan")),
        ValueError,
        r"^penalty must be finite; received penalty=nan",
    ),
    "Dense input_dim": (
        lambda: lk.Dense(2, input_dim=0),
        ValueError,
        r"^input_dim must be >= 1; received input_dim=0",
    ),
    "Dense initializer": (
        lambda: lk.Dense(2, kernel_initializer="magic"),
        ValueError,
        r"kernel_initializer must be one of .*magic",
    ),
    "Dense leaky alpha<0": (
        lambda: lk.Dense(2, "leaky_relu", activation_params={"alpha": -0.1}),
        ValueError,
        r"alpha must be in \[0, 1\); received alpha=-0\.1",
    ),
    "Dense tsin A=1": (
        lambda: lk.Dense(2, "tsin", activation_params={"A": 1.0}),
        ValueError,
        r"tsin A must be in the open interval \(0, 1\); received A=1\.0",
    ),
    "Dense unknown activation param": (
        lambda: lk.Dense(2, "tsin", activation_params={"B": 0.5}),
        TypeError,
        r"activation 'tsin' accepts parameters \['A'\]; received \['B'\]",
    ),
    "Dropout rate<0": (
        lambda: lk.Dropout(-0.1),
        ValueError,
        r"^rate must be in \[0\.0, 1\.0\); received rate=-0\.1",
    ),
    "Dropout rate=1": (
        lambda: lk.Dropout(1.0),
        ValueError,
        r"^rate must be in \[0\.0, 1\.0\); received rate=1\.0",
    ),
    "Dropout rate>1": (lambda: lk.Dropout(1.5), ValueError, r"^rate must be .*received rate=1\.5"),
    "Dropout rate NaN": (
        lambda: lk.Dropout(float("nan")),
        ValueError,
        r"^rate must be finite; received rate=nan",
    ),
    "Dropout rate inf": (lambda: lk.Dropout(float("inf")), ValueError, r"received rate=inf"),
    "Dropout rate str": (
        lambda: lk.Dropout("0.5"),
        TypeError,
        r"^rate must be a real number; received '0\.5'",
    ),
    "Dropout rate None": (lambda: lk.Dropout(None), TypeError, r"^rate .*received None"),
    "Dropout rate bool": (lambda: lk.Dropout(True), TypeError, r"^rate .*received True"),
    "Activation unknown": (
        lambda: lk.Activation("gelu"),
        ValueError,
        r"^unknown activation 'gelu'",
    ),
    "Activation tsin A=0": (
        lambda: lk.Activation("tsin", A=0),
        ValueError,
        r"tsin A must be in the open interval \(0, 1\); received A=0",
    ),
    "Activation tsin A=1": (
        lambda: lk.Activation("tsin", A=1),
        ValueError,
        r"\(0, 1\); received A=1",
    ),
    "Activation tsin A<0": (lambda: lk.Activation("tsin", A=-0.5), ValueError, r"received A=-0\.5"),
    "Activation tsin A>1": (lambda: lk.Activation("tsin", A=1.5), ValueError, r"received A=1\.5"),
    "Activation tsin A NaN": (
        lambda: lk.Activation("tsin", A=float("nan")),
        ValueError,
        r"A must be finite; received A=nan",
    ),
    "Activation tsin A str": (
        lambda: lk.Activation("tsin", A="0.5"),
        TypeError,
        r"A must be a real number; received '0\.5'",
    ),
    "Activation tsin A None": (
        lambda: lk.Activation("tsin", A=None),
        TypeError,
        r"A must be a real number; received None",
    ),
    "Activation elu alpha=0": (
        lambda: lk.Activation("elu", alpha=0),
        ValueError,
        r"elu alpha must be > 0; received alpha=0",
    ),
    "Activation leaky alpha=1": (
        lambda: lk.Activation("leaky_relu", alpha=1),
        ValueError,
        r"alpha must be in \[0, 1\); received alpha=1",
    ),
    "Input 0": (
        lambda: lk.Input(0),
        ValueError,
        r"^Input shape must be positive integers.*received shape=0",
    ),
    "Input negative": (lambda: lk.Input(-4), ValueError, r"received shape=-4"),
    "Input empty tuple": (lambda: lk.Input(()), ValueError, r"received shape=\(\)"),
    "Input zero dim": (lambda: lk.Input((3, 0)), ValueError, r"received shape=\(3, 0\)"),
    "Input float": (
        lambda: lk.Input(2.5),
        TypeError,
        r"^Input shape must be an int or tuple of ints; received 2\.5",
    ),
    "Input None": (lambda: lk.Input(None), TypeError, r"received None"),
    "Input bool": (lambda: lk.Input(True), TypeError, r"received True"),
    "Input name": (
        lambda: lk.Input(3, name=5),
        TypeError,
        r"^name must be a str or None; received 5",
    ),
    "ValidationWindow(0)": (
        lambda: lk.ValidationWindow(0),
        ValueError,
        r"window must be >= 1; received .*=0",
    ),
    "ValidationWindow(-2)": (lambda: lk.ValidationWindow(-2), ValueError, r"window.*-2"),
    "ValidationWindow(1.5)": (
        lambda: lk.ValidationWindow(1.5),
        TypeError,
        r"window must be an integer; received 1\.5",
    ),
    "Patience(0)": (lambda: lk.Patience(0), ValueError, r"^patience must be >= 1; received"),
    "Patience min_delta<0": (
        lambda: lk.Patience(3, min_delta=-1),
        ValueError,
        r"^min_delta must be in \[0\.0, inf\); received min_delta=-1",
    ),
    "SGD lr<0": (lambda: lk.SGD(-0.01), ValueError, r"received learning_rate=-0\.01"),
    "SGD lr NaN": (lambda: lk.SGD(float("nan")), ValueError, r"received learning_rate=nan"),
    "Adam beta_1=1": (lambda: lk.Adam(beta_1=1.0), ValueError, r"received beta_1=1\.0"),
}


@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_bad_constructor_arguments_name_the_argument_and_value(case):
    make, error, match = LAYER_CASES[case]
    with pytest.raises(error, match=match) as info:
        make()
    _check_error(info, error)


# ---------------------------------------------------------------------------- save / load


def test_save_and_load_path_arguments_of_the_wrong_type_name_the_argument(tmp_path):
    net = _net()
    before = _state(net)
    with pytest.raises(TypeError, match=r"path.*None"):
        lk.save(net, None)
    with pytest.raises(TypeError, match=r"path.*3"):
        net.save(3)
    with pytest.raises(TypeError, match=r"path.*None"):
        lk.load(None)
    assert_state_unchanged(net, before)


def test_load_custom_objects_of_the_wrong_type_names_the_argument(tmp_path):
    path = _net().save(tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"custom_objects.*\[1, 2\]"):
        lk.load(path, custom_objects=[1, 2])


def test_save_of_something_else_and_load_of_nothing(tmp_path):
    with pytest.raises(lk.LayerkitTypeError, match=r"^save expects a Network; received str"):
        lk.save("net", tmp_path / "x.npz")
    with pytest.raises(lk.ModelFileError, match=r"^no model file at '.*absent\.npz'"):
        lk.load(tmp_path / "absent.npz")


# ---------------------------------------------------------------------------- datasets


def test_dataset_loader_with_an_unknown_name():
    with pytest.raises(
        ValueError,
        match=r"^name must be one of 'mnist', 'fashion-mnist', "
        r"'kmnist'; got 'nope'",
    ):
        lk.datasets.load_mnist_family("nope")
    with pytest.raises(TypeError, match=r"^name must be a str.*got 5 \(int\)"):
        lk.datasets.load_mnist_family(5)
    with pytest.raises(TypeError, match=r"^flatten must be True or False; got 'yes'"):
        lk.datasets.load_mnist_family("mnist", flatten="yes")


def test_dataset_loader_path_that_is_a_file(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ValueError, match=r"^path must be the folder.*file\.txt"):
        lk.datasets.load_mnist_family("mnist", f, download=False)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"garbage garbage garbage", r"garbage\.idx: not an IDX file: bad magic number"),
        (b"", r"garbage\.idx: truncated IDX file: 0 bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05ab", r"garbage\.idx"),  # 5 bytes promised, 2 given
        (b"\x00\x00\x08\x00", r"garbage\.idx"),  # zero dimensions
    ],
    ids=["magic", "empty", "short", "no-dims"],
)
def test_read_idx_on_garbage_names_the_file_and_the_problem(tmp_path, content, match):
    path = tmp_path / "garbage.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        lk.datasets.read_idx(path)


def test_read_idx_path_of_the_wrong_type_names_the_argument():
    with pytest.raises(TypeError, match=r"path.*None"):
        lk.datasets.read_idx(None)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: lk.datasets.make_moons(0), ValueError, r"n_samples must be >= .*; got 0"),
        (lambda: lk.datasets.make_moons(10, noise=-1), ValueError, r"noise .*-1"),
        (lambda: lk.datasets.make_moons(10, seed=-1), ValueError, r"seed .*-1"),
        (lambda: lk.datasets.make_spirals(10, noise=float("nan")), ValueError, r"noise.*nan"),
        (lambda: lk.datasets.make_four_groups("10"), TypeError, r"n_samples .*'10'"),
    ],
)
def test_synthetic_dataset_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------- CLI


def _cli(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors exit with 2 as well
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.err


CLI_CASES = {
    "epochs<0": (["--epochs", "-1"], r"epochs must be >= 0; received epochs=-1"),
    "epochs not int": (["--epochs", "ten"], r"--epochs: invalid int value: 'ten'"),
    "batch-size=0": (["--batch-size", "0"], r"batch[-_]size must be >= 1; received .*=0"),
    "learning-rate<0": (["--learning-rate", "-1"], r"learning[-_]rate.*-1"),
    "learning-rate NaN": (["--learning-rate", "nan"], r"learning[-_]rate.*nan"),
    "penalty<0": (["--penalty", "-0.5"], r"penalty.*-0\.5"),
    "penalty NaN": (["--penalty", "nan"], r"penalty.*nan"),
    "dropout=1": (["--dropout", "1"], r"dropout.*1"),
    "dropout<0": (["--dropout", "-0.2"], r"dropout.*-0\.2"),
    "early-stopping=0": (["--early-stopping", "0"], r"early[-_]stopping.*0"),
    "validation-split>1": (["--validation-split", "1.5"], r"validation[-_]split.*1\.5"),
    "momentum=1": (["--momentum", "1"], r"momentum.*1"),
    "activation": (["--activation", "swish"], r"activation 'swish'"),
    "loss": (["--loss", "hinge"], r"loss.*'hinge'"),
    "layers not numbers": (["--layers", "64,abc"], r"layers.*abc"),
    "layers zero": (["--layers", "0"], r"layers.*0"),
    "dtype": (["--dtype", "float16"], r"--dtype: invalid choice: 'float16'"),
    "dataset": (["--dataset", "cifar"], r"--dataset: invalid choice: 'cifar'"),
    "grow_and_slash with adam": (
        ["--schedule", "grow_and_slash", "--optimizer", "adam"],
        r"grow_and_slash",
    ),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_train_with_a_bad_argument_exits_2_naming_it_and_writes_nothing(case, capsys, tmp_path):
    extra, match = CLI_CASES[case]
    out = tmp_path / "out"
    code, err = _cli(
        ["train", "--epochs", "1", "--verbose", "0", "--out", str(out), *extra], capsys
    )
    assert code == 2
    assert "error" in err
    assert re.search(match, err), err
    assert not (out / "model.npz").exists()


def test_cli_evaluate_a_missing_or_corrupt_model_exits_2(capsys, tmp_path):
    code, err = _cli(["evaluate", str(tmp_path / "none.npz")], capsys)
    assert code == 2 and "no model file" in err and "none.npz" in err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    code, err = _cli(["evaluate", str(bad)], capsys)
    assert code == 2 and "bad.npz" in err and "not a layerkit model file" in err


def test_cli_without_a_command_exits_2(capsys):
    code, _ = _cli([], capsys)
    assert code == 2
    code, err = _cli(["fly"], capsys)
    assert code == 2 and "invalid choice: 'fly'" in err


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("first", ["dense", "dense_zero_column", "flatten"])
def test_predict_refuses_a_nonfinite_input_whatever_the_first_layer_and_its_weights(bad, first):
    # a Dense first layer's z[:, 0] witnesses the input, even where W's column 0 is zero
    # (inf * 0 is NaN); another first layer falls back to reading the whole input
    if first == "flatten":
        net = lk.Network([lk.Input((2, 2)), lk.Flatten(), lk.Dense(3, "softmax")], seed=0)
        X = np.ones((300, 2, 2))
        X[123, 1, 0] = bad
    else:
        net = lk.Network([lk.Input(4), lk.Dense(3, "relu"), lk.Dense(2, "softmax")], seed=0)
        if first == "dense_zero_column":
            net.layers[1].params["W"][:, 0] = 0.0
        X = np.ones((300, 4))
        X[123, 2] = bad
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity"):
        net.predict(X, batch_size=100)
    X[123] = 1.0
    assert np.all(np.isfinite(net.predict(X, batch_size=100)))
