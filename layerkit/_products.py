"""Gradients kept as the two factors of a matrix product until someone reads them.

This is layerkit's one training fast path. A Dense layer's weight gradient is one product,
``dJ/dW = x^T delta``. Plain SGD then computes ``W <- W - eta dJ/dW``: written out, that is
a product into ``grads["W"]``, then a pass that reads it and ``W`` and writes ``W``. Kept as
its factors, the same update is one BLAS ``gemm`` with ``beta = 1``
(``W <- -eta x^T delta + W``) that never writes or reads a gradient array: on the
784-by-200 first layer of the benchmark MLP, one memory pass fewer per step.

How it stays honest:

* every layer's ``grads`` is a :class:`Gradients`, a ``dict``. Reading an entry
  (``grads[k]``, ``get``, ``items``, ``values``, a copy, pickling, ...) forms a pending
  product first, so whoever reads ``grads`` gets ``dJ/dtheta``, whatever the optimiser;
* products are recorded only while the training loop has armed them
  (:meth:`Gradients.arm`), which it does only for an optimiser that applies them
  (:attr:`layerkit.Optimizer.applies_products`), and only for arrays large enough to gain;
  everywhere else :meth:`Gradients.set_product` is ``np.matmul(a, b, out=grads[key])``;
* the factors are the layers' own buffers, which the next forward pass overwrites. Any
  forward pass of the network first forms what is pending (``Network.run``); the
  training loop discards, before it gathers the next batch, the products the coming
  backward pass will replace; and it forms what is left when it ends.

User layers need none of this: they write ``grads[k]`` as the contract says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _blas

__all__ = ["Gradients", "Product", "worth_deferring"]


def worth_deferring(params: dict[str, np.ndarray]) -> bool:
    """Whether a layer has an array large enough for a deferred product to gain (below
    that, a BLAS call through ctypes costs more than the memory pass it saves)."""
    return any(p.size >= _blas.MIN_ELEMENTS for p in params.values())


class Product:
    """A gradient ``a @ b`` not yet formed; :meth:`form` writes it into ``out``."""

    __slots__ = ("a", "b", "out")

    def __init__(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        self.a, self.b, self.out = a, b, out

    def form(self) -> np.ndarray:
        return np.matmul(self.a, self.b, out=self.out)


class Gradients(dict):
    """A layer's ``grads``: parameter name to ``dJ/dtheta``, a plain ``dict`` to its readers.

    While armed by the training loop, :meth:`set_product` may record an entry as a
    :class:`Product`, which any read forms first. A pending entry is held outside the
    dict's own storage, so that ``grads[k]`` finds it missing and forms it
    (``__missing__``): the usual read stays the dict's own, at C speed. The methods that
    would see the storage without it (``len``, ``in``, iteration, ``items``, ...) form or
    count it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, Product] = {}
        self.armed = False
        self._order: tuple[str, ...] = ()  # the keys' order when armed, kept for readers

    # ------------------------------------------------------------ writers and the loop
    def set_product(self, key: str, a: np.ndarray, b: np.ndarray) -> None:
        """``grads[key] = a @ b``: formed now, or, while armed, when first read."""
        if not self.armed:  # nothing is pending then
            np.matmul(a, b, out=self[key])
            return
        product = self.pending.pop(key, None)  # the last step's, never read
        out = dict.__getitem__(self, key) if product is None else product.out
        if out.size < _blas.MIN_ELEMENTS:  # never pending: a ctypes call would cost more
            np.matmul(a, b, out=out)
            return
        if product is None:
            dict.__delitem__(self, key)
        self.pending[key] = Product(a, b, out)

    def gradient(self, key: str) -> np.ndarray | Product:
        """The entry for an optimiser: the array, or the pending :class:`Product`."""
        pending = self.pending.get(key)
        return dict.__getitem__(self, key) if pending is None else pending

    def arm(self, armed: bool) -> None:
        """Let :meth:`set_product` defer (the training loop, for an optimiser that applies
        products); disarming forms what is pending."""
        if not armed:
            self.settle()
        else:
            self._order = tuple(self)
        self.armed = armed

    def settle(self) -> None:
        """Form every pending product (before their factors' buffers are reused)."""
        if self.pending:
            for key in list(self.pending):
                self[key]

    def discard(self) -> None:
        """Forget pending products unformed (the next backward pass replaces them); their
        arrays go back to the storage as they are."""
        if self.pending:
            pending, self.pending = self.pending, {}
            for key, product in pending.items():
                self._put_back(key, product.out)

    def _put_back(self, key: str, array: np.ndarray) -> None:
        """Return ``key`` to the storage, at its place in the order readers saw."""
        dict.__setitem__(self, key, array)
        order = self._order
        if key in order:
            for later in order[order.index(key) + 1 :]:
                if dict.__contains__(self, later):
                    dict.__setitem__(self, later, dict.pop(self, later))

    # ------------------------------------------------------------ dict, forming first
    def __missing__(self, key: str) -> np.ndarray:
        product = self.pending.pop(key, None)
        if product is None:
            raise KeyError(key)
        self._put_back(key, product.out)
        return product.form()

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.pending

    def __len__(self) -> int:
        return dict.__len__(self) + len(self.pending)

    def __iter__(self) -> Iterator[str]:
        # also makes dict(grads) and {**grads} go through keys() and [], not a copy of
        # the storage
        self.settle()
        return dict.__iter__(self)

    def __reversed__(self) -> Iterator[str]:
        self.settle()
        return dict.__reversed__(self)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self.pending.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        if self.pending.pop(key, None) is None:
            dict.__delitem__(self, key)

    def keys(self) -> Any:
        self.settle()
        return dict.keys(self)

    def values(self) -> Any:
        self.settle()
        return dict.values(self)

    def items(self) -> Any:
        self.settle()
        return dict.items(self)

    def copy(self) -> dict[str, np.ndarray]:
        self.settle()
        return dict(dict.items(self))

    def pop(self, key: str, *default: Any) -> Any:
        self.settle()
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, np.ndarray]:
        self.settle()
        return dict.popitem(self)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.settle()
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.settle()
        dict.update(self, *args, **kwargs)

    def clear(self) -> None:
        self.pending.clear()
        dict.clear(self)

    def __or__(self, other: Any) -> Any:
        self.settle()
        return dict.__or__(self, other)

    def __ror__(self, other: Any) -> Any:
        self.settle()
        return dict.__ror__(self, other)

    def __ior__(self, other: Any) -> Any:
        self.settle()
        return dict.__ior__(self, other)

    def __eq__(self, other: object) -> bool:
        self.settle()
        return dict.__eq__(self, other)

    __hash__ = None

    def __repr__(self) -> str:
        self.settle()
        return dict.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled and copied formed, unarmed
        self.settle()
        return (Gradients, (dict(dict.items(self)),))
