"""The compressed file: the bytes that Deep Compression's three stages add up to.

One file holds one model. Each weight layer is stored as the paper describes:
its surviving weights in relative-index form with filler zeros (§2), each
stored entry's weight as a cluster index into a shared codebook (§3), and both
streams Huffman-coded (§4). The file header describes the whole network,
layers without weights included (``architecture.py``), so a file can be run
with no other information. This module is the reference reader and writer;
the README's section "The compressed file format" documents every byte.

In short (all integers little-endian; version 2, the one written)::

    header   "DCNP" | version u8 = 2 | name_len u8 | name | arch_len u32 | arch (JSON) |
             n_layers u16 | crc32 u32
    layer    payload_len u32 | payload | crc32(payload) u32          (n_layers times)
    payload  name_len u8 | name | ndim u8 | dims u32 x ndim | index_bits u8 |
             k u32 | n_entries u32 | n_bias u32 |
             n_symbol_lengths u32 | n_gap_lengths u32 |
             symbol_stream_bits u32 | gap_stream_bits u32 |
             symbol code lengths (5 bits each) | gap code lengths (5 bits each) |
             symbol stream | gap stream | codebook f32 x k | bias f32 x n_bias

Version 1 files (``"DCNP" | 1 | arch_len u8 | "lenet300" or "lenet5" | n_layers
u16 | crc32``, then the same layer sections) name one of the two bundled
LeNets instead of describing the network; they are still read.

Stored entry j has a gap field ``fields[j]`` (the number of zero weights
skipped since the previous stored entry, see ``sparse/relative_indexing.py``)
and a weight symbol ``symbols[j]``: 0 for a filler zero, ``s > 0`` for cluster
``s - 1`` of the codebook. The filler needs its own symbol because nothing
else tells a filler apart from a real weight that happens to sit at the
largest gap.

The reader trusts nothing: every length is checked against the bytes that are
really there, every section against its CRC-32, the architecture against its
bounds (``architecture.validate``) and the layer names and shapes against the
architecture, *before* anything is allocated. Any problem raises
:class:`CompressedFileError` naming it.
"""

from __future__ import annotations

import functools
import json
import struct
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from deepcompress_np import architecture
from deepcompress_np.bitpack import pack_fixed, packed_size, unpack_fixed
from deepcompress_np.huffman import HuffmanCode, HuffmanDecodeError

MAGIC = b"DCNP"
VERSION = 2  # the version written; versions 1 and 2 are read
READ_VERSIONS = (1, 2)
LENGTH_BITS = 5  # a code length (0..24) is stored in 5 bits
MAX_INDEX_BITS = 16
MAX_CODEBOOK = 2 ** 16 - 1  # k + 1 weight symbols (the filler too) fit a 2**16-symbol Huffman code
MAX_HUFFMAN_LENGTH = 24
#: The model's name in the header: 0 (no name) to this many printable ASCII characters.
MAX_NAME_BYTES = 64
#: The architecture JSON in the header is 1 to this many bytes (256 layers of the longest
#: description take about 40 kB).
MAX_ARCHITECTURE_BYTES = 65536


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


class DecodedFile(NamedTuple):
    """What :func:`decode_file` reads from a file."""

    version: int  #: 1 or 2
    name: str  #: the model's name (``"lenet5"``), or None
    architecture: dict  #: every layer in order (``architecture.py``), validated
    layers: list  #: one CompressedLayer per weight layer, in order


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
    if not 1 <= k <= MAX_CODEBOOK or not 1 <= b <= MAX_INDEX_BITS:
        raise ValueError(f"layer {layer.name!r}: a file holds 1 to {MAX_CODEBOOK} shared weights and index fields "
                         f"of 1 to {MAX_INDEX_BITS} bits, got {k} and {b} (use at most 15-bit codebooks)")
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


def payload_size(name, shape, b, symbol_counts, field_counts, n_bias):
    """The length in bytes of a layer payload, from its symbol and field histograms alone.

    What :func:`encode_layer` would write, without building the streams: the
    Huffman code lengths come from the counts, and a stream of ``n`` code
    words takes ``sum(count * length)`` bits. Used to choose an index width
    (``"auto"``) without encoding the layer once per candidate width.

    Parameters
    ----------
    symbol_counts : ndarray of int, shape (k + 1,)
        How often each weight symbol occurs (symbol 0 = filler).
    field_counts : ndarray of int, shape (2**b,)
        How often each relative-index field occurs.
    """
    lengths = [HuffmanCode.from_counts(counts, max_length=MAX_HUFFMAN_LENGTH).lengths
               for counts in (symbol_counts, field_counts)]
    tables = sum(packed_size(_code_lengths_bytes(l)[0], LENGTH_BITS) for l in lengths)
    streams = sum(packed_size(int(np.dot(c.astype(np.int64), l.astype(np.int64))), 1)
                  for c, l in zip((symbol_counts, field_counts), lengths))
    head = 1 + len(name.encode("ascii")) + 1 + 4 * len(shape) + struct.calcsize("<BIIIIIII")
    k = len(symbol_counts) - 1
    return head + tables + streams + 4 * k + 4 * n_bias


def check_name(name):
    """The model's name as header bytes: None or 1 to 64 printable ASCII characters; raises ValueError."""
    if name is None:
        return b""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_BYTES or not _printable(name.encode("utf-8")):
        raise ValueError(f"a compressed file stores the model's name as 1 to {MAX_NAME_BYTES} printable ASCII "
                         f"characters, got {name!r}; set model.arch to such a name, or to None")
    return name.encode("ascii")


def _printable(raw):
    return all(0x20 <= byte <= 0x7E for byte in raw)


def encode_header(name, spec, n_layers):
    """The version-2 file header: magic, version, name, architecture JSON, layer count, CRC-32."""
    name_bytes = check_name(name)
    arch_bytes = architecture.to_json(spec).encode("ascii")
    if len(arch_bytes) > MAX_ARCHITECTURE_BYTES:
        raise ValueError(f"the architecture takes {len(arch_bytes):,} bytes of JSON; a file holds at most "
                         f"{MAX_ARCHITECTURE_BYTES:,}")
    header = (MAGIC + struct.pack("<BB", VERSION, len(name_bytes)) + name_bytes
              + struct.pack("<I", len(arch_bytes)) + arch_bytes + struct.pack("<H", n_layers))
    return header + struct.pack("<I", zlib.crc32(header))


def encode_file(name, spec, layers):
    """The whole version-2 file as bytes, and a per-layer dict of byte counts (``"header"`` for the file header).

    Parameters
    ----------
    name : str or None
        The model's name (``"lenet5"``), shown when the file is loaded.
    spec : dict
        The architecture (``architecture.describe(model)``).
    layers : list of CompressedLayer
        One per weight layer of ``spec``, in order, with the shapes it gives.
    """
    expected = list(architecture.weight_shapes(spec).items())
    got = [(layer.name, tuple(layer.shape)) for layer in layers]
    if got != expected:
        raise ValueError(f"the layers {got} do not match the architecture's weight layers {expected}")
    header = encode_header(name, spec, len(layers))
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
def _lenet_architecture_json(arch):
    from deepcompress_np.models import ARCHITECTURES, build

    if arch not in ARCHITECTURES:
        raise CompressedFileError(f"unknown architecture {arch!r} in a version-1 header; known: {sorted(ARCHITECTURES)}")
    return architecture.to_json(build(arch).architecture())


def _check_header_crc(cur):
    (crc,) = cur.unpack("<I", "header checksum")
    if crc != zlib.crc32(cur.data[:cur.pos - 4]):
        raise CompressedFileError("header checksum mismatch: the file header is corrupted")


def _read_header_v1(cur):
    """Version 1: the header names one of the two bundled LeNets."""
    (arch_len,) = cur.unpack("<B", "architecture name length")
    raw = cur.take(arch_len, "architecture name")
    (n_layers,) = cur.unpack("<H", "layer count")
    _check_header_crc(cur)
    name = raw.decode("latin-1")  # any bytes; only "lenet300" and "lenet5" are known
    return name, json.loads(_lenet_architecture_json(name)), n_layers


def _reject_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"an object repeats a key ({sorted(keys)})")
    return dict(pairs)


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def parse_architecture(raw):
    """The architecture from the header's JSON bytes, validated; raises CompressedFileError.

    Strict JSON (RFC 8259) in UTF-8: no repeated keys in an object, no
    ``NaN``/``Infinity``; then ``architecture.validate`` checks kinds,
    bounds, names and that the shapes chain, without allocating anything.
    """
    try:
        spec = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys,
                          parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise CompressedFileError(f"the architecture in the header is not valid JSON ({e})") from None
    try:
        architecture.validate(spec)
    except architecture.ArchitectureError as e:
        raise CompressedFileError(f"the architecture in the header is invalid: {e}") from None
    return spec


def _read_header_v2(cur):
    """Version 2: the header describes every layer (architecture JSON)."""
    (name_len,) = cur.unpack("<B", "name length")
    if name_len > MAX_NAME_BYTES:
        raise CompressedFileError(f"the model name takes {name_len} bytes; at most {MAX_NAME_BYTES} are allowed")
    raw_name = cur.take(name_len, "model name")
    (arch_len,) = cur.unpack("<I", "architecture length")
    if not 1 <= arch_len <= MAX_ARCHITECTURE_BYTES:
        raise CompressedFileError(f"the architecture takes {arch_len:,} bytes; it must take 1 to "
                                  f"{MAX_ARCHITECTURE_BYTES:,}")
    raw_arch = cur.take(arch_len, "architecture")
    (n_layers,) = cur.unpack("<H", "layer count")
    _check_header_crc(cur)
    if not _printable(raw_name):
        raise CompressedFileError("the model name is not printable ASCII")
    return raw_name.decode("ascii") or None, parse_architecture(raw_arch), n_layers


def _read_header(cur):
    magic = cur.take(4, "magic number")
    if magic != MAGIC:
        raise CompressedFileError(f"not a deepcompress_np compressed file: magic number {magic!r}, expected {MAGIC!r}")
    (version,) = cur.unpack("<B", "version")
    if version not in READ_VERSIONS:
        raise CompressedFileError(f"format version {version} is not supported (this reader knows versions "
                                  f"{', '.join(map(str, READ_VERSIONS))})")
    name, spec, n_layers = (_read_header_v1 if version == 1 else _read_header_v2)(cur)
    return version, name, spec, n_layers


def _check_padding(chunk, n_bits, what):
    """The unused low bits of a bit stream's last byte must be zero."""
    spare = 8 * len(chunk) - n_bits
    if spare and chunk[-1] & ((1 << spare) - 1):
        raise CompressedFileError(f"{what}: the {spare} padding bits after the last of its {n_bits} bits are not zero")


def _read_lengths(cur, n, alphabet, what):
    if n > alphabet:
        raise CompressedFileError(f"{what}: {n} code lengths for an alphabet of {alphabet} symbols")
    chunk = cur.take(packed_size(n, LENGTH_BITS), f"{what} code lengths")
    _check_padding(chunk, LENGTH_BITS * n, f"{what} code lengths")
    lengths = np.zeros(alphabet, dtype=np.uint8)
    lengths[:n] = unpack_fixed(chunk, LENGTH_BITS, n)
    if n and int(lengths.max()) > MAX_HUFFMAN_LENGTH:
        raise CompressedFileError(f"{what}: a code length of {int(lengths.max())} bits; at most "
                                  f"{MAX_HUFFMAN_LENGTH} are allowed")
    try:
        return HuffmanCode.from_lengths(lengths)
    except ValueError as e:
        raise CompressedFileError(f"{what}: invalid Huffman code table ({e})") from None


def _read_stream(cur, code, n_entries, n_bits, what):
    chunk = cur.take(packed_size(n_bits, 1), what)
    _check_padding(chunk, n_bits, what)
    try:
        return code.decode(chunk, n_entries, n_bits=n_bits).astype(np.uint32)
    except HuffmanDecodeError as e:
        raise CompressedFileError(f"{what}: {e}") from None


def decode_layer(payload, expected_name, expected_shape, index):
    """Parse and validate one layer payload (already CRC-checked) that must be weight layer ``expected_name``."""
    what = f"layer {index}"
    cur = _Cursor(payload, what)
    (name_len,) = cur.unpack("<B", "name length")
    raw = cur.take(name_len, "name")
    if raw != expected_name.encode("ascii"):
        raise CompressedFileError(f"{what}: the section is named {raw!r}; the architecture's weight layer {index} "
                                  f"is {expected_name!r}")
    name = expected_name
    what = f"layer {index} ({name!r})"
    cur.what = what
    (ndim,) = cur.unpack("<B", "ndim")
    if ndim != len(expected_shape):
        raise CompressedFileError(f"{what}: {ndim} dimensions, expected {len(expected_shape)}")
    shape = cur.unpack(f"<{ndim}I", "shape")
    if tuple(shape) != tuple(expected_shape):
        raise CompressedFileError(f"{what}: shape {shape} does not match the architecture's {tuple(expected_shape)}")
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
    symbols = _read_stream(cur, symbol_code, n_entries, sym_bits, f"{what} weight stream")
    fields = _read_stream(cur, gap_code, n_entries, gap_bits, f"{what} index stream")
    codebook = np.frombuffer(cur.take(4 * k, "codebook"), dtype="<f4").astype(np.float32)
    bias = np.frombuffer(cur.take(4 * n_bias, "bias"), dtype="<f4").astype(np.float32)
    if not (np.all(np.isfinite(codebook)) and np.all(np.isfinite(bias))):
        raise CompressedFileError(f"{what}: the codebook or the bias holds NaN or infinite values")
    if n_entries and int(np.sum(fields, dtype=np.int64)) + n_entries > size:
        raise CompressedFileError(f"{what}: the relative indices run past the end of the layer ({size} weights)")
    return CompressedLayer(name, tuple(shape), b, codebook, bias, fields, symbols, sizes)


def decode_file(data):
    """Parse a whole compressed file (version 1 or 2); raises CompressedFileError on any problem.

    Returns
    -------
    DecodedFile
        ``(version, name, architecture, layers)``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    cur = _Cursor(data, "file")
    version, name, spec, n_layers = _read_header(cur)
    expected = list(architecture.weight_shapes(spec).items())  # spec is validated: no allocation here
    if n_layers != len(expected):
        raise CompressedFileError(f"{n_layers} layer sections in the header; the architecture has "
                                  f"{len(expected)} weight layers")
    layers = []
    for i, (layer_name, shape) in enumerate(expected):
        (length,) = cur.unpack("<I", f"layer {i} length")
        payload = cur.take(length, f"layer {i}")
        (crc,) = cur.unpack("<I", f"layer {i} checksum")
        if crc != zlib.crc32(payload):
            raise CompressedFileError(f"layer {i}: checksum mismatch, the section is corrupted")
        layers.append(decode_layer(payload, layer_name, shape, i))
    if cur.pos != len(data):
        raise CompressedFileError(f"{len(data) - cur.pos} unexpected bytes after the last layer")
    return DecodedFile(version, name, spec, layers)
