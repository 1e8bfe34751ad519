"""``Flatten``: row-major flattening, backward reshapes back, and an image network built
as ``Input((28, 28))``, ``Flatten()``, ``Dense`` trains, predicts and saves."""

from __future__ import annotations

import numpy as np

import layerkit as lk


def _image_net(seed=0, dtype="float64"):
    return lk.Network(
        [lk.Input((28, 28)), lk.Flatten(), lk.Dense(16, "relu"), lk.Dense(3, "softmax")],
        seed=seed,
        dtype=dtype,
    )


def test_output_shape_is_the_product_of_the_sample_dimensions():
    net = lk.Network([lk.Input((2, 3, 4)), lk.Flatten()], loss="mse")
    assert net.output_shape == (24,)
    assert net.forward(np.zeros((5, 2, 3, 4))).shape == (5, 24)


def test_forward_is_numpy_row_major_reshape():
    x = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    net = lk.Network([lk.Input((3, 4)), lk.Flatten()], loss="mse", dtype="float64")
    np.testing.assert_array_equal(net.forward(x), x.reshape(2, 12))
    np.testing.assert_array_equal(net.forward(x)[1, 5], x[1, 1, 1])


def test_backward_reshapes_the_gradient_to_the_input_shape():
    layer = lk.Flatten()
    lk.Network([lk.Input((3, 4)), layer], loss="mse", dtype="float64")
    layer.needs_input_grad = True
    layer.forward(np.zeros((2, 3, 4)), training=True)
    g = np.arange(24, dtype=np.float64).reshape(2, 12)
    dx = layer.backward(g)
    assert dx.shape == (2, 3, 4)
    np.testing.assert_array_equal(dx, g.reshape(2, 3, 4))


def test_gradcheck_passes_through_flatten_in_a_network():
    net = lk.Network(
        [lk.Input((3, 2)), lk.Flatten(), lk.Dense(4, "tanh"), lk.Dense(2, "softmax")],
        seed=1,
        dtype="float64",
    )
    rng = np.random.default_rng(0)
    report = lk.gradcheck(net, rng.uniform(-1, 1, (5, 3, 2)), rng.integers(0, 2, 5))
    assert report, report.explain()


def test_image_network_trains_predicts_and_round_trips_through_save(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    # Class k lights up row band k of the image: learnable only through the pixels.
    X = rng.uniform(0, 0.2, (90, 28, 28))
    for k in range(3):
        X[y == k, 9 * k : 9 * k + 9, :] += 1.0
    net = _image_net()
    before = net.evaluate(X, y).cost
    net.train(X, y, epochs=15, batch_size=16, learning_rate=0.1, verbose=0)
    after = net.evaluate(X, y)
    assert after.cost < 0.5 * before
    assert after.accuracy > 0.9
    predicted = net.predict(X)
    assert predicted.shape == (90, 3)
    loaded = lk.load(lk.save(net, tmp_path / "images"))
    assert isinstance(loaded.layers[1], lk.Flatten)
    assert loaded.input_shape == (28, 28)
    np.testing.assert_array_equal(loaded.predict(X), predicted)


def test_config_round_trip_keeps_the_name():
    layer = lk.Flatten(name="to_rows")
    again = lk.Flatten.from_config(layer.get_config())
    assert again.get_config() == layer.get_config() == {"name": "to_rows"}
