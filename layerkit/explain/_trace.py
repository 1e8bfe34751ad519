"""Compute a worked example: every number of one forward and backward pass.

The trace runs the network's own layers through the public layer contract
(``layer.forward(x, training=False)``, ``layer.backward(grad)``, ``layer.params``,
``layer.grads``) and takes the objective from the network's public methods
(:meth:`Network.backprop`, :meth:`Network.penalty_value`, ``net.loss_fn``), so its numbers
are the ones training uses, for user-written layers too.

Conventions (seed 002, section 3.3):

* ``z`` is a layer's pre-activation and ``a = f(z)`` its activation.
* ``c_i`` is the cost of sample ``i`` and ``J = (1/m) sum_i c_i + sum_l (lambda_l / 2)
  ||W_l||^2`` the objective (biases are not penalised).
* ``delta = dc/dz`` is each sample's own error, the documents' ``delta``; the gradients of
  ``J`` average it over the ``m`` samples: ``dJ/dW = (1/m) sum_i a_i delta_i^T + lambda W``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    as_numeric_array,
    check_n_samples,
    check_positive_int,
    check_real,
)
from ..activations import ActivationFunction
from ..layers import Activation, Dense
from ..losses import BinaryCrossentropy, CategoricalCrossentropy, MeanSquaredError, SumOfSquares
from ..network import Network

__all__ = ["MAX_SAMPLES", "NOTATIONS", "LayerTrace", "Trace", "explain"]

#: the largest batch a trace accepts: a worked example is read, not skimmed
MAX_SAMPLES = 32
NOTATIONS = ("documents", "layerkit")


@dataclass(frozen=True, eq=False)
class LayerTrace:
    """Every number of one layer in a worked example, in layerkit's orientation.

    Arrays keep layerkit's layout (one sample per row, ``W`` of shape ``(n_in, units)``);
    the renderers transpose them for the documents' notation.

    Attributes
    ----------
    number : int
        The documents' layer number ``l``: the input layer is 1, so ``net.layers[i]`` is
        layer ``i + 1``.
    name, kind : str
        The layer's name and class name.
    activation : ActivationFunction or None
        The layer's activation when it is a ``Dense`` or ``Activation`` layer (``None`` for
        other layers, whose inside the trace does not know).
    a_prev : numpy.ndarray
        The layer's input ``a^(l-1)``, shape ``(m, n_in)``.
    params : dict of numpy.ndarray
        Copies of ``layer.params`` (``W``, ``b`` for ``Dense``).
    z : numpy.ndarray or None
        Pre-activation ``z = a_prev W + b`` (``Dense``, recomputed from the parameters) or
        the input (``Activation``); ``None`` for other layers.
    a : numpy.ndarray
        The layer's output, as its ``forward`` returned it.
    f_prime : numpy.ndarray or None
        ``f'(z)`` elementwise, or ``None`` (no activation, or softmax: not elementwise).
    dc_da : numpy.ndarray or None
        ``dc/da`` of each sample: the error that reaches this layer's output.
    delta : numpy.ndarray or None
        ``delta = dc/dz`` of each sample (``None`` without a known ``z``).
    delta_rule : str
        How ``delta`` was formed: ``"fused"`` (``a - y``: softmax with categorical
        cross-entropy, sigmoid with binary cross-entropy; seed 002, Lemmas 1 and 2),
        ``"output"`` (``dc/da (.) f'(z)`` at the output), ``"hidden"`` (the same with
        ``dc/da = W_next^T delta_next``), ``"jacobian"`` (softmax without its cross-entropy:
        the Jacobian product) or ``""`` (no ``delta``).
    grads : dict of numpy.ndarray
        ``dJ/dtheta`` for every parameter, as :meth:`Network.backprop` computes it for
        training (penalty included); empty for a frozen layer.
    penalty : float
        The L2 strength ``lambda`` in force for this layer's penalised parameters.
    penalized : tuple of str
        Keys of the penalised parameters (``("W",)`` for ``Dense``).
    dc_da_prev : numpy.ndarray or None
        ``dc/da^(l-1)`` of each sample, the error passed to the layer before.
    dJ_da_prev : numpy.ndarray or None
        ``dJ/da^(l-1) = dc_da_prev / m``, as the layer's ``backward`` returns it.
    updated : dict of numpy.ndarray or None
        With a learning rate ``eta``: ``theta - eta dJ/dtheta`` for every parameter.
    dense : bool
        Whether the layer is a ``Dense`` layer, ``z = a_prev W + b``.
    trainable : bool
        ``False`` for a frozen layer: training neither computes its gradients (``grads``
        is empty) nor changes it (``updated`` holds its parameters as they are).
    """

    number: int
    name: str
    kind: str
    activation: ActivationFunction | None
    a_prev: np.ndarray
    params: dict[str, np.ndarray]
    z: np.ndarray | None
    a: np.ndarray
    f_prime: np.ndarray | None
    dc_da: np.ndarray | None
    delta: np.ndarray | None
    delta_rule: str
    grads: dict[str, np.ndarray]
    penalty: float
    penalized: tuple[str, ...]
    dc_da_prev: np.ndarray | None
    dJ_da_prev: np.ndarray | None
    updated: dict[str, np.ndarray] | None = None
    dense: bool = False
    trainable: bool = True

    @property
    def W(self) -> np.ndarray | None:
        """The weights in layerkit's orientation ``(n_in, units)`` (``None`` if none)."""
        return self.params.get("W")

    @property
    def b(self) -> np.ndarray | None:
        """The biases (``None`` if none)."""
        return self.params.get("b")

    @property
    def dJ_dW(self) -> np.ndarray | None:
        """``dJ/dW`` (layerkit's orientation), penalty included."""
        return self.grads.get("W")

    @property
    def dJ_db(self) -> np.ndarray | None:
        """``dJ/db``."""
        return self.grads.get("b")

    def penalty_gradient(self, key: str) -> np.ndarray | None:
        """``lambda theta`` for a penalised parameter, ``None`` otherwise."""
        if key not in self.penalized or not self.penalty:
            return None
        return self.penalty * self.params[key]


@dataclass(frozen=True, eq=False)
class Trace:
    """A worked example of one forward and backward pass (see :func:`explain`).

    Print it for the terminal, display it in a notebook (Markdown with LaTeX), or call a
    renderer: :meth:`to_text`, :meth:`to_markdown`, :meth:`to_html`, :meth:`to_json`.

    Attributes
    ----------
    x, y : numpy.ndarray
        The input ``(m, n_in)`` and the target ``(m, k)`` as the loss sees it.
    output : numpy.ndarray
        The network's output ``a^(L)``.
    layers : list of LayerTrace
        One per layer after the ``Input``, in order.
    loss : str
        The loss name.
    fused : bool
        Whether the output error is the fused ``a - y``.
    cost : float
        ``J``, as :meth:`Network.backprop` returns it.
    data_cost : float
        ``(1/m) sum_i c_i``.
    penalty_term : float
        ``sum_l (lambda_l / 2) ||W_l||^2`` (0 without a penalty).
    sample_costs : numpy.ndarray
        ``c_i`` for each sample, shape ``(m,)``.
    cost_terms : numpy.ndarray or None
        The per-output terms of each ``c_i``, shape ``(m, k)`` (summing to ``c_i``), for
        the built-in losses; ``None`` for a user's loss.
    learning_rate : float or None
    notation : {"documents", "layerkit"}
        Default notation of the renderers.
    precision : int
        Default number of decimals of the renderers.
    network_name : str
        The network's name.
    loss_family : str or None
        The built-in cost the loss computes (``"sum_of_squares"``, ``"mse"``,
        ``"binary_crossentropy"``, ``"categorical_crossentropy"``; subclasses such as
        ``sparse_categorical_crossentropy`` included), ``None`` for a user's loss.
    from_logits : bool
        Whether the loss applies the output activation itself (the output is ``z``).
    """

    x: np.ndarray
    y: np.ndarray
    output: np.ndarray
    layers: list[LayerTrace]
    loss: str
    fused: bool
    cost: float
    data_cost: float
    penalty_term: float
    sample_costs: np.ndarray
    cost_terms: np.ndarray | None
    learning_rate: float | None
    notation: str
    precision: int
    network_name: str = "network"
    loss_family: str | None = None
    from_logits: bool = False

    @property
    def n_samples(self) -> int:
        """``m``, the number of samples."""
        return int(self.x.shape[0])

    def layer(self, number: int) -> LayerTrace:
        """The trace of the documents' layer ``number`` (the input layer is 1)."""
        for layer in self.layers:
            if layer.number == number:
                return layer
        numbers = [layer.number for layer in self.layers]
        raise LayerkitValueError(
            f"number must be one of the traced layers {numbers}; received number={number!r}"
        )

    # ------------------------------------------------------------------ renderers
    def to_text(
        self,
        *,
        notation: str | None = None,
        precision: int | None = None,
        sections: str | tuple[str, ...] | None = None,
    ) -> str:
        """Plain text for the terminal, every equation with its numbers substituted.

        Parameters
        ----------
        notation : {"documents", "layerkit"}, optional
            Default: the trace's.
        precision : int, optional
            Decimals of every number; default: the trace's.
        sections : str or tuple of str, optional
            Only these parts, without the title: some of ``"given"``, ``"forward"``,
            ``"cost"``, ``"backward"``, ``"update"``. Default: everything.
        """
        from ._render import render_text

        return render_text(self, *_resolve(self, notation, precision), sections=sections)

    def to_markdown(
        self,
        *,
        notation: str | None = None,
        precision: int | None = None,
        title: str | None = None,
        sections: str | tuple[str, ...] | None = None,
    ) -> str:
        """Markdown with LaTeX (``$...$`` inline, ``$$...$$`` displayed), for the docs and
        notebooks. Arguments as :meth:`to_text`; ``title`` replaces the heading."""
        from ._render import render_markdown

        return render_markdown(
            self, *_resolve(self, notation, precision), title=title, sections=sections
        )

    def to_html(
        self,
        *,
        notation: str | None = None,
        precision: int | None = None,
        sections: str | tuple[str, ...] | None = None,
    ) -> str:
        """The Markdown rendering as HTML (equations left for MathJax, as notebooks do)."""
        from ._render import render_html

        return render_html(self, *_resolve(self, notation, precision), sections=sections)

    def to_dict(self, *, notation: str | None = None) -> dict[str, Any]:
        """Every number as plain Python lists and floats (full precision), in ``notation``.

        In the documents' notation vectors are columns: arrays are transposed to
        ``(features, samples)`` (flattened when ``m = 1``) and ``W`` has one row per unit.
        """
        from ._json import trace_dict

        return trace_dict(self, _resolve(self, notation, None)[0])

    def to_json(self, *, notation: str | None = None, indent: int | None = 1) -> str:
        """:meth:`to_dict` as a JSON string."""
        import json

        return json.dumps(self.to_dict(notation=notation), indent=indent)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return (
            f"Trace({len(self.layers)} layers, m={self.n_samples}, loss={self.loss!r}, "
            f"cost={self.cost:.{self.precision}f})"
        )

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()


def _resolve(trace: Trace, notation: str | None, precision: int | None) -> tuple[str, int]:
    return (
        trace.notation if notation is None else check_notation(notation),
        trace.precision if precision is None else check_precision(precision),
    )


def check_notation(notation: Any) -> str:
    """``notation`` if it is one of :data:`NOTATIONS`, else a clear error."""
    if notation not in NOTATIONS:
        raise LayerkitValueError(
            f"notation must be 'documents' or 'layerkit'; received notation={notation!r}"
        )
    return str(notation)


def check_precision(precision: Any) -> int:
    """A number of decimals from 0 to 12."""
    precision = check_positive_int(precision, "precision", minimum=0)
    if precision > 12:
        raise LayerkitValueError(f"precision must be at most 12; received precision={precision}")
    return precision


# ---------------------------------------------------------------------- computation
def explain(
    net: Network,
    x: Any,
    y: Any,
    *,
    learning_rate: float | None = None,
    notation: str = "documents",
    precision: int = 4,
) -> Trace:
    """Show the working: every number of one forward and backward pass, for teaching.

    For each layer: its input ``a^(l-1)``, ``W``, ``b``, ``z``, ``a = f(z)``, the error
    ``delta = dc/dz`` with its chain rule, ``dJ/dW``, ``dJ/db`` and ``dJ/da^(l-1)``; with a
    learning rate, the updated ``W`` and ``b``. For the network: the cost, its per-output
    terms and the L2 term. The output error is

    .. math:: \\delta^{(L)} = \\frac{\\partial c}{\\partial a^{(L)}} \\odot f'(z^{(L)}),
              \\quad\\text{or}\\quad \\delta^{(L)} = a^{(L)} - y

    for softmax with categorical cross-entropy and sigmoid with binary cross-entropy
    (seed 002, Lemmas 1 and 2), and a hidden layer's is
    :math:`\\delta^{(l)} = (W^{(l+1)})^T \\delta^{(l+1)} \\odot f'(z^{(l)})` (documents'
    notation, where ``W^(l)`` has one row per unit: layerkit's ``W.T``).

    The numbers come from the network's own layers and objective (as
    :meth:`Network.backprop` computes them for training, penalty included), so a
    user-written layer is traced too: its input, parameters, output, gradients and
    ``dJ/dx``. The network is left exactly as it was: parameters, gradients and flags.

    Parameters
    ----------
    net : Network
    x : array_like
        One sample ``(n_in,)`` or a small batch ``(m, n_in)``, ``m <= 32``.
    y : array_like
        Its target(s), in any form the network's loss accepts (values, one-hot rows or
        class labels).
    learning_rate : float, optional
        ``eta > 0``: also show one step of plain gradient descent,
        ``theta <- theta - eta dJ/dtheta`` (the step ``net.train(x, y, optimizer="sgd",
        learning_rate=eta, batch_size=m, epochs=1)`` takes). The network is not changed.
    notation : {"documents", "layerkit"}, default "documents"
        The renderers' default: the documents' column vectors with ``W^(l)`` one row per
        unit, or layerkit's batch rows ``z = a W + b``.
    precision : int, default 4
        The renderers' default number of decimals.

    Returns
    -------
    Trace

    Examples
    --------
    >>> import layerkit as lk
    >>> net = lk.Network([lk.Input(1), lk.Dense(1, "sigmoid")], loss="sum_of_squares",
    ...                  dtype="float64", seed=0)
    >>> net.set_weights([[[0.15]], [0.38]])
    >>> trace = lk.explain(net, [0.8], [1.0], learning_rate=0.05)
    >>> round(float(trace.layers[0].updated["W"][0, 0]), 4)
    0.1571
    """
    if not isinstance(net, Network):
        raise LayerkitTypeError(f"net must be a layerkit Network; received {type(net).__name__}")
    notation = check_notation(notation)
    precision = check_precision(precision)
    if learning_rate is not None:
        learning_rate = check_real(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    X, target = _check_sample(net, x, y)

    layers = net.layers[1:]
    saved_grads = [{k: g.copy() for k, g in layer.grads.items()} for layer in layers]
    saved_flags = [layer.needs_input_grad for layer in layers]
    try:
        # as every public call: an overflow shows as inf in the trace, not as a warning
        with np.errstate(**_QUIET):
            forward = _forward(layers, X)
            cost = float(net.backprop(X, target))
            grads = [{k: g.copy() for k, g in layer.grads.items()} for layer in layers]
            backward = _backward(net, layers, forward, target)
    finally:
        for layer, kept, flag in zip(layers, saved_grads, saved_flags, strict=True):
            for key, value in kept.items():
                if key in layer.grads:
                    np.copyto(layer.grads[key], value)
            layer.needs_input_grad = flag

    output = forward[-1]["a"]
    fused = net.fused_output_error
    with np.errstate(**_QUIET):
        logits = forward[-1]["z"] if fused else None
        sample_costs, cost_terms = _sample_costs(net, output, target, logits)
    penalty_term = float(net.penalty_value())

    traces = []
    for i, (layer, fwd, bwd, grad) in enumerate(
        zip(layers, forward, backward, grads, strict=True), start=2
    ):
        penalized = tuple(layer.penalized_params)
        lam = net.penalty_for(layer, penalized[0]) if penalized else 0.0
        trainable = bool(getattr(layer, "trainable", True))
        if not trainable:
            grad = {}  # training computes no gradient for a frozen layer, and changes nothing
        updated = None
        if learning_rate is not None:
            with np.errstate(**_QUIET):
                updated = {
                    k: v - learning_rate * grad[k] if trainable else v.copy()
                    for k, v in fwd["params"].items()
                }
        traces.append(
            LayerTrace(
                number=i,
                name=layer.name,
                kind=type(layer).__name__,
                activation=fwd["activation"],
                a_prev=fwd["a_prev"],
                params=fwd["params"],
                z=fwd["z"],
                a=fwd["a"],
                f_prime=fwd["f_prime"],
                dc_da=bwd["dc_da"],
                delta=bwd["delta"],
                delta_rule=bwd["rule"],
                grads=grad,
                penalty=lam,
                penalized=penalized,
                dc_da_prev=bwd["dc_da_prev"],
                dJ_da_prev=bwd["dJ_da_prev"],
                updated=updated,
                dense=fwd["dense"],
                trainable=trainable,
            )
        )
    return Trace(
        x=X.copy(),
        y=target.copy(),
        output=output,
        layers=traces,
        loss=net.loss_fn.name,
        fused=fused,
        cost=cost,
        data_cost=cost - penalty_term,
        penalty_term=penalty_term,
        sample_costs=sample_costs,
        cost_terms=cost_terms,
        learning_rate=learning_rate,
        notation=notation,
        precision=precision,
        network_name=net.name,
        loss_family=loss_family(net.loss_fn),
        from_logits=bool(getattr(net.loss_fn, "from_logits", False)),
    )


def _check_sample(net: Network, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(X, target)`` as the network computes with them; one sample may come unbatched."""
    array = as_numeric_array(x, "x")
    single = array.shape == tuple(net.input_shape)
    if single:
        array = array[None]
    X = net.prepare_inputs(array, "x")
    if X.shape[0] > MAX_SAMPLES:
        raise LayerkitValueError(
            f"x must hold at most {MAX_SAMPLES} samples for a worked example; received "
            f"{X.shape[0]} (explain one sample or a small batch)"
        )
    k = net.output_shape[0]
    labels = as_numeric_array(y, "y")
    if single and (labels.ndim == 0 or (labels.ndim == 1 and labels.shape[0] == k and k > 1)):
        labels = labels.reshape(1, -1) if labels.ndim == 1 else labels.reshape(1)
    target = net.prepare_targets(labels, "y")
    check_n_samples(X, target, "x", "y")
    return np.array(X, copy=True), target


def _forward(layers: list[Any], X: np.ndarray) -> list[dict[str, Any]]:
    """Run each layer and copy what it saw and returned (its arrays are reused buffers)."""
    records = []
    a_prev = X
    for layer in layers:
        activation = getattr(layer, "activation", None)
        dense = isinstance(layer, Dense) and type(layer).forward is Dense.forward
        plain_activation = (
            isinstance(layer, Activation) and type(layer).forward is Activation.forward
        )
        params = {k: v.copy() for k, v in layer.params.items()}
        z = None
        if dense:
            # z from the public parameters, before the forward: ReLU overwrites z with a
            # inside Dense, so the layer's own z may already be a
            z = a_prev @ params["W"]
            if "b" in params:
                z = z + params["b"]
        elif plain_activation:
            z = a_prev.copy()
        a = np.array(layer.forward(a_prev, training=False), copy=True)
        if z is None or not isinstance(activation, ActivationFunction):
            activation, f_prime = None, None
        else:
            f_prime = _elementwise_derivative(activation, z, a)
        records.append(
            {
                "a_prev": a_prev.copy(),
                "params": params,
                "z": z,
                "a": a,
                "activation": activation,
                "f_prime": f_prime,
                "dense": dense,
            }
        )
        a_prev = a
    return records


def _elementwise_derivative(
    activation: ActivationFunction, z: np.ndarray, a: np.ndarray
) -> np.ndarray | None:
    if activation.name == "softmax":
        return None  # its Jacobian is not diagonal: delta is the Jacobian product
    try:
        value = activation.derivative(z.copy(), a.copy())
    except NotImplementedError:
        return None
    return np.array(np.broadcast_to(value, z.shape), dtype=z.dtype)


def _backward(
    net: Network, layers: list[Any], forward: list[dict[str, Any]], target: np.ndarray
) -> list[dict[str, Any]]:
    """``delta`` and ``dc/da_prev`` of every layer, from the output back to the input.

    The layers' caches hold the forward pass that :meth:`Network.backprop` just ran on the
    same input, so ``layer.backward`` sees exactly what training sees.
    """
    m = target.shape[0]
    records: list[dict[str, Any]] = [{} for _ in layers]
    last = len(layers) - 1
    output = forward[-1]["a"]
    grad: np.ndarray | None  # dJ/da of the current layer's output (carries the 1/m)
    if net.fused_output_error:
        fwd = forward[-1]
        delta = np.asarray(net.loss_fn.fused_delta(output.copy(), target), dtype=output.dtype) * m
        if "W" in fwd["params"]:
            dJ_da_prev = (delta / m) @ fwd["params"]["W"].T
        else:
            dJ_da_prev = delta / m
        records[last] = {
            "dc_da": None,
            "delta": delta,
            "rule": "fused",
            "dc_da_prev": dJ_da_prev * m,
            "dJ_da_prev": dJ_da_prev,
        }
        grad = dJ_da_prev
        start = last - 1
    else:
        grad = np.array(net.loss_fn.gradient(output.copy(), target), copy=True)
        start = last
    for i in range(start, -1, -1):
        layer, fwd = layers[i], forward[i]
        if grad is None:
            records[i] = _unknown()
            continue
        delta, rule = None, ""
        activation = fwd["activation"]
        if activation is not None:
            # delta = dJ/dz through the activation's own backward (softmax: Jacobian product)
            dJ_dz = activation.backward(fwd["z"].copy(), fwd["a"].copy(), grad.copy())
            delta = np.array(dJ_dz, dtype=fwd["z"].dtype) * m
            if activation.name == "softmax":
                rule = "jacobian"
            else:
                rule = "output" if i == last else "hidden"
        layer.needs_input_grad = True
        back = layer.backward(grad.copy())
        dJ_da_prev = None if back is None else np.array(back, copy=True)
        records[i] = {
            "dc_da": grad * m,
            "delta": delta,
            "rule": rule,
            "dc_da_prev": None if dJ_da_prev is None else dJ_da_prev * m,
            "dJ_da_prev": dJ_da_prev,
        }
        grad = dJ_da_prev
    return records


def _unknown() -> dict[str, Any]:
    # a layer after one whose backward returned no dJ/dx: nothing reaches it
    return {"dc_da": None, "delta": None, "rule": "", "dc_da_prev": None, "dJ_da_prev": None}


def loss_family(loss: Any) -> str | None:
    """The built-in cost ``loss`` computes (its subclasses included), or ``None``."""
    for family, cls in (
        ("mse", MeanSquaredError),  # before its base class, SumOfSquares
        ("sum_of_squares", SumOfSquares),
        ("binary_crossentropy", BinaryCrossentropy),
        ("categorical_crossentropy", CategoricalCrossentropy),
    ):
        if isinstance(loss, cls):
            return family
    return None


def _sample_costs(
    net: Network, output: np.ndarray, target: np.ndarray, logits: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``c_i`` per sample and, for the built-in losses, its per-output terms.

    ``logits`` is the output pre-activation of a fused output; with ``from_logits`` the
    output itself is the logits.
    """
    loss = net.loss_fn
    from_logits = bool(getattr(loss, "from_logits", False))
    if from_logits:
        logits = output
    out = output.astype(np.float64)
    t = target.astype(np.float64)
    z = None if logits is None else logits.astype(np.float64)
    family = loss_family(loss)
    terms: np.ndarray | None = None
    if family == "mse":
        terms = (out - t) ** 2 / out.shape[1]
    elif family == "sum_of_squares":
        terms = (out - t) ** 2
    elif family == "categorical_crossentropy":
        if z is not None:
            from scipy.special import logsumexp  # imported on use: keeps import light

            log_a = z - logsumexp(z, axis=1, keepdims=True)
        else:
            log_a = np.log(np.clip(out, _EPS, 1.0))
        terms = -t * log_a
    elif family == "binary_crossentropy":
        if z is not None:
            log_a, log_1ma = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
        else:
            clipped = np.clip(out, _EPS, 1.0 - _EPS)
            log_a, log_1ma = np.log(clipped), np.log1p(-clipped)
        terms = -(t * log_a + (1.0 - t) * log_1ma)
    if from_logits:
        costs = loss.per_sample_from_logits(output.copy(), target)
    elif logits is not None:
        costs = loss.per_sample_from_logits(logits.copy(), target, output.copy())
    else:
        costs = loss.per_sample(output.copy(), target)
    return np.array(costs, dtype=np.float64), terms


_EPS = float(np.finfo(np.float64).eps)
_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}
