"""One module per peer; each is run as ``python -m benchmarks.peers.<name>``.

``PEERS`` maps a peer's name to the top-level module it needs (``None``: only NumPy), so
the orchestrator can tell "not installed" without importing the library itself.
"""

PEERS: dict[str, str | None] = {
    "bound": None,
    "numpy": None,
    "fused": None,
    "layerkit": "layerkit",
    "torch": "torch",
    "sklearn": "sklearn",
    "keras": "keras",
}

MODULES: dict[str, str] = {
    "bound": "bound",
    "numpy": "numpy_mlp",
    "fused": "numpy_fused",
    "layerkit": "layerkit_mlp",
    "torch": "torch_mlp",
    "sklearn": "sklearn_mlp",
    "keras": "keras_mlp",
}
