"""An independent decoder, written from the README's description of the file format alone.

It imports nothing from deepcompress_np's reader: if the README and the writer ever disagree, this fails.
"""

import struct
import zlib

import numpy as np

from deepcompress_np.compressed import CompressedModel
from deepcompress_np.prune import prune_model
from deepcompress_np.quantize import quantize_model_params


def _bits(data):
    """A stream's bits, most significant bit of the first byte first."""
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def _read_lengths(bits, n):
    return [int("".join(map(str, bits[5 * i:5 * i + 5])), 2) for i in range(n)]


def _canonical(lengths):
    """word[s] for every symbol with a code, per the README's pseudo-code."""
    code, words = 0, {}
    for length in range(1, 25):
        for symbol, l in enumerate(lengths):
            if l == length:
                words[(length, code)] = symbol
                code += 1
        code <<= 1
    return words


def _decode_stream(bits, lengths, m, n_bits):
    words, out, value, length, used = _canonical(lengths), [], 0, 0, 0
    for bit in bits[:n_bits]:
        value, length, used = (value << 1) | bit, length + 1, used + 1
        if (length, value) in words:
            out.append(words[(length, value)])
            value, length = 0, 0
    assert len(out) == m and length == 0 and used == n_bits
    return out


def independent_decode(data):
    assert data[:4] == b"DCNP" and data[4] == 1
    a = data[5]
    arch = data[6:6 + a].decode("ascii")
    (n_layers,) = struct.unpack_from("<H", data, 6 + a)
    (crc,) = struct.unpack_from("<I", data, 8 + a)
    assert crc == zlib.crc32(data[:8 + a])
    pos, layers = 12 + a, {}
    for _ in range(n_layers):
        (p,) = struct.unpack_from("<I", data, pos)
        payload = data[pos + 4:pos + 4 + p]
        assert struct.unpack_from("<I", data, pos + 4 + p)[0] == zlib.crc32(payload)
        pos += 8 + p
        q = 0
        name = payload[q + 1:q + 1 + payload[q]].decode("ascii")
        q += 1 + payload[q]
        ndim = payload[q]
        dims = struct.unpack_from(f"<{ndim}I", payload, q + 1)
        q += 1 + 4 * ndim
        b = payload[q]
        k, m, n_bias, n_wlen, n_glen, wbits, gbits = struct.unpack_from("<7I", payload, q + 1)
        q += 1 + 28
        wlen = _read_lengths(_bits(payload[q:q + (5 * n_wlen + 7) // 8]), n_wlen) + [0] * (k + 1 - n_wlen)
        q += (5 * n_wlen + 7) // 8
        glen = _read_lengths(_bits(payload[q:q + (5 * n_glen + 7) // 8]), n_glen) + [0] * (2 ** b - n_glen)
        q += (5 * n_glen + 7) // 8
        symbols = _decode_stream(_bits(payload[q:q + (wbits + 7) // 8]), wlen, m, wbits)
        q += (wbits + 7) // 8
        gaps = _decode_stream(_bits(payload[q:q + (gbits + 7) // 8]), glen, m, gbits)
        q += (gbits + 7) // 8
        codebook = np.frombuffer(payload[q:q + 4 * k], dtype="<f4")
        q += 4 * k
        bias = np.frombuffer(payload[q:q + 4 * n_bias], dtype="<f4")
        q += 4 * n_bias
        assert q == len(payload)
        W = np.zeros(int(np.prod(dims)), dtype=np.float32)
        position = -1
        for d, s in zip(gaps, symbols):
            position += d + 1
            W[position] = 0.0 if s == 0 else codebook[s - 1]
        layers[name] = (W.reshape(dims), bias)
    assert pos == len(data)
    return arch, layers


def test_a_decoder_written_from_the_readme_reads_our_files(pretrained):
    model = pretrained("lenet5")
    masks = prune_model(model, keep_fraction={"conv1": 0.5, "conv2": 0.05, "ip1": 0.005, "ip2": 0.1})
    quantized = quantize_model_params(model.params(), masks, bits={"conv1.W": 4, "conv2.W": 4, "ip1.W": 3,
                                                                    "ip2.W": 3})
    cm = CompressedModel.from_quantized(model, quantized, index_bits={"conv1": 3, "conv2": 8, "ip1": 5, "ip2": "auto"})
    arch, layers = independent_decode(cm.to_bytes())
    assert arch == "lenet5"
    dense = cm.to_dense()
    for name, (W, bias) in layers.items():
        np.testing.assert_array_equal(W, dense.layer(name).params["W"])
        np.testing.assert_array_equal(bias, dense.layer(name).params["b"])
