"""A worked example as plain Python data (for JSON), in either notation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._layout import Orient
from ._trace import LayerTrace, Trace

__all__ = ["trace_dict"]


def trace_dict(trace: Trace, notation: str) -> dict[str, Any]:
    """Plain Python data of a trace in ``notation`` (full precision)."""
    o = Orient(notation)
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
