"""``layerkit export model.npz model.onnx``: a saved network to an ONNX file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Add the ``export`` subcommand to the ``layerkit`` command's subparsers."""
    from ._onnx import DEFAULT_OPSET, MIN_OPSET

    parser = subparsers.add_parser(
        "export",
        help="export a saved model (.npz) to ONNX",
        description="Write a model saved by layerkit (lk.save, layerkit train) as an ONNX "
        "file that computes its predict(), for ONNX Runtime and other runtimes. Needs "
        "pip install 'layerkit[onnx]'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", help="a .npz file written by lk.save or layerkit train")
    parser.add_argument("output", help="the .onnx file to write")
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (>= {MIN_OPSET})"
    )
    parser.add_argument(
        "--probabilities",
        action="store_true",
        help="compute predict_proba: add the softmax/sigmoid of a from_logits loss",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load ``args.model``, write ``args.output``; print what was written. Exit status."""
    from ..io import load

    try:
        from ._onnx import _require_onnx, to_onnx

        _require_onnx()
    except ImportError as exc:  # the missing extra, said in one line
        print(f"layerkit export: error: {exc}", file=sys.stderr)
        return 2
    net = load(args.model)
    model = to_onnx(net, args.output, opset=args.opset, probabilities=args.probabilities)
    print(
        f"wrote {args.output}: {len(model.graph.node)} ONNX nodes, opset {args.opset}, "
        f"{net.dtype}, input (batch, {', '.join(map(str, net.input_shape))}) -> output "
        f"(batch, {', '.join(map(str, net.output_shape))})"
    )
    return 0
