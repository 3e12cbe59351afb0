"""Sparse storage of a pruned layer: CSR/CSC and relative indexing with filler zeros.

This module implements the storage half of paper §2 ("Network pruning") of
Han, Mao and Dally, *Deep Compression* (ICLR 2016, arXiv:1510.00149).
After pruning, most weights of a layer are zero, and the paper stores only the
survivors in two steps.

1. **CSR / CSC** (:func:`to_csr`, :func:`to_csc`). The paper stores the sparse
   structure in compressed sparse row or column format, "which requires
   2a + n + 1 numbers" (a non-zeros, n rows or columns). A 2-D matrix becomes
   three arrays named as in ``scipy.sparse``: ``data`` (the a kept values),
   ``indices`` (their a column numbers for CSR, row numbers for CSC) and
   ``indptr`` (n + 1 offsets: row ``i`` owns ``data[indptr[i]:indptr[i+1]]``).

2. **Relative indexing** (:func:`relative_index`). To compress further, the
   paper stores the index *difference* instead of the absolute position, in
   8 bits for conv layers and 5 bits for fc layers. A difference too large
   for the field is bridged by a "filler zero" (its Figure 2, with 3 bits:
   "the difference exceeds 8, the largest 3-bit ... unsigned number").
   Here the whole layer is flattened row-major (``np.ravel(order="C")``; a
   conv layer's entire ``(out, in, kh, kw)`` kernel tensor in one go) and
   each stored entry gets a small ``b``-bit field instead of a position.

3. **Storage accounting** (:func:`dense_bits`, :func:`csr_bits`,
   :func:`csc_bits`, :func:`relative_index_bits`) counts bits so the
   compression rate of each format can be compared, and
   :func:`best_index_bits` picks the field width that balances wider fields
   against fewer fillers.

The relative-indexing convention used here
------------------------------------------
* An imaginary stored entry sits at position -1.
* Stored entry ``j`` at flat position ``p_j`` keeps the ``b``-bit **field**
  ``d_j = p_j - p_{j-1} - 1``: the number of zero weights skipped since the
  previous stored entry.
* A field holds ``0 .. 2**b - 1``, so the **gap** ``p_j - p_{j-1}`` can be
  ``1 .. 2**b``. That is why a 3-bit field (largest value 7) spans a gap of 8.
  The paper's phrase "exceeds 8, the largest 3-bit ... unsigned number"
  mixes the two up: 8 is the largest *gap*, 7 is the largest *stored field*.
* When the gap to the next non-zero exceeds ``2**b``, **filler** entries with
  value zero are inserted, each ``2**b`` positions after the previous stored
  entry (so each filler's field is ``2**b - 1``), until the remaining gap is
  at most ``2**b``. A gap ``g`` needs ``ceil(g / 2**b) - 1`` fillers.
* Zeros after the last non-zero are not stored: the layer's shape gives the
  length.

Worked example (the paper's Figure 2), ``b = 3`` so gaps of up to 8::

    position : 0    1    2    3    4    5  ...  12   13   14   15
    weight   : 0   3.4   0    0   0.9   0  ...   0    0    0   1.7

    stored position  :  1    4   12   15     (12 is a filler: 15 - 4 = 11 > 8)
    gap  p_j-p_{j-1} :  2    3    8    3     (the first measured from -1)
    field (3 bits)   :  1    2    7    2     (gap - 1)
    value            : 3.4  0.9   0   1.7

The paper prints the "diff" row ``1, 3, 8, 3``, position differences with the
first measured from 0. The two rows map as: the first paper diff equals the
first field (both are the first position, 1); every later paper diff is the
field plus one (it is the gap). Storing ``gap - 1`` is what lets the gap ``8`` fit in 3 bits.

Decoding is a running sum: ``positions = cumsum(fields + 1) - 1``
(:func:`positions_from_fields`). Packing the fields into bytes is
``bitpack.pack_fixed(ri.fields, ri.b)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_INDEX_BITS = 32

#: Field width for the relative index, per layer kind (paper §2).
DEFAULT_INDEX_BITS = {"fc": 5, "conv": 8}


# ---------------------------------------------------------------------------
# Input checks shared by everything below
# ---------------------------------------------------------------------------


def _check_bits(b, what="index bit width b"):
    """Return ``b`` as a Python int after checking it is an integer in 1..32."""
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {type(b).__name__}")
    if not 1 <= b <= MAX_INDEX_BITS:
        raise ValueError(f"{what} must be between 1 and {MAX_INDEX_BITS}, got {b}")
    return int(b)


def _check_value_bits(value_bits):
    """Return ``value_bits`` as a Python int after checking it is a positive integer."""
    if isinstance(value_bits, bool) or not isinstance(value_bits, (int, np.integer)):
        raise TypeError(f"value_bits must be an integer, got {type(value_bits).__name__}")
    if value_bits < 1:
        raise ValueError(f"value_bits must be at least 1, got {value_bits}")
    return int(value_bits)


def _check_weights(dense):
    """Return ``dense`` as a numeric ndarray with only finite values."""
    dense = np.asarray(dense)
    if dense.dtype.kind not in "biuf":
        raise TypeError(
            f"weights must be a numeric array (bool, int or float), got dtype {dense.dtype}"
        )
    if dense.dtype.kind == "f" and not np.isfinite(dense).all():
        raise ValueError(
            "weights contain NaN or infinite values; fix the training run (or replace them) "
            "before storing the layer"
        )
    return dense


def _check_2d(dense, fmt):
    if dense.ndim != 2:
        raise ValueError(
            f"{fmt} needs a 2-D matrix, got shape {dense.shape}; reshape a conv kernel "
            f"(out, in, kh, kw) to (out, in*kh*kw) first, or use relative_index, "
            f"which works on any shape"
        )


def _check_mask(mask, shape):
    """Return ``mask`` as a bool ndarray of the given shape."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be a bool array, got dtype {mask.dtype}; use e.g. `w != 0`")
    if mask.shape != tuple(shape):
        raise ValueError(f"mask has shape {mask.shape} but the weights have shape {tuple(shape)}")
    return mask


def _stored_mask(dense_or_mask):
    """Which positions are stored: the array itself if bool, else its non-zeros."""
    arr = _check_weights(dense_or_mask)
    return arr if arr.dtype == np.bool_ else arr != 0


def _check_shape(shape):
    """Return ``shape`` as a tuple of non-negative Python ints."""
    if isinstance(shape, np.ndarray):
        raise TypeError("shape must be a tuple of ints; for an array `w`, pass `w.shape`")
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of ints, got {type(shape).__name__}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"shape entries must be integers, got {shape!r}")
        if d < 0:
            raise ValueError(f"shape entries must be non-negative, got {shape!r}")
    return tuple(int(d) for d in dims)


def _as_index_array(x, what):
    """Return ``x`` as a 1-D int64 array of non-negative integers."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array, got shape {x.shape}")
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    if x.dtype.kind not in "ui":
        raise TypeError(f"{what} must be integers, got dtype {x.dtype}")
    if x.dtype.kind == "i" and x.min() < 0:
        raise ValueError(f"{what} must be non-negative, found {x.min()}")
    if x.dtype == np.uint64 and x.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} holds a value too large to be an index: {x.max()}")
    return x.astype(np.int64, copy=False)


# ---------------------------------------------------------------------------
# 1. CSR and CSC: absolute indices, 2a + n + 1 numbers
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CSR:
    """A matrix in compressed sparse row format (field names as in ``scipy.sparse``).

    Attributes
    ----------
    data : ndarray, shape (a,)
        The stored values, row by row, left to right.
    indices : ndarray of int64, shape (a,)
        Column of each stored value.
    indptr : ndarray of int64, shape (n_rows + 1,)
        Row ``i`` holds ``data[indptr[i]:indptr[i + 1]]``.
    shape : tuple of int
        ``(n_rows, n_cols)`` of the dense matrix.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple

    @property
    def n_numbers(self):
        """Numbers stored: ``2a + n + 1`` with ``n = n_rows`` (paper §2)."""
        return int(2 * self.data.size + self.indptr.size)

    def to_dense(self):
        """The dense matrix, shape ``self.shape``; see :func:`from_csr`."""
        return from_csr(self.data, self.indices, self.indptr, self.shape)


@dataclass(frozen=True, eq=False)
class CSC:
    """A matrix in compressed sparse column format (field names as in ``scipy.sparse``).

    Attributes
    ----------
    data : ndarray, shape (a,)
        The stored values, column by column, top to bottom.
    indices : ndarray of int64, shape (a,)
        Row of each stored value.
    indptr : ndarray of int64, shape (n_cols + 1,)
        Column ``j`` holds ``data[indptr[j]:indptr[j + 1]]``.
    shape : tuple of int
        ``(n_rows, n_cols)`` of the dense matrix.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple

    @property
    def n_numbers(self):
        """Numbers stored: ``2a + n + 1`` with ``n = n_cols`` (paper §2)."""
        return int(2 * self.data.size + self.indptr.size)

    def to_dense(self):
        """The dense matrix, shape ``self.shape``; see :func:`from_csc`."""
        return from_csc(self.data, self.indices, self.indptr, self.shape)


def _compress_rows(dense, mask):
    """Row-wise compression of a 2-D array: (data, indices, indptr)."""
    rows, cols = np.nonzero(mask)  # row-major order: sorted by row, then column
    data = dense[rows, cols]
    counts = np.bincount(rows, minlength=dense.shape[0])  # (n_rows,)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return data, cols.astype(np.int64), indptr


def to_csr(dense, mask=None):
    """Store a 2-D matrix in CSR format.

    Parameters
    ----------
    dense : array_like, shape (n_rows, n_cols)
        The (pruned) weight matrix. Must be finite.
    mask : ndarray of bool, shape (n_rows, n_cols), optional
        Which positions to store. Default ``dense != 0``.

    Returns
    -------
    CSR
        ``data`` has the dtype of ``dense``; ``2a + n_rows + 1`` numbers.
    """
    dense = _check_weights(dense)
    _check_2d(dense, "CSR")
    mask = dense != 0 if mask is None else _check_mask(mask, dense.shape)
    data, indices, indptr = _compress_rows(dense, mask)
    return CSR(data, indices, indptr, dense.shape)


def to_csc(dense, mask=None):
    """Store a 2-D matrix in CSC format: CSR of the transpose.

    Parameters
    ----------
    dense : array_like, shape (n_rows, n_cols)
        The (pruned) weight matrix. Must be finite.
    mask : ndarray of bool, shape (n_rows, n_cols), optional
        Which positions to store. Default ``dense != 0``.

    Returns
    -------
    CSC
        ``data`` has the dtype of ``dense``; ``2a + n_cols + 1`` numbers.
    """
    dense = _check_weights(dense)
    _check_2d(dense, "CSC")
    mask = dense != 0 if mask is None else _check_mask(mask, dense.shape)
    data, indices, indptr = _compress_rows(dense.T, mask.T)
    return CSC(data, indices, indptr, dense.shape)


def _expand_rows(data, indices, indptr, n_major, n_minor, fmt):
    """Inverse of :func:`_compress_rows`, checking every field: dense (n_major, n_minor)."""
    data = np.asarray(data)
    if data.ndim != 1:
        raise ValueError(f"{fmt} data must be a 1-D array, got shape {data.shape}")
    indices = _as_index_array(indices, f"{fmt} indices")
    indptr = _as_index_array(indptr, f"{fmt} indptr")
    if indptr.size != n_major + 1:
        raise ValueError(
            f"{fmt} indptr must have {n_major + 1} entries for the given shape, got {indptr.size}"
        )
    if indptr[0] != 0 or indptr[-1] != data.size or np.any(np.diff(indptr) < 0):
        raise ValueError(
            f"{fmt} indptr must start at 0, never decrease, and end at len(data) = {data.size}"
        )
    if indices.size != data.size:
        raise ValueError(
            f"{fmt} indices and data must have the same length, got {indices.size} and {data.size}"
        )
    if indices.size and indices.max() >= n_minor:
        raise ValueError(f"{fmt} index {indices.max()} is out of range for size {n_minor}")
    major = np.repeat(np.arange(n_major), np.diff(indptr))  # (a,)
    flat = major * n_minor + indices  # (a,) flat position in (n_major, n_minor)
    if np.any(np.diff(flat) <= 0):
        raise ValueError(f"{fmt} indices must be strictly increasing within each row/column")
    out = np.zeros(n_major * n_minor, dtype=data.dtype)
    out[flat] = data
    return out.reshape(n_major, n_minor)


def from_csr(data, indices, indptr, shape):
    """Rebuild the dense matrix from CSR arrays, validating them first.

    Parameters
    ----------
    data : ndarray, shape (a,)
    indices : ndarray of int, shape (a,)
        Column of each value, strictly increasing within a row.
    indptr : ndarray of int, shape (n_rows + 1,)
    shape : tuple of int
        ``(n_rows, n_cols)``.

    Returns
    -------
    ndarray, shape (n_rows, n_cols)
        Dtype of ``data``; zero where nothing is stored.
    """
    shape = _check_shape(shape)
    if len(shape) != 2:
        raise ValueError(f"CSR shape must have 2 entries, got {shape}")
    return _expand_rows(data, indices, indptr, shape[0], shape[1], "CSR")


def from_csc(data, indices, indptr, shape):
    """Rebuild the dense matrix from CSC arrays, validating them first.

    Parameters
    ----------
    data : ndarray, shape (a,)
    indices : ndarray of int, shape (a,)
        Row of each value, strictly increasing within a column.
    indptr : ndarray of int, shape (n_cols + 1,)
    shape : tuple of int
        ``(n_rows, n_cols)``.

    Returns
    -------
    ndarray, shape (n_rows, n_cols)
        Dtype of ``data``; zero where nothing is stored.
    """
    shape = _check_shape(shape)
    if len(shape) != 2:
        raise ValueError(f"CSC shape must have 2 entries, got {shape}")
    transposed = _expand_rows(data, indices, indptr, shape[1], shape[0], "CSC")
    return np.ascontiguousarray(transposed.T)


# ---------------------------------------------------------------------------
# 2. Relative indexing with filler zeros
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RelativeIndex:
    """A layer stored as relative-index fields and values (paper §2, Figure 2).

    Attributes
    ----------
    fields : ndarray of uint32, shape (m,)
        ``b``-bit field of each stored entry: zeros skipped since the previous one.
    values : ndarray, shape (m,)
        Value of each stored entry (dtype of the dense layer); 0 for fillers.
    is_filler : ndarray of bool, shape (m,)
        True where the entry is a filler zero.
    shape : tuple of int
        Shape of the dense layer.
    b : int
        Field width in bits.
    """

    fields: np.ndarray
    values: np.ndarray
    is_filler: np.ndarray
    shape: tuple
    b: int

    @property
    def n_entries(self):
        """Stored entries ``m``, fillers included."""
        return int(self.fields.size)

    @property
    def n_fillers(self):
        """Filler entries among them."""
        return int(np.count_nonzero(self.is_filler))

    def positions(self):
        """Flat position of every stored entry, ndarray of int64, shape (m,)."""
        return positions_from_fields(self.fields)

    def to_dense(self):
        """The dense layer, shape ``self.shape``; see :func:`from_relative_index`."""
        return from_relative_index(self.fields, self.values, self.shape, self.b)


def _fillers_per_gap(gaps, b):
    """Fillers needed before each gap: ``ceil(g / 2**b) - 1 == (g - 1) // 2**b`` for g >= 1."""
    return (gaps - 1) // (1 << b)


def relative_index(dense, b, mask=None):
    """Store a layer as ``b``-bit relative-index fields plus values, with filler zeros.

    The layer is flattened row-major (``np.ravel(order="C")``). An imaginary
    stored entry sits at position -1; stored entry ``j`` at flat position
    ``p_j`` gets the field ``d_j = p_j - p_{j-1} - 1`` (zeros skipped), which
    must lie in ``0 .. 2**b - 1``, so the gap ``p_j - p_{j-1}`` lies in
    ``1 .. 2**b``. A 3-bit field (max 7) therefore spans a gap of 8; the
    paper's "exceeds 8, the largest 3-bit ... unsigned number" names the
    largest gap, not the largest field. A gap ``g > 2**b`` gets
    ``ceil(g / 2**b) - 1`` fillers (value 0, field ``2**b - 1``), each
    ``2**b`` positions after the previous stored entry. Zeros after the last
    stored entry are not stored.

    Paper Figure 2: non-zeros 3.4, 0.9, 1.7 at positions 1, 4, 15 of a
    length-16 vector, ``b = 3``. The gap 15 - 4 = 11 exceeds 8, so a filler
    goes at 4 + 8 = 12::

        positions : 1    4    12   15
        fields    : 1    2    7    2
        values    : 3.4  0.9  0    1.7
        is_filler : F    F    T    F

    The paper's "diff" row 1, 3, 8, 3 counts differences with the first from
    position 0: its first entry equals the first field, every later one is
    the field plus one.

    Parameters
    ----------
    dense : array_like, any shape with ndim >= 1
        The layer (e.g. fc ``(out, in)`` or conv ``(out, in, kh, kw)``), or an
        integer matrix of cluster symbols. Must be finite.
    b : int
        Field width in bits, 1 to 32 (paper: 5 for fc, 8 for conv; see
        :func:`default_index_bits`).
    mask : ndarray of bool, same shape as ``dense``, optional
        Which positions are stored. Default ``dense != 0``. With a mask, a
        stored value may be 0 (e.g. cluster symbol 0), and values outside the
        mask are dropped.

    Returns
    -------
    RelativeIndex
        ``fields`` uint32 (m,), ``values`` (m,) of ``dense.dtype``,
        ``is_filler`` bool (m,), the shape and ``b``.

    Notes
    -----
    Pack the fields with ``bitpack.pack_fixed(ri.fields, ri.b)``.
    """
    b = _check_bits(b)
    dense = _check_weights(dense)
    if dense.ndim < 1:
        raise ValueError("relative_index needs an array with at least one dimension, got a scalar")
    mask = dense != 0 if mask is None else _check_mask(mask, dense.shape)
    flat = dense.ravel(order="C")  # (N,)
    kept = np.flatnonzero(mask.ravel(order="C"))  # (a,) sorted positions p_j
    span = 1 << b  # largest gap one field can cover

    gaps = np.diff(kept, prepend=-1)  # (a,) p_j - p_{j-1}, with p_{-1} = -1
    n_fill = _fillers_per_gap(gaps, b)  # (a,) fillers in front of each kept entry
    per_kept = n_fill + 1  # (a,) entries each kept weight brings: its fillers, then itself
    m = int(per_kept.sum())

    # Entry e belongs to kept weight owner[e] and is number rank[e] in that group.
    owner = np.repeat(np.arange(kept.size), per_kept)  # (m,)
    group_start = np.cumsum(per_kept) - per_kept  # (a,)
    rank = np.arange(m) - np.repeat(group_start, per_kept)  # (m,)
    is_filler = rank < n_fill[owner]  # (m,) fillers come first in each group

    previous = (kept - gaps)[owner]  # (m,) p_{j-1} of the owning kept weight
    positions = np.where(is_filler, previous + span * (rank + 1), kept[owner])  # (m,)
    fields = (np.diff(positions, prepend=-1) - 1).astype(np.uint32)  # (m,) each <= 2**b - 1

    values = np.zeros(m, dtype=dense.dtype)
    values[~is_filler] = flat[kept]
    return RelativeIndex(fields, values, is_filler, dense.shape, b)


def positions_from_fields(fields):
    """Flat positions of stored entries from their fields: ``cumsum(fields + 1) - 1``.

    Parameters
    ----------
    fields : array_like of int, shape (m,)
        Relative-index fields, each in ``0 .. 2**32 - 1``.

    Returns
    -------
    ndarray of int64, shape (m,)
        Strictly increasing positions, the first ``>= 0``.
    """
    fields = _as_index_array(fields, "fields")
    if fields.size and fields.max() >= 1 << MAX_INDEX_BITS:
        raise ValueError(
            f"field {fields.max()} is wider than {MAX_INDEX_BITS} bits; the data is corrupt"
        )
    return np.cumsum(fields + 1) - 1


def from_relative_index(fields, values, shape, b):
    """Rebuild a dense layer from relative-index fields and values, validating them.

    This is reached when decoding a file, so every field is checked: a
    corrupt stream raises ``ValueError`` instead of writing out of bounds.

    Parameters
    ----------
    fields : array_like of int, shape (m,)
        Each in ``0 .. 2**b - 1``.
    values : array_like, shape (m,)
        Value of each stored entry (fillers hold 0).
    shape : tuple of int
        Shape of the dense layer; the positions must all fall inside it.
        The caller decides how large a shape it trusts: ``prod(shape)``
        elements are allocated.
    b : int
        Field width in bits, 1 to 32.

    Returns
    -------
    ndarray, shape ``shape``
        Dtype of ``values``; zero everywhere nothing is stored.
    """
    b = _check_bits(b)
    shape = _check_shape(shape)
    fields = _as_index_array(fields, "fields")
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"values must be a 1-D array, got shape {values.shape}")
    if values.size != fields.size:
        raise ValueError(
            f"values and fields must have the same length, got {values.size} and {fields.size}"
        )
    if fields.size and fields.max() >= 1 << b:
        raise ValueError(
            f"field {fields.max()} does not fit in b = {b} bits (max {(1 << b) - 1}); "
            f"the data is corrupt or b is wrong"
        )
    size = math.prod(shape)
    positions = positions_from_fields(fields)  # (m,) strictly increasing
    if positions.size and positions[-1] >= size:
        raise ValueError(
            f"relative index runs past the end of the layer: last position {positions[-1]} "
            f"but shape {shape} has only {size} weights; the data is corrupt or the shape is wrong"
        )
    out = np.zeros(size, dtype=values.dtype)
    out[positions] = values
    return out.reshape(shape)


def count_fillers(mask, b):
    """Number of filler zeros relative indexing with ``b``-bit fields needs.

    ``sum over gaps g of (ceil(g / 2**b) - 1)``, with the gaps measured on the
    row-major flattened layer and the first one from position -1.

    Parameters
    ----------
    mask : array_like, any shape
        Bool mask of stored positions, or the weights themselves (non-zeros stored).
    b : int
        Field width in bits, 1 to 32.

    Returns
    -------
    int
    """
    b = _check_bits(b)
    kept = np.flatnonzero(_stored_mask(mask).ravel(order="C"))
    return int(_fillers_per_gap(np.diff(kept, prepend=-1), b).sum())


# ---------------------------------------------------------------------------
# 3. Choosing the field width
# ---------------------------------------------------------------------------


def default_index_bits(shape):
    """The paper's field width for a layer shape: 8 bits for conv, 5 for fc (§2).

    Parameters
    ----------
    shape : tuple of int
        ``(out, in)`` for a fully connected layer, ``(out, in, kh, kw)`` for conv.

    Returns
    -------
    int
        ``DEFAULT_INDEX_BITS["fc"]`` for 2-D, ``DEFAULT_INDEX_BITS["conv"]`` for 4-D.
    """
    shape = _check_shape(shape)
    if len(shape) == 2:
        return DEFAULT_INDEX_BITS["fc"]
    if len(shape) == 4:
        return DEFAULT_INDEX_BITS["conv"]
    raise ValueError(
        f"cannot tell the layer kind of shape {shape}: expected 2-D (fc) or 4-D (conv); "
        f"pass b explicitly"
    )


def best_index_bits(dense_or_mask, value_bits, candidates=range(1, 17)):
    """Field width that minimises the layer's relative-index storage.

    Total bits for width ``b`` are ``(a + fillers(b)) * (b + value_bits)``:
    a wider field costs bits on every entry but needs fewer fillers.

    Parameters
    ----------
    dense_or_mask : array_like, any shape
        Bool mask of stored positions, or the weights (non-zeros stored).
    value_bits : int
        Bits per stored value (e.g. 5 for 32 shared weights, paper §3).
    candidates : iterable of int, optional
        Widths to try, each 1 to 32. Default 1 to 16.

    Returns
    -------
    b : int
        The best width; the smallest one on a tie.
    total_bits : int
        ``relative_index_bits(dense_or_mask, b, value_bits)``.
    """
    value_bits = _check_value_bits(value_bits)
    widths = sorted({_check_bits(c, "candidate width") for c in candidates})
    if not widths:
        raise ValueError("candidates is empty; give at least one width, e.g. range(1, 17)")
    mask = _stored_mask(dense_or_mask)
    # A loop over at most 32 widths, each one vectorised over the weights.
    totals = [relative_index_bits(mask, b, value_bits) for b in widths]
    best = int(np.argmin(totals))  # first minimum: the smallest width on a tie
    return widths[best], totals[best]


# ---------------------------------------------------------------------------
# 4. Storage accounting in bits
# ---------------------------------------------------------------------------


def dense_bits(shape, value_bits=32):
    """Bits of the dense layer: ``prod(shape) * value_bits``.

    Parameters
    ----------
    shape : tuple of int
    value_bits : int, optional
        Bits per weight, default 32 (float32).

    Returns
    -------
    int
    """
    return math.prod(_check_shape(shape)) * _check_value_bits(value_bits)


def _csx_bits(dense_or_mask, value_bits, index_bits, axis, fmt):
    value_bits = _check_value_bits(value_bits)
    index_bits = _check_bits(index_bits, "index_bits")
    mask = _stored_mask(dense_or_mask)
    _check_2d(mask, fmt)
    a = int(np.count_nonzero(mask))
    n = mask.shape[axis]
    return a * value_bits + (a + n + 1) * index_bits


def csr_bits(dense_or_mask, value_bits=32, index_bits=32):
    """Bits of CSR storage: ``a * value_bits + (a + n_rows + 1) * index_bits``.

    The paper's ``2a + n + 1`` numbers: ``a`` values, ``a`` column indices and
    ``n + 1`` row pointers.

    Parameters
    ----------
    dense_or_mask : array_like, shape (n_rows, n_cols)
        Bool mask of stored positions, or the weights (non-zeros stored).
    value_bits : int, optional
        Bits per value, default 32.
    index_bits : int, optional
        Bits per column index and row pointer, 1 to 32, default 32.

    Returns
    -------
    int
    """
    return _csx_bits(dense_or_mask, value_bits, index_bits, 0, "CSR")


def csc_bits(dense_or_mask, value_bits=32, index_bits=32):
    """Bits of CSC storage: ``a * value_bits + (a + n_cols + 1) * index_bits``.

    Parameters
    ----------
    dense_or_mask : array_like, shape (n_rows, n_cols)
        Bool mask of stored positions, or the weights (non-zeros stored).
    value_bits : int, optional
        Bits per value, default 32.
    index_bits : int, optional
        Bits per row index and column pointer, 1 to 32, default 32.

    Returns
    -------
    int
    """
    return _csx_bits(dense_or_mask, value_bits, index_bits, 1, "CSC")


def relative_index_bits(dense_or_mask, b, value_bits):
    """Bits of relative-index storage: ``(a + fillers) * (b + value_bits)``.

    Every stored entry, filler or not, has one ``b``-bit field and one value.

    Parameters
    ----------
    dense_or_mask : array_like, any shape
        Bool mask of stored positions, or the weights (non-zeros stored).
    b : int
        Field width in bits, 1 to 32.
    value_bits : int
        Bits per stored value.

    Returns
    -------
    int
    """
    b = _check_bits(b)
    value_bits = _check_value_bits(value_bits)
    mask = _stored_mask(dense_or_mask)
    entries = int(np.count_nonzero(mask)) + count_fillers(mask, b)
    return entries * (b + value_bits)
