"""Hypothesis fuzzing of the public API, and numerical safety of activations and losses.

1. Random shapes, dtypes (float16/32/64, ints, bool, object, complex, str) and values
   (NaN, inf, 1e30, ...) fed to predict / evaluate / loss / backprop / train / gradcheck:
   the only exceptions that may escape are ValueError and TypeError (and subclasses),
   and no RuntimeWarning may be emitted.
2. Activations (values and backward), softmax and losses (values, gradients, fused
   output errors) for inputs in [-1e4, 1e4] are finite, with every floating-point
   warning but underflow turned into an error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import layerkit as lk

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SAFE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------- strategies

SPECIAL = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    3.0,
    1e4,
    -1e4,
    1e30,
    -1e30,
    1e300,
    np.nan,
    np.inf,
    -np.inf,
    5e-324,
]
DTYPES = [
    "float16",
    "float32",
    "float64",
    "int8",
    "int64",
    "uint8",
    "bool",
    "object",
    "complex128",
    "str",
]


def _cast(values, dtype):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        raw = np.asarray(values, dtype=np.float64)
        if dtype == "str":
            return raw.astype(str)
        if dtype == "object":
            return raw.astype(object)
        if np.dtype(dtype).kind in "iub":
            raw = np.nan_to_num(raw, nan=0.0, posinf=1e3, neginf=-1e3).clip(-1e3, 1e3)
        return raw.astype(dtype)


@st.composite
def any_array(draw, rows=None, cols=None):
    """An array of a random dtype; shape (rows, cols) usually, any small shape sometimes."""
    if rows is not None and draw(st.integers(0, 4)):
        shape = (rows,) if cols is None else (rows, cols)
    else:
        shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    n = int(np.prod(shape)) if shape else 1
    values = draw(
        st.lists(
            st.one_of(st.sampled_from(SPECIAL), st.floats(-10, 10), st.integers(-2, 4).map(float)),
            min_size=n,
            max_size=n,
        )
    )
    dtype = draw(
        st.sampled_from(DTYPES)
        if draw(st.integers(0, 2)) == 0
        else st.sampled_from(["float32", "float64", "int64"])
    )
    return _cast(np.reshape(values, shape), dtype)


def _net(kind, dtype):
    if kind == "softmax":
        layers = [lk.Input(3), lk.Dense(4, "tanh"), lk.Dropout(0.3), lk.Dense(3, "softmax")]
        return lk.Network(layers, seed=0, dtype=dtype)
    if kind == "sigmoid":
        return lk.Network(
            [lk.Input(3), lk.Dense(3, "elu"), lk.Dense(1, "sigmoid")],
            loss="binary_crossentropy",
            seed=0,
            dtype=dtype,
        )
    layers = [lk.Input(3), lk.Dense(3), lk.Activation("tsin", A=0.4), lk.Dense(2, "relu")]
    return lk.Network(layers, loss="mse", seed=0, dtype=dtype, penalty=0.01)


CALLS = {
    "predict": lambda net, X, y: net.predict(X),
    "evaluate": lambda net, X, y: net.evaluate(X, y),
    "loss": lambda net, X, y: net.loss(X, y, training=True),
    "backprop": lambda net, X, y: net.backprop(X, y),
    "train": lambda net, X, y: net.train(
        X, y, epochs=1, batch_size=2, verbose=0, learning_rate=0.1
    ),
    "gradcheck": lambda net, X, y: lk.gradcheck(net, X, y, max_entries=1, mode="directional"),
}


def _only_documented_errors(call):
    """Run ``call``; fail on any escaping exception but ValueError/TypeError, and on any
    RuntimeWarning (DivergenceWarning, the documented outcome of huge inputs, is allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", lk.DivergenceWarning)
        try:
            call()
        except (ValueError, TypeError):
            pass


# ---------------------------------------------------------------------------- fuzzing the API


@pytest.mark.parametrize("name", list(CALLS))
@FUZZ
@given(data=st.data())
def test_fuzzed_inputs_raise_only_value_or_type_errors(name, data):
    kind = data.draw(st.sampled_from(["softmax", "sigmoid", "regression"]), label="net")
    dtype = data.draw(st.sampled_from(["float32", "float64"]), label="dtype")
    net = _net(kind, dtype)
    n = data.draw(st.integers(1, 5), label="n")
    X = data.draw(any_array(rows=n, cols=3), label="X")
    width = {"softmax": None, "sigmoid": None, "regression": 2}[kind]
    y = data.draw(any_array(rows=n, cols=width), label="y")
    _only_documented_errors(lambda: CALLS[name](net, X, y))


@FUZZ
@given(
    shape=st.one_of(
        st.integers(-2, 6),
        st.lists(st.integers(-1, 4), max_size=3).map(tuple),
        st.sampled_from([None, "3", 2.5, True, (2.0,), [3, "a"]]),
    ),
    units=st.one_of(st.integers(-2, 5), st.sampled_from([None, 1.5, "4", True, np.int64(3)])),
    rate=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([None, "0.5", True, -1])
    ),
    A=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([None, "x", 0])),
    loss=st.sampled_from(["mse", "bce", "cce", "sse", "nope", 3, None]),
    penalty=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["1", None])),
    dtype=st.sampled_from(["float32", "float64", "float16", "int32", None, "x", np.float64]),
)
def test_fuzzed_constructor_arguments_raise_only_value_or_type_errors(
    shape, units, rate, A, loss, penalty, dtype
):
    def build():
        layers = [
            lk.Input(shape),
            lk.Dense(units, "tanh"),
            lk.Dropout(rate),
            lk.Activation("tsin", A=A),
            lk.Dense(2, "softmax"),
        ]
        lk.Network(layers, loss=loss, penalty=penalty, dtype=dtype)

    _only_documented_errors(build)


@FUZZ
@given(
    epochs=st.one_of(st.integers(-2, 2), st.sampled_from([None, 1.5, "2", True])),
    batch_size=st.one_of(st.integers(-2, 50), st.sampled_from([None, 0.5, "8", False])),
    learning_rate=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(None)),
    penalty=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(None)),
    early_stopping=st.one_of(st.integers(-1, 3), st.sampled_from([None, 1.5, "3"])),
    validation_split=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(None)),
)
def test_fuzzed_train_arguments_raise_only_value_or_type_errors(
    epochs, batch_size, learning_rate, penalty, early_stopping, validation_split
):
    net = _net("softmax", "float32")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 3)), np.arange(12) % 3
    _only_documented_errors(
        lambda: net.train(
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            penalty=penalty,
            early_stopping=early_stopping,
            validation_split=validation_split,
            verbose=0,
        )
    )


# ---------------------------------------------------------------------------- numerical safety

ACTIVATIONS = [
    ("identity", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {"alpha": 0.2}),
    ("elu", {"alpha": 1.5}),
    ("softmax", {}),
    ("tsin", {"A": 0.05}),
    ("tsin", {"A": 0.95}),
]
BIG = 1e4


def _strict():
    """Warnings as errors and every floating-point problem but underflow raising."""
    stack = warnings.catch_warnings()
    stack.__enter__()
    warnings.simplefilter("error")
    return stack, np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")


def _finite(*values):
    return all(np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in values)


def logits(dtype, min_cols=1):
    return arrays(
        dtype,
        st.tuples(st.integers(1, 5), st.integers(min_cols, 5)),
        elements=st.one_of(
            st.floats(-BIG, BIG, width=32),
            st.sampled_from([BIG, -BIG, 0.0, -0.0, 88.8, -88.8, 710.0, -745.0]),
        ),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "params"), ACTIVATIONS, ids=[f"{a}{p}" for a, p in ACTIVATIONS])
@SAFE
@given(data=st.data())
def test_activations_are_finite_without_warnings_up_to_1e4(name, params, dtype, data):
    z = data.draw(logits(dtype, min_cols=2 if name == "softmax" else 1), label="z")
    grad = data.draw(arrays(dtype, z.shape, elements=st.floats(-1, 1, width=32)), label="grad")
    act = lk.get_activation(name, **params)
    stack, errstate = _strict()
    try:
        with errstate:
            a = act(z)
            out = np.empty_like(z)
            a_out = act(z, out=out)
            dz = act.backward(z, a, grad)
    finally:
        stack.__exit__(None, None, None)
    assert a.shape == z.shape and _finite(a, a_out, dz)
    if name == "softmax":
        assert np.allclose(a.sum(axis=1), 1, atol=1e-5) and np.all(a >= 0)
    if name == "sigmoid":
        assert np.all((a >= 0) & (a <= 1))


LOSS_OUTPUTS = {
    "mse": "identity",
    "sum_of_squares": "tanh",
    "binary_crossentropy": "sigmoid",
    "categorical_crossentropy": "softmax",
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss_name", list(LOSS_OUTPUTS))
@SAFE
@given(data=st.data())
def test_loss_values_and_gradients_are_finite_up_to_1e4(loss_name, dtype, data):
    """Loss objects: the cost from outputs and (fused) from logits, dJ/da and dJ/dz."""
    z = data.draw(logits(dtype, min_cols=2), label="z")
    m, k = z.shape
    classes = data.draw(st.lists(st.integers(0, k - 1), min_size=m, max_size=m), label="y")
    target = np.eye(k, dtype=dtype)[classes]
    weight = data.draw(st.one_of(st.none(), arrays(np.float64, m, elements=st.floats(0, 10))))
    loss = lk.get_loss(loss_name)
    activation = lk.get_activation(LOSS_OUTPUTS[loss_name])
    stack, errstate = _strict()
    try:
        with errstate:
            a = activation(z)
            values = [loss.value(a, target, sample_weight=weight)]
            grads = [loss.gradient(a, target, sample_weight=weight)]
            if loss.fused_activation is not None:
                values.append(loss.value(a, target, logits=z, sample_weight=weight))
                grads.append(loss.fused_delta(a, target, sample_weight=weight))
    finally:
        stack.__exit__(None, None, None)
    assert _finite(*values, *grads)
    assert all(v >= 0 for v in values)


NETS = {
    "softmax+cce (fused)": ("softmax", "categorical_crossentropy"),
    "sigmoid+bce (fused)": ("sigmoid", "binary_crossentropy"),
    "softmax+mse": ("softmax", "mse"),
    "tanh+sse": ("tanh", "sum_of_squares"),
    "identity+mse": ("identity", "mse"),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(NETS))
@SAFE
@given(data=st.data())
def test_network_loss_and_backprop_are_finite_for_logits_up_to_1e4(case, dtype, data):
    """A Dense layer with identity weights feeds the logits to the output activation, so
    the network's cost and gradients see pre-activations of magnitude up to 1e4."""
    activation, loss = NETS[case]
    z = data.draw(logits(np.dtype(dtype), min_cols=2), label="z")
    m, k = z.shape
    classes = np.asarray(data.draw(st.lists(st.integers(0, k - 1), min_size=m, max_size=m)))
    net = lk.Network(
        [lk.Input(k), lk.Dense(k), lk.Activation(activation)], loss=loss, seed=0, dtype=dtype
    )
    net.set_weights([np.eye(k), np.zeros(k)])
    y = np.eye(k)[classes]
    stack, errstate = _strict()
    try:
        with errstate:
            value = net.loss(z, y)
            cost = net.backprop(z, y)
            grads = [layer.grads[key] for layer, key, _ in net.parameters()]
            predicted = net.predict(z)
    finally:
        stack.__exit__(None, None, None)
    assert _finite(value, cost, *grads, predicted)


@pytest.mark.parametrize("name", ["predict", "evaluate", "loss", "backprop", "train"])
def test_finite_values_beyond_the_network_dtype_are_rejected_not_cast_to_inf(name):
    """1e300 is finite in the caller's float64 array but inf in a float32 network: it must
    be reported like an infinity (ValueError naming X), not warn while casting or train
    silently on inf."""
    net = _net("softmax", "float32")
    X = np.zeros((4, 3))
    X[1, 2] = 1e300
    y = np.arange(4) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=r"X"):
            CALLS[name](net, X, y)
