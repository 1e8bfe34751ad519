"""Every worked number of the source documents (``/work/shared/SEEDS.md``), recomputed
through layerkit's public API in float64.

The documents write one sample as a column, ``a = f(W_doc a_prev + b)``; a layerkit
``Dense`` keeps one sample per row, ``a = f(x W + b)``, so ``W = W_doc.T``.
"""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk

# ------------------------------------------------------------------------------ seed 003


# W_doc (2 units x 4 inputs), previous activations and biases, as printed in seed 003.
W_DOC_003 = np.array([[-1.48, -2.49, 2.72, 3.46], [-1.81, 2.84, -0.438, -4.80]])
A_PREV_003 = np.array([0.978, 0.322, 0.315, 0.201])
B_003 = np.array([0.884, -0.226])


def _dense_net(n_in, units, activation, W, b, loss="sum_of_squares"):
    net = lk.Network(
        [lk.Input(n_in), lk.Dense(units, activation)], loss=loss, dtype="float64", seed=0
    )
    net.set_weights([np.asarray(W, dtype=float), np.asarray(b, dtype=float)])
    return net


def test_seed003_dense_preactivations_are_0_18704_and_minus_2_18447():
    # z_1 = -1.48*0.978 - 2.49*0.322 + 2.72*0.315 + 3.46*0.201 + 0.884 = 0.18704
    # z_2 = -1.81*0.978 + 2.84*0.322 - 0.438*0.315 - 4.80*0.201 - 0.226 = -2.18447
    net = _dense_net(4, 2, None, W_DOC_003.T, B_003)
    z = net.predict(A_PREV_003[None, :])
    np.testing.assert_allclose(z, [[0.18704, -2.18447]], rtol=0, atol=1e-12)


def test_seed003_dense_sigmoid_outputs_are_about_0_547_and_0_101():
    net = _dense_net(4, 2, "sigmoid", W_DOC_003.T, B_003)
    a = net.predict(A_PREV_003[None, :])
    np.testing.assert_allclose(a, [[0.547, 0.101]], rtol=0, atol=5e-4)
    # and exactly the logistic function of the pre-activations
    z = np.array([0.18704, -2.18447])
    np.testing.assert_allclose(a[0], 1 / (1 + np.exp(-z)), rtol=1e-12)


def _seed003_single_unit():
    # one sigmoid unit, incoming activation 0.8, weight 0.15, pre-activation 0.5:
    # the bias is 0.5 - 0.15 * 0.8 = 0.38
    net = _dense_net(1, 1, "sigmoid", [[0.15]], [0.5 - 0.15 * 0.8])
    return net, np.array([[0.8]]), np.array([[1.0]])


def test_seed003_single_sigmoid_unit_output_is_0_6225():
    net, X, _ = _seed003_single_unit()
    np.testing.assert_allclose(net.predict(X), [[0.6225]], atol=5e-5)


def test_seed003_squared_error_weight_gradient_is_about_minus_0_142():
    # dC/dw = 2 (a - 1) * a (1 - a) * 0.8 = -0.755 * 0.235 * 0.8 = -0.142 (about)
    net, X, y = _seed003_single_unit()
    net.backprop(X, y)
    dw = net.layers[1].grads["W"]
    assert dw.shape == (1, 1)
    a = 1 / (1 + np.exp(-0.5))
    exact = 2 * (a - 1) * a * (1 - a) * 0.8
    np.testing.assert_allclose(dw[0, 0], exact, rtol=1e-12)
    np.testing.assert_allclose(dw[0, 0], -0.142, atol=5e-4)
    # the essay's factors, rounded as printed
    np.testing.assert_allclose(2 * (a - 1), -0.755, atol=5e-4)
    np.testing.assert_allclose(a * (1 - a), 0.235, atol=5e-4)


def test_seed003_one_sgd_step_with_rate_0_05_gives_0_1571_not_the_printed_0_1271():
    # 0.15 - 0.05 * (-0.142) = 0.1571: the essay prints 0.1271, an arithmetic slip.
    net, X, y = _seed003_single_unit()
    net.train(X, y, epochs=1, batch_size=1, learning_rate=0.05, optimizer="sgd", verbose=0)
    w = net.get_weights()[0][0, 0]
    np.testing.assert_allclose(w, 0.1571, atol=5e-5)
    assert abs(w - 0.1271) > 0.01
    a = 1 / (1 + np.exp(-0.5))
    np.testing.assert_allclose(w, 0.15 - 0.05 * (2 * (a - 1) * a * (1 - a) * 0.8), rtol=1e-12)


# ------------------------------------------------------------------------------ seed 004


def test_seed004_node_value_is_sigmoid_of_minus_0_04_about_0_490():
    # w.u + b = 0.6*0.7 + 1.2*0.1 - 0.2*0.4 - 0.5 = -0.04
    net_z = _dense_net(3, 1, None, [[0.6], [1.2], [-0.2]], [-0.5])
    u = np.array([[0.7, 0.1, 0.4]])
    np.testing.assert_allclose(net_z.predict(u), [[-0.04]], rtol=0, atol=1e-14)
    net = _dense_net(3, 1, "sigmoid", [[0.6], [1.2], [-0.2]], [-0.5])
    v = net.predict(u)[0, 0]
    np.testing.assert_allclose(v, 1 / (1 + np.exp(0.04)), rtol=1e-14)
    np.testing.assert_allclose(v, 0.490, atol=5e-4)


def test_seed004_sum_of_squares_error_of_one_training_case_is_1_11():
    # (0.3 - 1)^2 + 0.5^2 + 0.6^2 + 0.1^2 = 0.49 + 0.25 + 0.36 + 0.01 = 1.11
    output = np.array([[0.3, 0.5, 0.6, 0.1]])
    target = np.array([[1.0, 0.0, 0.0, 0.0]])
    assert lk.get_loss("sum_of_squares").value(output, target) == pytest.approx(1.11, abs=1e-14)
    # through a network whose output is its input (identity weights)
    net = _dense_net(4, 4, None, np.eye(4), np.zeros(4))
    assert net.loss(output, target) == pytest.approx(1.11, abs=1e-14)


def test_seed004_error_function_is_the_mean_over_training_cases():
    # "the error function ... is given by the mean of the error for all training cases"
    outputs = np.array([[0.3, 0.5, 0.6, 0.1], [1.0, 0.0, 0.0, 0.0]])
    targets = np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    net = _dense_net(4, 4, None, np.eye(4), np.zeros(4))
    assert net.loss(outputs, targets) == pytest.approx((1.11 + 0.0) / 2, abs=1e-14)


# ------------------------------------------------------------------------------ seed 000


def test_seed000_sum_of_squares_cost_of_digit_4_is_1_18():
    # 0.1^2 + 0.2^2 + 0.4^2 + 0.1^2 + (0.8-1)^2 + 0.6^2 + 0.2^2 + 0 + 0.6^2 + 0.4^2 = 1.18
    output = np.array([[0.1, 0.2, 0.4, 0.1, 0.8, 0.6, 0.2, 0.0, 0.6, 0.4]])
    target = lk.one_hot([4], 10, dtype=np.float64)
    assert lk.get_loss("sum_of_squares").value(output, target) == pytest.approx(1.18, abs=1e-14)
    net = _dense_net(10, 10, None, np.eye(10), np.zeros(10))
    assert net.loss(output, target) == pytest.approx(1.18, abs=1e-14)
    # "mse" is the Keras mean over the 10 outputs: the same cost divided by 10
    assert lk.get_loss("mse").value(output, target) == pytest.approx(0.118, abs=1e-14)
