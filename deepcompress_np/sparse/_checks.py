"""Input checks shared by the sparse-storage modules (private).

Each check returns its argument in the form the rest of the package computes
with (a Python int, a numeric ndarray, a bool mask, a tuple shape, an int64
index array) or raises ``TypeError`` / ``ValueError`` with a message that says
how to fix the call. ``MAX_INDEX_BITS`` is the widest index field any of the
formats accepts.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np._validate import check_int, is_integer

MAX_INDEX_BITS = 32


def _check_bits(b, what="index bit width b"):
    """Return ``b`` as a Python int after checking it is an integer in 1..32."""
    return check_int(b, what, 1, MAX_INDEX_BITS)


def _check_value_bits(value_bits):
    """Return ``value_bits`` as a Python int after checking it is a positive integer."""
    return check_int(value_bits, "value_bits", 1)


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
        if not is_integer(d):
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
