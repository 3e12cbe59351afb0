"""CSR and CSC: absolute indices, 2a + n + 1 numbers (paper §2).

The paper stores the sparse structure of a pruned layer in compressed sparse
row or column format, "which requires 2a + n + 1 numbers" (a non-zeros, n
rows or columns). A 2-D matrix becomes three arrays named as in
``scipy.sparse``: ``data`` (the a kept values), ``indices`` (their a column
numbers for CSR, row numbers for CSC) and ``indptr`` (n + 1 offsets: row
``i`` owns ``data[indptr[i]:indptr[i+1]]``).

CSC is CSR of the transpose: :func:`to_csr` and :func:`to_csc` share one
row-wise compression, and :func:`from_csr` and :func:`from_csc` share its
inverse, which checks every field before it writes anything. Both formats
need a 2-D matrix; relative indexing (``relative_indexing.py``) works on any
shape and stores each index in far fewer bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepcompress_np.sparse._checks import (
    _as_index_array,
    _check_2d,
    _check_mask,
    _check_shape,
    _check_weights,
)


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
