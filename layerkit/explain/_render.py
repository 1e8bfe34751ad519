"""Renderers of a :class:`~layerkit.explain.Trace`: plain text, Markdown with LaTeX, HTML, JSON.

A trace is first laid out once as a list of blocks (headings, paragraphs, equations) whose
equations mix formula templates, numbers and arrays; each format then writes the same
blocks its own way. Exercise sheets use the same layout with the computed numbers left
blank, so a question sheet and its answer sheet always match.

Formula templates name symbols in angle brackets, ``<delta:3>`` or ``<dJdp:2,W>``; each format
spells them (``δ(3)`` in text, ``\\delta^{(3)}`` in LaTeX).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import LayerkitValueError
from ._trace import LayerTrace, Trace

__all__ = ["layout", "render_html", "render_markdown", "render_text", "trace_dict"]

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


class _Orient:
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
    o = _Orient(notation)
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
    layer: LayerTrace, key: str, o: _Orient, new: np.ndarray
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


def _forward_blocks(layer: LayerTrace, o: _Orient, m: int) -> list[Block]:
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


def _cost_blocks(trace: Trace, o: _Orient, L: int) -> list[Block]:
    out: list[Block] = []
    m = trace.n_samples
    formula = _LOSS_FORMULA.get(trace.loss, (f"c = <lossfn:{trace.loss}>(<a:L>, y)", ""))[0]
    formula = formula.replace("<a:L>", f"<a:{L}>")
    terms = trace.cost_terms
    k = trace.y.shape[1]
    if m == 1 and terms is not None and k <= _COST_TERMS:
        parts: list[Any] = [formula]
        if trace.loss in ("sum_of_squares", "mse"):
            squares: list[Item] = ["<frac1k> (" if trace.loss == "mse" else ""]
            for j in range(k):
                if j:
                    squares.append(" + ")
                squares += ["(", Num(trace.output[0, j]), " - ", Num(trace.y[0, j], False), ")<sq>"]
            if trace.loss == "mse":
                squares.append(")")
            parts.append(squares)
        sums: list[Item] = []
        for j in range(k):
            if j:
                sums.append(" + ")
            sums.append(Num(terms[0, j], paren=True))
        if trace.loss == "mse":
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
    trace: Trace, layer: LayerTrace, nxt: LayerTrace | None, o: _Orient, m: int
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
            grad_formula = _LOSS_FORMULA.get(trace.loss, ("", ""))[1].replace("<a:L>", f"<a:{n}>")
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
            out.append(
                _eq(
                    f"<delta:{n}> = <a:{n}> <odot> (g - <aT:{n}> g), g = {incoming}",
                    o.batch(layer.delta),
                )
            )
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


def _grad_block(layer: LayerTrace, key: str, o: _Orient, m: int) -> Block:
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


# ---------------------------------------------------------------------------- symbols
_TEXT_SYMBOLS = {
    "a": "a({})",
    "aT": "a({})ᵀ",
    "z": "z({})",
    "W": "W({})",
    "WT": "W({})ᵀ",
    "b": "b({})",
    "delta": "δ({})",
    "lam": "λ({})",
    "fp": "f'(z({}))",
    "dcda": "∂c/∂a({})",
    "dJdW": "∂J/∂W({})",
    "dJdb": "∂J/∂b({})",
    "fn": "{}",
    "layerfn": "{}",
    "lossfn": "{}",
}
_TEXT_PLAIN = {
    "odot": "⊙",
    "cdot": "·",
    "sq": "²",
    "sum_i": "Σ_i",
    "sum_j": "Σ_j",
    "frac1m": "(1/m)",
    "frac1k": "(1/k)",
    "frac2k": "(2/k)",
    "lambda": "λ",
    "eta": "η",
    "larrow": "←",
    "log": "log",
    "cos": "cos",
    "if": "if",
    "else": "else",
    "alpha": "\u03b1",  # alpha
    "sqrt2": "\u221a2",
    "dc": "∂c",
    "dd": "∂",
    "penalty": "Σ_l (λ_l/2) ‖W(l)‖²",
}
_LATEX_SYMBOLS = {
    "a": "a^{{({})}}",
    "aT": "(a^{{({})}})^\\top",
    "z": "z^{{({})}}",
    "W": "W^{{({})}}",
    "WT": "(W^{{({})}})^\\top",
    "b": "b^{{({})}}",
    "delta": "\\delta^{{({})}}",
    "lam": "\\lambda^{{({})}}",
    "fp": "f'(z^{{({})}})",
    "dcda": "\\frac{{\\partial c}}{{\\partial a^{{({})}}}}",
    "dJdW": "\\frac{{\\partial J}}{{\\partial W^{{({})}}}}",
    "dJdb": "\\frac{{\\partial J}}{{\\partial b^{{({})}}}}",
    "fn": "\\operatorname{{{}}}",
    "layerfn": "\\operatorname{{{}}}",
    "lossfn": "\\operatorname{{{}}}",
}
_LATEX_PLAIN = {
    "odot": "\\odot",
    "cdot": "\\cdot",
    "sq": "^2",
    "sum_i": "\\sum_i",
    "sum_j": "\\sum_j",
    "frac1m": "\\frac{1}{m}",
    "frac1k": "\\frac{1}{k}",
    "frac2k": "\\frac{2}{k}",
    "lambda": "\\lambda",
    "eta": "\\eta",
    "larrow": "\\leftarrow",
    "log": "\\log",
    "cos": "\\cos",
    "if": "\\text{ if }",
    "else": "\\text{ else }",
    "alpha": "\\alpha",
    "sqrt2": "\\sqrt{2}",
    "dc": "\\partial c",
    "dd": "\\partial ",
    "penalty": "\\sum_l \\frac{\\lambda_l}{2} \\lVert W^{(l)} \\rVert^2",
}
_PLACEHOLDER = re.compile(r"<(\w+)(?::([^<>]*))?>")


def _spell(template: str, latex: bool) -> str:
    symbols = _LATEX_SYMBOLS if latex else _TEXT_SYMBOLS
    plain = _LATEX_PLAIN if latex else _TEXT_PLAIN

    def one(match: re.Match[str]) -> str:
        key, arg = match.group(1), match.group(2)
        if arg is None:
            if key in plain:
                return plain[key]
            return match.group(0)
        args = arg.split(",")
        if key == "zj":
            return f"z^{{({args[0]})}}_{{{args[1]}}}" if latex else f"z({args[0]})_{args[1]}"
        if key == "p":
            name = _latex_name(args[1]) if latex else args[1]
            return f"{name}^{{({args[0]})}}" if latex else f"{name}({args[0]})"
        if key == "dJdp":
            if latex:
                return f"\\frac{{\\partial J}}{{\\partial {_latex_name(args[1])}^{{({args[0]})}}}}"
            return f"∂J/∂{args[1]}({args[0]})"
        if key in ("fn", "layerfn", "lossfn") and latex:
            return symbols[key].format(args[0].replace("_", "\\_"))
        return symbols[key].format(args[0])

    return _PLACEHOLDER.sub(one, template)


def _latex_name(name: str) -> str:
    escaped = name.replace("_", "\\_")
    return name if len(name) == 1 else "\\mathrm{" + escaped + "}"


# ---------------------------------------------------------------------------- numbers
def format_number(value: float, precision: int) -> str:
    """``precision`` decimals; scientific notation for tiny or huge magnitudes."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e7 or abs(value) < 0.5 * 10.0**-precision):
        return f"{value:.{max(precision - 1, 1)}e}"
    text = f"{value:.{precision}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def _blank(precision: int) -> str:
    return "_" * max(precision + 2, 4)


# ---------------------------------------------------------------------------- text
def _text_item(item: Item, precision: int, blank: bool) -> list[str]:
    if isinstance(item, str):
        return [_spell(item, latex=False)]
    if isinstance(item, Prose):
        return [item.text]
    if isinstance(item, Num):
        if blank and item.computed:
            return [_blank(precision)]
        text = format_number(item.value, precision)
        return [f"({text})" if item.paren and text.startswith("-") else text]
    values = item.values
    if blank and item.computed:
        cells = [[_blank(precision)] * values.shape[1] for _ in range(values.shape[0])]
    else:
        cells = [[format_number(v, precision) for v in row] for row in values]
    widths = [max(len(row[j]) for row in cells) for j in range(values.shape[1])]
    return [
        "[ " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " ]"
        for row in cells
    ]


def _hconcat(pieces: list[list[str]]) -> list[str]:
    """Side by side, each piece centred vertically on the tallest."""
    height = max(len(p) for p in pieces)
    lines = [""] * height
    for piece in pieces:
        width = max(len(s) for s in piece)
        top = (height - len(piece)) // 2
        for r in range(height):
            inner = r - top
            lines[r] += piece[inner].ljust(width) if 0 <= inner < len(piece) else " " * width
    return [line.rstrip() for line in lines]


def _text_blocks(blocks: list[Block], precision: int, blank: bool, numbered: bool) -> str:
    out: list[str] = []
    number = 0
    for block in blocks:
        if block.kind == "title":
            text = block.parts[0][0].text  # type: ignore[union-attr]
            out += [text, "=" * len(text)]
        elif block.kind == "heading":
            text = block.parts[0][0].text  # type: ignore[union-attr]
            out += ["", text, "-" * len(text)]
        elif block.kind == "sub":
            out.append(block.parts[0][0].text)  # type: ignore[union-attr]
        elif block.kind == "para":
            out.append("".join(_text_item(i, precision, blank)[0] for i in block.parts[0]))
        else:
            pieces: list[list[str]] = []
            for k, part in enumerate(block.parts):
                if k:
                    pieces.append([" = "])
                pieces.append(_hconcat([_text_item(i, precision, blank) for i in part]))
            prefix = "  "
            if numbered and _has_computed(block):
                number += 1
                prefix = f"({number}) "
            lines = _hconcat(pieces)
            out += [prefix + lines[0]] + [" " * len(prefix) + line for line in lines[1:]]
    return "\n".join(out) + "\n"


def _has_computed(block: Block) -> bool:
    return any(isinstance(i, Arr | Num) and i.computed for part in block.parts for i in part)


def render_text(trace: Trace, notation: str, precision: int, *, sections: Any = None) -> str:
    """Plain text of a worked example."""
    blocks = select(layout(trace, notation), sections)
    text = _text_blocks(blocks, precision, blank=False, numbered=False)
    return text.lstrip("\n")


# ---------------------------------------------------------------------------- LaTeX
def _latex_item(item: Item, precision: int, blank: bool) -> str:
    if isinstance(item, str):
        return _spell(item, latex=True)
    if isinstance(item, Prose):
        return f"\\text{{{item.text}}}"
    if isinstance(item, Num):
        if blank and item.computed:
            return _latex_blank(precision)
        text = format_number(item.value, precision)
        return f"({text})" if item.paren and text.startswith("-") else text
    values = item.values
    if blank and item.computed:
        rows = [" & ".join([_latex_blank(precision)] * values.shape[1]) for _ in values]
    else:
        rows = [" & ".join(format_number(v, precision) for v in row) for row in values]
    return "\\begin{bmatrix} " + " \\\\ ".join(rows) + " \\end{bmatrix}"


def _latex_blank(precision: int) -> str:
    return "\\underline{\\hphantom{" + "0" * (precision + 2) + "}}"


def _markdown_blocks(
    blocks: list[Block], precision: int, blank: bool, numbered: bool, heading_level: int = 2
) -> list[tuple[str, str]]:
    """``(kind, markdown)`` pairs: the Markdown of each block, tagged for HTML."""
    out: list[tuple[str, str]] = []
    number = 0
    for block in blocks:
        if block.kind in ("title", "heading"):
            text = block.parts[0][0].text  # type: ignore[union-attr]
            level = heading_level if block.kind == "title" else heading_level + 1
            out.append((f"h{level}", text))
        elif block.kind == "sub":
            out.append(("sub", block.parts[0][0].text))  # type: ignore[union-attr]
        elif block.kind == "para":
            pieces = []
            for item in block.parts[0]:
                if isinstance(item, Prose):
                    pieces.append(item.text)
                else:
                    pieces.append(f"${_latex_item(item, precision, blank)}$")
            out.append(("p", "".join(pieces)))
        else:
            body = " = ".join(
                "".join(_latex_item(i, precision, blank) for i in part) for part in block.parts
            )
            if numbered and _has_computed(block):
                number += 1
                body += f" \\tag{{{number}}}"
            out.append(("math", body))
    return out


def render_markdown(
    trace: Trace,
    notation: str,
    precision: int,
    *,
    title: str | None = None,
    sections: Any = None,
) -> str:
    """Markdown with LaTeX of a worked example."""
    blocks = select(layout(trace, notation, title=title), sections)
    return _join_markdown(_markdown_blocks(blocks, precision, False, False))


def _join_markdown(pairs: list[tuple[str, str]]) -> str:
    lines = []
    for kind, text in pairs:
        if kind.startswith("h"):
            lines.append("#" * int(kind[1:]) + " " + text)
        elif kind == "sub":
            lines.append(f"**{text}**")
        elif kind == "p":
            lines.append(text)
        else:
            lines.append("$$\n" + text + "\n$$")
    return "\n\n".join(lines) + "\n"


def _join_html(pairs: list[tuple[str, str]]) -> str:
    parts = ['<div class="layerkit-trace">']
    for kind, text in pairs:
        if kind.startswith("h"):
            parts.append(f"<{kind}>{html.escape(text)}</{kind}>")
        elif kind == "sub":
            parts.append(f"<p><strong>{html.escape(text)}</strong></p>")
        elif kind == "p":
            parts.append(f"<p>{html.escape(text)}</p>")
        else:
            parts.append(f"<div>$${html.escape(text)}$$</div>")
    parts.append("</div>")
    return "\n".join(parts) + "\n"


def render_html(trace: Trace, notation: str, precision: int, *, sections: Any = None) -> str:
    """HTML of the Markdown rendering; notebooks typeset its ``$$`` equations with MathJax."""
    blocks = select(layout(trace, notation), sections)
    return _join_html(_markdown_blocks(blocks, precision, False, False))


# ---------------------------------------------------------------------------- sheets
def render_sheet(
    trace: Trace, notation: str, precision: int, *, title: str, answers: bool, fmt: str
) -> str:
    """A question sheet (computed numbers blank) or its answer sheet, equations numbered."""
    blocks = layout(trace, notation, title=title)
    if fmt == "text":
        return _text_blocks(blocks, precision, blank=not answers, numbered=True)
    return _join_markdown(_markdown_blocks(blocks, precision, not answers, True))


# ---------------------------------------------------------------------------- JSON
def trace_dict(trace: Trace, notation: str) -> dict[str, Any]:
    """Plain Python data of a trace in ``notation`` (full precision)."""
    o = _Orient(notation)
    single = trace.n_samples == 1

    def vec(array: np.ndarray | None) -> Any:
        if array is None:
            return None
        shown = o.batch(array).values
        if single:
            return shown.reshape(-1).tolist()
        return shown.tolist()

    def param(layer: LayerTrace, key: str, value: np.ndarray | None) -> Any:
        if value is None:
            return None
        if layer.dense and key == "W":
            return o.weights(value).values.tolist()
        return np.asarray(value).tolist()

    layers = []
    for layer in trace.layers:
        layers.append(
            {
                "number": layer.number,
                "name": layer.name,
                "type": layer.kind,
                "activation": None if layer.activation is None else layer.activation.name,
                "a_prev": vec(layer.a_prev),
                "params": {k: param(layer, k, v) for k, v in layer.params.items()},
                "z": vec(layer.z),
                "a": vec(layer.a),
                "f_prime": vec(layer.f_prime),
                "dc_da": vec(layer.dc_da),
                "delta": vec(layer.delta),
                "delta_rule": layer.delta_rule,
                "grads": {k: param(layer, k, v) for k, v in layer.grads.items()},
                "penalty": layer.penalty,
                "dc_da_prev": vec(layer.dc_da_prev),
                "dJ_da_prev": vec(layer.dJ_da_prev),
                "updated": None
                if layer.updated is None
                else {k: param(layer, k, v) for k, v in layer.updated.items()},
            }
        )
    return {
        "notation": notation,
        "n_samples": trace.n_samples,
        "loss": trace.loss,
        "fused": trace.fused,
        "learning_rate": trace.learning_rate,
        "x": vec(trace.x),
        "y": vec(trace.y),
        "output": vec(trace.output),
        "cost": trace.cost,
        "data_cost": trace.data_cost,
        "penalty_term": trace.penalty_term,
        "sample_costs": trace.sample_costs.tolist(),
        "cost_terms": None if trace.cost_terms is None else vec(trace.cost_terms),
        "layers": layers,
    }
