"""The layout of a worked example: its blocks (headings, paragraphs, equations).

A trace is laid out once as a list of blocks whose equations mix formula templates, numbers
and arrays, in the chosen notation; every format (:mod:`._render`) then writes the same
blocks its own way. Exercise sheets use the same layout with the computed numbers left
blank, so a question sheet and its answer sheet always match.

Formula templates name symbols in angle brackets, ``<delta:3>`` or ``<dJdp:2,W>``; each
format spells them (``δ(3)`` in text, ``\\delta^{(3)}`` in LaTeX).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import LayerkitValueError
from ._trace import LayerTrace, Trace

__all__ = ["SECTIONS", "Arr", "Block", "Num", "Orient", "Prose", "layout", "select"]

# A worked example shows its sums unit by unit only while they stay readable.
_EXPAND_FAN_IN = 6
_EXPAND_UNITS = 6
_SUBSTITUTE_SIZE = 8  # largest dimension of a matrix product written out with numbers
_COST_TERMS = 10


# ---------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Arr:
    """An array as displayed (2-D, rows x columns); ``computed`` ones are blanks in questions."""

    values: np.ndarray
    computed: bool = True


@dataclass(frozen=True)
class Num:
    value: float
    computed: bool = True
    paren: bool = False  # wrap a negative number in parentheses (in a product)


@dataclass(frozen=True)
class Prose:
    text: str


Item = str | Arr | Num | Prose


@dataclass(frozen=True)
class Block:
    kind: str  # "title", "heading", "sub" (a layer's line), "para" or "eq"
    parts: tuple[tuple[Item, ...], ...]  # eq: parts joined by "="; others: one part


def _eq(*parts: Any) -> Block:
    return Block("eq", tuple(tuple(p) if isinstance(p, list) else (p,) for p in parts))


def _para(*items: Item) -> Block:
    return Block("para", (tuple(items),))


def _heading(text: str) -> Block:
    return Block("heading", ((Prose(text),),))


class Orient:
    """Arrays in the chosen notation: the documents' columns or layerkit's rows."""

    def __init__(self, notation: str) -> None:
        self.docs = notation == "documents"

    def batch(self, array: np.ndarray, computed: bool = True) -> Arr:
        flat = np.asarray(array).reshape(array.shape[0], -1)
        return Arr(flat.T if self.docs else flat, computed)

    def weights(self, W: np.ndarray, computed: bool = False) -> Arr:
        return Arr(W.T if self.docs else W, computed)

    def bias(self, b: np.ndarray, computed: bool = False) -> Arr:
        b = np.asarray(b).reshape(-1)
        return Arr(b[:, None] if self.docs else b[None, :], computed)

    def param(self, value: np.ndarray, computed: bool = False) -> Arr:
        """A user layer's parameter, as stored (flattened to 2-D)."""
        value = np.asarray(value)
        if value.ndim == 1:
            return self.bias(value, computed)
        return Arr(value.reshape(value.shape[0], -1), computed)


_LOSS_FORMULA = {
    "sum_of_squares": ("c = <sum_j> (<a:L>_j - y_j)<sq>", "2 (<a:L> - y)"),
    "mse": ("c = <frac1k> <sum_j> (<a:L>_j - y_j)<sq>", "<frac2k> (<a:L> - y)"),
    "binary_crossentropy": (
        "c = -<sum_j> [y_j <log> <a:L>_j + (1 - y_j) <log>(1 - <a:L>_j)]",
        "-y / <a:L> + (1 - y) / (1 - <a:L>)",
    ),
    "categorical_crossentropy": ("c = -<sum_j> y_j <log> <a:L>_j", "-y / <a:L>"),
}

# with from_logits the output a(L) is the logits and the cost applies the activation itself
_LOGITS_FORMULA = {
    "binary_crossentropy": (
        "c = -<sum_j> [y_j <log> <sigma>(<a:L>_j) + (1 - y_j) <log>(1 - <sigma>(<a:L>_j))]",
        "<sigma>(<a:L>) - y",
    ),
    "categorical_crossentropy": (
        "c = -<sum_j> y_j <log> <fn:softmax>(<a:L>)_j",
        "<fn:softmax>(<a:L>) - y",
    ),
}


def _loss_formulas(trace: Trace, L: int) -> tuple[str, str]:
    """The cost ``c`` and its ``dc/da`` as templates for the output layer ``L``."""
    table = _LOGITS_FORMULA if trace.from_logits else _LOSS_FORMULA
    cost, grad = table.get(trace.loss_family or "", (f"c = <lossfn:{trace.loss}>(<a:L>, y)", ""))
    return cost.replace("<a:L>", f"<a:{L}>"), grad.replace("<a:L>", f"<a:{L}>")


_DERIVATIVE = {
    "identity": "1",
    "sigmoid": "<a:l> <odot> (1 - <a:l>)",
    "tanh": "1 - <a:l><sq>",
    "relu": "[<z:l> > 0]",
    "leaky_relu": "1 <if> <z:l> > 0 <else> <alpha>",
    "elu": "1 <if> <z:l> > 0 <else> <a:l> + <alpha>",
    "tsin": "(1 + <A> <cos> u) / (1 - <A> <cos> u), u = (<z:l> + <a:l>) / <sqrt2>",
}

_FUSED_SOURCE = {
    "softmax": "softmax output with categorical cross-entropy (seed 002, Lemma 2)",
    "sigmoid": "sigmoid output with binary cross-entropy (seed 002, Lemma 1)",
}


def layout(trace: Trace, notation: str, *, title: str | None = None) -> list[Block]:
    """The blocks of a worked example (shared by every format)."""
    # a trace of an overflowing network holds inf: its sums print as inf or nan, quietly
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _layout(trace, notation, title)


def _layout(trace: Trace, notation: str, title: str | None) -> list[Block]:
    o = Orient(notation)
    m = trace.n_samples
    L = trace.layers[-1].number
    blocks: list[Block] = [Block("title", ((Prose(title or _title(trace)),),))]
    blocks.append(_para(Prose(_network_line(trace))))
    if o.docs:
        blocks.append(
            _para(
                Prose("Documents' notation: vectors are columns"),
                Prose(" (one column per sample)" if m > 1 else ""),
                Prose("; "),
                "<W:l>",
                Prose(" has one row per unit (layerkit's W.T), so "),
                "<z:l> = <W:l> <a:l-1> + <b:l>",
                Prose("."),
            )
        )
    else:
        blocks.append(
            _para(
                Prose("layerkit's notation: one sample per row; "),
                "<W:l>",
                Prose(" has shape (inputs, units), so "),
                "<z:l> = <a:l-1> <W:l> + <b:l>",
                Prose("."),
            )
        )
    blocks.append(
        _para(
            Prose("The input is layer 1; "),
            "c",
            Prose(" is the cost of one sample, "),
            "<delta:l> = <dc>/<dd><z:l>",
            Prose(" its error, and "),
            "J = <frac1m> <sum_i> c_i" + (" + <penalty>" if _has_penalty(trace) else ""),
            Prose(f" the objective (m = {m})."),
        )
    )

    # ------------------------------------------------------------------ given
    blocks.append(_heading("Given"))
    blocks.append(_eq("<a:1> = x", o.batch(trace.x, computed=False)))
    blocks.append(_eq("y", o.batch(trace.y, computed=False)))
    for layer in trace.layers:
        for key, value in layer.params.items():
            if layer.dense and key == "W":
                blocks.append(_eq(f"<W:{layer.number}>", o.weights(value)))
            elif layer.dense and key == "b":
                blocks.append(_eq(f"<b:{layer.number}>", o.bias(value)))
            else:
                blocks.append(_eq(f"<p:{layer.number},{key}>", o.param(value)))
        if layer.penalty and layer.penalized:
            blocks.append(_eq(f"<lam:{layer.number}>", Num(layer.penalty, False)))
    if trace.learning_rate is not None:
        blocks.append(_eq("<eta>", Num(trace.learning_rate, False)))

    # ------------------------------------------------------------------ forward
    blocks.append(_heading("Forward pass"))
    for layer in trace.layers:
        blocks.extend(_forward_blocks(layer, o, m))

    # ------------------------------------------------------------------ cost
    blocks.append(_heading("Cost"))
    blocks.extend(_cost_blocks(trace, o, L))

    # ------------------------------------------------------------------ backward
    blocks.append(_heading("Backward pass"))
    for i in range(len(trace.layers) - 1, -1, -1):
        nxt = trace.layers[i + 1] if i + 1 < len(trace.layers) else None
        blocks.extend(_backward_blocks(trace, trace.layers[i], nxt, o, m))

    # ------------------------------------------------------------------ update
    if trace.learning_rate is not None:
        blocks.append(_heading(f"Update (gradient descent, learning rate {trace.learning_rate:g})"))
        eta = Num(trace.learning_rate, False)
        for layer in trace.layers:
            if not layer.trainable:
                if layer.params:
                    blocks.append(
                        _para(Prose(f"Layer {layer.number} ({layer.name}) is frozen: unchanged."))
                    )
                continue
            for key, new in (layer.updated or {}).items():
                sym, grad_sym, arr, garr, narr = _param_symbols(layer, key, o, new)
                blocks.append(
                    _eq(
                        f"{sym} <larrow> {sym} - <eta> {grad_sym}",
                        [arr, " - ", eta, " ", garr],
                        narr,
                    )
                )
    return blocks


SECTIONS = ("given", "forward", "cost", "backward", "update")
_SECTION_OF_HEADING = {
    "Given": "given",
    "Forward pass": "forward",
    "Cost": "cost",
    "Backward pass": "backward",
}


def select(blocks: list[Block], sections: Any) -> list[Block]:
    """The blocks of the named sections (all of them, title included, for ``None``)."""
    if sections is None:
        return blocks
    if isinstance(sections, str):
        sections = (sections,)
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown or not sections:
        raise LayerkitValueError(
            f"sections must name some of {SECTIONS}; received sections={tuple(sections)!r}"
        )
    chosen, current = [], "header"
    for block in blocks:
        if block.kind == "heading":
            text = block.parts[0][0].text  # type: ignore[union-attr]
            current = _SECTION_OF_HEADING.get(text, "update")
        if current in sections:
            chosen.append(block)
    return chosen


def _title(trace: Trace) -> str:
    m = trace.n_samples
    return f"Worked example: one forward and backward pass, {m} sample{'s' if m > 1 else ''}"


def _network_line(trace: Trace) -> str:
    parts = [f"Input({trace.x.shape[1]})"]
    for layer in trace.layers:
        units = layer.a.shape[1]
        detail = f"{units} unit{'s' if units > 1 else ''}" if layer.dense else layer.kind
        if layer.dense:
            detail = f"Dense, {detail}"
        if layer.activation is not None and layer.activation.name != "identity":
            detail += f", {layer.activation.name}"
        parts.append(f"{layer.name} ({detail})")
    fused = ", output error a - y" if trace.fused else ""
    return f"Network: {' -> '.join(parts)}; loss {trace.loss}{fused}."


def _has_penalty(trace: Trace) -> bool:
    return any(layer.penalty and layer.penalized for layer in trace.layers)


def _param_symbols(
    layer: LayerTrace, key: str, o: Orient, new: np.ndarray
) -> tuple[str, str, Arr, Arr, Arr]:
    """Symbol, gradient symbol and (old, gradient, new) arrays of one parameter."""
    n = layer.number
    if layer.dense and key in ("W", "b"):
        show = o.weights if key == "W" else o.bias
        return (
            f"<{key}:{n}>",
            f"<dJd{key}:{n}>",
            show(layer.params[key]),
            show(layer.grads[key], True),
            show(new, True),
        )
    return (
        f"<p:{n},{key}>",
        f"<dJdp:{n},{key}>",
        o.param(layer.params[key]),
        o.param(layer.grads[key], True),
        o.param(new, True),
    )


def _forward_blocks(layer: LayerTrace, o: Orient, m: int) -> list[Block]:
    n, p = layer.number, layer.number - 1
    prev_given = p == 1
    out: list[Block] = [_heading_small(layer)]
    a_prev = o.batch(layer.a_prev, computed=not prev_given)
    if layer.dense:
        W, b = layer.params["W"], layer.params.get("b")
        formula = (f"<W:{n}> <a:{p}>") if o.docs else (f"<a:{p}> <W:{n}>")
        if b is not None:
            formula += f" + <b:{n}>"
        parts: list[Any] = [formula]
        if max(W.shape) <= _SUBSTITUTE_SIZE and m <= 4:
            product = [o.weights(W), " ", a_prev] if o.docs else [a_prev, " ", o.weights(W)]
            if b is not None:
                product += [" + ", o.bias(b)]
            parts.append(product)
        parts.append(o.batch(layer.z))
        out.append(_eq(f"<z:{n}>", *parts))
        if m == 1 and W.shape[0] <= _EXPAND_FAN_IN and W.shape[1] <= _EXPAND_UNITS:
            for j in range(W.shape[1]):
                terms: list[Item] = []
                for k in range(W.shape[0]):
                    if k:
                        terms.append(" + ")
                    terms += [
                        Num(W[k, j], False, True),
                        " <cdot> ",
                        _num(layer.a_prev[0, k], prev_given),
                    ]
                if b is not None:
                    terms += [" + ", Num(b[j], False, True)]
                out.append(_eq(f"<zj:{n},{j + 1}>", terms, Num(layer.z[0, j])))
    elif layer.z is not None:
        out.append(_eq(f"<z:{n}> = <a:{p}>", o.batch(layer.z, computed=not prev_given)))
    if layer.activation is not None:
        out.append(_eq(f"<a:{n}> = <fn:{layer.activation.name}>(<z:{n}>)", o.batch(layer.a)))
    else:
        out.append(_eq(f"<a:{n}> = <layerfn:{layer.kind}>(<a:{p}>)", o.batch(layer.a)))
    return out


def _heading_small(layer: LayerTrace) -> Block:
    what = f"{layer.kind}, {layer.activation.name}" if layer.activation is not None else layer.kind
    return Block("sub", ((Prose(f"Layer {layer.number}: {layer.name} ({what})"),),))


def _num(value: float, given: bool) -> Num:
    return Num(float(value), computed=not given, paren=True)


def _cost_blocks(trace: Trace, o: Orient, L: int) -> list[Block]:
    out: list[Block] = []
    m = trace.n_samples
    formula = _loss_formulas(trace, L)[0]
    terms = trace.cost_terms
    k = trace.y.shape[1]
    if m == 1 and terms is not None and k <= _COST_TERMS:
        parts: list[Any] = [formula]
        if trace.loss_family in ("sum_of_squares", "mse"):
            squares: list[Item] = ["<frac1k> (" if trace.loss_family == "mse" else ""]
            for j in range(k):
                if j:
                    squares.append(" + ")
                squares += ["(", Num(trace.output[0, j]), " - ", Num(trace.y[0, j], False), ")<sq>"]
            if trace.loss_family == "mse":
                squares.append(")")
            parts.append(squares)
        sums: list[Item] = []
        for j in range(k):
            if j:
                sums.append(" + ")
            sums.append(Num(terms[0, j], paren=True))
        if trace.loss_family == "mse":
            sums = ["<frac1k> (", *sums, ")"]
        if k > 1:
            parts.append(sums)
        parts.append(Num(trace.sample_costs[0]))
        out.append(_eq(*parts))
    else:
        out.append(_eq(formula))
        out.append(_eq("c_i", Arr(trace.sample_costs[None, :])))
    data: list[Any] = ["<frac1m> <sum_i> c_i" if m > 1 else "c"]
    if trace.penalty_term:
        rhs: list[Any] = [
            data[0] + " + <penalty>",
            [Num(trace.data_cost), " + ", Num(trace.penalty_term)],
        ]
        out.append(_eq("J", *rhs, Num(trace.cost)))
    elif m > 1:
        out.append(_eq("J", data[0], Num(trace.cost)))
    else:
        out.append(_eq("J = c", Num(trace.cost)))
    return out


def _backward_blocks(
    trace: Trace, layer: LayerTrace, nxt: LayerTrace | None, o: Orient, m: int
) -> list[Block]:
    n, p = layer.number, layer.number - 1
    out: list[Block] = [_heading_small(layer)]
    if layer.delta_rule == "fused":
        name = layer.activation.name if layer.activation is not None else ""
        out.append(_para(Prose(f"Fused output error: {_FUSED_SOURCE.get(name, name)}.")))
        out.append(
            _eq(
                f"<delta:{n}> = <a:{n}> - y",
                [o.batch(layer.a), " - ", o.batch(trace.y, False)],
                o.batch(layer.delta),
            )
        )
    elif layer.delta is not None and layer.dc_da is not None:
        if nxt is None:
            grad_formula = _loss_formulas(trace, n)[1]
            parts: list[Any] = [f"<dcda:{n}>"]
            if grad_formula:
                parts.append(grad_formula)
            out.append(_eq(*parts, o.batch(layer.dc_da)))
            incoming = f"<dcda:{n}>"
        elif nxt.dense:
            incoming = (
                (f"<WT:{nxt.number}> <delta:{nxt.number}>")
                if o.docs
                else (f"<delta:{nxt.number}> <WT:{nxt.number}>")
            )
        else:
            incoming = f"<dcda:{n}>"
        if layer.delta_rule == "jacobian":
            out.append(
                _para(
                    Prose("Softmax without its cross-entropy: its Jacobian is not diagonal, "),
                    f"<dd><a:{n}>_k/<dd><z:{n}>_j = <a:{n}>_k ([k = j] - <a:{n}>_j)",
                    Prose("."),
                )
            )
            if nxt is not None:
                out.append(_eq(f"<dcda:{n}> = {incoming}", o.batch(layer.dc_da)))
            parts = [f"<delta:{n}> = <a:{n}> <odot> (g - <aT:{n}> g), g = <dcda:{n}>"]
            if m == 1:
                dot = float(layer.a[0] @ layer.dc_da[0])
                g = [
                    o.batch(layer.a),
                    " <odot> (",
                    o.batch(layer.dc_da),
                    " - ",
                    Num(dot, paren=True),
                    ")",
                ]
                parts.append(g)
            out.append(_eq(*parts, o.batch(layer.delta)))
        else:
            name = layer.activation.name if layer.activation is not None else ""
            fp = _DERIVATIVE.get(name, f"<fn:{name}>'(<z:{n}>)").replace("<a:l>", f"<a:{n}>")
            fp = fp.replace("<z:l>", f"<z:{n}>").replace("<alpha>", _alpha(layer))
            fp = fp.replace("<A>", _amplitude(layer))
            out.append(_eq(f"<fp:{n}>", fp, o.batch(layer.f_prime)))
            out.append(
                _eq(
                    f"<delta:{n}> = {incoming} <odot> <fp:{n}>",
                    [o.batch(layer.dc_da), " <odot> ", o.batch(layer.f_prime)],
                    o.batch(layer.delta),
                )
            )
    elif layer.dc_da is not None and not layer.dense:
        out.append(_eq(f"<dcda:{n}>", o.batch(layer.dc_da)))

    if not layer.trainable:
        out.append(_para(Prose("Frozen (trainable=False): training computes no gradient here.")))
    for key in layer.grads:
        out.append(_grad_block(layer, key, o, m))
    if layer.dc_da_prev is not None:
        if layer.dense:
            formula = (f"<WT:{n}> <delta:{n}>") if o.docs else (f"<delta:{n}> <WT:{n}>")
        elif layer.z is not None and layer.delta is not None:
            formula = f"<delta:{n}>"
        else:
            formula = None
        parts = [formula] if formula else []
        out.append(_eq(f"<dcda:{p}>", *parts, o.batch(layer.dc_da_prev)))
    return out


def _amplitude(layer: LayerTrace) -> str:
    amplitude = getattr(layer.activation, "A", None)
    return "A" if amplitude is None else f"{amplitude:g}"


def _alpha(layer: LayerTrace) -> str:
    alpha = getattr(layer.activation, "alpha", None)
    return "<alpha>" if alpha is None else f"{alpha:g}"


def _grad_block(layer: LayerTrace, key: str, o: Orient, m: int) -> Block:
    n, p = layer.number, layer.number - 1
    grad = layer.grads[key]
    penalty = layer.penalty_gradient(key)
    if layer.dense and key == "W":
        if o.docs:
            data = f"<delta:{n}> <aT:{p}>"
        else:
            data = f"<aT:{p}> <delta:{n}>"
        # with m > 1, delta and a are the matrices of all samples: (1/m) delta a^T sums them
        formula = ("<frac1m> " + data) if m > 1 else data
        show = o.weights
    elif layer.dense and key == "b":
        formula = f"<frac1m> <sum_i> <delta:{n}>_i" if m > 1 else f"<delta:{n}>"
        show = o.bias
    else:
        formula = None
        show = o.param
    sym = f"<dJd{key}:{n}>" if layer.dense and key in ("W", "b") else f"<dJdp:{n},{key}>"
    parts: list[Any] = []
    if penalty is not None:
        wsym = f"<W:{n}>" if layer.dense and key == "W" else f"<p:{n},{key}>"
        if formula is not None:
            parts.append(f"{formula} + <lambda> {wsym}")
        parts.append([show(grad - penalty, True), " + ", show(penalty, True)])
    elif formula is not None:
        parts.append(formula)
    parts.append(show(grad, True))
    return _eq(sym, *parts)
