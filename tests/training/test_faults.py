"""Faults in the middle of training: Ctrl-C, divergence, resuming (issue 12, the loop's side)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import layerkit as lk


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def _net(seed=0):
    return lk.Network(
        [lk.Input(6), lk.Dense(16, "tanh"), lk.Dense(16, "relu"), lk.Dense(2, "softmax")],
        seed=seed,
    )


class CtrlC(lk.Callback):
    """Sends SIGINT to this process after batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_end(self, network, epoch, logs):
        self.current = epoch

    def on_batch_end(self, network, batch, logs):
        if self.current + 1 == self.epoch and batch == self.batch:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_stops_at_a_step_boundary_with_history_lists_of_equal_length():
    X, y = _data()
    net = _net()
    hist = net.train(X, y, X, y, epochs=5, batch_size=8, callbacks=[CtrlC(3, 4)], verbose=0)
    assert hist.stop_reason == "interrupted"
    assert hist.epochs == [1, 2]
    lengths = {len(hist.train_cost), len(hist.val_cost), len(hist.learning_rate),
               len(hist.epoch_time), len(hist.train_accuracy), len(hist.val_accuracy)}  # fmt: skip
    assert lengths == {2}
    # the weights are those after step 5 of epoch 3 exactly: replay 2 epochs + 5 steps
    replay = _net()

    class StopAfter(lk.Callback):
        def __init__(self):
            self.steps = 0

        def on_batch_end(self, network, batch, logs):
            self.steps += 1
            if self.steps == 2 * 12 + 5:
                network.stop_training = True

    replay.train(X, y, X, y, epochs=5, batch_size=8, callbacks=[StopAfter()], verbose=0)
    for got, want in zip(net.get_weights(), replay.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_handler_is_put_back_after_training():
    X, y = _data()
    before = signal.getsignal(signal.SIGINT)
    _net().train(X, y, epochs=1, verbose=0)
    assert signal.getsignal(signal.SIGINT) is before


def test_a_bad_last_update_of_a_run_is_detected_and_undone():
    X, y = _data()
    net = lk.Network([lk.Input(6), lk.Dense(2, "softmax")], seed=0)
    start = net.get_weights()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # full batch, one epoch: the only update is the last one, and it overflows
        hist = net.train(X * 1e30, y, epochs=1, batch_size=None, learning_rate=1e30, verbose=0)
    assert hist.stop_reason == "diverged"
    assert any(issubclass(w.category, lk.DivergenceWarning) for w in caught)
    assert "weights became non-finite" in hist.message
    for got, want in zip(net.get_weights(), start, strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.isfinite(net.evaluate(X, y).cost)


def test_full_batch_divergence_restores_finite_weights():
    X, y = _data()
    net = lk.Network([lk.Input(6), lk.Dense(8, "relu"), lk.Dense(2, "softmax")], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hist = net.train(X, y, epochs=20, batch_size=None, learning_rate=1e12, verbose=0)
    assert hist.stop_reason == "diverged"
    assert all(np.isfinite(w).all() for w in net.get_weights())
    assert np.isfinite(net.evaluate(X, y).cost)


def test_resuming_on_the_same_network_with_validation_split_is_bit_exact(tmp_path):
    X, y = _data(n=120)
    path = tmp_path / "ckpt.npz"
    options = {"epochs": 6, "batch_size": 16, "validation_split": 0.25, "verbose": 0,
               "optimizer": "adam", "early_stopping": lk.Patience(20)}  # fmt: skip
    whole = _net()
    whole.train(X, y, **options)

    class StopAt(lk.Callback):
        def on_epoch_end(self, network, epoch, logs):
            if epoch == 3:
                network.stop_training = True

    net = _net()
    net.train(X, y, checkpoint=path, callbacks=[StopAt()], **options)
    net.train(X, y, resume=path, **options)  # the same Network object
    for got, want in zip(net.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert net.history.val_cost == whole.history.val_cost


@pytest.mark.slow
def test_sigint_sent_to_a_training_subprocess_leaves_a_consistent_model(tmp_path):
    script = textwrap.dedent(
        """
        import numpy as np, layerkit as lk, sys
        rng = np.random.default_rng(0)
        X = rng.standard_normal((4000, 20)); y = (X[:, 0] > 0).astype(int)
        net = lk.Network([lk.Input(20), lk.Dense(64, "relu"), lk.Dense(2, "softmax")], seed=0)
        print("ready", flush=True)
        hist = net.train(X, y, X[:500], y[:500], epochs=10_000, batch_size=4, verbose=0)
        lens = {len(hist.train_cost), len(hist.val_cost), len(hist.epoch_time)}
        ok = all(np.isfinite(w).all() for w in net.get_weights())
        print(hist.stop_reason, len(lens), ok, flush=True)
        """
    )
    for delay in (0.3, 0.7, 1.1):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert out.split() == ["interrupted", "1", "True"], out
