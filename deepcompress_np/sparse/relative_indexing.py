"""Relative indexing with filler zeros (paper §2, Figure 2).

To compress further than CSR / CSC (``csr.py``), the paper stores the index
*difference* instead of the absolute position, in 8 bits for conv layers and
5 bits for fc layers (§2's text; its Tables 2 and 3 use 5 bits for every
LeNet layer, conv included). A difference too large for the field is bridged by a
"filler zero" (its Figure 2, with 3 bits: "the difference exceeds 8, the
largest 3-bit ... unsigned number"). Here the whole layer is flattened
row-major (``np.ravel(order="C")``; a conv layer's entire
``(out, in, kh, kw)`` kernel tensor in one go) and each stored entry gets a
small ``b``-bit field instead of a position (:func:`relative_index`).

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

from deepcompress_np.sparse._checks import (
    MAX_INDEX_BITS,
    _as_index_array,
    _check_bits,
    _check_mask,
    _check_shape,
    _check_weights,
    _stored_mask,
)


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
    if mask is None:  # a bool layer is its own mask: no copy
        mask = dense if dense.dtype == np.bool_ else dense != 0
    else:
        mask = _check_mask(mask, dense.shape)
    flat = dense.ravel(order="C")  # (N,)
    kept = np.flatnonzero(mask.ravel(order="C"))  # (a,) sorted positions p_j
    span = 1 << b  # largest gap one field can cover

    gaps = np.diff(kept, prepend=-1)  # (a,) p_j - p_{j-1}, with p_{-1} = -1
    n_fill = _fillers_per_gap(gaps, b)  # (a,) fillers in front of each kept entry
    # Kept weight j comes after its n_fill[j] fillers: its entry number is the running
    # count of entries so far. Every other entry is a filler, whose field is 2**b - 1
    # (a whole span skipped); a kept entry's field is what its fillers left of its gap.
    slot = np.cumsum(n_fill + 1) - 1  # (a,) entry number of each kept weight
    m = int(slot[-1]) + 1 if slot.size else 0
    fields = np.full(m, span - 1, dtype=np.uint32)  # (m,)
    fields[slot] = gaps - 1 - span * n_fill  # (a,) each in 0 .. 2**b - 1
    is_filler = np.ones(m, dtype=bool)
    is_filler[slot] = False
    values = np.zeros(m, dtype=dense.dtype)
    values[slot] = flat[kept]
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
