"""``layerkit.testing``: every built-in layer passes ``check_layer``; layers that break
the contract (a backward that accumulates, a wrong dJ/dx shape, a config that forgets an
argument, a frozen layer that moves, inference that uses batch statistics) fail it with a
message naming the layer's class and the check; the strategies draw what they promise."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layerkit as lk
from layerkit import testing
from layerkit.testing import check_layer

ACTIVATIONS = sorted(testing.ACTIVATION_PARAMS)


def _assert_passes(report):
    assert report, report.explain()
    assert [c.name for c in report.checks] == [
        "construction",
        "output shape",
        "backward shapes",
        "gradcheck",
        "config round trip",
        "save/load",
        "state and freezing",
        "training vs inference",
    ]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_passes_with_every_activation(activation):
    _assert_passes(check_layer(lambda: lk.Dense(3, activation), (4,)))


@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS if a != "softmax"])
def test_activation_layer_passes_with_every_elementwise_activation(activation):
    _assert_passes(check_layer(lambda: lk.Activation(activation), (4,)))


def test_activation_layer_passes_with_softmax():
    _assert_passes(check_layer(lambda: lk.Activation("softmax"), (4,)))


def test_activation_layer_with_parameters_passes():
    _assert_passes(check_layer(lambda: lk.Activation("leaky_relu", alpha=0.2), (4,)))


def test_dropout_passes():
    _assert_passes(check_layer(lambda: lk.Dropout(0.3), (5,)))


@pytest.mark.parametrize("shape", [(6,), (3, 2), (2, 2, 3)])
def test_flatten_passes(shape):
    _assert_passes(check_layer(lk.Flatten, shape))


@pytest.mark.parametrize(
    "factory",
    [
        pytest.param(lk.BatchNormalization, id="default"),
        pytest.param(
            lambda: lk.BatchNormalization(momentum=0.5, center=False),
            id="no-center",
        ),
    ],
)
def test_batch_normalization_passes(factory):
    _assert_passes(check_layer(factory, (4,)))


def test_batch_normalization_passes_every_check_but_save_load_on_mains_io():
    # Until layer state is saved, everything but that check must already pass.
    report = check_layer(lk.BatchNormalization, (4,))
    failed = [c.name for c in report.failures()]
    assert failed in ([], ["save/load"]), report.explain()


# ---------------------------------------------------------------------------- broken layers
class Scale(lk.Layer):
    """``y = x * w`` per feature: a correct user layer."""

    def build(self, input_shape):
        self.add_param("w", self.rng.uniform(0.5, 1.5, input_shape))

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["w"]

    def backward(self, grad_out):
        self.grads["w"][...] = np.sum(grad_out * self._x, axis=0)
        return grad_out * self.params["w"]


class AccumulatingScale(Scale):
    def backward(self, grad_out):
        self.grads["w"][...] += np.sum(grad_out * self._x, axis=0)
        return grad_out * self.params["w"]


class WrongDxScale(Scale):
    def backward(self, grad_out):
        super().backward(grad_out)
        return grad_out.sum(axis=1, keepdims=True) * np.ones((1, 2))


class ForgetfulScale(Scale):
    """Takes ``offset`` but its get_config forgets it."""

    def __init__(self, offset=0.0, *, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.offset = offset

    def forward(self, x, training=False):
        return super().forward(x, training) + self.offset


class SelfUpdatingScale(Scale):
    """Updates its own weight in backward, ignoring trainable."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.params["w"] -= 0.1 * self.grads["w"]
        return dx


class BatchStatisticsAlways(lk.BatchNormalization):
    """Uses (and updates) batch statistics in inference too."""

    def forward(self, x, training=False):
        return super().forward(x, training=True)


def test_a_correct_user_layer_passes_and_is_registered_for_saving():
    _assert_passes(check_layer(Scale, (3,)))


@pytest.mark.parametrize(
    "cls, check, words",
    [
        (AccumulatingScale, "gradcheck", "not add to it"),
        (WrongDxScale, "backward shapes", "dJ/dx of shape (1, 2)"),
        (ForgetfulScale, "config round trip", "'offset'"),
        (SelfUpdatingScale, "state and freezing", "trainable=False"),
        (BatchStatisticsAlways, "state and freezing", "forward(training=False) changed"),
        (BatchStatisticsAlways, "training vs inference", "depends on the other samples"),
    ],
)
def test_broken_layer_fails_with_a_message_naming_the_layer_and_check(cls, check, words):
    report = check_layer(cls, (3,), batch_sizes=(1, 5))
    assert not report
    failed = {c.name: c.detail for c in report.failures()}
    assert check in failed, str(report)
    assert words in failed[check]
    explanation = report.explain()
    assert f"layer class {cls.__name__}" in explanation
    assert f"{check}: FAILED" in explanation


def test_a_layer_with_no_parameters_raises_no_false_alarm_for_freezing():
    report = check_layer(lk.Flatten, (4,))
    assert (
        "no parameters to freeze" in {c.name: c.detail for c in report.checks}["state and freezing"]
    )


def test_a_factory_returning_one_object_fails_construction_and_skips_the_rest():
    layer = Scale()
    report = check_layer(lambda: layer, (3,))
    assert not report
    assert "same object" in report.checks[0].detail
    assert all(not c.passed for c in report.checks[1:])


def test_a_crashing_layer_is_reported_not_raised():
    class Crashing(Scale):
        def backward(self, grad_out):
            raise RuntimeError("boom")

    report = check_layer(Crashing, (3,))
    assert not report
    assert "RuntimeError: boom" in report.explain()


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"layer_factory": 3}, lk.LayerkitTypeError, "layer_factory"),
        ({"input_shape": (0,)}, lk.LayerkitValueError, "input_shape"),
        ({"dtypes": ("float16",)}, lk.LayerkitValueError, "dtypes"),
        ({"batch_sizes": ()}, lk.LayerkitValueError, "batch_sizes"),
        ({"value_range": (1.0, 1.0)}, lk.LayerkitValueError, "value_range"),
        ({"seed": -1}, lk.LayerkitValueError, "seed"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, error, words):
    arguments = {"layer_factory": Scale, "input_shape": (3,), **kwargs}
    with pytest.raises(error, match=words):
        check_layer(**arguments)


def test_without_hypothesis_check_layer_uses_a_seeded_generator(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    report = check_layer(lambda: lk.Dense(2, "tanh"), (3,), max_examples=3)
    assert report, report.explain()
    assert {c.name: c.detail for c in report.checks}["gradcheck"] == "3 cases run"
    assert not check_layer(AccumulatingScale, (3,), max_examples=2)
    with pytest.raises(ImportError, match=r"layerkit\[dev\]"):
        testing.arrays((2, 3))


# ---------------------------------------------------------------------------- strategies
@settings(max_examples=25, deadline=None)
@given(testing.arrays((4, 3), "float32", -1.5, 2.0))
def test_arrays_are_finite_and_within_their_bounds(x):
    assert x.shape == (4, 3) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and x.min() >= -1.5 and x.max() <= 2.0


@settings(max_examples=25, deadline=None)
@given(testing.batch_sizes(2, 5), testing.sample_shapes(max_dims=2, max_side=4))
def test_batch_sizes_and_sample_shapes_are_within_their_bounds(m, shape):
    assert 2 <= m <= 5
    assert 1 <= len(shape) <= 2 and all(1 <= d <= 4 for d in shape)


@settings(max_examples=25, deadline=None)
@given(testing.activations(), st.integers(1, 4))
def test_activations_build_working_dense_layers(activation, units):
    name, params = activation
    net = lk.Network(
        [lk.Input(2), lk.Dense(units, name, activation_params=params)], loss="mse", seed=0
    )
    assert np.all(np.isfinite(net.predict(np.ones((3, 2)))))


def test_batch_sizes_refuses_an_empty_range():
    with pytest.raises(lk.LayerkitValueError, match="max_size"):
        testing.batch_sizes(5, 2)
