"""Sparse storage of a pruned layer: CSR/CSC and relative indexing with filler zeros.

This package implements the storage half of paper §2 ("Network pruning") of
Han, Mao and Dally, *Deep Compression* (ICLR 2016, arXiv:1510.00149).
After pruning, most weights of a layer are zero, and the paper stores only the
survivors in two steps. Read the modules in this order:

1. ``csr.py``: **CSR / CSC** (:func:`to_csr`, :func:`to_csc`), the paper's
   first step: absolute indices, "2a + n + 1 numbers".
2. ``relative_indexing.py``: **relative indexing** (:func:`relative_index`),
   the paper's second step: each stored entry keeps a small ``b``-bit index
   difference instead of a position, with filler zeros where a gap is too
   large (paper Figure 2). The convention used throughout the project is
   stated in that module's docstring.
3. ``accounting.py``: **storage accounting** (:func:`dense_bits`,
   :func:`csr_bits`, :func:`csc_bits`, :func:`relative_index_bits`) counts
   bits so the compression rate of each format can be compared, and
   :func:`default_index_bits` and :func:`best_index_bits` choose the field
   width.
4. ``kernels.py``: **running a pruned layer** (paper §6.3, §8):
   :class:`RowSparse`, a run-time form built once from CSR or from the
   compressed form (one-byte cluster indices into the codebook), and
   ``W @ x`` without the zeros; :func:`csr_matvec`, :func:`csc_matvec` and
   the naive :func:`naive_csr_matvec` for comparison.

``_checks.py`` holds the input checks the three share. Every public name is
re-exported here, so ``from deepcompress_np.sparse import relative_index``
works whichever module the function lives in.
"""

from deepcompress_np.sparse._checks import MAX_INDEX_BITS
from deepcompress_np.sparse.accounting import (
    DEFAULT_INDEX_BITS,
    best_index_bits,
    csc_bits,
    csr_bits,
    default_index_bits,
    dense_bits,
    relative_index_bits,
)
from deepcompress_np.sparse.csr import CSC, CSR, from_csc, from_csr, to_csc, to_csr
from deepcompress_np.sparse.kernels import RowSparse, csc_matvec, csr_matvec, naive_csr_matvec
from deepcompress_np.sparse.relative_indexing import (
    RelativeIndex,
    count_fillers,
    from_relative_index,
    positions_from_fields,
    relative_index,
)

__all__ = [
    "CSR", "CSC", "to_csr", "to_csc", "from_csr", "from_csc",
    "RelativeIndex", "relative_index", "positions_from_fields", "from_relative_index", "count_fillers",
    "dense_bits", "csr_bits", "csc_bits", "relative_index_bits",
    "DEFAULT_INDEX_BITS", "default_index_bits", "best_index_bits", "MAX_INDEX_BITS",
    "RowSparse", "csr_matvec", "csc_matvec", "naive_csr_matvec",
]
