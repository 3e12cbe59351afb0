"""Tests for deepcompress_np.sparse: CSR/CSC and relative indexing with filler zeros (paper §2)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcompress_np.bitpack import pack_fixed, unpack_fixed
from deepcompress_np.sparse import (
    CSC,
    CSR,
    DEFAULT_INDEX_BITS,
    RelativeIndex,
    best_index_bits,
    count_fillers,
    csc_bits,
    csr_bits,
    default_index_bits,
    dense_bits,
    from_csc,
    from_csr,
    from_relative_index,
    positions_from_fields,
    relative_index,
    relative_index_bits,
    to_csc,
    to_csr,
)


# ---------------------------------------------------------------------------
# Oracles written as plain Python loops, independent of the vectorised code
# ---------------------------------------------------------------------------


def loop_relative_index(flat, stored, b):
    """Walk the flat layer one stored position at a time, adding fillers as needed.

    Returns (positions, fields, values, is_filler) as Python lists.
    """
    span = 2**b
    positions, fields, values, is_filler = [], [], [], []
    previous = -1
    for p in [i for i, s in enumerate(stored) if s]:
        while p - previous > span:  # the gap is too long for one field: drop a filler
            previous += span
            positions.append(previous)
            fields.append(span - 1)
            values.append(0)
            is_filler.append(True)
        positions.append(p)
        fields.append(p - previous - 1)
        values.append(flat[p])
        is_filler.append(False)
        previous = p
    return positions, fields, values, is_filler


def loop_count_fillers(stored, b):
    count, previous = 0, -1
    for p, s in enumerate(stored):
        if s:
            gap = p - previous
            count += math.ceil(gap / 2**b) - 1
            previous = p
    return count


def check_against_loop(dense, b, mask=None):
    """relative_index(dense, b, mask) equals the loop oracle and round-trips."""
    ri = relative_index(dense, b, mask=mask)
    flat = np.asarray(dense).ravel(order="C")
    stored = (flat != 0) if mask is None else np.asarray(mask).ravel(order="C")
    positions, fields, values, is_filler = loop_relative_index(flat.tolist(), stored.tolist(), b)
    assert ri.fields.dtype == np.uint32
    assert ri.values.dtype == np.asarray(dense).dtype
    assert ri.is_filler.dtype == np.bool_
    assert ri.fields.tolist() == fields
    assert ri.values.tolist() == values
    assert ri.is_filler.tolist() == is_filler
    assert ri.positions().tolist() == positions
    assert ri.n_fillers == sum(is_filler) == count_fillers(stored.reshape(np.shape(dense)), b)
    assert ri.shape == np.shape(dense) and ri.b == b
    if len(fields):
        assert max(fields) <= 2**b - 1
    expected = np.where(stored, flat, 0).reshape(np.shape(dense))
    back = ri.to_dense()
    assert back.dtype == np.asarray(dense).dtype
    np.testing.assert_array_equal(back, expected)
    return ri


# ---------------------------------------------------------------------------
# The paper's Figure 2
# ---------------------------------------------------------------------------


def figure2_vector():
    w = np.zeros(16)
    w[[1, 4, 15]] = [3.4, 0.9, 1.7]
    return w


def test_figure2_example_exactly():
    ri = relative_index(figure2_vector(), 3)
    assert ri.positions().tolist() == [1, 4, 12, 15]
    assert ri.fields.tolist() == [1, 2, 7, 2]
    assert ri.values.tolist() == [3.4, 0.9, 0.0, 1.7]
    assert ri.is_filler.tolist() == [False, False, True, False]
    assert ri.n_entries == 4 and ri.n_fillers == 1
    np.testing.assert_array_equal(ri.to_dense(), figure2_vector())


def test_figure2_paper_diff_row_maps_to_fields():
    ri = relative_index(figure2_vector(), 3)
    # The paper's "diff" row: position differences, the first measured from 0.
    paper_diff = np.diff(ri.positions(), prepend=0)
    assert paper_diff.tolist() == [1, 3, 8, 3]
    # First paper diff equals the first field; later ones are field + 1 (the gap).
    assert paper_diff[0] == ri.fields[0]
    assert (paper_diff[1:] == ri.fields[1:].astype(np.int64) + 1).all()


def test_figure2_fields_pack_into_3_bits():
    ri = relative_index(figure2_vector(), 3)
    packed = pack_fixed(ri.fields, ri.b)
    assert packed == bytes([0b00101011, 0b10100000])  # 001 010 111 010, zero padded
    fields = unpack_fixed(packed, 3, ri.n_entries)
    back = from_relative_index(fields, ri.values, (16,), 3)
    np.testing.assert_array_equal(back, figure2_vector())


# ---------------------------------------------------------------------------
# Relative indexing: every edge pattern, every b
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("b", [1, 2, 3, 5, 8])
def test_empty_layer_stores_nothing(b):
    ri = check_against_loop(np.zeros((3, 7), dtype=np.float32), b)
    assert ri.n_entries == 0
    assert ri.values.dtype == np.float32


@pytest.mark.parametrize("b", [1, 2, 3, 5, 8])
def test_fully_dense_layer_has_zero_fields(b):
    w = np.arange(1, 25, dtype=np.float64).reshape(4, 6)
    ri = check_against_loop(w, b)
    assert ri.fields.tolist() == [0] * 24 and ri.n_fillers == 0


@pytest.mark.parametrize("b", [1, 2, 3, 5, 8])
def test_first_and_last_positions(b):
    w = np.zeros(100)
    w[0], w[-1] = -1.5, 2.5
    ri = check_against_loop(w, b)
    assert ri.fields[0] == 0
    assert ri.n_fillers == math.ceil(99 / 2**b) - 1


@pytest.mark.parametrize("b", range(1, 9))
def test_gap_exactly_at_the_bound_needs_no_filler(b):
    span = 2**b
    w = np.zeros(span + 3)
    w[1], w[1 + span] = 1.0, 2.0  # gap == 2**b
    ri = check_against_loop(w, b)
    assert ri.n_fillers == 0
    assert ri.fields.tolist() == [1, span - 1]


@pytest.mark.parametrize("b", range(1, 9))
def test_gap_one_past_the_bound_needs_one_filler(b):
    span = 2**b
    w = np.zeros(span + 4)
    w[1], w[2 + span] = 1.0, 2.0  # gap == 2**b + 1
    ri = check_against_loop(w, b)
    assert ri.n_fillers == 1
    assert ri.positions().tolist() == [1, 1 + span, 2 + span]
    assert ri.fields.tolist() == [1, span - 1, 0]


@pytest.mark.parametrize("b", range(1, 9))
def test_first_nonzero_at_largest_single_field(b):
    span = 2**b
    w = np.zeros(span + 2)
    w[span - 1] = 7.0  # gap from position -1 is exactly 2**b
    ri = check_against_loop(w, b)
    assert ri.fields.tolist() == [span - 1] and ri.n_fillers == 0


@pytest.mark.parametrize("b", range(1, 9))
def test_first_nonzero_one_past_largest_single_field(b):
    span = 2**b
    w = np.zeros(span + 2)
    w[span] = 7.0  # gap from position -1 is 2**b + 1
    ri = check_against_loop(w, b)
    assert ri.positions().tolist() == [span - 1, span]
    assert ri.fields.tolist() == [span - 1, 0]
    assert ri.is_filler.tolist() == [True, False]


def test_long_gap_gets_ceil_minus_one_fillers():
    w = np.zeros(60)
    w[59] = 1.0  # gap 60 from position -1, b = 2: ceil(60 / 4) - 1 = 14 fillers
    ri = check_against_loop(w, 2)
    assert ri.n_fillers == 14
    assert ri.positions().tolist() == list(range(3, 59, 4)) + [59]


def test_conv_kernel_is_flattened_row_major():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 5, 5)) * (rng.random((4, 3, 5, 5)) < 0.1)
    ri = check_against_loop(w, 3)
    kept = ri.positions()[~ri.is_filler]
    np.testing.assert_array_equal(kept, np.flatnonzero(w.ravel(order="C")))
    # Memory layout must not matter: a Fortran-ordered copy gives the same fields.
    ri_f = relative_index(np.asfortranarray(w), 3)
    np.testing.assert_array_equal(ri_f.fields, ri.fields)
    np.testing.assert_array_equal(ri_f.values, ri.values)


def test_mask_stores_zero_symbols_and_drops_unmasked_values():
    symbols = np.array([[0, 3, 1], [2, 0, 5]], dtype=np.uint8)  # cluster symbols; 0 is one too
    mask = np.array([[True, False, True], [False, True, False]])
    ri = check_against_loop(symbols, 2, mask=mask)
    assert ri.values.dtype == np.uint8
    assert ri.positions().tolist() == [0, 2, 4]
    assert ri.values.tolist() == [0, 1, 0]
    assert not ri.is_filler.any()
    np.testing.assert_array_equal(ri.to_dense(), np.where(mask, symbols, 0))


def test_integer_and_bool_layers_keep_their_dtype():
    w = np.array([0, 0, -3, 0, 9], dtype=np.int16)
    assert check_against_loop(w, 1).values.dtype == np.int16
    check_against_loop(np.array([[True, False], [False, True]]), 1)


@pytest.mark.parametrize("b", [17, 24, 31, 32])
def test_wide_fields_up_to_32_bits(b):
    w = np.zeros(1000)
    w[[0, 500, 999]] = [1.0, 2.0, 3.0]
    ri = check_against_loop(w, b)
    assert ri.n_fillers == 0 and ri.fields.tolist() == [0, 499, 498]
    fields = unpack_fixed(pack_fixed(ri.fields, b), b, ri.n_entries)
    np.testing.assert_array_equal(from_relative_index(fields, ri.values, w.shape, b), w)


@st.composite
def sparse_patterns(draw, b_min, b_max, gap_cap):
    """A 1-D float32 layer and a width b; gaps reach 3 * 2**b + 2 (at most gap_cap)."""
    b = draw(st.integers(b_min, b_max))
    span = 2**b
    gaps = draw(st.lists(st.integers(1, min(3 * span + 2, gap_cap)), max_size=12))
    trailing = draw(st.integers(0, min(2 * span, 1024)))
    positions = np.cumsum(np.array(gaps, dtype=np.int64)) - 1  # first gap from position -1
    length = (int(positions[-1]) + 1 if gaps else 0) + trailing
    w = np.zeros(length, dtype=np.float32)
    w[positions] = np.arange(1, len(gaps) + 1)
    return w, b


@settings(max_examples=100, deadline=None)
@given(sparse_patterns(1, 16, 3 * 2**16 + 2))
def test_property_random_patterns_match_loop_oracle(pattern):
    w, b = pattern
    ri = check_against_loop(w, b)
    assert relative_index_bits(w, b, 5) == ri.n_entries * (b + 5)


@settings(max_examples=30, deadline=None)
@given(sparse_patterns(17, 32, 5000))
def test_property_wide_fields_round_trip(pattern):
    w, b = pattern
    check_against_loop(w, b)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 16),
    st.lists(st.booleans(), max_size=200),
    st.integers(1, 4),
)
def test_property_2d_masks_match_loop_oracle(b, bits, n_rows):
    stored = np.array(bits + [False] * (-len(bits) % n_rows), dtype=bool).reshape(n_rows, -1)
    symbols = np.arange(stored.size, dtype=np.int32).reshape(stored.shape) % 4  # includes 0
    ri = check_against_loop(symbols, b, mask=stored)
    assert count_fillers(stored, b) == loop_count_fillers(stored.ravel().tolist(), b)
    fields = unpack_fixed(pack_fixed(ri.fields, b), b, ri.n_entries)
    back = from_relative_index(fields, ri.values, stored.shape, b)
    np.testing.assert_array_equal(back, np.where(stored, symbols, 0))


def test_positions_from_fields():
    assert positions_from_fields(np.array([1, 2, 7, 2], dtype=np.uint32)).tolist() == [1, 4, 12, 15]
    assert positions_from_fields([0, 0, 0]).tolist() == [0, 1, 2]
    out = positions_from_fields(np.zeros(0, dtype=np.uint32))
    assert out.dtype == np.int64 and out.size == 0
    with pytest.raises(ValueError, match="wider than 32 bits"):
        positions_from_fields(np.array([2**63 - 1], dtype=np.uint64))


def test_relative_index_dataclass_is_frozen():
    ri = relative_index(figure2_vector(), 3)
    assert isinstance(ri, RelativeIndex)
    with pytest.raises(AttributeError):
        ri.b = 4


# ---------------------------------------------------------------------------
# Relative indexing: bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("b", [0, 33, -1])
def test_b_out_of_range(b):
    with pytest.raises(ValueError, match="between 1 and 32"):
        relative_index(figure2_vector(), b)


@pytest.mark.parametrize("b", [3.0, True, "3", None])
def test_b_not_an_int(b):
    with pytest.raises(TypeError, match="integer"):
        relative_index(figure2_vector(), b)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_rejected(bad):
    w = figure2_vector()
    w[7] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        relative_index(w, 3)


def test_mask_of_wrong_shape_or_dtype():
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match="shape"):
        relative_index(w, 3, mask=np.ones((3, 2), dtype=bool))
    with pytest.raises(TypeError, match="bool"):
        relative_index(w, 3, mask=np.ones((2, 3), dtype=np.int8))


def test_scalar_and_non_numeric_weights_rejected():
    with pytest.raises(ValueError, match="at least one dimension"):
        relative_index(np.float32(1.0), 3)
    with pytest.raises(TypeError, match="numeric"):
        relative_index(np.array(["a", "b"]), 3)


def test_decode_field_too_wide_for_b():
    with pytest.raises(ValueError, match="does not fit in b = 3 bits"):
        from_relative_index([1, 8], [1.0, 2.0], (20,), 3)


def test_decode_runs_past_the_end():
    with pytest.raises(ValueError, match="past the end"):
        from_relative_index([7, 7, 7], [1.0, 2.0, 3.0], (23,), 3)  # positions 7, 15, 23
    np.testing.assert_array_equal(
        from_relative_index([7, 7, 7], [1.0, 2.0, 3.0], (24,), 3).nonzero()[0], [7, 15, 23]
    )


def test_decode_length_mismatch_and_bad_fields():
    with pytest.raises(ValueError, match="same length"):
        from_relative_index([1, 2], [1.0], (10,), 3)
    with pytest.raises(ValueError, match="non-negative"):
        from_relative_index(np.array([1, -2]), [1.0, 2.0], (10,), 3)
    with pytest.raises(TypeError, match="integers"):
        from_relative_index(np.array([1.0, 2.0]), [1.0, 2.0], (10,), 3)
    with pytest.raises(ValueError, match="1-D"):
        from_relative_index(np.zeros((2, 2), dtype=np.uint32), np.zeros(4), (10,), 3)
    with pytest.raises(ValueError, match="non-negative"):
        from_relative_index([], [], (-1, 3), 3)
    with pytest.raises(TypeError, match="shape"):
        from_relative_index([], [], np.array([2, 3]), 3)


def test_decode_empty_stream_gives_zeros():
    fields, values = np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.float32)
    out = from_relative_index(fields, values, (3, 4), 5)
    assert out.shape == (3, 4) and out.dtype == np.float32 and not out.any()


# ---------------------------------------------------------------------------
# CSR / CSC against scipy.sparse
# ---------------------------------------------------------------------------


CSR_SHAPES = [(1, 1), (3, 4), (7, 2), (10, 10), (0, 5), (5, 0)]


def random_sparse(shape, density, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    values = rng.integers(-9, 10, size=shape).astype(dtype)
    return values * (rng.random(shape) < density)


@pytest.mark.parametrize("shape", CSR_SHAPES)
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_csr_matches_scipy(shape, density):
    scipy_sparse = pytest.importorskip("scipy.sparse", reason="scipy is the CSR/CSC oracle")
    w = random_sparse(shape, density, seed=sum(shape))
    ours = to_csr(w)
    oracle = scipy_sparse.csr_matrix(w)
    oracle.sort_indices()
    np.testing.assert_array_equal(ours.data, oracle.data)
    np.testing.assert_array_equal(ours.indices, oracle.indices)
    np.testing.assert_array_equal(ours.indptr, oracle.indptr)
    assert ours.shape == oracle.shape
    a, n = np.count_nonzero(w), shape[0]
    assert ours.n_numbers == 2 * a + n + 1
    np.testing.assert_array_equal(ours.to_dense(), w)
    np.testing.assert_array_equal(from_csr(ours.data, ours.indices, ours.indptr, ours.shape), w)


@pytest.mark.parametrize("shape", CSR_SHAPES)
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_csc_matches_scipy(shape, density):
    scipy_sparse = pytest.importorskip("scipy.sparse", reason="scipy is the CSR/CSC oracle")
    w = random_sparse(shape, density, seed=7 + sum(shape), dtype=np.int32)
    ours = to_csc(w)
    oracle = scipy_sparse.csc_matrix(w)
    oracle.sort_indices()
    np.testing.assert_array_equal(ours.data, oracle.data)
    np.testing.assert_array_equal(ours.indices, oracle.indices)
    np.testing.assert_array_equal(ours.indptr, oracle.indptr)
    a, n = np.count_nonzero(w), shape[1]
    assert ours.n_numbers == 2 * a + n + 1
    back = ours.to_dense()
    assert back.dtype == np.int32 and back.flags.c_contiguous
    np.testing.assert_array_equal(back, w)
    np.testing.assert_array_equal(from_csc(ours.data, ours.indices, ours.indptr, ours.shape), w)


def test_csr_small_example_by_hand():
    w = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 3.0]])
    csr = to_csr(w)
    assert isinstance(csr, CSR)
    assert csr.data.tolist() == [2.0, 1.0, 3.0]
    assert csr.indices.tolist() == [1, 0, 2]
    assert csr.indptr.tolist() == [0, 1, 1, 3]
    csc = to_csc(w)
    assert isinstance(csc, CSC)
    assert csc.data.tolist() == [1.0, 2.0, 3.0]
    assert csc.indices.tolist() == [2, 0, 2]
    assert csc.indptr.tolist() == [0, 1, 2, 3]


def test_csr_csc_with_mask_store_explicit_zeros():
    w = np.array([[0, 5], [6, 0]], dtype=np.int8)
    mask = np.array([[True, False], [True, True]])
    csr = to_csr(w, mask=mask)
    assert csr.data.tolist() == [0, 6, 0] and csr.indices.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(csr.to_dense(), np.where(mask, w, 0))
    csc = to_csc(w, mask=mask)
    assert csc.data.tolist() == [0, 6, 0] and csc.indices.tolist() == [0, 1, 1]
    np.testing.assert_array_equal(csc.to_dense(), np.where(mask, w, 0))


@pytest.mark.parametrize("convert", [to_csr, to_csc])
def test_csr_csc_reject_non_2d(convert):
    with pytest.raises(ValueError, match="reshape a conv kernel"):
        convert(np.ones((2, 3, 5, 5)))
    with pytest.raises(ValueError, match="2-D"):
        convert(np.ones(4))


@pytest.mark.parametrize("convert", [to_csr, to_csc])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_csr_csc_reject_non_finite(convert, bad):
    w = np.ones((2, 2))
    w[1, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        convert(w)


def test_csr_mask_checked():
    with pytest.raises(ValueError, match="shape"):
        to_csr(np.ones((2, 2)), mask=np.ones((2, 3), dtype=bool))
    with pytest.raises(TypeError, match="bool"):
        to_csc(np.ones((2, 2)), mask=np.ones((2, 2)))


def test_from_csr_validates_untrusted_arrays():
    data, shape = np.array([1.0, 2.0]), (2, 3)
    with pytest.raises(ValueError, match="indptr must have 3"):
        from_csr(data, [0, 1], [0, 2], shape)
    with pytest.raises(ValueError, match="never decrease"):
        from_csr(data, [0, 1], [0, 3, 2], shape)
    with pytest.raises(ValueError, match="end at len"):
        from_csr(data, [0, 1], [0, 1, 1], shape)
    with pytest.raises(ValueError, match="out of range"):
        from_csr(data, [0, 3], [0, 1, 2], shape)
    with pytest.raises(ValueError, match="strictly increasing"):
        from_csr(data, [1, 1], [0, 2, 2], shape)  # duplicate column in row 0
    with pytest.raises(ValueError, match="strictly increasing"):
        from_csr(data, [2, 1], [0, 2, 2], shape)  # unsorted row 0
    with pytest.raises(ValueError, match="same length"):
        from_csr(data, [0], [0, 1, 2], shape)
    with pytest.raises(ValueError, match="2 entries"):
        from_csr(data, [0, 1], [0, 1, 2], (2, 3, 1))
    with pytest.raises(ValueError, match="non-negative"):
        from_csc(data, [0, -1], [0, 1, 2, 2], shape)


# ---------------------------------------------------------------------------
# Field width: defaults, fillers, the best b
# ---------------------------------------------------------------------------


def test_default_index_bits():
    assert DEFAULT_INDEX_BITS == {"fc": 5, "conv": 8}
    assert default_index_bits((300, 784)) == 5
    assert default_index_bits((20, 1, 5, 5)) == 8
    with pytest.raises(ValueError, match="2-D .fc. or 4-D .conv."):
        default_index_bits((10,))
    with pytest.raises(TypeError, match="w.shape"):
        default_index_bits(np.ones((3, 3)))


def test_count_fillers_by_hand():
    mask = np.zeros(100, dtype=bool)
    mask[[0, 99]] = True  # gaps 1 and 99
    assert count_fillers(mask, 3) == 98 // 8 == 12
    assert count_fillers(mask, 7) == 0
    assert count_fillers(figure2_vector(), 3) == 1  # weights work too: non-zeros are stored
    assert count_fillers(np.zeros((4, 4)), 1) == 0


def test_best_index_bits_by_hand():
    mask = np.zeros(100, dtype=bool)
    mask[[0, 99]] = True
    # (2 + 98 // 2**b) * (b + 4): b=5 -> 45, b=6 -> 30, b=7 -> 22, b=8 -> 24
    assert best_index_bits(mask, 4) == (7, 22)
    assert best_index_bits(mask, 4, candidates=[5, 8]) == (8, 24)
    b, total = best_index_bits(figure2_vector(), 5)
    assert isinstance(b, int) and isinstance(total, int)
    assert total == min(relative_index_bits(figure2_vector(), c, 5) for c in range(1, 17))


def test_best_index_bits_tie_picks_smallest():
    assert best_index_bits(np.zeros((3, 3)), 5) == (1, 0)


def test_best_index_bits_bad_input():
    with pytest.raises(ValueError, match="empty"):
        best_index_bits(figure2_vector(), 5, candidates=[])
    with pytest.raises(ValueError, match="between 1 and 32"):
        best_index_bits(figure2_vector(), 5, candidates=[3, 40])
    with pytest.raises(ValueError, match="value_bits"):
        best_index_bits(figure2_vector(), 0)


# ---------------------------------------------------------------------------
# Storage accounting
# ---------------------------------------------------------------------------


def test_dense_bits():
    assert dense_bits((300, 784)) == 300 * 784 * 32 == 7_526_400
    assert dense_bits((20, 1, 5, 5), value_bits=8) == 500 * 8
    assert type(dense_bits((3, 3))) is int


def test_csr_csc_bits_by_hand():
    w = np.array([[1.0, 0, 0, 2.0], [0, 0, 3.0, 0], [4.0, 5.0, 0, 0]])  # a = 5, 3 rows, 4 cols
    assert csr_bits(w) == 5 * 32 + (5 + 3 + 1) * 32 == 448
    assert csc_bits(w) == 5 * 32 + (5 + 4 + 1) * 32 == 480
    assert csr_bits(w != 0, value_bits=5, index_bits=8) == 25 + 9 * 8 == 97
    assert csc_bits(w, value_bits=5, index_bits=8) == 25 + 10 * 8 == 105
    assert to_csr(w).n_numbers * 32 == csr_bits(w)
    assert type(csr_bits(w)) is int and type(csc_bits(w)) is int
    with pytest.raises(ValueError, match="2-D"):
        csr_bits(np.ones((2, 2, 2)))


def test_relative_index_bits_by_hand():
    assert relative_index_bits(figure2_vector(), 3, 5) == 4 * (3 + 5)  # 3 non-zeros + 1 filler
    assert relative_index_bits(figure2_vector() != 0, 4, 5) == 3 * (4 + 5)  # gap 11 fits 4 bits
    assert type(relative_index_bits(figure2_vector(), 3, 5)) is int
    with pytest.raises(TypeError, match="integer"):
        relative_index_bits(figure2_vector(), 3, 5.0)
    with pytest.raises(ValueError, match="NaN"):
        relative_index_bits(np.array([np.nan]), 3, 5)
