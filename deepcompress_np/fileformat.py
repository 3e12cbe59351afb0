"""The compressed file: the bytes that Deep Compression's three stages add up to.

One file holds one model. Each weight layer is stored as the paper describes:
its surviving weights in relative-index form with filler zeros (§2), each
stored entry's weight as a cluster index into a shared codebook (§3), and both
streams Huffman-coded (§4). This module is the reference reader and writer;
the README's section "The compressed file format" documents every byte.

In short (all integers little-endian)::

    header   "DCNP" | version u8 | arch_len u8 | arch | n_layers u16 | crc32 u32
    layer    payload_len u32 | payload | crc32(payload) u32          (n_layers times)
    payload  name_len u8 | name | ndim u8 | dims u32 x ndim | index_bits u8 |
             k u32 | n_entries u32 | n_bias u32 |
             n_symbol_lengths u32 | n_gap_lengths u32 |
             symbol_stream_bits u32 | gap_stream_bits u32 |
             symbol code lengths (5 bits each) | gap code lengths (5 bits each) |
             symbol stream | gap stream | codebook f32 x k | bias f32 x n_bias

Stored entry j has a gap field ``fields[j]`` (the number of zero weights
skipped since the previous stored entry, see ``sparse/relative_indexing.py``)
and a weight symbol ``symbols[j]``: 0 for a filler zero, ``s > 0`` for cluster
``s - 1`` of the codebook. The filler needs its own symbol because nothing
else tells a filler apart from a real weight that happens to sit at the
largest gap.

The reader trusts nothing: every length is checked against the bytes that are
really there, every section against its CRC-32, and the layer names and
shapes against the architecture named in the header, *before* anything is
allocated. Any problem raises :class:`CompressedFileError` naming it.
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from deepcompress_np.bitpack import pack_fixed, packed_size, unpack_fixed
from deepcompress_np.huffman import HuffmanCode, HuffmanDecodeError

MAGIC = b"DCNP"
VERSION = 1
LENGTH_BITS = 5  # a code length (0..24) is stored in 5 bits
MAX_INDEX_BITS = 16
MAX_CODEBOOK = 2 ** 16
MAX_HUFFMAN_LENGTH = 24


class CompressedFileError(ValueError):
    """A compressed file that is truncated, corrupted, hostile or not a compressed file at all."""


@dataclass
class CompressedLayer:
    """One weight layer in stored form.

    Attributes
    ----------
    name : str
        Layer name (e.g. ``"ip1"``).
    shape : tuple of int
        Shape of the weight tensor, (out, in) or (F, C, kh, kw).
    index_bits : int
        b, the width of a relative-index gap field (1..16).
    codebook : ndarray of float32, shape (k,)
        The shared weights (cluster centroids).
    bias : ndarray of float32, shape (shape[0],)
    fields : ndarray of uint32, shape (m,)
        Gap fields of the m stored entries, fillers included.
    symbols : ndarray of uint32, shape (m,)
        0 = filler zero, s > 0 = cluster s - 1.
    """

    name: str
    shape: tuple
    index_bits: int
    codebook: np.ndarray
    bias: np.ndarray
    fields: np.ndarray
    symbols: np.ndarray
    sizes: dict = None  # filled by the writer and the reader: bytes per part, bits per stream

    @property
    def n_entries(self):
        return int(self.fields.size)

    @property
    def n_fillers(self):
        return int(np.count_nonzero(self.symbols == 0))

    def positions(self):
        """Flat (row-major) position of every stored entry: cumsum(fields + 1) - 1."""
        return np.cumsum(self.fields.astype(np.int64) + 1) - 1

    def weights(self):
        """Weight of every stored entry: 0 for fillers, codebook[s - 1] otherwise. Shape (m,)."""
        return np.concatenate([np.zeros(1, np.float32), self.codebook])[self.symbols]

    def to_dense(self):
        """The dense float32 weight tensor."""
        W = np.zeros(int(np.prod(self.shape)), dtype=np.float32)
        W[self.positions()] = self.weights()
        return W.reshape(self.shape)


# ----------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------

def _code_lengths_bytes(lengths):
    """Code lengths with trailing zeros trimmed, 5 bits each: (count, bytes)."""
    used = np.flatnonzero(lengths)
    n = int(used[-1]) + 1 if used.size else 0
    return n, pack_fixed(np.asarray(lengths[:n], dtype=np.uint32), LENGTH_BITS)


def encode_layer(layer):
    """The payload bytes of one layer, and a dict of how many bytes each part takes (also kept in ``layer.sizes``)."""
    k, b = int(layer.codebook.size), int(layer.index_bits)
    symbol_code = HuffmanCode.from_counts(np.bincount(layer.symbols, minlength=k + 1),
                                          max_length=MAX_HUFFMAN_LENGTH)
    gap_code = HuffmanCode.from_counts(np.bincount(layer.fields, minlength=2 ** b),
                                       max_length=MAX_HUFFMAN_LENGTH)
    n_sym_len, sym_len_bytes = _code_lengths_bytes(symbol_code.lengths)
    n_gap_len, gap_len_bytes = _code_lengths_bytes(gap_code.lengths)
    sym_stream, sym_bits = symbol_code.encode(layer.symbols)
    gap_stream, gap_bits = gap_code.encode(layer.fields)
    name = layer.name.encode("ascii")
    head = struct.pack("<B", len(name)) + name + struct.pack("<B", len(layer.shape))
    head += struct.pack(f"<{len(layer.shape)}I", *layer.shape)
    head += struct.pack("<BIIIIIII", b, k, layer.n_entries, layer.bias.size, n_sym_len, n_gap_len, sym_bits, gap_bits)
    parts = {
        "layer header": head,
        "code tables": sym_len_bytes + gap_len_bytes,
        "weight stream": sym_stream,
        "index stream": gap_stream,
        "codebook": layer.codebook.astype("<f4").tobytes(),
        "bias": layer.bias.astype("<f4").tobytes(),
    }
    payload = b"".join(parts.values())
    sizes = {name: len(part) for name, part in parts.items()}
    sizes["framing"] = 8  # payload length and CRC
    sizes.update(weight_stream_bits=sym_bits, index_stream_bits=gap_bits)
    layer.sizes = sizes
    return payload, sizes


def encode_file(arch, layers):
    """The whole file as bytes, and a per-layer dict of byte counts (``"header"`` for the file header)."""
    arch_bytes = arch.encode("ascii")
    header = MAGIC + struct.pack("<BB", VERSION, len(arch_bytes)) + arch_bytes + struct.pack("<H", len(layers))
    header += struct.pack("<I", zlib.crc32(header))
    chunks, breakdown = [header], {"header": {"file header": len(header)}}
    for layer in layers:
        payload, sizes = encode_layer(layer)
        chunks.append(struct.pack("<I", len(payload)) + payload + struct.pack("<I", zlib.crc32(payload)))
        breakdown[layer.name] = sizes
    return b"".join(chunks), breakdown


# ----------------------------------------------------------------------------
# Reading: validate everything, then allocate
# ----------------------------------------------------------------------------

class _Cursor:
    """Reads fields from a bytes object, raising CompressedFileError when they are not there."""

    def __init__(self, data, what):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n, field):
        if n < 0 or self.pos + n > len(self.data):
            raise CompressedFileError(
                f"{self.what}: truncated while reading {field} ({n} bytes needed at offset {self.pos}, "
                f"{len(self.data) - self.pos} left)"
            )
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt, field):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), field))


@functools.lru_cache(maxsize=None)
def _architecture_shapes(arch):
    from deepcompress_np.models import build

    return tuple((layer.name, layer.params["W"].shape) for layer in build(arch).weight_layers())


def _expected_shapes(arch):
    """Layer name -> weight shape for a known architecture (bounds every allocation)."""
    from deepcompress_np.models import ARCHITECTURES

    if arch not in ARCHITECTURES:
        raise CompressedFileError(f"unknown architecture {arch!r} in the header; known: {sorted(ARCHITECTURES)}")
    return dict(_architecture_shapes(arch))


def _read_header(cur):
    magic = cur.take(4, "magic number")
    if magic != MAGIC:
        raise CompressedFileError(f"not a deepcompress_np compressed file: magic number {magic!r}, expected {MAGIC!r}")
    version, arch_len = cur.unpack("<BB", "version")
    if version != VERSION:
        raise CompressedFileError(f"format version {version} is not supported (this reader knows version {VERSION})")
    try:
        arch = cur.take(arch_len, "architecture name").decode("ascii")
    except UnicodeDecodeError:
        raise CompressedFileError("the architecture name is not ASCII") from None
    (n_layers,) = cur.unpack("<H", "layer count")
    (crc,) = cur.unpack("<I", "header checksum")
    if crc != zlib.crc32(cur.data[:cur.pos - 4]):
        raise CompressedFileError("header checksum mismatch: the file header is corrupted")
    return arch, n_layers


def _read_lengths(cur, n, alphabet, what):
    if n > alphabet:
        raise CompressedFileError(f"{what}: {n} code lengths for an alphabet of {alphabet} symbols")
    lengths = np.zeros(alphabet, dtype=np.uint8)
    lengths[:n] = unpack_fixed(cur.take(packed_size(n, LENGTH_BITS), f"{what} code lengths"), LENGTH_BITS, n)
    try:
        return HuffmanCode.from_lengths(lengths)
    except ValueError as e:
        raise CompressedFileError(f"{what}: invalid Huffman code table ({e})") from None


def decode_layer(payload, expected_shapes, index):
    """Parse and validate one layer payload (already CRC-checked)."""
    what = f"layer {index}"
    cur = _Cursor(payload, what)
    (name_len,) = cur.unpack("<B", "name length")
    try:
        name = cur.take(name_len, "name").decode("ascii")
    except UnicodeDecodeError:
        raise CompressedFileError(f"{what}: the layer name is not ASCII") from None
    what = f"layer {index} ({name!r})"
    cur.what = what
    if name not in expected_shapes:
        raise CompressedFileError(f"{what}: the architecture has no layer of that name ({sorted(expected_shapes)})")
    (ndim,) = cur.unpack("<B", "ndim")
    if ndim != len(expected_shapes[name]):
        raise CompressedFileError(f"{what}: {ndim} dimensions, expected {len(expected_shapes[name])}")
    shape = cur.unpack(f"<{ndim}I", "shape")
    if tuple(shape) != tuple(expected_shapes[name]):
        raise CompressedFileError(f"{what}: shape {shape} does not match the architecture's {expected_shapes[name]}")
    b, k, n_entries, n_bias, n_sym_len, n_gap_len, sym_bits, gap_bits = cur.unpack("<BIIIIIII", "layer counts")
    size = int(np.prod(shape))
    if not 1 <= b <= MAX_INDEX_BITS:
        raise CompressedFileError(f"{what}: index field width {b} is outside 1..{MAX_INDEX_BITS}")
    if not 1 <= k <= MAX_CODEBOOK:
        raise CompressedFileError(f"{what}: codebook size {k} is outside 1..{MAX_CODEBOOK}")
    if n_bias != shape[0]:
        raise CompressedFileError(f"{what}: {n_bias} biases for {shape[0]} outputs")
    if n_entries > size:
        raise CompressedFileError(f"{what}: {n_entries} stored entries for a layer of {size} weights")
    if n_entries > sym_bits or n_entries > gap_bits:
        raise CompressedFileError(f"{what}: {n_entries} entries cannot fit in streams of {sym_bits} and {gap_bits} bits")
    sizes = {
        "layer header": cur.pos,
        "code tables": packed_size(n_sym_len, LENGTH_BITS) + packed_size(n_gap_len, LENGTH_BITS),
        "weight stream": packed_size(sym_bits, 1),
        "index stream": packed_size(gap_bits, 1),
        "codebook": 4 * k,
        "bias": 4 * n_bias,
        "framing": 8,
        "weight_stream_bits": sym_bits,
        "index_stream_bits": gap_bits,
    }
    expected = sum(v for key, v in sizes.items() if key not in ("framing", "weight_stream_bits", "index_stream_bits"))
    if expected != len(payload):
        raise CompressedFileError(f"{what}: the counts imply {expected} bytes but the section holds {len(payload)}")
    symbol_code = _read_lengths(cur, n_sym_len, k + 1, f"{what} weight symbols")
    gap_code = _read_lengths(cur, n_gap_len, 2 ** b, f"{what} index gaps")
    try:
        symbols = symbol_code.decode(cur.take(packed_size(sym_bits, 1), "weight stream"), n_entries, n_bits=sym_bits)
        fields = gap_code.decode(cur.take(packed_size(gap_bits, 1), "index stream"), n_entries, n_bits=gap_bits)
    except HuffmanDecodeError as e:
        raise CompressedFileError(f"{what}: {e}") from None
    codebook = np.frombuffer(cur.take(4 * k, "codebook"), dtype="<f4").astype(np.float32)
    bias = np.frombuffer(cur.take(4 * n_bias, "bias"), dtype="<f4").astype(np.float32)
    if not (np.all(np.isfinite(codebook)) and np.all(np.isfinite(bias))):
        raise CompressedFileError(f"{what}: the codebook or the bias holds NaN or infinite values")
    fields, symbols = fields.astype(np.uint32), symbols.astype(np.uint32)
    if n_entries and int(np.sum(fields, dtype=np.int64)) + n_entries > size:
        raise CompressedFileError(f"{what}: the relative indices run past the end of the layer ({size} weights)")
    return CompressedLayer(name, tuple(shape), b, codebook, bias, fields, symbols, sizes)


def decode_file(data):
    """Parse a whole compressed file. Returns ``(arch, layers)``; raises CompressedFileError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    cur = _Cursor(data, "file")
    arch, n_layers = _read_header(cur)
    expected_shapes = _expected_shapes(arch)
    if n_layers != len(expected_shapes):
        raise CompressedFileError(f"{n_layers} layers in the header; {arch} has {len(expected_shapes)}")
    layers = []
    for i in range(n_layers):
        (length,) = cur.unpack("<I", f"layer {i} length")
        payload = cur.take(length, f"layer {i}")
        (crc,) = cur.unpack("<I", f"layer {i} checksum")
        if crc != zlib.crc32(payload):
            raise CompressedFileError(f"layer {i}: checksum mismatch, the section is corrupted")
        layers.append(decode_layer(payload, expected_shapes, i))
    if cur.pos != len(data):
        raise CompressedFileError(f"{len(data) - cur.pos} unexpected bytes after the last layer")
    names = [layer.name for layer in layers]
    if names != list(expected_shapes):
        raise CompressedFileError(f"layers {names} do not match the {arch} architecture's {list(expected_shapes)}")
    return arch, layers
