"""Where the k-means centroids start (paper §3.2, Figure 4).

Weight sharing (``kmeans.py``) only refines the ``k`` centroids it starts
from, so the start matters. The paper compares three initialisations:

* :func:`linear_init`, the default and the paper's best: evenly spaced on
  [min, max], so some centroids stay out in the tails where the few large
  (and most important) weights live;
* :func:`forgy_init`: ``k`` weights drawn at random, which crowd the dense
  middle of the distribution;
* :func:`density_init`: evenly spaced on the weights' CDF, which also
  follows the density.

``INITS`` maps the names ``quantize_layer`` accepts for ``init`` to them.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.quantize._checks import _as_weights


def _check_k(k):
    if not is_integer(k) or k < 1:
        raise ValueError(f"k (the number of clusters) must be a positive integer, got {k!r}")
    return int(k)


def _nonempty(w, k, name):
    if w.size == 0:
        raise ValueError(f"{name} needs at least one weight to place {k} centroids, got none")


def linear_init(weights, k):
    """Linear initialisation: ``k`` centroids evenly spaced on [min, max].

    The paper's best choice (§3.2): unlike the two density-following methods it
    keeps centroids out in the tails, where the few large weights live, and
    large weights matter most to accuracy.

    Parameters
    ----------
    weights : array_like, shape (N,)
        The surviving weights of one layer (any shape; flattened).
    k : int
        Number of clusters.

    Returns
    -------
    centroids : ndarray, shape (k,), float64
        ``centroids[0] == min(weights)``, ``centroids[-1] == max(weights)``
        (for ``k == 1``: the single centroid is ``min(weights)``).
    """
    k = _check_k(k)
    w = _as_weights(weights)
    _nonempty(w, k, "linear_init")
    return np.linspace(w.min(), w.max(), k)


def forgy_init(weights, k, rng=0):
    """Forgy (random) initialisation: ``k`` weights drawn without replacement.

    Because weights are dense around zero, Forgy centroids crowd the middle of
    the distribution and leave the tails poorly represented (paper Figure 4).

    Parameters
    ----------
    weights : array_like, shape (N,)
        The surviving weights of one layer (any shape; flattened), ``N >= k``.
    k : int
        Number of clusters.
    rng : int or numpy.random.Generator
        Seed or generator; the same seed gives the same centroids.

    Returns
    -------
    centroids : ndarray, shape (k,), float64
        ``k`` distinct members of ``weights`` (distinct positions; equal
        values can repeat), sorted ascending.
    """
    k = _check_k(k)
    w = _as_weights(weights)
    if w.size < k:
        raise ValueError(
            f"forgy_init draws k={k} weights without replacement but only {w.size} are given; "
            "use linear_init (init='linear') or fewer bits"
        )
    rng = np.random.default_rng(rng)
    return np.sort(w[rng.choice(w.size, size=k, replace=False)])


def density_init(weights, k):
    """Density-based initialisation: centroids evenly spaced on the CDF.

    The paper spaces ``k`` levels evenly on the y-axis of the weights' CDF and
    maps each back to a weight (a quantile). We use the levels
    ``(j + 1/2) / k`` for ``j = 0..k-1``: centroid ``j`` is the median of the
    ``j``-th slice of equal probability mass, so every centroid stands for
    ``1/k`` of the weights and none is spent on the single most extreme weight.

    Parameters
    ----------
    weights : array_like, shape (N,)
        The surviving weights of one layer (any shape; flattened).
    k : int
        Number of clusters.

    Returns
    -------
    centroids : ndarray, shape (k,), float64
        The quantiles of ``weights`` at levels ``(arange(k) + 0.5) / k``,
        ascending (NumPy's default linear interpolation between order
        statistics).
    """
    k = _check_k(k)
    w = _as_weights(weights)
    _nonempty(w, k, "density_init")
    return np.quantile(w, (np.arange(k) + 0.5) / k)


INITS = {"linear": linear_init, "forgy": forgy_init, "density": density_init}
