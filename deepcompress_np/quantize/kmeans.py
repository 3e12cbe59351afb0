"""Weight sharing: 1-D k-means within one layer (paper §3.1, eq. 2).

Per layer, the surviving weights ``W`` are grouped into ``k`` clusters by
1-D k-means, minimising the within-cluster sum of squares

    argmin_C  sum_{i=1..k} sum_{w in c_i} |w - c_i|^2 .

Weights are never shared across layers. :func:`kmeans_1d` is Lloyd's
algorithm specialised to one dimension, where it can be very fast: see its
docstring. It starts from the centroids of one of the initialisations in
``centroid_init.py`` and returns a :class:`KMeansResult`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.quantize._checks import _as_weights


@dataclass
class KMeansResult:
    """The outcome of ``kmeans_1d``.

    Attributes
    ----------
    centroids : ndarray, shape (k,), float32
        Final centroids, in the order of the initial centroids given.
    labels : ndarray, shape (N,), intp
        Cluster of each weight, in the order of the weights given.
    inertia : float
        Within-cluster sum of squares ``sum_n (w_n - centroids[labels[n]])**2``
        (paper eq. 2), computed in float64 with the float64 centroids.
    n_iter : int
        Lloyd iterations run (one assignment and one update each).
    """

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


def _assign_sorted(w_sorted, centroids):
    """Assignment step on sorted weights: cluster boundaries, not labels.

    With the centroids sorted, the nearest-centroid regions are intervals cut at
    the midpoints between neighbouring centroids, so the sorted weights fall into
    consecutive runs. ``bounds[j]:bounds[j+1]`` is the run of the ``j``-th
    smallest centroid ``order[j]``. A weight exactly on a midpoint goes to the
    larger centroid. Costs O(k log N): one binary search per midpoint.
    """
    order = np.argsort(centroids, kind="stable")
    c_sorted = centroids[order]
    midpoints = (c_sorted[:-1] + c_sorted[1:]) / 2
    bounds = np.concatenate(([0], np.searchsorted(w_sorted, midpoints, side="left"), [w_sorted.size]))
    return order, bounds, midpoints


def _runs(order, bounds):
    """The labels of the sorted weights, run-length encoded: (cluster ids, lengths)."""
    counts = np.diff(bounds)
    used = counts > 0
    return order[used], counts[used]


def _relocate_empty(w_sorted, centroids, order, bounds, sums, counts):
    """Give each empty cluster the weight farthest from its own centroid.

    An empty cluster is a wasted codebook entry. Like scikit-learn, we move it
    onto the weight that is currently served worst (largest distance to its
    centroid), which lowers eq. 2: that weight's error drops to zero and its
    old cluster loses a point it fitted badly. Only weights at a positive
    distance are used; if there are none (all weights already sit on a
    centroid, e.g. fewer distinct weights than clusters), the remaining empty
    clusters keep their position. Ties go to the smaller weight.
    Changes ``sums`` and ``counts`` in place; returns how many moved.
    """
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0:
        return 0
    labels_sorted = np.repeat(order, np.diff(bounds))
    distance = np.abs(w_sorted - centroids[labels_sorted])
    # the empty.size largest distances: an O(N) partition finds the cut-off,
    # then only the few weights at or above it are sorted
    n = min(empty.size, w_sorted.size)
    cutoff = np.partition(distance, w_sorted.size - n)[w_sorted.size - n]
    candidates = np.flatnonzero((distance >= cutoff) & (distance > 0))
    farthest = candidates[np.argsort(-distance[candidates], kind="stable")][:n]
    for cluster, point in zip(empty, farthest):
        donor = labels_sorted[point]
        sums[donor] -= w_sorted[point]
        counts[donor] -= 1
        sums[cluster] = w_sorted[point]
        counts[cluster] = 1
    return farthest.size


def kmeans_1d(weights, centroids, max_iter=300, tol=1e-4):
    """Lloyd's k-means in one dimension, sorting the weights only once.

    Lloyd's algorithm alternates two steps until nothing changes: *assign*
    each weight to its nearest centroid, then *update* each centroid to the
    mean of its weights. Each step can only lower eq. 2. In 1-D both steps are
    cheap once the weights are sorted (O(N log N), done once):

    * assign: the sorted weights split into runs at the midpoints between
      sorted centroids -- ``k - 1`` binary searches, no N x k distance matrix;
    * update: with the cumulative sums ``S`` of the sorted weights, the sum of
      a run ``a:b`` is ``S[b] - S[a]`` -- O(k) per iteration.

    So an iteration costs O(k log N) instead of O(N k); the O(N) passes are
    the initial sort, the final labels and inertia, and the (rare) iterations
    that must refill an empty cluster. Sums are in float64.

    **Empty clusters.** A cluster can end an assignment step with no weights
    (e.g. a centroid squeezed between two others). It is then moved onto the
    weight farthest from its own centroid, as scikit-learn does, which lowers
    eq. 2 and keeps all ``k`` codebook entries useful. If every weight already
    sits exactly on a centroid (fewer distinct weights than clusters) the
    empty cluster keeps its position and stays empty.

    Parameters
    ----------
    weights : array_like, shape (N,)
        The values to cluster (any shape; flattened), finite, ``N >= 1``.
    centroids : array_like, shape (k,)
        Initial centroids, finite (see ``linear_init`` and friends). The order
        is kept: ``labels`` refer to positions in this array.
    max_iter : int
        At most this many iterations.
    tol : float
        Also stop when the centroids moved less than this in total: when
        ``sum((new - old)**2) <= tol * var(weights)``, scikit-learn's rule.
        ``tol=0`` runs until no assignment changes.

    Returns
    -------
    KMeansResult
        ``centroids`` (k,) float32, ``labels`` (N,), ``inertia``, ``n_iter``.
        The labels are the assignment to the returned centroids.
    """
    w = _as_weights(weights)
    c = _as_weights(centroids, "centroids")
    if w.size == 0:
        raise ValueError("kmeans_1d needs at least one weight, got none")
    if c.size == 0:
        raise ValueError("kmeans_1d needs at least one centroid, got none")
    if not is_integer(max_iter) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    k = c.size

    w_sorted = np.sort(w)
    cumsum = np.concatenate(([0.0], np.cumsum(w_sorted)))
    tol_abs = float(tol) * float(np.var(w))

    previous_runs = None
    for n_iter in range(1, max_iter + 1):
        # assignment step: runs of sorted weights
        order, bounds, _ = _assign_sorted(w_sorted, c)
        runs = _runs(order, bounds)
        # update step: mean of each run, from the cumulative sums
        sums = np.zeros(k)
        counts = np.zeros(k, dtype=np.int64)
        sums[order] = cumsum[bounds[1:]] - cumsum[bounds[:-1]]
        counts[order] = np.diff(bounds)
        moved = _relocate_empty(w_sorted, c, order, bounds, sums, counts)
        new_c = c.copy()
        filled = counts > 0
        new_c[filled] = sums[filled] / counts[filled]
        shift = float(np.sum((new_c - c) ** 2))
        c = new_c
        unchanged = (
            previous_runs is not None
            and not moved
            and np.array_equal(runs[0], previous_runs[0])
            and np.array_equal(runs[1], previous_runs[1])
        )
        if unchanged or shift <= tol_abs:
            break
        previous_runs = runs

    # final assignment to the final centroids, then eq. 2 in float64
    order, bounds, midpoints = _assign_sorted(w_sorted, c)
    labels = order[np.searchsorted(midpoints, w, side="right")]
    inertia = float(np.sum((w_sorted - np.repeat(c[order], np.diff(bounds))) ** 2))
    return KMeansResult(centroids=c.astype(np.float32), labels=labels, inertia=inertia, n_iter=n_iter)
