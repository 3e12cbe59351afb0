"""Tests for deepcompress_np.bitpack: fixed- and variable-width bit packing, MSB first."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcompress_np.bitpack import (
    as_byte_array,
    pack_fixed,
    pack_variable,
    packed_size,
    unpack_fixed,
)


def bits_oracle(values, widths):
    """Pack with Python strings: each value as a zero-padded binary word, then bytes."""
    stream = "".join(format(int(v), f"0{int(w)}b") for v, w in zip(values, widths))
    stream += "0" * (-len(stream) % 8)
    return bytes(int(stream[i : i + 8], 2) for i in range(0, len(stream), 8))


def test_module_docstring_example():
    assert pack_fixed([5, 0, 7], 3) == b"\xa3\x80"
    assert unpack_fixed(b"\xa3\x80", 3, 3).tolist() == [5, 0, 7]


@pytest.mark.parametrize("b", range(1, 33))
def test_round_trip_every_width(b):
    rng = np.random.default_rng(b)
    top = 2**b - 1
    values = np.concatenate([[0, top, top, 0, 1], rng.integers(0, top, size=37, endpoint=True)])
    values = values.astype(np.uint64)
    packed = pack_fixed(values, b)
    assert len(packed) == packed_size(values.size, b)
    assert packed == bits_oracle(values, [b] * values.size)
    out = unpack_fixed(packed, b, values.size)
    assert out.dtype == np.uint32
    np.testing.assert_array_equal(out, values)


@pytest.mark.parametrize("b", range(1, 33))
def test_all_max_values(b):
    values = np.full(11, 2**b - 1, dtype=np.uint64)
    np.testing.assert_array_equal(unpack_fixed(pack_fixed(values, b), b, 11), values)


@pytest.mark.parametrize("b", range(1, 33))
def test_empty_input(b):
    assert pack_fixed(np.zeros(0, dtype=np.uint32), b) == b""
    assert pack_fixed([], b) == b""
    out = unpack_fixed(b"", b, 0)
    assert out.dtype == np.uint32 and out.size == 0


def test_packed_size():
    assert packed_size(0, 5) == 0
    assert packed_size(1, 1) == 1
    assert packed_size(8, 1) == 1
    assert packed_size(9, 1) == 2
    assert packed_size(3, 32) == 12


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 32).flatmap(
        lambda b: st.tuples(st.just(b), st.lists(st.integers(0, 2**b - 1)))
    )
)
def test_property_round_trip(case):
    b, values = case
    packed = pack_fixed(np.array(values, dtype=np.uint64), b)
    assert packed == bits_oracle(values, [b] * len(values))
    assert unpack_fixed(packed, b, len(values)).tolist() == values


def test_unpack_ignores_extra_bytes_and_accepts_byte_likes():
    packed = pack_fixed([1, 2, 3], 4)
    byte_likes = (
        packed + b"\xff\xff",
        bytearray(packed),
        memoryview(packed),
        np.frombuffer(packed, np.uint8),
    )
    for data in byte_likes:
        assert unpack_fixed(data, 4, 3).tolist() == [1, 2, 3]


# ---------------------------------------------------------------------------
# Fixed-width errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("b", range(1, 33))
def test_value_too_wide(b):
    with pytest.raises(ValueError, match=f"does not fit in {b} bits"):
        pack_fixed(np.array([0, 2**b], dtype=np.uint64), b)


def test_negative_float_and_2d_values_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        pack_fixed([1, -1], 4)
    with pytest.raises(TypeError, match="integers"):
        pack_fixed([1.0, 2.0], 4)
    with pytest.raises(ValueError, match="1-D"):
        pack_fixed(np.zeros((2, 2), dtype=np.uint8), 4)


@pytest.mark.parametrize("b", [0, 33, -4])
def test_width_out_of_range(b):
    with pytest.raises(ValueError, match="between 1 and 32"):
        pack_fixed([1], b)
    with pytest.raises(ValueError, match="between 1 and 32"):
        unpack_fixed(b"\x00", b, 1)


@pytest.mark.parametrize("b", [4.0, True, "4"])
def test_width_not_an_int(b):
    with pytest.raises(TypeError, match="integer"):
        pack_fixed([1], b)


def test_truncated_data():
    packed = pack_fixed(np.arange(10), 5)  # 50 bits -> 7 bytes
    assert len(packed) == 7
    with pytest.raises(ValueError, match="truncated"):
        unpack_fixed(packed[:6], 5, 10)
    with pytest.raises(ValueError, match="truncated"):
        unpack_fixed(b"", 1, 1)


def test_bad_count():
    with pytest.raises(ValueError, match="n must be >= 0"):
        unpack_fixed(b"\x00", 3, -1)
    with pytest.raises(TypeError, match="n must be an integer"):
        unpack_fixed(b"\xff", 3, 2.9)


def test_as_byte_array_rejects_other_types():
    with pytest.raises(TypeError, match="bytes"):
        as_byte_array([1, 2, 3])
    with pytest.raises(TypeError, match="uint8"):
        as_byte_array(np.zeros(3, dtype=np.int32))


# ---------------------------------------------------------------------------
# Variable-width packing (Huffman streams)
# ---------------------------------------------------------------------------


def test_pack_variable_by_hand():
    data, n_bits = pack_variable([0b1, 0b01, 0b110], [1, 2, 3])  # 1 01 110 -> 101110 + 00
    assert n_bits == 6 and data == bytes([0b10111000])


def test_pack_variable_empty():
    assert pack_variable([], []) == (b"", 0)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 32).flatmap(lambda w: st.tuples(st.integers(0, 2**w - 1), st.just(w))))
)
def test_property_pack_variable_matches_oracle(pairs):
    codes = np.array([c for c, _ in pairs], dtype=np.uint64)
    lengths = np.array([w for _, w in pairs], dtype=np.int64)
    data, n_bits = pack_variable(codes, lengths)
    assert n_bits == int(lengths.sum())
    assert data == bits_oracle(codes, lengths)


def test_pack_variable_errors():
    with pytest.raises(ValueError, match="same shape"):
        pack_variable([1, 2], [3])
    with pytest.raises(ValueError, match="between 1 and 32"):
        pack_variable([0], [0])
    with pytest.raises(ValueError, match="between 1 and 32"):
        pack_variable([1], [33])
    with pytest.raises(ValueError, match="does not fit in its length"):
        pack_variable([1, 5], [3, 2])  # 5 = 0b101 needs 3 bits
    with pytest.raises(TypeError, match="lengths must be integers"):
        pack_variable([1], [2.5])
    with pytest.raises(ValueError, match="non-negative"):
        pack_variable([-1], [2])
