"""A quantized layer: codebook + cluster index + mask (paper §3, Tables 2 and 3).

**How many bits** (paper Tables 2 and 3): 6 bits in every layer of
LeNet-300-100; 8 bits in the conv layers and 5 bits in the fc layers of
LeNet-5 (``DEFAULT_BITS``, :func:`default_bits`). A layer with ``bits``-bit
cluster indices shares ``k = 2**bits`` values.

**The result**: a :class:`QuantizedLayer` holds the codebook, the cluster
index of every surviving weight and the pruning mask. :func:`quantize_layer`
makes one from a layer's weights, by 1-D k-means (``kmeans.py``) from one of
the initialisations (``centroid_init.py``); :func:`quantize_model_params`
does it for every weight matrix of a model, each layer on its own.

Only the weight matrices (keys ending in ``"W"``) are quantized; biases stay
32-bit floats, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepcompress_np._validate import check_int
from deepcompress_np.quantize.centroid_init import INITS, forgy_init
from deepcompress_np.quantize.kmeans import kmeans_1d

MIN_BITS = 1
MAX_BITS = 16

DEFAULT_BITS = {
    # paper Table 2: LeNet-300-100, 6 bits for every fc layer
    "lenet300": {"conv": 6, "fc": 6},
    # paper Table 3: LeNet-5, 8 bits for conv layers, 5 bits for fc layers
    "lenet5": {"conv": 8, "fc": 5},
}


def _check_bits(bits):
    return check_int(bits, "bits", MIN_BITS, MAX_BITS, note=" (k = 2**bits clusters)")


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
