"""Bit packing: unsigned integers of a given bit width into bytes and back.

Deep Compression stores every number in as few bits as it needs: a relative
index gap in 5 or 8 bits (paper §2), a cluster index in 5 to 8 bits (paper §3),
and a Huffman code word in 1 to 24 bits (paper §4). Bytes on disk hold 8 bits,
so those numbers are packed one after the other into a bit string, most
significant bit first, and the last byte is padded with zero bits.

Everything here is vectorised: each value is expanded into its bits with one
broadcast shift, and ``np.packbits``/``np.unpackbits`` do the byte work. There
is no Python loop over the values.

Example: the 3-bit values ``[5, 0, 7]`` are the bits ``101 000 111`` and pack
into the two bytes ``10100011 10000000`` (``0xA3 0x80``), with 7 padding bits.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np._validate import check_int

MAX_WIDTH = 32


def _check_width(b):
    return check_int(b, "bit width", 1, MAX_WIDTH)


def _as_uint64(values, what="values"):
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array, got shape {values.shape}")
    if values.size and values.dtype.kind not in "ui":
        raise TypeError(f"{what} must be integers, got dtype {values.dtype}")
    if values.dtype.kind == "i" and values.size and values.min() < 0:
        raise ValueError(f"{what} must be non-negative, found {values.min()}")
    return values.astype(np.uint64, copy=False)


def as_byte_array(data):
    """View bytes, bytearray, memoryview or a uint8 array as a 1-D uint8 array."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError(f"expected a 1-D uint8 array, got {data.dtype} of shape {data.shape}")
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    return np.frombuffer(data, dtype=np.uint8)


def packed_size(n, b):
    """Number of bytes that ``n`` values of ``b`` bits occupy: ceil(n * b / 8)."""
    return (int(n) * int(b) + 7) // 8


def pack_fixed(values, b):
    """Pack unsigned integers into ``b`` bits each, most significant bit first.

    Parameters
    ----------
    values : array_like of int, shape (n,)
        Each in ``[0, 2**b)``.
    b : int
        Bit width, 1 to 32.

    Returns
    -------
    bytes
        ``packed_size(n, b)`` bytes; the unused bits of the last byte are zero.
    """
    b = _check_width(b)
    values = _as_uint64(values)
    if values.size and int(values.max()) >> b:
        raise ValueError(
            f"value {int(values.max())} does not fit in {b} bits (max {2**b - 1}); use a wider field"
        )
    shifts = np.arange(b - 1, -1, -1, dtype=np.uint64)  # (b,) MSB first
    bits = ((values[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)  # (n, b)
    return np.packbits(bits.ravel()).tobytes()


def unpack_fixed(data, b, n):
    """Inverse of :func:`pack_fixed`: read ``n`` values of ``b`` bits each.

    Parameters
    ----------
    data : bytes-like
        At least ``packed_size(n, b)`` bytes.
    b : int
        Bit width, 1 to 32.
    n : int
        Number of values to read.

    Returns
    -------
    ndarray of uint32, shape (n,)
    """
    b = _check_width(b)
    n = check_int(n, "n", 0)
    buf = as_byte_array(data)
    need = packed_size(n, b)
    if buf.size < need:
        raise ValueError(
            f"truncated bit stream: {n} values of {b} bits need {need} bytes, got {buf.size}"
        )
    bits = np.unpackbits(buf[:need], count=n * b).reshape(n, b).astype(np.uint32)  # (n, b)
    weights = np.uint32(1) << np.arange(b - 1, -1, -1, dtype=np.uint32)  # (b,)
    return bits @ weights if n else np.zeros(0, dtype=np.uint32)


def pack_variable(codes, lengths):
    """Concatenate code words of varying bit lengths into bytes (MSB first).

    This is how a Huffman-coded stream is written: value ``codes[i]`` occupies
    its low ``lengths[i]`` bits, written from the most significant one.

    Parameters
    ----------
    codes : array_like of int, shape (n,)
        Code words; ``codes[i] < 2**lengths[i]``.
    lengths : array_like of int, shape (n,)
        Bit lengths, 1 to 32 each.

    Returns
    -------
    data : bytes
        ``ceil(n_bits / 8)`` bytes, zero-padded.
    n_bits : int
        ``sum(lengths)``, the number of meaningful bits.
    """
    codes = _as_uint64(codes, "codes")
    lengths = np.asarray(lengths)
    if lengths.shape != codes.shape:
        raise ValueError(f"codes and lengths must have the same shape, got {codes.shape} and {lengths.shape}")
    if codes.size == 0:
        return b"", 0
    if lengths.dtype.kind not in "ui":
        raise TypeError(f"lengths must be integers, got dtype {lengths.dtype}")
    lengths = lengths.astype(np.int64)
    if lengths.min() < 1 or lengths.max() > MAX_WIDTH:
        raise ValueError(f"code lengths must be between 1 and {MAX_WIDTH}")
    too_wide = (codes >> lengths.astype(np.uint64)) != 0  # (n,) code has bits above its length
    if too_wide.any():
        i = int(np.argmax(too_wide))
        raise ValueError(
            f"code {int(codes[i])} at position {i} does not fit in its length of "
            f"{int(lengths[i])} bits; the code table is inconsistent"
        )
    width = int(lengths.max())
    # Right-align every code in a field of ``width`` bits, expand to bits, and
    # keep only the last lengths[i] bits of row i (boolean masks keep row order).
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)  # (width,)
    bits = ((codes[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)  # (n, width)
    keep = np.arange(width) >= (width - lengths)[:, None]  # (n, width)
    stream = bits[keep]
    return np.packbits(stream).tobytes(), int(stream.size)
