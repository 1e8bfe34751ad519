"""End-to-end learning: the small 2-D results of seed 002, section 4.

Each model trains for real (seconds at most). Hyperparameters were chosen once, by a
sweep over seeds recorded in the comments, so that the claims hold with margin rather than
by luck; the seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk
from layerkit.datasets import make_four_groups, make_moons

# Seed 002, section 4.1: "All hyperparameters are the same in both models". Its code used
# learning_rate=10 with plain gradient descent and the documents' U[-0.5, 0.5) weights.
MOONS = {"n_samples": 400, "noise": 0.1, "seed": 0}
FIT = {"epochs": 200, "batch_size": 64, "learning_rate": 10.0, "optimizer": "sgd", "verbose": 0}


def _moons():
    X, y = make_moons(**MOONS)
    return X, y, np.eye(2)[y]


def _accuracy(net, X, y):
    return float(np.mean(net.predict_classes(X) == y))


@pytest.mark.slow
def test_logistic_regression_reaches_about_88_percent_on_moons():
    # Seed 002, figure 2 (left): "a linear decision boundary giving a training set
    # accuracy of approximately 88%". The best straight line through two noisy moons
    # misclassifies the two tips; over data seeds 0-3 and initial seeds 0-5 we measured
    # 0.865-0.895. A linear model cannot do much better: the band 0.84-0.92 asserts both
    # that it learned (chance is 0.5) and that it is linear.
    X, y, Y = _moons()
    net = lk.Network(
        [lk.Input(2), lk.Dense(2, "sigmoid", kernel_initializer="uniform")],
        "binary_crossentropy",
        seed=0,
    )
    hist = net.train(X, Y, **FIT)
    acc = _accuracy(net, X, y)
    assert 0.84 <= acc <= 0.92, acc
    assert hist.train_cost[-1] < hist.train_cost[0]
    # "the weights of one neuron are simply the negatives of the weights of the other"
    W, b = net.layers[1].params["W"], net.layers[1].params["b"]
    np.testing.assert_allclose(W[:, 0], -W[:, 1], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(b[0], -b[1], rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_single_sigmoid_unit_logistic_regression_also_reaches_about_88_percent():
    X, y, _ = _moons()
    net = lk.Network(
        [lk.Input(2), lk.Dense(1, "sigmoid", kernel_initializer="uniform")],
        "binary_crossentropy",
        seed=0,
    )
    net.train(X, y, **FIT)
    acc = _accuracy(net, X, y)
    assert 0.84 <= acc <= 0.92, acc


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_three_sigmoid_hidden_units_exceed_99_percent_within_200_epochs(seed):
    # Seed 002, figure 2 (right): one hidden layer of 3 sigmoid units, "over 99% accuracy
    # after 200 epochs". Measured with these settings: on this data draw all of initial
    # seeds 0-5 reach 100% (between epochs 18 and 73). The 3-unit model has a local
    # minimum near 90% (a nearly linear boundary): over data draws 0-3 x initial seeds
    # 0-5, 20 of 24 runs exceeded 99% and the other 4 stopped at 0.90-0.93. The claim is
    # true of the model for most, not all, initialisations.
    X, y, Y = _moons()
    net = lk.Network(
        [
            lk.Input(2),
            lk.Dense(3, "sigmoid", kernel_initializer="uniform"),
            lk.Dense(2, "sigmoid", kernel_initializer="uniform"),
        ],
        "binary_crossentropy",
        seed=seed,
    )
    net.train(X, Y, **FIT)
    acc = _accuracy(net, X, y)
    assert acc > 0.99, acc


@pytest.mark.slow
def test_four_groups_reach_100_percent_with_two_hidden_layers_of_20():
    # Seed 002, section 4.2: Input(2), Dense(20, sigmoid), Dense(20, sigmoid),
    # Dense(4, softmax) on four fully separable groups (two half-discs inside two outer
    # regions). The classes touch along the disc's edge (nearest points of different
    # classes 0.012-0.018 apart), so every training point right needs a sharp boundary:
    # mini-batch noise keeps accuracy flickering around 98-100%. Full-batch Adam settles:
    # with rate 0.03, initial seeds 0-2 on data draws 0-1 all reach 100% between epochs
    # 358 and 751, and stay there.
    X, y = make_four_groups(400, seed=0)
    net = lk.Network(
        [lk.Input(2), lk.Dense(20, "sigmoid"), lk.Dense(20, "sigmoid"), lk.Dense(4, "softmax")],
        seed=0,
    )
    hist = net.train(
        X, y, epochs=2000, batch_size=None, learning_rate=0.03, optimizer="adam", verbose=0
    )
    assert _accuracy(net, X, y) == 1.0
    assert hist.train_accuracy[-1] == 1.0


@pytest.mark.slow
def test_hidden_layer_beats_logistic_regression_under_early_stopping():
    # The same comparison with held-out data and seed 002's validation window: the
    # non-linear model generalises better too, and the restored epoch is the best one.
    X, _, Y = _moons()
    Xv, yv = make_moons(400, noise=0.1, seed=1)
    Yv = np.eye(2)[yv]
    results = {}
    for hidden in (0, 3):
        layers = [lk.Input(2)]
        if hidden:
            layers.append(lk.Dense(hidden, "sigmoid", kernel_initializer="uniform"))
        layers.append(lk.Dense(2, "sigmoid", kernel_initializer="uniform"))
        net = lk.Network(layers, "binary_crossentropy", seed=0)
        hist = net.train(X, Y, Xv, Yv, early_stopping=20, **FIT)
        assert hist.restored_epoch == int(np.argmin(hist.val_cost)) + 1
        results[hidden] = _accuracy(net, Xv, yv)
    assert results[3] > 0.97 and results[0] < 0.92, results
