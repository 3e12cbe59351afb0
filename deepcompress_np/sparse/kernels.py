"""Running a pruned layer without its zeros: sparse matrix-vector kernels in NumPy (paper §6.3, §8).

A pruned fully connected layer computes ``y = W @ x`` with most of ``W``
zero. The paper times this product as MKL's CSRMV against MKL's dense GEMV
(§6.3, Table 8), and could not time the *compressed* form -- codebook indices
plus relative indices -- because "off-the-shelf cuSPARSE or MKL SPBLAS library
does not support indirect matrix entry lookup, nor is the relative index in
CSC or CSR format supported" (§8). This module does both in NumPy:

* :class:`RowSparse` is a *run-time form* of a sparse ``(out, in)`` matrix,
  built once (at load time) and then multiplied many times: row pointers,
  column indices in the narrowest integer type that holds them (``uint16``
  for every layer of the paper), and per stored weight either its float32
  value (``RowSparse.from_csr``: our CSR) or its cluster index into the
  layer's codebook (``RowSparse.from_compressed_layer``: the compressed
  form, decoded from the relative-index gaps of the file, never to the dense
  matrix). With ``k <= 256`` clusters a cluster index is one byte, so a
  stored weight costs 2 + 1 bytes to read instead of 4 + 4 (float32 value and
  int32 column of CSR) or 4 per position of the dense matrix.
* :meth:`RowSparse.matvec` computes ``W @ x`` for ``x`` of shape ``(in,)`` or
  ``(in, B)``; :meth:`RowSparse.linear` computes ``x @ W.T`` for ``x`` of
  shape ``(B, in)``, the convention of ``nn.Linear``.
* :func:`csr_matvec`, :func:`csc_matvec` and :func:`naive_csr_matvec` work
  on the :class:`~deepcompress_np.sparse.CSR` / :class:`~deepcompress_np.sparse.CSC`
  objects of ``csr.py``; the naive one is the obvious one-liner, kept as the
  baseline the benchmark (``bench/inference.py``) compares against.

Where the time goes, and what is done about it
----------------------------------------------
A sparse product in NumPy is three whole-array steps: *gather* the inputs a
stored weight connects to (``x[columns]``), *multiply* by the weights, and
*sum each row* (``np.add.reduceat`` over the row starts). Each step is
compiled C, so the time is not in arithmetic but in memory traffic and in
Python's overhead per call:

1. **Temporaries that leave the cache.** The one-liner
   ``np.add.reduceat(values * x[columns], starts)`` builds two temporaries of
   one float per stored weight: 13.6 MB each for AlexNet's fc6 (3.4 M kept
   weights). They do not fit in any cache, so each is written to DRAM and
   read back. :meth:`RowSparse.matvec` instead walks the rows in *chunks* of
   about ``chunk_size`` stored weights (default 32,768: a 128 KB temporary,
   inside the L2 cache; 65,536 measured some 7% slower on this 2 MB L2), so
   the gathered values are multiplied and summed while still in cache.
2. **Index width.** NumPy's ``take`` wants 64-bit indices and converts any
   other type first, into yet another temporary. Converting a chunk costs
   little (it stays in cache), and reading 2-byte column indices instead of
   8-byte ones saves memory traffic for the whole matrix: the same argument
   as the paper's narrow relative indices.
3. **Multiply and sum in one pass.** In CSR form (float values) the multiply
   and the row sums are two passes over the gathered chunk. Padding the
   chunk's rows to its longest row, once, at the first product (an ELLPACK
   layout: a ``(rows, width)`` block of columns and of values, zeros in the
   padding, some 5-25% more entries for the paper's layers), lets
   ``np.einsum("ij,ij->i")`` multiply and sum each row in a single compiled
   pass. A chunk whose rows differ so much that padding would double it
   keeps the two passes.
4. **The codebook look-up** (paper §3.3, "one level of indirection") is one
   more gather, ``codebook.take(codes)``, from a table of ``k`` floats that
   always sits in the L1 cache -- but it is a whole extra pass over the
   stored weights, plus a multiply. Weight sharing offers a way round it:
   every weight of cluster ``c`` *is* ``codebook[c]``, so a row's product is
   ``sum_c codebook[c] * (sum of the inputs its cluster-c weights connect
   to)``. Sort each row's stored weights by cluster once, at load time, and
   a product becomes: gather the inputs, sum each *run* of one cluster
   (``reduceat``), multiply each run's sum by its shared weight (one multiply
   per run, not per weight), and sum the runs of each row. That saves the
   look-up and the multiply per weight but adds a sum per run, which costs
   ``reduceat`` some 20 ns of bookkeeping: it pays off when runs are long
   (on average at least ``MIN_RUN_LENGTH`` weights, as in VGG-16's fc6 with
   about 1,000 kept weights per row and 32 clusters), and the kernel keeps the
   per-weight look-up otherwise (``RowSparse.by_cluster`` says which).
5. **Python overhead per call and per chunk** is a few microseconds: it
   dominates tiny layers (LeNet's) and is why NumPy cannot beat a compiled
   dense product there. The chunk plan (row ranges, local row starts, rows
   with no stored weight) is computed once per batch size and cached.
6. **Batches.** For ``x`` of shape ``(in, B)`` the gather takes whole rows
   of ``B`` contiguous floats (``x`` is made C-contiguous first), and the
   chunks hold ``chunk_size // B`` stored weights so the gathered
   ``(entries, B)`` temporary still fits in cache. Multiplying and summing
   that with two more NumPy passes is slow, so each chunk of rows is padded
   to a rectangle once (the batch plan) and handed to ``np.matmul`` as a
   stack of small ``(1, width) @ (width, B)`` products. Each stored weight is
   now used ``B`` times per read, the same reuse that makes the dense product
   (BLAS GEMM) so fast at batch 64 -- where the paper's sparse kernel loses
   too (Table 8).
7. **Cores.** NumPy lets go of Python's global interpreter lock inside many
   of its compiled loops (``take`` among them), so the chunks of one product
   can run on several cores at once, each writing its own rows of the
   output. ``RowSparse(..., threads=n)`` splits a batch-1 product into up to
   ``n`` parts of equal weight count; the dense product's BLAS does the same
   with its own threads. The gain is well short of ``n``-fold (measured on 2
   cores: VGG-16's fc6 1.2x to 1.4x faster), since the Python between the
   NumPy calls holds the lock, and waking a thread costs more than a small
   layer's whole product (VGG-16's fc7 and fc8, 0.7 M and 0.9 M weights,
   ran slower on two threads), so a part gets at least
   ``MIN_CHUNKS_PER_THREAD`` chunks. The default is one thread; the
   benchmark reports both.

Rows without any stored weight (``reduceat`` would wrongly return the next
row's first entry for them) are left out of the sums and stay exactly 0.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from deepcompress_np._validate import check_int
from deepcompress_np.sparse._checks import _check_shape

DEFAULT_CHUNK_SIZE = 32768  # gathered floats per step: 128 KB of float32, well inside a 1-2 MB L2 cache
MIN_CHUNKS_PER_THREAD = 16  # a thread is worth waking for 16 chunks (0.5 M weights by default), not for fewer
MIN_RUN_LENGTH = 16  # average weights per (row, cluster) run from which summing by cluster beats the look-up


def _column_dtype(n_cols):
    """The narrowest unsigned type that holds every column index 0 .. n_cols - 1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_cols <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _code_dtype(k):
    """The narrowest unsigned type for cluster indices 0 .. k - 1 (uint8 for k <= 256)."""
    return np.dtype(np.uint8) if k <= 256 else np.dtype(np.uint16) if k <= 65536 else np.dtype(np.uint32)


_POOLS = {}
_POOLS_LOCK = threading.Lock()


def _thread_pool(threads):
    """A pool of ``threads`` worker threads, made once and shared by every matrix."""
    with _POOLS_LOCK:  # two first calls at once must not make two pools
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rowsparse")
        return _POOLS[threads]


def _check_input(x, n_cols, what="x"):
    """``x`` as a C-contiguous float array of shape (n_cols,) or (n_cols, B)."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{what} must be a floating-point array (float32 or float64), got dtype {x.dtype}; "
                        f"convert it with {what}.astype(np.float32)")
    if x.ndim not in (1, 2) or x.shape[0] != n_cols:
        raise ValueError(f"{what} must have shape ({n_cols},) or ({n_cols}, B) for a matrix with {n_cols} "
                         f"columns, got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.result_type(x.dtype, np.float32))


def _check_rows(indptr, indices, shape, what):
    """Validated (indptr int64, indices) of a row-compressed matrix of the given shape."""
    indptr, indices = np.asarray(indptr), np.asarray(indices)
    for name, arr in (("indptr", indptr), ("indices", indices)):
        if arr.ndim != 1:
            raise ValueError(f"{what} {name} must be 1-D, got shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "ui":
            raise TypeError(f"{what} {name} must hold integers, got dtype {arr.dtype}")
    n_rows, n_cols = shape
    if indptr.size != n_rows + 1:
        raise ValueError(f"{what} indptr must have {n_rows + 1} entries for shape {shape}, got {indptr.size}")
    indptr = indptr.astype(np.int64)
    if indptr[0] != 0 or indptr[-1] != indices.size or np.any(np.diff(indptr) < 0):
        raise ValueError(f"{what} indptr must start at 0, never decrease, and end at len(indices) = {indices.size}")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= n_cols):
        raise ValueError(f"{what} indices must lie in 0 .. {n_cols - 1}, found {int(indices.min())} .. "
                         f"{int(indices.max())}")
    return indptr, indices


class RowSparse:
    """A sparse ``(out, in)`` weight matrix in run-time form, rows compressed: ``y = W @ x`` fast.

    Build it with :meth:`from_csr`, :meth:`from_dense`, :meth:`from_quantized`
    or :meth:`from_compressed_layer`, once; then call :meth:`matvec` or
    :meth:`linear` as often as needed.

    Attributes
    ----------
    shape : tuple of int
        ``(out, in)``.
    indptr : ndarray of int64, shape (out + 1,)
        Row ``r`` holds stored entries ``indptr[r]:indptr[r + 1]``.
    columns : ndarray, shape (nnz,)
        Column of each stored entry; the narrowest unsigned type that holds
        ``in - 1`` (uint16 for every layer of the paper).
    values : ndarray of float32, shape (nnz,), or None
        The stored weights (CSR form); None in codebook form.
    codes : ndarray of uint8 (k <= 256) or uint16, shape (nnz,), or None
        Cluster index of each stored weight (compressed form); None in CSR form.
    codebook : ndarray of float32, shape (k,), or None
        The shared weights (paper §3); None in CSR form.
    chunk_size : int
        Gathered floats per step (see the module docstring).
    threads : int
        Threads a batch-1 product may use (module docstring, point 7).
    by_cluster : bool
        Compressed form only: each row's stored weights are sorted by cluster
        and a batch-1 product sums the inputs of each (row, cluster) run
        before multiplying by the shared weight (module docstring, point 4).
        Chosen at construction when the runs are on average at least
        ``MIN_RUN_LENGTH`` long, unless given (always False for a matrix
        without stored weights: there is nothing to sort).
    """

    def __init__(self, shape, indptr, columns, values=None, codes=None, codebook=None,
                 chunk_size=DEFAULT_CHUNK_SIZE, by_cluster=None, threads=1):
        shape = _check_shape(shape)
        if len(shape) != 2:
            raise ValueError(f"a RowSparse matrix is 2-D (out, in), got shape {shape}")
        if (values is None) == (codes is None):
            raise ValueError("give either values (CSR form) or codes and a codebook (compressed form)")
        self.shape = shape
        self.chunk_size = check_int(chunk_size, "chunk_size", 1)
        self.threads = check_int(threads, "threads", 1)
        self.indptr, columns = _check_rows(indptr, columns, shape, "RowSparse")
        self.columns = columns.astype(_column_dtype(shape[1]), copy=False)
        nnz = self.columns.size
        self.values = self.codes = self.codebook = None
        if values is not None:
            values = np.asarray(values)
            if values.shape != (nnz,) or values.dtype.kind != "f":
                raise ValueError(f"values must be a float array of shape ({nnz},), got {values.dtype} {values.shape}")
            self.values = values.astype(np.float32, copy=False)
        else:
            codebook = np.asarray(codebook)
            if codebook.ndim != 1 or codebook.size == 0 or codebook.dtype.kind != "f":
                raise ValueError(f"codebook must be a non-empty 1-D float array, got {codebook.dtype} {codebook.shape}")
            codes = np.asarray(codes)
            if codes.shape != (nnz,) or (nnz and codes.dtype.kind not in "ui"):
                raise ValueError(f"codes must be an integer array of shape ({nnz},), got {codes.dtype} {codes.shape}")
            if nnz and (int(codes.min()) < 0 or int(codes.max()) >= codebook.size):
                raise ValueError(f"codes must lie in 0 .. {codebook.size - 1} (the codebook's entries), "
                                 f"found {int(codes.min())} .. {int(codes.max())}")
            self.codebook = codebook.astype(np.float32)
            self.codes = codes.astype(_code_dtype(codebook.size), copy=False)
        self.by_cluster = False
        self._runs = None
        if by_cluster is not None and not isinstance(by_cluster, (bool, np.bool_)):
            raise TypeError(f"by_cluster must be True, False or None (choose), got {by_cluster!r}")
        if by_cluster and self.codes is None:
            raise ValueError("by_cluster needs the compressed form (codes and a codebook), not float values")
        if self.codes is not None and by_cluster is not False and nnz:
            self._sort_by_cluster(force=bool(by_cluster))
        self._plans = {}

    def _sort_by_cluster(self, force):
        """Sort each row's entries by cluster (columns ascending inside a run), if it pays or ``force``.

        Sets ``by_cluster`` and ``_runs = (run_starts, run_codes, row_runs)``:
        the first entry and the cluster of each (row, cluster) run, and where
        each row's runs start (an ``indptr`` over runs).
        """
        n_rows = self.shape[0]
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(self.indptr))
        key = rows * self.codebook.size + self.codes  # entries are in row order already
        order = np.argsort(key, kind="stable")  # stable: columns stay ascending within a run
        key = key[order]
        run_starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        if not force and self.nnz < MIN_RUN_LENGTH * run_starts.size:
            return  # short runs: the per-weight look-up is cheaper
        self.columns, self.codes = self.columns[order], self.codes[order]
        row_runs = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[run_starts], minlength=n_rows), out=row_runs[1:])
        self._runs = (run_starts, self.codes[run_starts], row_runs)
        self.by_cluster = True

    # -- building -------------------------------------------------------------

    @classmethod
    def from_csr(cls, csr, chunk_size=DEFAULT_CHUNK_SIZE, threads=1):
        """Run-time form of a :class:`~deepcompress_np.sparse.CSR` matrix (its float values)."""
        data = np.asarray(csr.data)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"CSR data must be numeric, got dtype {data.dtype}")
        return cls(csr.shape, csr.indptr, csr.indices, values=data.astype(np.float32), chunk_size=chunk_size,
                   threads=threads)

    @classmethod
    def from_dense(cls, W, mask=None, chunk_size=DEFAULT_CHUNK_SIZE, threads=1):
        """Run-time CSR form of a dense matrix: the entries where ``mask`` (default ``W != 0``)."""
        from deepcompress_np.sparse.csr import to_csr

        return cls.from_csr(to_csr(W, mask), chunk_size=chunk_size, threads=threads)

    @classmethod
    def from_quantized(cls, quantized, chunk_size=DEFAULT_CHUNK_SIZE, by_cluster=None, threads=1):
        """Compressed run-time form of a fc ``quantize.QuantizedLayer`` (codebook, index, mask)."""
        mask = np.asarray(quantized.mask)
        if mask.ndim != 2:
            raise ValueError(f"only fully connected (out, in) layers run here, got shape {mask.shape}")
        rows, cols = np.nonzero(mask)  # row-major: the order of quantized.index
        indptr = np.zeros(mask.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=mask.shape[0]), out=indptr[1:])
        return cls(mask.shape, indptr, cols, codes=quantized.index, codebook=quantized.codebook,
                   chunk_size=chunk_size, by_cluster=by_cluster, threads=threads)

    @classmethod
    def from_compressed_layer(cls, layer, chunk_size=DEFAULT_CHUNK_SIZE, by_cluster=None, threads=1):
        """Compressed run-time form of a fc layer as stored in the file (``fileformat.CompressedLayer``).

        The relative-index gaps become positions by a running sum (paper §2),
        the filler zeros (symbol 0) are dropped, and symbol ``s > 0`` becomes
        cluster index ``s - 1``. The dense matrix is never built: the
        temporaries hold one integer per stored entry.
        """
        shape = tuple(int(s) for s in layer.shape)
        if len(shape) != 2:
            raise ValueError(f"only fully connected (out, in) layers run here, layer {layer.name!r} has shape "
                             f"{shape}; convolutions run through im2col")
        n_rows, n_cols = shape
        symbols = np.asarray(layer.symbols)
        keep = symbols > 0  # fillers carry weight 0: skip them
        positions = np.cumsum(np.asarray(layer.fields, dtype=np.int64) + 1) - 1  # paper §2: a running sum
        positions = positions[keep]
        if positions.size and positions[-1] >= n_rows * n_cols:
            raise ValueError(f"layer {layer.name!r}: relative indices run past the end of its {shape} matrix")
        rows, cols = np.divmod(positions, n_cols)
        del positions
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        del rows
        codes = (symbols[keep] - 1).astype(_code_dtype(np.asarray(layer.codebook).size))
        return cls(shape, indptr, cols, codes=codes, codebook=layer.codebook, chunk_size=chunk_size,
                   by_cluster=by_cluster, threads=threads)

    # -- facts ----------------------------------------------------------------

    @property
    def nnz(self):
        """Stored weights (fillers are never stored here)."""
        return int(self.columns.size)

    @property
    def n_runs(self):
        """Runs of one cluster within a row when ``by_cluster`` (module docstring, point 4), else None."""
        return int(self._runs[0].size) if self.by_cluster else None

    @property
    def is_compressed(self):
        """True in codebook form (cluster indices), False in CSR form (float values)."""
        return self.codes is not None

    def bytes_read(self):
        """Bytes of the run-time form that one batch-1 product reads, per array.

        In CSR form the product reads the padded blocks (module docstring,
        point 3): ``"padding"`` counts the padding slots' columns and zeros.
        """
        parts = {"row pointers": self.indptr.nbytes, "column indices": self.columns.nbytes}
        if self.by_cluster:  # a batch-1 product reads runs, not a cluster index per weight
            run_starts, run_codes, row_runs = self._runs
            parts.update({"run starts": run_starts.nbytes, "run clusters": run_codes.nbytes,
                          "runs per row": row_runs.nbytes, "codebook": self.codebook.nbytes})
        elif self.is_compressed:
            parts.update({"cluster indices": self.codes.nbytes, "codebook": self.codebook.nbytes})
        else:
            parts["values"] = self.values.nbytes
            per_entry = self.columns.itemsize + self.values.itemsize
            parts["padding"] = sum(index.nbytes + weights.nbytes - (b - a) * per_entry  # beyond the compact arrays
                                   for _, _, a, b, _, _, index, weights in self._padded_plan(self.chunk_size)
                                   if index is not None)
        return parts

    def to_dense(self):
        """The dense float32 matrix (for tests and small layers only)."""
        W = np.zeros(self.shape, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        W[rows, self.columns] = self._weights(0, self.nnz)
        return W

    # -- the product ----------------------------------------------------------

    def _weights(self, a, b):
        """Float32 weights of stored entries a .. b - 1: the values, or the codebook looked up."""
        if self.values is not None:
            return self.values[a:b]
        return self.codebook.take(self.codes[a:b], mode="clip")  # indirect look-up, paper §3.3

    def _plan(self, entries_per_chunk):
        """Row chunks of about ``entries_per_chunk`` stored entries (whole rows), computed once.

        Each chunk is ``(r0, r1, a, b, starts, rows)``: rows r0 .. r1 - 1 own
        entries a .. b - 1; ``starts`` are the local starts of its non-empty
        rows; ``rows`` lists those rows, or is None when none is empty.
        """
        if entries_per_chunk in self._plans:
            return self._plans[entries_per_chunk]
        indptr, n_rows, chunks, r0 = self.indptr, self.shape[0], [], 0
        while r0 < n_rows:
            # last row whose end stays within the budget, at least one row
            r1 = int(np.searchsorted(indptr, indptr[r0] + entries_per_chunk, side="right")) - 1
            r1 = min(max(r1, r0 + 1), n_rows)
            a, b = int(indptr[r0]), int(indptr[r1])
            if b > a:
                counts = np.diff(indptr[r0:r1 + 1])
                nonempty = counts > 0
                starts = (indptr[r0:r1] - a)[nonempty]
                rows = None if nonempty.all() else r0 + np.flatnonzero(nonempty)
                chunks.append((r0, r1, a, b, starts, rows))
            r0 = r1
        self._plans[entries_per_chunk] = chunks
        return chunks

    def _padded_chunks_layout(self, entries_per_chunk):
        """The chunks of :meth:`_plan`, each also laid out as a padded ``(rows, width)`` block (not cached).

        ``width`` is the chunk's longest row; ``slots`` says where each stored
        entry sits in the flattened block, ``index`` holds its column, and a
        padding slot holds the *sentinel* column ``in``: the products append a
        0 to ``x`` there, so a padding slot adds exactly 0 even when ``x``
        holds an infinity or a NaN. A chunk whose rows differ so much in
        length that padding would more than double it is left as is
        (``index`` None) and summed with ``reduceat`` instead.
        """
        n_cols = self.shape[1]
        for r0, r1, a, b, starts, rows in self._plan(entries_per_chunk):
            counts = np.diff(self.indptr[r0:r1 + 1])
            width = int(counts.max())
            index = slots = None
            if (r1 - r0) * width <= 2 * (b - a):
                slots = np.arange(b - a) + np.repeat(np.arange(r1 - r0) * width - (self.indptr[r0:r1] - a), counts)
                index = np.full((r1 - r0) * width, n_cols, dtype=_column_dtype(n_cols + 1))
                index[slots] = self.columns[a:b]
                index = index.reshape(r1 - r0, width)
            yield r0, r1, a, b, starts, rows, slots, index

    def _batch_plan(self, entries_per_chunk):
        """:meth:`_padded_chunks_layout`, computed once (batch B > 1)."""
        key = ("padded", entries_per_chunk)
        if key not in self._plans:
            self._plans[key] = list(self._padded_chunks_layout(entries_per_chunk))
        return self._plans[key]

    def _padded_plan(self, entries_per_chunk):
        """The padded chunks with their values padded alike, computed once (CSR form, batch 1).

        Each chunk is ``(r0, r1, a, b, starts, rows, index, weights)``;
        ``index`` and ``weights`` are the ``(rows, width)`` blocks of columns
        and values (0 in the padding), or None where the chunk is not padded.
        """
        key = ("padded values", entries_per_chunk)
        if key in self._plans:
            return self._plans[key]
        chunks = []
        for r0, r1, a, b, starts, rows, slots, index in self._padded_chunks_layout(entries_per_chunk):
            weights = None
            if index is not None:
                weights = np.zeros(index.size, dtype=np.float32)
                weights[slots] = self.values[a:b]
                weights = weights.reshape(index.shape)
            chunks.append((r0, r1, a, b, starts, rows, index, weights))
        self._plans[key] = chunks
        return chunks

    def _run_plan(self, entries_per_chunk):
        """The chunks of :meth:`_plan` with their cluster runs, computed once (``by_cluster`` only).

        Each chunk is ``(r0, r1, a, b, run_starts, run_codes, row_starts, rows)``:
        rows r0 .. r1 - 1 own entries a .. b - 1; the local starts and the
        clusters of the chunk's runs; where the runs of each non-empty row
        start among them; and the non-empty rows, or None when none is empty.
        """
        key = ("runs", entries_per_chunk)
        if key in self._plans:
            return self._plans[key]
        run_starts, run_codes, row_runs = self._runs
        chunks = []
        for r0, r1, a, b, _, rows in self._plan(entries_per_chunk):
            s0, s1 = int(row_runs[r0]), int(row_runs[r1])
            nonempty = np.diff(row_runs[r0:r1 + 1]) > 0
            chunks.append((r0, r1, a, b, run_starts[s0:s1] - a, run_codes[s0:s1],
                           (row_runs[r0:r1] - s0)[nonempty], rows))
        self._plans[key] = chunks
        return chunks

    def _lookup_chunk(self, x, out, r0, r1, a, b, starts, rows):
        """``W @ x`` for rows r0 .. r1 - 1: gather, look up (or read) the weights, multiply, sum each row.

        x: (in,) or (in, B); out: (out,) or (out, B).
        """
        # one input (or row of B inputs) per stored weight; the columns were checked at
        # construction, so mode="clip" only skips a second bounds check
        gathered = x.take(self.columns[a:b], axis=0, mode="clip")
        weights = self._weights(a, b)
        gathered *= weights if x.ndim == 1 else weights[:, None]
        sums = np.add.reduceat(gathered, starts, axis=0)  # one sum per non-empty row
        if rows is None:
            out[r0:r1] = sums
        else:
            out[rows] = sums

    def _lookup_chunks(self, x, out, chunks):
        """``W @ x`` for the rows of ``chunks`` (compressed form, short cluster runs). x: (in,)."""
        for chunk in chunks:
            self._lookup_chunk(x, out, *chunk)

    def _padded_chunks(self, x, out, chunks):
        """``W @ x`` for the rows of ``chunks`` (CSR form): each padded block multiplied and summed in one pass."""
        padded_x = np.append(x, x.dtype.type(0))  # the sentinel column of the padding slots reads this 0
        for r0, r1, a, b, starts, rows, index, weights in chunks:
            if index is None:  # rows too unequal to pad
                self._lookup_chunk(x, out, r0, r1, a, b, starts, rows)
            else:
                out[r0:r1] = np.einsum("ij,ij->i", padded_x.take(index, mode="clip"), weights)

    def _cluster_chunks(self, x, out, chunks):
        """``W @ x`` for the rows of ``chunks`` (``by_cluster``): sum the inputs of each cluster run first."""
        for r0, r1, a, b, run_starts, run_codes, row_starts, rows in chunks:
            gathered = x.take(self.columns[a:b], mode="clip")
            run_sums = np.add.reduceat(gathered, run_starts)  # the inputs that share a weight
            run_sums *= self.codebook.take(run_codes, mode="clip")  # one look-up per run, not per weight
            sums = np.add.reduceat(run_sums, row_starts)  # one sum per non-empty row
            if rows is None:
                out[r0:r1] = sums
            else:
                out[rows] = sums

    def matvec(self, x):
        """``W @ x``.

        Parameters
        ----------
        x : ndarray of float32 or float64, shape (in,) or (in, B)

        Returns
        -------
        ndarray, shape (out,) or (out, B)
            float32 for float32 ``x``, float64 for float64 ``x``. Rows with no
            stored weight are exactly 0.
        """
        x = _check_input(x, self.shape[1])
        if x.ndim == 2:
            return self._matmat(x) if x.shape[1] > 1 else self.matvec(x[:, 0])[:, None]
        out = np.zeros(self.shape[0], dtype=x.dtype)
        if self.by_cluster:
            chunks, body = self._run_plan(self.chunk_size), self._cluster_chunks
        elif self.values is not None:
            chunks, body = self._padded_plan(self.chunk_size), self._padded_chunks
        else:
            chunks, body = self._plan(self.chunk_size), self._lookup_chunks
        threads = min(self.threads, len(chunks) // MIN_CHUNKS_PER_THREAD)
        if threads <= 1:
            body(x, out, chunks)
            return out
        # parts of about equal weight count, one per thread; each writes its own rows of out
        ends = np.array([chunk[3] for chunk in chunks])
        cuts = np.searchsorted(ends, np.arange(1, threads) * ends[-1] / threads)
        parts = [part for part in np.split(np.arange(len(chunks)), cuts) if part.size]
        pool = _thread_pool(threads)
        for done in [pool.submit(body, x, out, [chunks[i] for i in part]) for part in parts]:
            done.result()
        return out

    def _matmat(self, x):
        """``W @ x`` for x of shape (in, B), B > 1: each chunk of rows as one stack of small products.

        A chunk of rows is padded to a ``(rows, width)`` block of column
        indices; gathering ``x`` through it gives a ``(rows, width, B)`` stack,
        and ``np.matmul`` multiplies each row's ``width`` weights by its
        ``(width, B)`` slice in compiled code (the sums are done there, not by
        a separate ``reduceat`` pass). Padding slots have weight 0 and gather
        the row of zeros appended to ``x`` (the sentinel column).
        """
        batch = x.shape[1]
        out = np.zeros((self.shape[0], batch), dtype=x.dtype)
        padded_x = np.concatenate([x, np.zeros((1, batch), dtype=x.dtype)])
        for r0, r1, a, b, starts, rows, slots, index in self._batch_plan(max(1, self.chunk_size // batch)):
            if index is None:  # rows too unequal to pad: gather, multiply, sum each row
                self._lookup_chunk(x, out, r0, r1, a, b, starts, rows)
                continue
            padded = np.zeros(index.size, dtype=x.dtype)
            padded[slots] = self._weights(a, b)
            stack = padded_x.take(index, axis=0, mode="clip")  # (rows, width, B)
            out[r0:r1] = np.matmul(padded.reshape(index.shape[0], 1, index.shape[1]), stack)[:, 0, :]
        return out

    def linear(self, x):
        """``x @ W.T``, the forward pass of a fully connected layer without bias (``nn.Linear``).

        Parameters
        ----------
        x : ndarray of float, shape (B, in) or (in,)

        Returns
        -------
        ndarray, shape (B, out) or (out,)
        """
        x = np.asarray(x)
        if x.ndim == 1:
            return self.matvec(x)
        if x.ndim != 2:
            raise ValueError(f"x must have shape (B, {self.shape[1]}) or ({self.shape[1]},), got shape {x.shape}")
        if x.shape[0] == 1:
            return self.matvec(x[0])[None, :]
        # (in, B), C-contiguous: a stored weight gathers one contiguous row of B inputs
        return np.ascontiguousarray(self.matvec(np.ascontiguousarray(x.T)).T)

    def __repr__(self):
        form = f"codebook of {self.codebook.size}" if self.is_compressed else "float32 values"
        if self.by_cluster:
            form += f", {self._runs[0].size} cluster runs"
        return f"RowSparse(shape={self.shape}, nnz={self.nnz}, {form})"


# ----------------------------------------------------------------------------
# Products straight from the CSR / CSC objects of csr.py
# ----------------------------------------------------------------------------

def csr_matvec(csr, x, chunk_size=DEFAULT_CHUNK_SIZE):
    """``W @ x`` for a :class:`~deepcompress_np.sparse.CSR` matrix ``W``; x of shape (in,) or (in, B).

    Builds the run-time form first; to multiply by the same matrix many
    times, build ``RowSparse.from_csr(csr)`` once and call its ``matvec``.
    """
    return RowSparse.from_csr(csr, chunk_size=chunk_size).matvec(x)


def naive_csr_matvec(csr, x):
    """``W @ x`` by the obvious one-liner, ``np.add.reduceat(values * x[columns], row_starts)``.

    Correct (rows without stored weights are fixed up to 0) but it builds two
    temporaries of one float per stored weight, far larger than any cache for
    the paper's layers, and gathers through 64-bit indices. The benchmark's
    baseline; :class:`RowSparse` is the faster version. x: (in,) or (in, B).
    """
    n_rows, n_cols = csr.shape
    indptr, indices = _check_rows(csr.indptr, csr.indices, csr.shape, "CSR")
    x = _check_input(x, n_cols)
    data = np.asarray(csr.data)
    out = np.zeros((n_rows,) + x.shape[1:], dtype=np.result_type(x.dtype, data.dtype))
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if nonempty.size:
        products = (data if x.ndim == 1 else data[:, None]) * x[indices.astype(np.intp)]
        out[nonempty] = np.add.reduceat(products, indptr[nonempty], axis=0)
    return out


def csc_matvec(csc, x):
    """``W @ x`` for a :class:`~deepcompress_np.sparse.CSC` matrix ``W``; x of shape (in,) or (in, B).

    CSC stores the matrix column by column, so input ``x[j]`` multiplies the
    stored entries of column ``j`` and each product is *scattered* into the
    output row it belongs to. This is the order EIE (Han et al., ISCA 2016)
    uses, because a zero input lets it skip a whole column. NumPy has no
    scatter-add as fast as its gathers: ``np.bincount`` with weights does it,
    in float64, one output column at a time. Use CSR (:class:`RowSparse`)
    for speed; this is here to compare the two orders.

    Returns
    -------
    ndarray, shape (out,) or (out, B), dtype of float32 values times ``x``.
    """
    n_rows, n_cols = csc.shape
    indptr, row_index = _check_rows(csc.indptr, csc.indices, (n_cols, n_rows), "CSC")
    x = _check_input(x, n_cols)
    data = np.asarray(csc.data)
    dtype = np.result_type(x.dtype, data.dtype)
    columns = np.repeat(np.arange(n_cols), np.diff(indptr))  # column of each stored entry
    row_index = row_index.astype(np.intp)
    if x.ndim == 1:
        return np.bincount(row_index, weights=data * x[columns], minlength=n_rows).astype(dtype)
    out = np.empty((n_rows, x.shape[1]), dtype=dtype)
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(row_index, weights=data * x[columns, j], minlength=n_rows)
    return out

