"""Storage accounting in bits, and choosing the relative-index field width (paper §2).

The paper compares formats by the bits they take. :func:`dense_bits`,
:func:`csr_bits`, :func:`csc_bits` and :func:`relative_index_bits` count them
for one layer, so the compression rate of each format can be compared; CSR and
CSC store ``2a + n + 1`` numbers (``csr.py``), relative indexing one ``b``-bit
field and one value per stored entry, fillers included
(``relative_indexing.py``).

Then the field width ``b``. :func:`default_index_bits` gives the paper's
choice in §2's text, 8 bits for conv layers and 5 for fc layers
(``DEFAULT_INDEX_BITS``; the paper's own Tables 2 and 3 use 5-bit indices for
every LeNet layer, conv included);
:func:`best_index_bits` picks the width that balances wider fields against
fewer fillers for one particular layer.
"""

from __future__ import annotations

import math

import numpy as np

from deepcompress_np.sparse._checks import (
    _check_2d,
    _check_bits,
    _check_shape,
    _check_value_bits,
    _stored_mask,
)
from deepcompress_np.sparse.relative_indexing import count_fillers

#: Field width for the relative index, per layer kind (paper §2).
DEFAULT_INDEX_BITS = {"fc": 5, "conv": 8}


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
