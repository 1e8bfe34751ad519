"""Checkpoints: ``train(checkpoint=..., checkpoint_every=..., resume=...)`` and Ctrl-C.

A run interrupted by ``KeyboardInterrupt`` (raised from a callback, mid-epoch or at an
epoch end) and resumed from its last checkpoint with the same arguments must end with
the weights and history of the uninterrupted run, bit for bit.
"""

from __future__ import annotations

import json

import hostile
import numpy as np
import pytest

import layerkit as lk
import layerkit.io as lkio

# ---------------------------------------------------------------------------- helpers


def _data(n=45, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = ((X[:, 0] - X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)).clip(0, 2)
    return X, y


X_TR, Y_TR = _data()
X_VA, Y_VA = _data(n=20, seed=1)


def _net(dropout=True, seed=7, hidden=6):
    layers = [lk.Input(3), lk.Dense(hidden, "tanh")]
    if dropout:
        layers.append(lk.Dropout(0.3))
    layers += [lk.Dense(4, "relu"), lk.Dense(3, "softmax")]
    return lk.Network(layers, seed=seed, dtype="float64", penalty=1e-3)


class Interrupt(lk.Callback):
    """Raise KeyboardInterrupt after batch ``batch`` of epoch ``epoch`` (or at its end)."""

    def __init__(self, epoch, batch=None):
        self.epoch, self.batch, self.current = epoch, batch, 1

    def on_train_begin(self, network):
        self.current = len(network.history or []) + 1

    def on_batch_end(self, network, batch, logs):
        if self.batch is not None and self.current == self.epoch and batch == self.batch:
            raise KeyboardInterrupt

    def on_epoch_end(self, network, epoch, logs):
        self.current = epoch + 1
        if self.batch is None and epoch == self.epoch:
            raise KeyboardInterrupt


class Snapshots(lk.Callback):
    def __init__(self):
        self.weights = {}

    def on_epoch_end(self, network, epoch, logs):
        self.weights[epoch] = network.get_weights()


def _weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _state(net):
    opt = net.optimizer
    return {
        "weights": net.get_weights(),
        "optimizer": opt,
        "opt_state": None if opt is None else opt.get_state(),
        "opt_lr": None if opt is None else (opt.learning_rate, opt.initial_learning_rate),
        "history": net.history,
        "history_dict": None if net.history is None else net.history.as_dict(),
        "rng": net.rng.bit_generator.state,
    }


def assert_state_unchanged(net, before):
    after = _state(net)
    assert _weights_equal(after["weights"], before["weights"]), "weights changed"
    assert after["optimizer"] is before["optimizer"], "optimizer replaced"
    assert after["opt_lr"] == before["opt_lr"], "learning rate changed"
    if before["opt_state"] is not None:
        assert after["opt_state"]["iterations"] == before["opt_state"]["iterations"]
        for a, b in zip(after["opt_state"]["slots"], before["opt_state"]["slots"], strict=True):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert after["history"] is before["history"], "history replaced"
    assert after["history_dict"] == before["history_dict"], "history changed"
    assert after["rng"] == before["rng"], "random generator advanced"


def _comparable(history):
    d = history.as_dict()
    d.pop("epoch_time")
    return d


CONFIGS = {
    "adam-shuffle-dropout": dict(
        optimizer=lambda: lk.Adam(0.01),
        early_stopping=lambda: None,
        shuffle=True,
        dropout=True,
        schedule=None,
    ),
    "momentum-window": dict(
        optimizer=lambda: lk.SGD(0.05, momentum=0.9),
        early_stopping=lambda: 2,
        shuffle=True,
        dropout=True,
        schedule=None,
    ),
    "adam-patience": dict(
        optimizer=lambda: lk.Adam(0.02),
        early_stopping=lambda: lk.Patience(3),
        shuffle=True,
        dropout=True,
        schedule="step_decay",
    ),
    "window-instance": dict(
        optimizer=lambda: lk.RMSProp(0.01),
        early_stopping=lambda: lk.ValidationWindow(2),
        shuffle=False,
        dropout=False,
        schedule="time_decay",
    ),
    "grow-and-slash": dict(
        optimizer=lambda: lk.SGD(0.1),
        early_stopping=lambda: None,
        shuffle=True,
        dropout=True,
        schedule="grow_and_slash",
    ),
}


def _run(cfg, *, epochs=7, callbacks=None, checkpoint=None, checkpoint_every=1, resume=None):
    net = _net(dropout=cfg["dropout"])
    history = net.train(
        X_TR,
        Y_TR,
        X_VA,
        Y_VA,
        epochs=epochs,
        batch_size=8,
        optimizer=cfg["optimizer"](),
        early_stopping=cfg["early_stopping"](),
        shuffle=cfg["shuffle"],
        schedule=cfg["schedule"],
        verbose=0,
        callbacks=callbacks,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
    )
    return net, history


# ---------------------------------------------------------------------------- resume = uninterrupted


@pytest.mark.parametrize(
    "where", [(3, 2), (4, None), (1, 0)], ids=["mid-epoch", "epoch-end", "first-batch"]
)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_interrupted_and_resumed_run_equals_the_uninterrupted_run_bit_for_bit(
    tmp_path, name, where
):
    cfg = CONFIGS[name]
    full_net, full = _run(cfg)
    ck = tmp_path / "ck.npz"
    _, cut = _run(cfg, callbacks=[Interrupt(*where)], checkpoint=ck)
    if cut.stop_reason != "interrupted":
        pytest.skip(f"training stopped ({cut.stop_reason}) before the interruption point")
    assert cut.stop_reason == "interrupted" and cut.message
    if where == (1, 0):  # interrupted before the first checkpoint: start over
        assert not ck.exists()
        return
    resumed_net, resumed = _run(cfg, resume=ck, checkpoint=ck)
    assert _weights_equal(resumed_net.get_weights(), full_net.get_weights())
    assert resumed.val_cost == full.val_cost
    assert _comparable(resumed) == _comparable(full)
    assert resumed_net.rng.bit_generator.state == full_net.rng.bit_generator.state
    assert resumed_net.optimizer.iterations == full_net.optimizer.iterations
    for a, b in zip(resumed_net.optimizer.slots, full_net.optimizer.slots, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("every", [2, 3])
def test_resuming_from_an_older_checkpoint_still_equals_the_uninterrupted_run(tmp_path, every):
    cfg = CONFIGS["momentum-window"]
    full_net, full = _run(cfg, epochs=8)
    ck = tmp_path / "ck.npz"
    _, cut = _run(cfg, epochs=8, callbacks=[Interrupt(6, 1)], checkpoint=ck, checkpoint_every=every)
    assert cut.stop_reason == "interrupted"
    assert len(lk.load(ck).history) == (5 // every) * every  # the last multiple before 6
    resumed_net, resumed = _run(cfg, epochs=8, resume=ck)
    assert _weights_equal(resumed_net.get_weights(), full_net.get_weights())
    assert _comparable(resumed) == _comparable(full)


def test_a_resumed_run_interrupted_again_and_resumed_again_still_matches(tmp_path):
    cfg = CONFIGS["adam-shuffle-dropout"]
    full_net, full = _run(cfg, epochs=8)
    ck = tmp_path / "ck.npz"
    _run(cfg, epochs=8, callbacks=[Interrupt(2, 3)], checkpoint=ck)
    _, second = _run(cfg, epochs=8, callbacks=[Interrupt(5, None)], checkpoint=ck, resume=ck)
    assert second.stop_reason == "interrupted"
    net, final = _run(cfg, epochs=8, resume=ck)
    assert _weights_equal(net.get_weights(), full_net.get_weights())
    assert _comparable(final) == _comparable(full)


# ---------------------------------------------------------------------------- checkpoint files


def test_checkpoint_every_n_epochs_writes_a_loadable_model_of_that_epoch(tmp_path):
    ck = tmp_path / "ck.npz"
    snaps = Snapshots()
    net = _net()
    net.train(
        X_TR,
        Y_TR,
        epochs=5,
        batch_size=8,
        optimizer="adam",
        verbose=0,
        callbacks=[snaps],
        checkpoint=ck,
        checkpoint_every=2,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]  # no temporary files
    model = lk.load(ck)
    assert len(model.history) == 4 and model.history.epochs == [1, 2, 3, 4]
    assert _weights_equal(model.get_weights(), snaps.weights[4])
    X = np.random.default_rng(3).standard_normal((6, 3))
    probe = _net()
    probe.set_weights(snaps.weights[4])
    assert np.array_equal(model.predict(X), probe.predict(X))
    assert model.optimizer.name == "adam" and model.optimizer.iterations == 4 * 6
    with np.load(ck, allow_pickle=False) as archive:
        meta = json.loads(archive["__layerkit__"].tobytes().decode("utf-8"))
    assert meta["training"]["epoch"] == 4


def test_checkpoint_path_gets_the_npz_suffix_and_resume_accepts_either(tmp_path):
    cfg = CONFIGS["adam-shuffle-dropout"]
    full_net, _ = _run(cfg, epochs=4)
    _run(cfg, epochs=4, callbacks=[Interrupt(3, 1)], checkpoint=tmp_path / "run")
    assert (tmp_path / "run.npz").is_file()
    net, _ = _run(cfg, epochs=4, resume=tmp_path / "run")
    assert _weights_equal(net.get_weights(), full_net.get_weights())


def test_an_interrupt_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    cfg = CONFIGS["adam-shuffle-dropout"]
    full_net, full = _run(cfg, epochs=5)
    ck = tmp_path / "ck.npz"
    real_savez = lkio.np.savez
    calls = []

    def savez(handle, **arrays):
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C while the third checkpoint is being written
            handle.write(b"PK partial")
            raise KeyboardInterrupt
        return real_savez(handle, **arrays)

    monkeypatch.setattr(lkio.np, "savez", savez)
    _, cut = _run(cfg, epochs=5, checkpoint=ck)
    monkeypatch.undo()
    assert cut.stop_reason == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]
    assert len(lk.load(ck).history) == 2
    net, resumed = _run(cfg, epochs=5, resume=ck)
    assert _weights_equal(net.get_weights(), full_net.get_weights())
    assert _comparable(resumed) == _comparable(full)


# ---------------------------------------------------------------------------- KeyboardInterrupt


def test_keyboard_interrupt_returns_the_history_marked_interrupted():
    net = _net()
    history = net.train(
        X_TR, Y_TR, X_VA, Y_VA, epochs=6, batch_size=8, verbose=0, callbacks=[Interrupt(3, 1)]
    )
    assert history.stop_reason == "interrupted"
    assert history.epochs == [1, 2] and history.stopped_epoch == 2
    assert "interrupted" in history.message
    assert net.history is history
    assert all(np.all(np.isfinite(w)) for w in net.get_weights())


def test_keyboard_interrupt_closes_the_progress_bar(monkeypatch):
    import tqdm.auto

    bars = []
    real = tqdm.auto.tqdm

    class RecordingBar(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.closed_calls = 0
            bars.append(self)

        def close(self):
            self.closed_calls += 1
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    net = _net()
    history = net.train(X_TR, Y_TR, epochs=5, batch_size=8, verbose=1, callbacks=[Interrupt(2, 0)])
    assert history.stop_reason == "interrupted"
    assert len(bars) == 1 and bars[0].closed_calls >= 1
    # the bar counts samples: one epoch completed before the interrupt, in the second
    assert bars[0].disable or len(X_TR) <= bars[0].n < 2 * len(X_TR)


def test_keyboard_interrupt_with_early_stopping_restores_the_best_weights():
    snaps = Snapshots()
    net = _net()
    history = net.train(
        X_TR,
        Y_TR,
        X_VA,
        Y_VA,
        epochs=8,
        batch_size=8,
        verbose=0,
        optimizer="adam",
        early_stopping=lk.Patience(5),
        callbacks=[snaps, Interrupt(4, 2)],
    )
    assert history.stop_reason == "interrupted"
    best = history.best_epoch
    assert best is not None and history.restored_epoch == best
    assert _weights_equal(net.get_weights(), snaps.weights[best])


# ---------------------------------------------------------------------------- bad resume


def _trained_with_state():
    net = _net()
    net.train(X_TR, Y_TR, X_VA, Y_VA, epochs=2, batch_size=8, optimizer="adam", verbose=0)
    return net


def _checkpoint(tmp_path, **net_kwargs):
    ck = tmp_path / "ck.npz"
    _net(**net_kwargs).train(
        X_TR, Y_TR, epochs=2, batch_size=8, optimizer="adam", verbose=0, checkpoint=ck
    )
    return ck


def test_resume_with_an_incompatible_network_fails_before_changing_anything(tmp_path):
    ck = _checkpoint(tmp_path, hidden=5)
    net = _trained_with_state()
    before = _state(net)
    with pytest.raises(lk.ModelFileError, match=r"shape") as info:
        net.train(X_TR, Y_TR, epochs=4, batch_size=8, verbose=0, resume=ck)
    assert "ck.npz" in str(info.value)
    assert_state_unchanged(net, before)


def test_resume_with_a_different_layer_count_fails_before_changing_anything(tmp_path):
    ck = _checkpoint(tmp_path)
    net = lk.Network([lk.Input(3), lk.Dense(3, "softmax")], seed=0, dtype="float64")
    net.train(X_TR, Y_TR, epochs=1, verbose=0, optimizer="adam")
    before = _state(net)
    with pytest.raises(lk.ModelFileError, match="parameter arrays"):
        net.train(X_TR, Y_TR, epochs=4, verbose=0, resume=ck)
    assert_state_unchanged(net, before)


def test_resume_from_a_saved_model_that_is_not_a_checkpoint(tmp_path):
    model = _trained_with_state().save(tmp_path / "model.npz")
    net = _trained_with_state()
    before = _state(net)
    with pytest.raises(lk.LayerkitValueError, match=r"model\.npz.*not a checkpoint"):
        net.train(X_TR, Y_TR, epochs=4, batch_size=8, verbose=0, resume=model)
    assert_state_unchanged(net, before)


@pytest.mark.parametrize(
    ("resume", "error", "match"),
    [
        (42, lk.LayerkitTypeError, r"resume must be a checkpoint file path; received 42"),
        ("missing.npz", lk.ModelFileError, r"no model file at .*missing\.npz"),
    ],
)
def test_resume_with_a_bad_path(tmp_path, monkeypatch, resume, error, match):
    monkeypatch.chdir(tmp_path)
    net = _trained_with_state()
    before = _state(net)
    with pytest.raises(error, match=match):
        net.train(X_TR, Y_TR, epochs=4, verbose=0, resume=resume)
    assert_state_unchanged(net, before)


def test_resume_from_a_corrupted_checkpoint_changes_nothing(tmp_path):
    ck = _checkpoint(tmp_path)
    data = bytearray(ck.read_bytes())
    data[data.find(b"p0.npy") + 160] ^= 0xFF  # inside the first weight array
    ck.write_bytes(bytes(data))
    net = _trained_with_state()
    before = _state(net)
    with pytest.raises(lk.ModelFileError):
        net.train(X_TR, Y_TR, epochs=4, verbose=0, resume=ck)
    assert_state_unchanged(net, before)


def test_resume_with_a_bad_argument_alongside_changes_nothing(tmp_path):
    ck = _checkpoint(tmp_path)
    net = _trained_with_state()
    before = _state(net)
    with pytest.raises(lk.LayerkitValueError, match="batch_size"):
        net.train(X_TR, Y_TR, epochs=4, batch_size=0, verbose=0, resume=ck)
    with pytest.raises(lk.LayerkitValueError, match="X must have shape"):
        net.train(X_TR[:, :2], Y_TR, epochs=4, verbose=0, resume=ck)
    assert_state_unchanged(net, before)


def test_resume_from_a_checkpoint_with_a_mistyped_array_changes_nothing(tmp_path):
    """A checkpoint whose *second* parameter array cannot be cast (valid checksum): the
    first must not have been copied into the network when the error is raised."""
    ck = _checkpoint(tmp_path, seed=99)  # weights unlike the network's
    hostile.rewrite(
        ck, ck, lambda meta, arrays: arrays.__setitem__("p1", arrays["p1"].astype(np.complex128))
    )
    net = _trained_with_state()
    before = _state(net)
    with pytest.raises((ValueError, TypeError)):
        net.train(X_TR, Y_TR, epochs=4, verbose=0, resume=ck)
    assert_state_unchanged(net, before)
