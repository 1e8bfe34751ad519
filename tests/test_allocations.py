"""The steady-state training step allocates nothing that grows with the data (issue 4).

tracemalloc sees every NumPy data buffer. After warm-up steps have created the workspaces
and optimiser slots, a step may only create small Python objects (views, floats) and
NumPy's fixed-size ufunc iteration buffer (``np.getbufsize()`` elements, used by broadcast
and mixed-dtype loops such as ``z += b``): its peak of traced memory must not grow with
the batch size or the layer widths, and stays below a small constant.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import layerkit as lk

# NumPy's iteration buffer is getbufsize() elements of at most 8 bytes, plus small objects.
CONSTANT_BYTES = np.getbufsize() * 8 + 16 * 1024


def _peak_during(fn, repeats: int = 5) -> int:
    fn()  # warm-up: allocates the workspaces and optimiser slots
    fn()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(repeats):
            fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def _step_peak(batch: int, width: int, activation: str, make_optimizer, dropout: float) -> int:
    rng = np.random.default_rng(0)
    X = rng.random((batch, 32), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    layers = [lk.Input(32), lk.Dense(width, activation)]
    if dropout:
        layers.append(lk.Dropout(dropout))
    layers += [lk.Dense(width // 2, activation), lk.Dense(10, "softmax")]
    net = lk.Network(layers, seed=0, penalty=1e-4)
    T = net.loss_fn.prepare_targets(y, 10, net.dtype)
    params = [p for _, _, p in net.parameters()]
    grads = [layer.grads[key] for layer, key, _ in net.parameters()]
    optimizer = make_optimizer()

    def step():
        net.compute_gradients(X, T, None, training=True)
        optimizer.step(params, grads)

    return _peak_during(step)


OPTIMIZERS = {
    "sgd": lambda: lk.SGD(0.01),
    "momentum": lambda: lk.SGD(0.01, momentum=0.9),
    "nesterov": lambda: lk.SGD(0.01, momentum=0.9, nesterov=True),
    "rmsprop": lambda: lk.RMSProp(),
    "adam": lambda: lk.Adam(),
}


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "elu"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_training_step_allocations_do_not_grow_with_batch_or_width(activation, optimizer):
    small = _step_peak(128, 256, activation, OPTIMIZERS[optimizer], dropout=0.0)
    large = _step_peak(1024, 1024, activation, OPTIMIZERS[optimizer], dropout=0.2)
    # (1024, 1024) float32 buffers are 4 MiB: one data-sized temporary would show here.
    assert large < CONSTANT_BYTES, f"a training step allocated {large} bytes at its peak"
    # NumPy's iteration buffer grows with a small batch up to its constant size (broadcast
    # ops such as the softmax's row subtraction use it), so compare above that size.
    assert large <= max(small, np.getbufsize() * 4) + 16 * 1024, (
        f"step allocations grew with the batch and width: {small} -> {large} bytes"
    )


def test_whole_epochs_never_copy_the_data_set():
    """train() gathers batches by index into reused buffers: no per-epoch copy of X."""
    rng = np.random.default_rng(1)
    n = 128 * 40 + 17  # a smaller last batch too
    X = rng.random((n, 256), dtype=np.float32)
    y = rng.integers(0, 10, n)
    net = lk.Network(
        [lk.Input(256), lk.Dense(128, "relu"), lk.Dropout(0.2), lk.Dense(10, "softmax")],
        seed=0,
    )
    net.train(X, y, epochs=1, batch_size=128, verbose=0)
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        net.train(X, y, epochs=3, batch_size=128, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Per call: the one-hot targets (n x 10), the index array and the batch buffers are
    # allocated once; a copy of X (or of X in another dtype) would be 5 MiB.
    assert peak - base < X.nbytes / 4, f"train() peaked {peak - base} bytes over {X.nbytes} of data"


class _StepPeaks(lk.Callback):
    """Traced-memory peak of each training step inside train() (the fused path)."""

    def on_train_begin(self, network):
        self.peaks = []
        tracemalloc.start()
        self.before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()

    def on_batch_end(self, network, batch, logs):
        current, peak = tracemalloc.get_traced_memory()
        self.peaks.append(peak - self.before)
        self.before = current
        tracemalloc.reset_peak()

    def on_train_end(self, network, history):
        tracemalloc.stop()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_steps_inside_train_allocate_nothing_that_grows(momentum):
    def peaks(batch, width):
        rng = np.random.default_rng(0)
        X = rng.random((batch * 4, 64), dtype=np.float32)
        y = rng.integers(0, 10, batch * 4)
        net = lk.Network(
            [
                lk.Input(64),
                lk.Dense(width, "relu"),
                lk.Dense(width, "relu"),
                lk.Dense(10, "softmax"),
            ],
            seed=0,
            penalty=1e-4,
        )
        probe = _StepPeaks()
        net.train(X, y, epochs=2, batch_size=batch, optimizer=lk.SGD(0.01, momentum=momentum),
                  verbose=0, callbacks=[probe])  # fmt: skip
        assert net.layers[2].grads["W"].any(), "the gradient was not written"
        return max(probe.peaks[2:])  # after the first steps allocated the workspaces

    small, large = peaks(128, 256), peaks(1024, 1024)
    assert large < CONSTANT_BYTES, f"a training step allocated {large} bytes at its peak"
    assert large <= max(small, np.getbufsize() * 4) + 16 * 1024, (small, large)
