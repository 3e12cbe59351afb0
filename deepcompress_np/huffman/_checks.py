"""Input checks shared by the Huffman modules (private).

``_as_int_array`` and ``_as_counts`` turn symbols, counts and code lengths into
checked integer arrays (single integers such as a length limit, an alphabet
size or a bit count go through ``deepcompress_np._validate.check_int``). The code
lengths (``code_lengths.py``), the canonical codes (``canonical.py``) and the
code table (``table.py``) all start with them.
"""

from __future__ import annotations

import numpy as np


def _as_int_array(values, what):
    """A 1-D integer ndarray from ``values``, or a clear TypeError/ValueError."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "ui":
        raise TypeError(
            f"{what} must be integers, got dtype {arr.dtype}; convert with .astype(int) "
            "(or np.bincount for counts)"
        )
    return arr


def _as_counts(counts):
    """Validated symbol counts as int64, shape (n_symbols,)."""
    counts = _as_int_array(counts, "counts")
    if counts.size and counts.min() < 0:
        raise ValueError(f"counts must be non-negative, found {counts.min()}")
    return counts.astype(np.int64)
