"""ONNX export of a :class:`~layerkit.Network`: one ONNX node (or a few) per layer.

========================  ==================================================================
layerkit                  ONNX (inference: what ``Network.predict`` computes)
========================  ==================================================================
Input                     the graph input ``(batch, *input_shape)``
Dense                     ``Gemm(x, W, b)`` (``MatMul`` without bias), then the activation
Activation                the activation
Dropout                   nothing: inference is the identity (inverted dropout)
Flatten                   ``Flatten(axis=1)``: ``(batch, d_1, ..., d_k) -> (batch, d_1 ... d_k)``
                          in C order, as ``numpy.reshape``
BatchNormalization        inference form, with the running statistics and predict's order of
                          operations: ``Add(Mul(Mul(Sub(x, mean), 1 / sqrt(var + eps)),
                          gamma), beta)`` (no ``Mul`` without ``scale``, no ``Add``
                          without ``center``); ONNX's ``BatchNormalization``, which ONNX
                          Runtime folds into ``x s + t``, loses up to 7e-5 in float32 when
                          a mean is large against its standard deviation
identity                  nothing
relu, sigmoid, tanh       ``Relu``, ``Sigmoid``, ``Tanh``
softmax                   ``Softmax(axis=-1)``: the last axis in every opset (before 13 the
                          input is coerced to 2-D at ``axis``, which for the last axis is
                          the same thing)
leaky_relu                ``LeakyRelu(alpha)``; float64: ``Max(z, alpha z)`` (ONNX Runtime
                          has no float64 kernel before opset 16; exact for 0 <= alpha < 1)
elu                       ``Elu(alpha)``; float64: ``Max(z, 0) + alpha (Exp(Min(z, 0)) - 1)``
                          (ONNX Runtime has no float64 ``Elu`` kernel)
tsin                      refused: it solves an implicit equation per element, which no
                          ONNX operator does
========================  ==================================================================

The loss is not part of the model: the graph computes the network's output (probabilities
for a softmax or sigmoid output, the logits for a loss with ``from_logits=True`` unless
``probabilities=True`` asks for ``predict_proba``). Layers or activations not in this table are refused with
an error naming them, before anything is written.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import activations as act
from .._validation import LayerkitTypeError, LayerkitValueError
from .._version import __version__
from ..layers import Activation, BatchNormalization, Dense, Dropout, Flatten, Input, Layer
from ..network import Network

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "exportable_layers", "to_onnx"]

#: Opset written when none is given: supported by every ONNX Runtime since 1.12.
DEFAULT_OPSET = 17
#: Oldest opset written (``Gemm`` with an optional bias needs 11).
MIN_OPSET = 11


def to_onnx(
    net: Network,
    path: str | os.PathLike[str] | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    input_name: str = "input",
    output_name: str = "output",
    probabilities: bool = False,
) -> Any:
    """Convert ``net`` to an ONNX model computing :meth:`Network.predict`, and save it.

    Parameters
    ----------
    net : Network
        A network of exportable layers (:func:`exportable_layers`), float32 or float64:
        the model's input, weights and output have the network's dtype.
    path : str or path-like, optional
        Where to write the ``.onnx`` file (``None``: only return the model).
    opset : int, default 17
        ONNX operator set version, from :data:`MIN_OPSET` (11) to the newest the installed
        ``onnx`` knows.
    input_name, output_name : str
        Names of the graph's input ``(batch, *input_shape)`` and output
        ``(batch, *output_shape)``; the batch size is free.
    probabilities : bool, default False
        Compute :meth:`Network.predict_proba` instead of ``predict``: for a loss with
        ``from_logits=True`` the model then ends with the ``Softmax`` (or ``Sigmoid``) that
        the loss applies internally; for any other loss nothing changes.

    Returns
    -------
    onnx.ModelProto
        The checked model (``onnx.checker.check_model`` with shape inference).

    Raises
    ------
    LayerkitValueError
        A layer or activation has no ONNX form (TSin, a user's layer or activation), or
        ``opset`` is out of range. Nothing is written.
    ImportError
        onnx is not installed (``pip install "layerkit[onnx]"``).

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort
    >>> import layerkit as lk
    >>> from layerkit.export import to_onnx
    >>> net = lk.Network([lk.Input(4), lk.Dense(8, "relu"), lk.Dense(3, "softmax")], seed=0)
    >>> model = to_onnx(net)
    >>> session = ort.InferenceSession(model.SerializeToString())
    >>> X = np.ones((2, 4), dtype=np.float32)
    >>> np.allclose(session.run(None, {"input": X})[0], net.predict(X), atol=1e-6)
    True
    """
    onnx = _require_onnx()
    if not isinstance(net, Network):
        raise LayerkitTypeError(
            f"to_onnx expects a layerkit Network (for a scikit-learn estimator pass its "
            f"network_); received {type(net).__name__}"
        )
    newest = onnx.defs.onnx_opset_version()
    if (
        isinstance(opset, bool)
        or not isinstance(opset, numbers.Integral)
        or not MIN_OPSET <= opset <= newest
    ):
        raise LayerkitValueError(
            f"opset must be an int from {MIN_OPSET} to {newest} (the newest this onnx "
            f"{onnx.__version__} knows); received opset={opset!r}"
        )
    for argument, name in (("input_name", input_name), ("output_name", output_name)):
        if not isinstance(name, str) or not name:
            raise LayerkitTypeError(f"{argument} must be a non-empty str; received {name!r}")
    if input_name == output_name:
        raise LayerkitValueError(f"input_name and output_name must differ; both are {input_name!r}")
    if not isinstance(probabilities, bool):
        raise LayerkitTypeError(f"probabilities must be True or False; received {probabilities!r}")
    graph = _Graph(onnx, net.dtype, int(opset))
    x = input_name
    for layer in net.layers:
        x = _converter(layer)(graph, layer, x)
    if probabilities and net.loss_fn.from_logits:
        # as Network.predict_proba: sigmoid for one unit or a binary loss, else softmax
        if net.output_shape[0] == 1 or net.loss_fn.fused_activation == "sigmoid":
            x = graph.node("Sigmoid", [x])
        else:
            x = graph.node("Softmax", [x], axis=-1)
    if x == input_name or not graph.nodes:
        x = graph.node("Identity", [x])  # the output must be a node's output
    graph.rename_output(x, output_name)
    model = graph.model(net, input_name, output_name)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        target = Path(os.fspath(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        onnx.save_model(model, str(target))
    return model


def exportable_layers() -> list[str]:
    """Class names of the layers :func:`to_onnx` converts."""
    return sorted(cls.__name__ for cls in _LAYERS)


# ---------------------------------------------------------------------------- the graph
class _Graph:
    """Nodes and initialisers of the model being built, with unique names."""

    def __init__(self, onnx: Any, dtype: np.dtype, opset: int) -> None:
        self.onnx, self.dtype, self.opset = onnx, np.dtype(dtype), opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, value: Any) -> str:
        """An initialiser of the network's dtype."""
        name = self._name(stem)
        array = np.ascontiguousarray(np.asarray(value, dtype=self.dtype))
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        out = self._name(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=out, **attributes))
        return out

    def rename_output(self, old: str, new: str) -> None:
        for node in self.nodes:
            for names in (node.input, node.output):
                renamed = [new if n == old else n for n in names]
                del names[:]
                names.extend(renamed)

    def model(self, net: Network, input_name: str, output_name: str) -> Any:
        helper = self.onnx.helper
        elem = helper.np_dtype_to_tensor_dtype(self.dtype)
        graph = helper.make_graph(
            self.nodes,
            net.name,
            [helper.make_tensor_value_info(input_name, elem, ["batch", *net.input_shape])],
            [helper.make_tensor_value_info(output_name, elem, ["batch", *net.output_shape])],
            initializer=self.initializers,
        )
        opsets = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(
            graph,
            opset_imports=opsets,
            producer_name="layerkit",
            producer_version=__version__,
            doc_string=f"layerkit network {net.name!r}, trained with loss {net.loss_fn.name!r}",
        )
        # the oldest IR version that carries this opset: older runtimes load the model too
        model.ir_version = helper.find_min_ir_version_for(opsets)
        helper.set_model_props(model, {"loss": net.loss_fn.name, "dtype": str(self.dtype)})
        return model


# ---------------------------------------------------------------------------- layers
def _input(graph: _Graph, layer: Input, x: str) -> str:
    return x


def _dense(graph: _Graph, layer: Dense, x: str) -> str:
    W = graph.const(f"{layer.name}.W", layer.params["W"])
    if "b" in layer.params:
        z = graph.node("Gemm", [x, W, graph.const(f"{layer.name}.b", layer.params["b"])])
    else:
        z = graph.node("MatMul", [x, W])
    return _activation(graph, layer.activation, z, layer.name)


def _activation_layer(graph: _Graph, layer: Activation, x: str) -> str:
    return _activation(graph, layer.activation, x, layer.name)


def _dropout(graph: _Graph, layer: Dropout, x: str) -> str:
    return x  # inverted dropout: inference is the identity


def _flatten(graph: _Graph, layer: Flatten, x: str) -> str:
    return graph.node("Flatten", [x], axis=1)  # C order, as numpy.reshape in forward()


def _batch_normalization(graph: _Graph, layer: BatchNormalization, x: str) -> str:
    # predict's own operations in its order: exact even where a mean dwarfs its spread,
    # which x * s + t (ONNX Runtime's folded BatchNormalization) is not in float32
    mean, variance = layer.state["moving_mean"], layer.state["moving_variance"]
    inv_sigma = 1.0 / np.sqrt(variance + layer.epsilon)
    x = graph.node("Sub", [x, graph.const(f"{layer.name}.moving_mean", mean)])
    x = graph.node("Mul", [x, graph.const(f"{layer.name}.inv_sigma", inv_sigma)])
    if layer.scale:
        x = graph.node("Mul", [x, graph.const(f"{layer.name}.gamma", layer.params["gamma"])])
    if layer.center:
        x = graph.node("Add", [x, graph.const(f"{layer.name}.beta", layer.params["beta"])])
    return x


_LAYERS: dict[type, Callable[[_Graph, Any, str], str]] = {
    Input: _input,
    Dense: _dense,
    Activation: _activation_layer,
    Dropout: _dropout,
    Flatten: _flatten,
    BatchNormalization: _batch_normalization,
}


def _converter(layer: Layer) -> Callable[[_Graph, Any, str], str]:
    # exact classes: a subclass may compute something else in forward()
    convert = _LAYERS.get(type(layer))
    if convert is None:
        raise LayerkitValueError(
            f"cannot export layer {layer.name!r} of class {type(layer).__name__} to ONNX; "
            f"to_onnx converts {', '.join(exportable_layers())}"
        )
    return convert


# ---------------------------------------------------------------------------- activations
def _activation(graph: _Graph, fn: act.ActivationFunction, z: str, where: str) -> str:
    kind = type(fn)
    if kind is act.Identity:
        return z
    if kind is act.ReLU:
        return graph.node("Relu", [z])
    if kind is act.Sigmoid:
        return graph.node("Sigmoid", [z])
    if kind is act.Tanh:
        return graph.node("Tanh", [z])
    if kind is act.Softmax:
        return graph.node("Softmax", [z], axis=-1)
    float64 = graph.dtype == np.float64
    if kind is act.LeakyReLU:
        if not float64:
            return graph.node("LeakyRelu", [z], alpha=fn.alpha)
        # layerkit's own formula, exact because 0 <= alpha < 1
        return graph.node("Max", [z, graph.node("Mul", [z, graph.const("alpha", fn.alpha)])])
    if kind is act.ELU:
        if not float64:
            return graph.node("Elu", [z], alpha=fn.alpha)
        zero, one = graph.const("zero", 0.0), graph.const("one", 1.0)
        negative = graph.node("Exp", [graph.node("Min", [z, zero])])
        negative = graph.node(
            "Mul", [graph.node("Sub", [negative, one]), graph.const("alpha", fn.alpha)]
        )
        return graph.node("Add", [graph.node("Max", [z, zero]), negative])
    if kind is act.TSin:
        raise LayerkitValueError(
            f"cannot export the tsin activation of layer {where!r} to ONNX: tsin solves an "
            "implicit equation per element, which no ONNX operator does; replace it (e.g. "
            "with tanh) and retrain to export"
        )
    raise LayerkitValueError(
        f"cannot export activation {fn.name!r} ({kind.__name__}) of layer {where!r} to ONNX; "
        "to_onnx converts identity, relu, leaky_relu, elu, sigmoid, tanh and softmax"
    )


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            "ONNX export needs onnx (and onnxruntime to run the model): "
            "pip install 'layerkit[onnx]'"
        ) from exc
    return onnx
