"""Benchmarks: layerkit against a matrix-products bound, plain NumPy and other libraries.

Run ``python -m benchmarks.run`` from the repository root; see ``benchmarks/README.md``.
"""
