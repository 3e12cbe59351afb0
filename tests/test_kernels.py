"""Sparse kernels (sparse/kernels.py): every form gives W @ x, checked against dense and scipy.sparse."""

import numpy as np
import pytest

from deepcompress_np.fileformat import CompressedLayer
from deepcompress_np.quantize import quantize_layer
from deepcompress_np.sparse import relative_index, to_csc, to_csr
from deepcompress_np.sparse.kernels import RowSparse, csc_matvec, csr_matvec, naive_csr_matvec

scipy_sparse = pytest.importorskip("scipy.sparse")


def _sparse_matrix(rng, shape, density, empty_rows=()):
    mask = rng.random(shape) < density
    mask[list(empty_rows)] = False
    W = np.where(mask, rng.standard_normal(shape), 0).astype(np.float32)
    return W, mask


def _compressed_layer(W, mask, bits=4, index_bits=3, seed=0):
    """A CompressedLayer as the writer stores it: symbol 0 = filler, s > 0 = cluster s - 1."""
    q = quantize_layer(W, mask, bits=bits, seed=seed)
    symbols = np.zeros(W.shape, dtype=np.uint32)
    symbols[mask] = q.index.astype(np.uint32) + 1
    ri = relative_index(symbols, index_bits, mask=mask)
    layer = CompressedLayer("fc", W.shape, index_bits, q.codebook, np.zeros(W.shape[0], np.float32),
                            ri.fields.astype(np.uint32), ri.values.astype(np.uint32))
    return layer, q


def _all_forms(W, mask, chunk_size=64):
    """Every way this module computes W @ x, for a quantized W (so all forms hold the same weights)."""
    layer, q = _compressed_layer(W, mask)
    Wq = q.to_dense()
    csr, csc = to_csr(Wq, mask), to_csc(Wq, mask)
    forms = {
        "RowSparse.from_csr": RowSparse.from_csr(csr, chunk_size=chunk_size).matvec,
        "RowSparse.from_quantized": RowSparse.from_quantized(q, chunk_size=chunk_size).matvec,
        "RowSparse.from_compressed_layer": RowSparse.from_compressed_layer(layer, chunk_size=chunk_size).matvec,
        "by cluster": RowSparse.from_compressed_layer(layer, chunk_size=chunk_size, by_cluster=True).matvec,
        "by cluster, 2 threads": RowSparse.from_compressed_layer(layer, chunk_size=chunk_size, by_cluster=True,
                                                                 threads=2).matvec,
        "look-up, 2 threads": RowSparse.from_quantized(q, chunk_size=chunk_size, by_cluster=False,
                                                       threads=2).matvec,
        "CSR, 2 threads": RowSparse.from_csr(csr, chunk_size=chunk_size, threads=2).matvec,
        "csr_matvec": lambda x: csr_matvec(csr, x),
        "naive_csr_matvec": lambda x: naive_csr_matvec(csr, x),
        "csc_matvec": lambda x: csc_matvec(csc, x),
    }
    return Wq, forms


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("batch", [None, 1, 7])
def test_every_form_matches_dense_and_scipy_on_random_shapes(seed, batch):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 60)), int(rng.integers(1, 90)))
    empty = rng.choice(shape[0], size=shape[0] // 3, replace=False)  # some rows with no weight at all
    W, mask = _sparse_matrix(rng, shape, rng.uniform(0.02, 0.6), empty_rows=empty)
    Wq, forms = _all_forms(W, mask, chunk_size=int(rng.integers(1, 200)))
    x = rng.standard_normal(shape[1] if batch is None else (shape[1], batch)).astype(np.float32)
    expected = Wq.astype(np.float64) @ x.astype(np.float64)
    reference = scipy_sparse.csr_matrix(Wq) @ x
    np.testing.assert_allclose(reference, expected, rtol=1e-5, atol=1e-5)
    for name, matvec in forms.items():
        got = matvec(x)
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=name)
        assert np.all(got[empty] == 0), f"{name}: a row without weights must give exactly 0"


def test_a_layer_with_every_weight_pruned_gives_zeros():
    W = np.zeros((5, 7), np.float32)
    mask = np.zeros(W.shape, bool)
    for name, matvec in _all_forms(W, mask)[1].items():
        for x in (np.ones(7, np.float32), np.ones((7, 3), np.float32)):
            got = matvec(x)
            assert got.shape == (5,) + x.shape[1:] and not got.any(), name


def test_rows_longer_than_a_chunk_and_chunks_of_one_entry():
    rng = np.random.default_rng(1)
    W, mask = _sparse_matrix(rng, (6, 300), 0.9)
    x = rng.standard_normal((300, 4))
    for chunk in (1, 2, 50, 10_000):
        R = RowSparse.from_dense(W, mask, chunk_size=chunk)
        np.testing.assert_allclose(R.matvec(x), W @ x, rtol=1e-5, atol=1e-5)


def test_linear_is_x_times_W_transposed_for_batches_of_one_and_more():
    rng = np.random.default_rng(2)
    W, mask = _sparse_matrix(rng, (20, 33), 0.2)
    R = RowSparse.from_dense(W, mask)
    for x in (rng.standard_normal((1, 33)), rng.standard_normal((5, 33)), rng.standard_normal(33)):
        x = x.astype(np.float32)
        got = R.linear(x)
        assert got.shape == (x @ W.T).shape and got.flags.c_contiguous
        np.testing.assert_allclose(got, x @ W.T, rtol=1e-5, atol=1e-5)


def test_output_dtype_follows_the_input():
    rng = np.random.default_rng(3)
    W, mask = _sparse_matrix(rng, (8, 9), 0.5)
    Wq, forms = _all_forms(W, mask)
    for name, matvec in forms.items():
        assert matvec(np.ones(9, np.float32)).dtype == np.float32, name
        got64 = matvec(np.full(9, 1 / 3))
        assert got64.dtype == np.float64, name
        np.testing.assert_allclose(got64, Wq.astype(np.float64) @ np.full(9, 1 / 3), rtol=1e-12)


def test_non_contiguous_input_is_accepted():
    rng = np.random.default_rng(4)
    W, mask = _sparse_matrix(rng, (10, 12), 0.4)
    X = rng.standard_normal((12, 6)).astype(np.float32)
    R = RowSparse.from_dense(W, mask)
    np.testing.assert_allclose(R.matvec(X[:, ::2]), W @ X[:, ::2], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(R.linear(X.T), X.T @ W.T, rtol=1e-5, atol=1e-5)


def test_the_compressed_form_is_compact_and_skips_fillers():
    rng = np.random.default_rng(5)
    W, mask = _sparse_matrix(rng, (30, 700), 0.03)
    layer, q = _compressed_layer(W, mask, bits=5, index_bits=2)
    assert layer.n_fillers > 0  # a 2-bit field forces fillers: they must not become weights
    R = RowSparse.from_compressed_layer(layer)
    assert R.is_compressed and R.nnz == int(mask.sum())
    assert R.codes.dtype == np.uint8 and R.columns.dtype == np.uint16
    assert R.codebook.dtype == np.float32 and R.codebook.size == 32
    np.testing.assert_array_equal(R.to_dense(), q.to_dense())
    parts = R.bytes_read()
    assert parts["cluster indices"] == R.nnz and parts["column indices"] == 2 * R.nnz
    assert parts["codebook"] == 4 * 32 and parts["row pointers"] == 8 * 31
    csr_parts = RowSparse.from_dense(q.to_dense(), mask).bytes_read()
    assert csr_parts["values"] == 4 * R.nnz and "cluster indices" not in csr_parts


def test_column_index_type_grows_with_the_layer():
    W = np.zeros((2, 70_000), np.float32)
    W[1, 69_999] = 2.0
    R = RowSparse.from_dense(W)
    assert R.columns.dtype == np.uint32
    x = np.zeros(70_000, np.float32)
    x[69_999] = 3.0
    np.testing.assert_array_equal(R.matvec(x), [0.0, 6.0])


def test_a_codebook_of_more_than_256_entries_uses_two_byte_indices():
    R = RowSparse((1, 3), [0, 2], [0, 2], codes=[0, 299], codebook=np.arange(300, dtype=np.float32))
    assert R.codes.dtype == np.uint16
    np.testing.assert_array_equal(R.matvec(np.ones(3, np.float32)), [299.0])


# --- bad input --------------------------------------------------------------------------------------


@pytest.fixture
def small():
    W = np.array([[0, 2, 0], [1, 0, 3]], np.float32)
    return W, RowSparse.from_dense(W)


@pytest.mark.parametrize("x, error, message", [
    (np.ones(3, np.int64), TypeError, "floating-point"),
    (np.ones(3, bool), TypeError, "floating-point"),
    (np.ones(4, np.float32), ValueError, r"shape \(3,\) or \(3, B\)"),
    (np.ones((3, 2, 2), np.float32), ValueError, r"shape \(3,\) or \(3, B\)"),
    (np.ones((2, 3), np.float32), ValueError, "got shape"),
])
def test_matvec_rejects_bad_inputs(small, x, error, message):
    _, R = small
    with pytest.raises(error, match=message):
        R.matvec(x)


def test_linear_rejects_a_three_dimensional_input(small):
    _, R = small
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        R.linear(np.ones((2, 2, 3), np.float32))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(shape=(2, 3, 1), indptr=[0, 1, 2], columns=[0, 1], values=[1.0, 2.0]), ValueError, "2-D"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1]), ValueError, "either values"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], values=[1.0, 2.0], codes=[0, 0]), ValueError, "either"),
    (dict(shape=(2, 3), indptr=[0, 1], columns=[0], values=[1.0]), ValueError, "3 entries"),
    (dict(shape=(2, 3), indptr=[0, 2, 1], columns=[0], values=[1.0]), ValueError, "never decrease"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 3], values=[1.0, 2.0]), ValueError, r"0 \.\. 2"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0.0, 1.0], values=[1.0, 2.0]), TypeError, "integers"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], values=[1.0]), ValueError, r"shape \(2,\)"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], values=["a", "b"]), ValueError, "float array"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], codes=[0, 2], codebook=[1.0, 2.0]), ValueError,
     "codebook's entries"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], codes=[0, 1], codebook=[]), ValueError, "non-empty"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], codes=[0.0, 1.0], codebook=[1.0, 2.0]), ValueError,
     "integer array"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], values=[1.0, 2.0], chunk_size=0), ValueError,
     "chunk_size"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[[0], [1]], values=[1.0, 2.0]), ValueError, "1-D"),
    (dict(shape=(2, 3), indptr=[0.0, 1.0, 2.0], columns=[0, 1], values=[1.0, 2.0]), TypeError, "indptr must hold"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[-1, 1], values=[1.0, 2.0]), ValueError, r"found -1"),
    (dict(shape=(2, 3), indptr=[0, 1, 2], columns=[0, 1], codes=[0, 1], codebook=[1, 2]), ValueError,
     "float array"),
])
def test_construction_rejects_inconsistent_arrays(kwargs, error, message):
    with pytest.raises(error, match=message):
        RowSparse(**kwargs)


def test_a_conv_layer_is_refused_with_a_pointer_to_im2col():
    layer = CompressedLayer("conv1", (2, 1, 3, 3), 4, np.ones(2, np.float32), np.zeros(2, np.float32),
                            np.zeros(1, np.uint32), np.ones(1, np.uint32))
    with pytest.raises(ValueError, match="im2col"):
        RowSparse.from_compressed_layer(layer)


def test_relative_indices_that_run_past_the_layer_are_refused():
    layer = CompressedLayer("fc", (2, 3), 4, np.ones(2, np.float32), np.zeros(2, np.float32),
                            np.array([3, 5], np.uint32), np.array([1, 2], np.uint32))
    with pytest.raises(ValueError, match="past the end"):
        RowSparse.from_compressed_layer(layer)


def test_naive_and_csc_kernels_check_their_input():
    W = np.array([[0, 2, 0], [1, 0, 3]], np.float32)
    with pytest.raises(ValueError, match="shape"):
        naive_csr_matvec(to_csr(W), np.ones(2, np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        csc_matvec(to_csc(W), np.ones(3, np.int32))


def test_batches_through_padded_blocks_and_through_rows_too_unequal_to_pad():
    rng = np.random.default_rng(6)
    W = np.zeros((40, 500), np.float32)
    W[3] = rng.standard_normal(500)  # one full row among rows of one weight: padding would be 40x
    W[np.arange(40) != 3, rng.integers(0, 500, 39)] = rng.standard_normal(39)
    even, _ = _sparse_matrix(rng, (40, 500), 0.1)
    X = rng.standard_normal((500, 5)).astype(np.float32)
    for matrix, padded in ((W, False), (even, True)):
        R = RowSparse.from_dense(matrix, chunk_size=10_000)
        np.testing.assert_allclose(R.matvec(X), matrix @ X, rtol=1e-5, atol=1e-5)
        plan = R._batch_plan(10_000 // 5)
        assert all((index is not None) == padded for *_, index in plan)


def test_builders_refuse_what_they_cannot_run():
    from deepcompress_np.sparse import CSR

    text = CSR(np.array(["a"]), np.array([0]), np.array([0, 1]), (1, 2))
    with pytest.raises(TypeError, match="CSR data must be numeric"):
        RowSparse.from_csr(text)
    conv = quantize_layer(np.ones((2, 1, 3, 3), np.float32), bits=1)
    with pytest.raises(ValueError, match="fully connected"):
        RowSparse.from_quantized(conv)


def test_summing_by_cluster_is_chosen_for_long_runs_and_gives_the_same_product():
    rng = np.random.default_rng(7)
    W, mask = _sparse_matrix(rng, (12, 2000), 0.3)  # about 600 weights per row, 4 clusters: runs of ~150
    layer, q = _compressed_layer(W, mask, bits=2)
    x = rng.standard_normal(2000).astype(np.float32)
    grouped = RowSparse.from_compressed_layer(layer, chunk_size=1000)
    lookup = RowSparse.from_compressed_layer(layer, chunk_size=1000, by_cluster=False)
    assert grouped.by_cluster and not lookup.by_cluster
    expected = q.to_dense().astype(np.float64) @ x
    for R in (grouped, lookup):
        np.testing.assert_allclose(R.matvec(x), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(grouped.to_dense(), q.to_dense())  # the sort moved entries within rows only
    parts = grouped.bytes_read()  # runs instead of a cluster index per weight
    assert "cluster indices" not in parts and parts["run clusters"] == grouped.n_runs
    assert 12 <= grouped.n_runs <= 12 * 4 and parts["run starts"] == 8 * grouped.n_runs and lookup.n_runs is None
    short, _ = _sparse_matrix(rng, (30, 100), 0.05)  # ~5 weights per row, 32 clusters: runs of ~1
    assert not RowSparse.from_compressed_layer(_compressed_layer(short, short != 0, bits=5)[0]).by_cluster


def test_by_cluster_needs_the_codebook_form_and_a_boolean():
    rng = np.random.default_rng(8)
    W, mask = _sparse_matrix(rng, (4, 6), 0.5)
    csr = to_csr(W, mask)
    with pytest.raises(ValueError, match="compressed form"):
        RowSparse(csr.shape, csr.indptr, csr.indices, values=csr.data, by_cluster=True)
    layer, _ = _compressed_layer(W, mask)
    with pytest.raises(TypeError, match="by_cluster must be True, False or None"):
        RowSparse.from_compressed_layer(layer, by_cluster="yes")
    with pytest.raises(ValueError, match="threads"):
        RowSparse.from_compressed_layer(layer, threads=0)


def test_threads_split_the_rows_and_give_the_same_product_bit_for_bit(monkeypatch):
    from deepcompress_np.sparse import kernels

    rng = np.random.default_rng(9)
    W, mask = _sparse_matrix(rng, (300, 80), 0.2, empty_rows=(0, 150, 299))
    layer, _ = _compressed_layer(W, mask, bits=2)
    x = rng.standard_normal(80).astype(np.float32)
    pools = []
    original = kernels._thread_pool
    monkeypatch.setattr(kernels, "_thread_pool", lambda n: pools.append(n) or original(n))
    for build in (lambda **k: RowSparse.from_dense(W, mask, **k),
                  lambda **k: RowSparse.from_compressed_layer(layer, by_cluster=True, **k),
                  lambda **k: RowSparse.from_compressed_layer(layer, by_cluster=False, **k)):
        one = build(chunk_size=8).matvec(x)
        pools.clear()
        two = build(chunk_size=8, threads=2).matvec(x)
        assert pools == [2]  # ~600 weights in chunks of 8: enough chunks for two threads
        np.testing.assert_array_equal(two, one)
        assert two[[0, 150, 299]].tolist() == [0, 0, 0]
        pools.clear()
        build(chunk_size=10_000, threads=2).matvec(x)
        assert pools == []  # one chunk: not worth a second thread


def test_csr_rows_are_padded_for_one_pass_and_the_padding_is_counted():
    W = np.array([[1, 2, 3, 0], [0, 0, 0, 4]], np.float32)  # rows of 3 and 1: a 2x3 block, 2 padding slots
    R = RowSparse.from_dense(W)
    x = np.array([1, 10, 100, 1000], np.float32)
    np.testing.assert_array_equal(R.matvec(x), [321, 4000])
    (_, _, _, _, _, _, index, weights), = R._padded_plan(R.chunk_size)
    assert index.shape == weights.shape == (2, 3) and weights[1, 1:].tolist() == [0, 0]
    assert R.bytes_read()["padding"] == 2 * (1 + 4)  # uint8 column and float32 zero per slot
    uneven = np.zeros((40, 500), np.float32)
    uneven[3] = 1.0  # one full row among rows of one weight: padding would be 40x, so it is not padded
    uneven[np.arange(40) != 3, 7] = 2.0
    R = RowSparse.from_dense(uneven, chunk_size=10_000)
    assert R._padded_plan(R.chunk_size)[0][6] is None and R.bytes_read()["padding"] == 0
    np.testing.assert_array_equal(R.matvec(np.ones(500, np.float32)), uneven.sum(axis=1))


def test_padding_slots_add_exactly_zero_even_for_an_infinite_input():
    # Rows of 2, 0 and 1 weights: the padded blocks have padding slots, and a whole row of them.
    W = np.array([[0, 2, 3], [0, 0, 0], [0, 1, 0]], np.float32)
    x = np.array([np.inf, 1, 1], np.float32)  # only column 0, which no weight reads, is infinite
    R = RowSparse.from_dense(W)
    assert R._padded_plan(R.chunk_size)[0][6] is not None  # the CSR batch-1 product runs padded
    np.testing.assert_array_equal(R.matvec(x), [5, 0, 1])
    X = np.stack([x, 2 * x], axis=1)
    assert R._batch_plan(R.chunk_size // 2)[0][7] is not None  # and so does the batch product
    np.testing.assert_array_equal(R.matvec(X), [[5, 10], [0, 0], [1, 2]])
    wide = np.zeros((2, 256), np.float32)  # 256 columns: the sentinel column 256 needs a wider index type
    wide[0, 255], wide[1, [3, 4]] = 1.0, 2.0
    x = np.full(256, np.inf, np.float32)
    x[[3, 4, 255]] = 1.0
    np.testing.assert_array_equal(RowSparse.from_dense(wide).matvec(x), [1, 4])
