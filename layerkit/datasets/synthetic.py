"""Seeded two-dimensional classification problems, after Jones (2019), section 4.

* :func:`make_moons`: two interleaved half-circles, the two-class problem that is not
  linearly separable (section 4.1, figure 2: logistic regression reaches about 88%
  training accuracy, one hidden layer of three sigmoid units over 99%).
* :func:`make_four_groups`: four fully separable classes (section 4.2, figure 4): two
  inner groups, the upper and lower halves of a disc, inside two outer groups, the left
  and right parts of the square around it. A straight cut ``x = 1/2`` already separates
  the outer groups, so a network gets them right first; enclosing the inner groups needs
  a curved boundary and comes later in training, as the figure shows.
* :func:`make_spirals`: interleaved spiral arms, a harder non-linear problem.

Every function returns ``(X, y)``: ``X`` float32 of shape ``(n_samples, 2)``, ``y`` int64
labels ``0 .. n_classes - 1``; class sizes differ by at most one; the rows are shuffled
(so that slicing off the last rows for validation takes every class); and the same
``seed`` gives the same data.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError, fmt
from ._base import _check_int

__all__ = ["make_four_groups", "make_moons", "make_spirals"]

SeedLike = int | np.random.Generator | np.random.SeedSequence | None

# make_four_groups geometry: the unit square, and a disc of this radius at its centre.
_DISC_RADIUS = 0.4


def _rng(seed: object) -> np.random.Generator:
    if seed is None or isinstance(seed, np.random.Generator | np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
        raise LayerkitTypeError(
            "seed must be None, a non-negative int, a numpy.random.Generator or a "
            f"numpy.random.SeedSequence; got {fmt(seed)} ({type(seed).__name__})"
        )
    if seed < 0:
        raise LayerkitValueError(f"seed must be a non-negative int; got {seed}")
    return np.random.default_rng(int(seed))


def _check_noise(noise: object, argument: str = "noise") -> float:
    if isinstance(noise, bool | np.bool_) or not isinstance(noise, numbers.Real):
        raise LayerkitTypeError(
            f"{argument} must be a real number; got {fmt(noise)} ({type(noise).__name__})"
        )
    value = float(noise)
    if not math.isfinite(value) or value < 0:
        raise LayerkitValueError(f"{argument} must be finite and >= 0; got {noise}")
    return value


def _class_sizes(n_samples: int, n_classes: int) -> np.ndarray:
    sizes = np.full(n_classes, n_samples // n_classes, dtype=np.int64)
    sizes[: n_samples % n_classes] += 1
    return sizes


def _finish(
    points: np.ndarray, sizes: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise, label by class block, shuffle, and cast."""
    y = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    if noise > 0:
        points = points + rng.normal(0.0, noise, size=points.shape)
    order = rng.permutation(len(y))
    return points[order].astype(np.float32), y[order]


def make_moons(
    n_samples: int = 200, *, noise: float = 0.1, seed: SeedLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles: two classes that no straight line separates.

    Class 0 lies on the upper half of the unit circle, ``(cos t, sin t)``; class 1 on the
    lower half-circle ``(1 - cos t, 1/2 - sin t)``; ``t`` uniform in ``[0, pi]``. Each
    point then gets independent Gaussian noise of standard deviation ``noise`` on both
    coordinates. The same construction as scikit-learn's ``make_moons``, with random
    rather than evenly spaced ``t``.

    Parameters
    ----------
    n_samples : int, default 200
        Number of points, at least 2; the classes get ``n_samples // 2`` and the rest.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise; 0 gives points exactly on the curves.
    seed : None, int, numpy.random.Generator or numpy.random.SeedSequence, default None
        Randomness; an int or SeedSequence gives reproducible data, a Generator is used
        (and advanced) as it is, None draws fresh entropy.

    Returns
    -------
    X : numpy.ndarray
        float32, shape ``(n_samples, 2)``, roughly within ``[-1, 2] x [-0.5, 1]``.
    y : numpy.ndarray
        int64, shape ``(n_samples,)``, values 0 and 1, rows shuffled.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n_samples < 2`` or ``noise`` is negative or not finite.

    Examples
    --------
    >>> from layerkit.datasets import make_moons
    >>> X, y = make_moons(100, noise=0.05, seed=0)
    >>> X.shape, X.dtype, int(y.sum())
    ((100, 2), dtype('float32'), 50)
    """
    n_samples = _check_int(n_samples, "n_samples", 2)
    noise = _check_noise(noise)
    rng = _rng(seed)
    sizes = _class_sizes(n_samples, 2)
    t = rng.uniform(0.0, math.pi, size=n_samples)
    upper = t[: sizes[0]]
    lower = t[sizes[0] :]
    points = np.concatenate(
        [
            np.column_stack([np.cos(upper), np.sin(upper)]),
            np.column_stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)]),
        ]
    )
    return _finish(points, sizes, noise, rng)


def make_four_groups(
    n_samples: int = 400, *, noise: float = 0.0, seed: SeedLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Four classes in the unit square: two inner groups inside two outer groups.

    The "islands" problem of Jones (2019), section 4.2 and figure 4. A disc of radius 0.4
    sits at the centre of the unit square. Each class is drawn uniformly from its region:

    ====  =========================================================
    0     inner, upper half of the disc (``y > 1/2``)
    1     inner, lower half of the disc (``y < 1/2``)
    2     outer, right part of the square outside the disc (``x > 1/2``)
    3     outer, left part of the square outside the disc (``x < 1/2``)
    ====  =========================================================

    With ``noise = 0`` the classes are fully separable. The outer groups are the easy
    ones (the line ``x = 1/2`` separates them, and they are the only classes near the
    square's edges); separating the inner groups from them needs a boundary that bends
    round the disc, which a network learns later. (The source draws points uniformly
    over the square, which makes the classes only nearly balanced; here each class is
    sampled on its own region so that they are balanced exactly.)

    Parameters
    ----------
    n_samples : int, default 400
        Number of points, at least 4; each class gets a quarter (the first
        ``n_samples % 4`` classes one more).
    noise : float, default 0.0
        Standard deviation of Gaussian noise added to both coordinates after sampling;
        above about 0.02 the groups start to overlap at their borders.
    seed : None, int, numpy.random.Generator or numpy.random.SeedSequence, default None
        Randomness, as in :func:`make_moons`.

    Returns
    -------
    X : numpy.ndarray
        float32, shape ``(n_samples, 2)``, in ``[0, 1]^2`` when ``noise = 0``.
    y : numpy.ndarray
        int64, shape ``(n_samples,)``, values 0..3, rows shuffled.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n_samples < 4`` or ``noise`` is negative or not finite.

    Examples
    --------
    >>> from layerkit.datasets import make_four_groups
    >>> X, y = make_four_groups(400, seed=0)
    >>> [int((y == k).sum()) for k in range(4)]
    [100, 100, 100, 100]
    """
    n_samples = _check_int(n_samples, "n_samples", 4)
    noise = _check_noise(noise)
    rng = _rng(seed)
    sizes = _class_sizes(n_samples, 4)
    centre = 0.5

    def half_disc(n: int, upper: bool) -> np.ndarray:
        # Uniform over area: radius ~ R sqrt(U), angle uniform over the half.
        r = _DISC_RADIUS * np.sqrt(rng.uniform(0.0, 1.0, n))
        a = rng.uniform(0.0, math.pi, n) + (0.0 if upper else math.pi)
        return np.column_stack([centre + r * np.cos(a), centre + r * np.sin(a)])

    def outer_half(n: int, right: bool) -> np.ndarray:
        # Rejection from the half square; about half of its area lies outside the disc, so
        # a few vectorised rounds suffice.
        kept = np.empty((0, 2))
        while len(kept) < n:
            batch = 2 * (n - len(kept)) + 16
            x = rng.uniform(centre, 1.0, batch) if right else rng.uniform(0.0, centre, batch)
            cand = np.column_stack([x, rng.uniform(0.0, 1.0, batch)])
            outside = np.hypot(cand[:, 0] - centre, cand[:, 1] - centre) > _DISC_RADIUS
            kept = np.concatenate([kept, cand[outside]])
        return kept[:n]

    points = np.concatenate(
        [
            half_disc(int(sizes[0]), upper=True),
            half_disc(int(sizes[1]), upper=False),
            outer_half(int(sizes[2]), right=True),
            outer_half(int(sizes[3]), right=False),
        ]
    )
    return _finish(points, sizes, noise, rng)


def make_spirals(
    n_samples: int = 300,
    *,
    n_classes: int = 2,
    noise: float = 0.05,
    turns: float = 1.0,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one arm per class, around the origin.

    A point of class ``k`` at radius ``r`` (uniform in ``(0, 1]``) sits at angle
    ``2 pi (k / n_classes + turns * r)``: the arms are the same spiral rotated by
    ``2 pi / n_classes``. Gaussian noise of standard deviation ``noise`` is then added to
    both coordinates.

    Parameters
    ----------
    n_samples : int, default 300
        Number of points, at least ``n_classes``; the classes differ in size by at most one.
    n_classes : int, default 2
        Number of arms and classes, at least 2.
    noise : float, default 0.05
        Standard deviation of the Gaussian noise.
    turns : float, default 1.0
        How many full turns each arm makes from the centre to radius 1; larger is harder.
    seed : None, int, numpy.random.Generator or numpy.random.SeedSequence, default None
        Randomness, as in :func:`make_moons`.

    Returns
    -------
    X : numpy.ndarray
        float32, shape ``(n_samples, 2)``, within the unit disc when ``noise = 0``.
    y : numpy.ndarray
        int64, shape ``(n_samples,)``, values ``0 .. n_classes - 1``, rows shuffled.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n_classes < 2``, ``n_samples < n_classes``, ``noise`` is negative, or
        ``turns`` is not positive (either not finite).

    Examples
    --------
    >>> from layerkit.datasets import make_spirals
    >>> X, y = make_spirals(300, n_classes=3, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((300, 2), [0, 1, 2])
    """
    n_classes = _check_int(n_classes, "n_classes", 2)
    n_samples = _check_int(n_samples, "n_samples", n_classes)
    noise = _check_noise(noise)
    if isinstance(turns, bool | np.bool_) or not isinstance(turns, numbers.Real):
        raise LayerkitTypeError(
            f"turns must be a real number; got {fmt(turns)} ({type(turns).__name__})"
        )
    turns_value = float(turns)
    if not math.isfinite(turns_value) or turns_value <= 0:
        raise LayerkitValueError(f"turns must be finite and > 0; got {turns}")
    rng = _rng(seed)
    sizes = _class_sizes(n_samples, n_classes)
    k = np.repeat(np.arange(n_classes), sizes)
    # 1 - U lies in (0, 1]: no point exactly at the centre, where all arms meet.
    r = 1.0 - rng.uniform(0.0, 1.0, n_samples)
    angle = 2.0 * math.pi * (k / n_classes + turns_value * r)
    points = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    return _finish(points, sizes, noise, rng)
