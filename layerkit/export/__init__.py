"""Export a trained network to other runtimes.

:func:`to_onnx` writes an ONNX model that ONNX Runtime (or any ONNX runtime) runs without
Python or layerkit; ``layerkit export model.npz model.onnx`` does the same from the command
line. Needs the ``onnx`` extra: ``pip install "layerkit[onnx]"`` (which also installs
``onnxruntime`` to run the model). ``import layerkit`` does not import onnx.
"""

from ._onnx import DEFAULT_OPSET, MIN_OPSET, exportable_layers, to_onnx

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "exportable_layers", "to_onnx"]
