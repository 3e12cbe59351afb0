"""Trained quantization: k-means weight sharing (paper §3).

After pruning (paper §2) a layer still stores every surviving weight as a
32-bit float. Deep Compression lets many weights *share* one value: the
surviving weights of a layer are grouped into ``k = 2**bits`` clusters, each
cluster keeps one 32-bit value (its *centroid*), and each weight keeps only a
``bits``-bit *cluster index* into that small table (the *codebook*). With 6 bits
a LeNet-300-100 weight costs 6 bits instead of 32, plus a 64-entry codebook per
layer.

This module follows the paper in order:

1. **How many bits** (paper Tables 2 and 3): 6 bits in every layer of
   LeNet-300-100; 8 bits in the conv layers and 5 bits in the fc layers of
   LeNet-5 (``DEFAULT_BITS``, ``default_bits``).
2. **Where the centroids start** (paper §3.2, Figure 4): ``linear_init`` (the
   default, and the paper's best), ``forgy_init`` and ``density_init``.
3. **Weight sharing** (paper §3.1, eq. 2): per layer, 1-D k-means over the
   surviving weights ``W`` only, minimising the within-cluster sum of squares

       argmin_C  sum_{i=1..k} sum_{w in c_i} |w - c_i|^2 .

   Weights are never shared across layers. ``kmeans_1d`` is Lloyd's algorithm
   specialised to one dimension, where it can be very fast: see its docstring.
4. **The result**: a ``QuantizedLayer`` holds the codebook, the cluster index
   of every surviving weight and the pruning mask (``quantize_layer``,
   ``quantize_model_params``).
5. **Fine-tuning the centroids** (paper §3.3, eq. 3, Figure 3): during retraining the
   gradients of all weights in a cluster are summed and the sum updates the
   shared centroid; the weights are then rewritten from the codebook, so a
   layer never holds more than ``k`` distinct non-zero values
   (``SharedWeightUpdate``, ``install_shared_weights``).

Only the weight matrices (keys ending in ``"W"``) are quantized; biases stay
32-bit floats, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------
# 1. Bits per layer
# ---------------------------------------------------------------------------

MIN_BITS = 1
MAX_BITS = 16

DEFAULT_BITS = {
    # paper Table 2: LeNet-300-100, 6 bits for every fc layer
    "lenet300": {"conv": 6, "fc": 6},
    # paper Table 3: LeNet-5, 8 bits for conv layers, 5 bits for fc layers
    "lenet5": {"conv": 8, "fc": 5},
}


def _check_bits(bits):
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an integer, got {type(bits).__name__}")
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(
            f"bits must be between {MIN_BITS} and {MAX_BITS} (k = 2**bits clusters), got {bits}"
        )
    return int(bits)


def default_bits(arch, layer):
    """The paper's number of bits for one layer.

    Parameters
    ----------
    arch : {"lenet300", "lenet5"}
        The architecture.
    layer : str or tuple of int
        A layer name (``"conv1"``, ``"ip2"``, or a parameter key such as
        ``"conv1.W"``) or a weight shape: 4-D is a conv layer, 2-D an fc layer.

    Returns
    -------
    bits : int
        Bits per cluster index (``k = 2**bits`` shared weights in the layer).

    Examples
    --------
    >>> default_bits("lenet5", "conv2.W"), default_bits("lenet5", (500, 800))
    (8, 5)
    """
    table = DEFAULT_BITS.get(arch)
    if table is None:
        raise ValueError(f"unknown arch {arch!r}; expected one of {sorted(DEFAULT_BITS)}")
    if isinstance(layer, str):
        name = layer.lower()
        if name.startswith("conv"):
            return table["conv"]
        if name.startswith(("ip", "fc")):
            return table["fc"]
        raise ValueError(f"cannot tell whether layer {layer!r} is conv or fc; pass its weight shape instead")
    ndim = len(tuple(layer))
    if ndim == 4:
        return table["conv"]
    if ndim == 2:
        return table["fc"]
    raise ValueError(f"a weight shape must be 2-D (fc) or 4-D (conv), got {tuple(layer)}")


# ---------------------------------------------------------------------------
# 2. Centroid initialisation (paper §3.2, Figure 4)
# ---------------------------------------------------------------------------


def _as_weights(weights, what="weights"):
    """A 1-D float64 copy of finite, real weights (for sums that do not drift)."""
    w = np.asarray(weights)
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{what} must be real numbers, got dtype {w.dtype}")
    w = w.astype(np.float64).ravel()
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{what} contain NaN or inf; fix the training run (or clip) before quantizing")
    return w


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
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


# ---------------------------------------------------------------------------
# 3. Weight sharing: 1-D k-means (paper §3.1, eq. 2)
# ---------------------------------------------------------------------------


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
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
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


# ---------------------------------------------------------------------------
# 4. A quantized layer: codebook + cluster index + mask
# ---------------------------------------------------------------------------


def index_dtype(bits):
    """The smallest unsigned integer dtype that holds a ``bits``-bit cluster index."""
    return np.dtype(np.uint8) if _check_bits(bits) <= 8 else np.dtype(np.uint16)


@dataclass
class QuantizedLayer:
    """One weight tensor after weight sharing (paper §3, Figure 3).

    Attributes
    ----------
    codebook : ndarray, shape (k,), float32
        The shared weights (centroids), ``k = 2**bits``, in increasing order
        as ``quantize_layer`` makes them. Some entries can be unused (see
        ``quantize_layer``).
    index : ndarray, shape (n_kept,), uint8 or uint16
        Cluster index of each surviving weight, in C (row-major) order of the
        positions where ``mask`` is True; ``index_dtype(bits)``.
    mask : ndarray, shape ``shape``, bool
        True where a weight survived pruning. Pruned positions belong to no
        cluster and decode to exactly 0.0.
    shape : tuple of int
        Shape of the weight tensor, e.g. (out, in) or (out_ch, in_ch, kh, kw).
    bits : int
        Bits per cluster index, 1..16.
    """

    codebook: np.ndarray
    index: np.ndarray
    mask: np.ndarray
    shape: tuple
    bits: int

    def __post_init__(self):
        self.bits = _check_bits(self.bits)
        self.shape = tuple(int(s) for s in self.shape)
        k = 2**self.bits
        if not isinstance(self.codebook, np.ndarray) or self.codebook.dtype != np.float32:
            raise TypeError("codebook must be a float32 ndarray")
        if self.codebook.shape != (k,):
            raise ValueError(f"codebook must have shape ({k},) for bits={self.bits}, got {self.codebook.shape}")
        if not np.all(np.isfinite(self.codebook)):
            raise ValueError("codebook contains NaN or inf")
        if not isinstance(self.mask, np.ndarray) or self.mask.dtype != np.bool_:
            raise TypeError("mask must be a bool ndarray")
        if self.mask.shape != self.shape:
            raise ValueError(f"mask has shape {self.mask.shape} but the layer has shape {self.shape}")
        expected = index_dtype(self.bits)
        if not isinstance(self.index, np.ndarray) or self.index.dtype != expected or self.index.ndim != 1:
            raise TypeError(f"index must be a 1-D {expected} ndarray for bits={self.bits}")
        n_kept = int(np.count_nonzero(self.mask))
        if self.index.size != n_kept:
            raise ValueError(f"index has {self.index.size} entries but the mask keeps {n_kept} weights")
        if self.index.size and int(self.index.max()) >= k:
            raise ValueError(f"index holds {int(self.index.max())}, beyond the {k} codebook entries")

    @property
    def k(self):
        """Number of codebook entries, ``2**bits``."""
        return 2**self.bits

    @property
    def n_kept(self):
        """Number of surviving (unpruned) weights."""
        return self.index.size

    def to_dense(self):
        """The weight tensor: ``codebook[index]`` where ``mask``, exactly 0.0 elsewhere.

        Returns
        -------
        W : ndarray, shape ``shape``, float32
        """
        dense = np.zeros(self.shape, dtype=np.float32)
        dense[self.mask] = self.codebook[self.index]
        return dense

    def n_clusters_used(self):
        """How many codebook entries at least one surviving weight points to."""
        return int(np.unique(self.index).size)

    def n_distinct(self):
        """How many distinct values the surviving weights take (at most ``k``)."""
        return int(np.unique(self.codebook[np.unique(self.index)]).size)


# ---------------------------------------------------------------------------
# 5. Quantizing a layer and a model
# ---------------------------------------------------------------------------


def _check_mask(mask, W, name="mask"):
    if mask is None:
        return W != 0
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        got = f"dtype {mask.dtype}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"{name} must be a bool ndarray (True = weight kept), got {got}; use mask.astype(bool)")
    if mask.shape != W.shape:
        raise ValueError(f"{name} has shape {mask.shape} but the weights have shape {W.shape}")
    return mask


def quantize_layer(W, mask=None, bits=6, init="linear", seed=0, max_iter=300, tol=1e-4):
    """Share the surviving weights of one layer among ``2**bits`` values.

    Runs ``kmeans_1d`` over ``W[mask]`` only, from the chosen initialisation.

    Parameters
    ----------
    W : ndarray, shape (out, in) or (out_ch, in_ch, kh, kw)
        The layer's weights, finite.
    mask : ndarray of bool, same shape as W, optional
        True where a weight survived pruning. ``None`` means ``W != 0``: the
        pruning stage leaves pruned weights at exactly zero, and a zero weight
        in an unpruned layer then simply stays zero.
    bits : int
        Bits per cluster index, 1..16; ``k = 2**bits`` clusters.
    init : {"linear", "forgy", "density"}
        Centroid initialisation (paper §3.2).
    seed : int or numpy.random.Generator
        Randomness for ``init="forgy"`` (the others are deterministic).
    max_iter, tol
        Passed to ``kmeans_1d``.

    Returns
    -------
    QuantizedLayer

    Raises
    ------
    ValueError
        bits outside 1..16; NaN or inf in ``W``; mask of the wrong shape; an
        unknown ``init``; ``init="forgy"`` with fewer surviving weights than
        clusters.
    TypeError
        A mask that is not a bool array; non-numeric weights.

    Notes
    -----
    *Empty layer* (every weight pruned): returns a layer with an empty index
    and a codebook of zeros, so a fully pruned layer flows through the rest
    of the pipeline and decodes to all zeros.

    *Fewer distinct surviving weights than clusters*: allowed. Every distinct
    weight gets a centroid exactly on it (zero error); the clusters left over
    stay empty and keep their initial values in the codebook, unused by the
    index. ``n_clusters_used()`` reports how many are really used.
    """
    bits = _check_bits(bits)
    if not isinstance(W, np.ndarray):
        raise TypeError(f"W must be an ndarray, got {type(W).__name__}")
    if W.dtype.kind != "f":
        raise TypeError(f"W must be a floating-point array, got dtype {W.dtype}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or inf; fix the training run before quantizing")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {sorted(INITS)}")
    mask = _check_mask(mask, W).copy()
    k = 2**bits

    kept = W[mask]
    if kept.size == 0:
        return QuantizedLayer(np.zeros(k, np.float32), np.zeros(0, index_dtype(bits)), mask, W.shape, bits)

    if init == "forgy":
        start = forgy_init(kept, k, seed)
    else:
        start = INITS[init](kept, k)
    result = kmeans_1d(kept, start, max_iter=max_iter, tol=tol)
    # Number the clusters by centroid value (empty-cluster moves can leave them
    # out of order), so index i < j always means codebook[i] <= codebook[j].
    order = np.argsort(result.centroids, kind="stable")
    rank = np.empty(k, dtype=np.intp)
    rank[order] = np.arange(k)
    return QuantizedLayer(
        codebook=result.centroids[order],
        index=rank[result.labels].astype(index_dtype(bits)),
        mask=mask,
        shape=W.shape,
        bits=bits,
    )


def quantize_model_params(params, masks=None, bits=6, init="linear", seed=0, max_iter=300, tol=1e-4):
    """Quantize every weight matrix of a model, each layer on its own.

    Parameters
    ----------
    params : dict[str, ndarray]
        Parameter key -> array (``model.params()``). Keys ending in ``"W"``
        are quantized; biases are left alone.
    masks : dict[str, ndarray of bool], optional
        Pruning mask per weight key. A missing key (or ``masks=None``) means
        ``W != 0`` for that layer.
    bits : int or dict[str, int]
        Bits for every layer, or per weight key (every weight key must be
        present), e.g. ``{key: default_bits("lenet5", key) for key in params
        if key.endswith("W")}``.
    init : {"linear", "forgy", "density"}
        Centroid initialisation.
    seed : int or numpy.random.Generator
        One generator is made from it and used for the layers in the order of
        ``params``: the same seed and the same dict give the same result.
    max_iter, tol
        Passed to ``kmeans_1d``.

    Returns
    -------
    dict[str, QuantizedLayer]
        Weight key -> quantized layer.
    """
    masks = {} if masks is None else masks
    rng = np.random.default_rng(seed)
    quantized = {}
    for key, W in params.items():
        if not key.endswith("W"):
            continue
        if isinstance(bits, dict):
            if key not in bits:
                raise ValueError(f"bits has no entry for {key!r}; give bits for every weight key")
            layer_bits = bits[key]
        else:
            layer_bits = bits
        mask = _check_mask(masks.get(key), W, name=f"mask for {key!r}")
        quantized[key] = quantize_layer(W, mask, layer_bits, init=init, seed=rng, max_iter=max_iter, tol=tol)
    return quantized


# ---------------------------------------------------------------------------
# 6. Trained quantization: fine-tuning the shared centroids (paper §3.3)
# ---------------------------------------------------------------------------


class SharedWeightUpdate:
    """An ``SGD`` update rule that trains the codebook instead of the weights.

    Every weight in cluster ``k`` *is* the centroid ``c_k``, so by the chain
    rule the gradient of the loss with respect to ``c_k`` is the **sum** of
    the gradients of those weights (paper §3.3, eq. 3, Figure 3):

        dL/dc_k = sum_{i : I_i = k} dL/dW_i ,
        c_k    <- c_k - lr * dL/dc_k .

    The sum is one ``np.bincount`` over the cluster indices. After the update
    the layer's weights are rewritten as ``codebook[index]`` at the mask and
    0.0 elsewhere, so the layer never holds more than ``k`` distinct non-zero
    values and pruned weights stay exactly zero.

    Because the gradient is summed, not averaged, a big cluster moves faster
    than a small one: that is the true gradient of the shared value. With
    momentum, the centroids get their own momentum buffer ``opt.velocity[key
    + ":codebook"]``, shape (k,), with the optimizer's coefficient:
    ``v <- momentum * v - lr * dL/dc``, ``c <- c + v``.

    Parameters
    ----------
    layer : QuantizedLayer
        Its ``codebook`` is updated in place, so after retraining the same
        object holds the fine-tuned codebook, ready for storage.
    use_momentum : bool
        Apply the optimizer's momentum to the centroids (default True).
    """

    def __init__(self, layer, use_momentum=True):
        if not isinstance(layer, QuantizedLayer):
            raise TypeError(f"layer must be a QuantizedLayer, got {type(layer).__name__}")
        self.layer = layer
        self.use_momentum = bool(use_momentum)

    def centroid_grad(self, grad):
        """dL/dc, shape (k,), float64: the gradients summed per cluster."""
        layer = self.layer
        return np.bincount(layer.index, weights=grad[layer.mask], minlength=layer.k)

    def __call__(self, opt, key, param, grad):
        layer = self.layer
        if param.shape != layer.shape or grad.shape != layer.shape:
            raise ValueError(
                f"{key!r}: parameter {param.shape} / gradient {grad.shape} do not match "
                f"the quantized layer's shape {layer.shape}"
            )
        step = np.float32(opt.lr) * self.centroid_grad(grad).astype(np.float32)
        if self.use_momentum and opt.momentum:
            v = opt.velocity.get(key + ":codebook")
            if v is None:
                v = opt.velocity[key + ":codebook"] = np.zeros(layer.k, np.float32)
            v *= np.float32(opt.momentum)
            v -= step
            layer.codebook += v
        else:
            layer.codebook -= step
        param.fill(0)
        param[layer.mask] = layer.codebook[layer.index]


def install_shared_weights(opt, model_params, quantized, use_momentum=True):
    """Switch the quantized layers of a model to trained quantization.

    Writes each quantized layer into the model's own array (in place; the
    array is never rebound) and installs a ``SharedWeightUpdate`` for it in
    ``opt.rules``. Such a rule replaces any rule already there for the key
    (pruning's ``MaskedUpdate``): it keeps pruned weights at zero itself. The
    per-weight momentum buffer ``opt.velocity[key]`` is dropped, as those
    weights no longer move on their own.

    Parameters
    ----------
    opt : deepcompress_np.nn.optim.SGD
        The optimizer used for retraining.
    model_params : dict[str, ndarray]
        ``model.params()``: key -> the arrays the layers own.
    quantized : dict[str, QuantizedLayer]
        From ``quantize_model_params``; every key must be in ``model_params``.
    use_momentum : bool
        Momentum on the centroids (see ``SharedWeightUpdate``).

    Returns
    -------
    dict[str, SharedWeightUpdate]
        The rules installed, by key.
    """
    for key, layer in quantized.items():
        if key not in model_params:
            raise KeyError(f"quantized layer {key!r} is not a parameter of the model")
        if model_params[key].shape != layer.shape:
            raise ValueError(
                f"{key!r}: model parameter has shape {model_params[key].shape}, "
                f"quantized layer has shape {layer.shape}"
            )
    rules = {}
    for key, layer in quantized.items():
        model_params[key][...] = layer.to_dense()
        rules[key] = opt.rules[key] = SharedWeightUpdate(layer, use_momentum=use_momentum)
        opt.velocity.pop(key, None)
    return rules
