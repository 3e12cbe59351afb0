"""An independent decoder, written from the README's description of the file format alone.

It imports nothing from deepcompress_np's reader (not even its CRC or its layers): it decodes the bytes,
then runs the network the header describes with plain NumPy loops. If the README and the writer ever
disagree, this fails.
"""

import json
import struct
from pathlib import Path

import numpy as np

from deepcompress_np.compressed import CompressedModel
from deepcompress_np.nn import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential
from deepcompress_np.prune import prune_model
from deepcompress_np.quantize import quantize_model_params

DATA = Path(__file__).resolve().parent / "data"


def crc32(data):
    """CRC-32 as the README states it: register 0xFFFFFFFF, reflected polynomial 0xEDB88320, final XOR."""
    register = 0xFFFFFFFF
    for byte in data:
        register ^= byte
        for _ in range(8):
            register = (register >> 1) ^ (0xEDB88320 if register & 1 else 0)
    return register ^ 0xFFFFFFFF


def _bits(data, n_bits):
    """A stream's first n_bits bits, most significant bit of the first byte first; the padding must be zero."""
    bits = [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]
    assert len(data) == (n_bits + 7) // 8 and not any(bits[n_bits:]), "padding bits must be zero"
    return bits[:n_bits]


def _read_lengths(data, n):
    bits = _bits(data, 5 * n)
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


def _decode_stream(data, lengths, m, n_bits):
    words, out, value, length = _canonical(lengths), [], 0, 0
    for bit in _bits(data, n_bits):
        value, length = (value << 1) | bit, length + 1
        if (length, value) in words:
            out.append(words[(length, value)])
            value, length = 0, 0
    assert len(out) == m and length == 0
    return out


LENET300 = ('{"format":"deepcompress_np.architecture","input_shape":[1,28,28],"layers":[{"kind":"Flatten","name":'
            '"flatten"},{"in_features":784,"kind":"Linear","name":"ip1","out_features":300},{"kind":"ReLU","name":'
            '"relu1"},{"in_features":300,"kind":"Linear","name":"ip2","out_features":100},{"kind":"ReLU","name":'
            '"relu2"},{"in_features":100,"kind":"Linear","name":"ip3","out_features":10}],"version":1}')


def independent_decode(data):
    """(name, architecture, {layer name: (W, bias)}) from a file's bytes."""
    assert data[:4] == b"DCNP" and data[4] in (1, 2)
    if data[4] == 2:
        n = data[5]
        name = data[6:6 + n].decode("ascii")
        (j,) = struct.unpack_from("<I", data, 6 + n)
        assert 1 <= j <= 65536
        spec = json.loads(data[10 + n:10 + n + j].decode("utf-8"))
        (n_layers,) = struct.unpack_from("<H", data, 10 + n + j)
        end = 12 + n + j
    else:  # version 1: only the name; lenet300 is spelled out in the README
        a = data[5]
        name = data[6:6 + a].decode("ascii")
        assert name == "lenet300"
        spec = json.loads(LENET300)
        (n_layers,) = struct.unpack_from("<H", data, 6 + a)
        end = 8 + a
    assert struct.unpack_from("<I", data, end)[0] == crc32(data[:end])
    weight_layers = [layer for layer in spec["layers"] if layer["kind"] in ("Linear", "Conv2D")]
    assert n_layers == len(weight_layers)
    pos, layers = end + 4, {}
    for layer in weight_layers:
        (p,) = struct.unpack_from("<I", data, pos)
        payload = data[pos + 4:pos + 4 + p]
        assert struct.unpack_from("<I", data, pos + 4 + p)[0] == crc32(payload)
        pos += 8 + p
        q = 0
        assert payload[q + 1:q + 1 + payload[q]].decode("ascii") == layer["name"]
        q += 1 + payload[q]
        ndim = payload[q]
        dims = struct.unpack_from(f"<{ndim}I", payload, q + 1)
        if layer["kind"] == "Linear":
            assert dims == (layer["out_features"], layer["in_features"])
        else:
            k = layer["kernel_size"]
            assert dims == (layer["out_channels"], layer["in_channels"], k, k)
        q += 1 + 4 * ndim
        b = payload[q]
        k, m, n_bias, n_wlen, n_glen, wbits, gbits = struct.unpack_from("<7I", payload, q + 1)
        q += 1 + 28
        wlen = _read_lengths(payload[q:q + (5 * n_wlen + 7) // 8], n_wlen) + [0] * (k + 1 - n_wlen)
        q += (5 * n_wlen + 7) // 8
        glen = _read_lengths(payload[q:q + (5 * n_glen + 7) // 8], n_glen) + [0] * (2 ** b - n_glen)
        q += (5 * n_glen + 7) // 8
        symbols = _decode_stream(payload[q:q + (wbits + 7) // 8], wlen, m, wbits)
        q += (wbits + 7) // 8
        gaps = _decode_stream(payload[q:q + (gbits + 7) // 8], glen, m, gbits)
        q += (gbits + 7) // 8
        codebook = np.frombuffer(payload[q:q + 4 * k], dtype="<f4")
        q += 4 * k
        bias = np.frombuffer(payload[q:q + 4 * n_bias], dtype="<f4")
        q += 4 * n_bias
        assert q == len(payload) and n_bias == dims[0] and np.all(np.isfinite(codebook))
        W = np.zeros(int(np.prod(dims)), dtype=np.float32)
        position = -1
        for d, s in zip(gaps, symbols):
            position += d + 1
            W[position] = 0.0 if s == 0 else codebook[s - 1]
        layers[layer["name"]] = (W.reshape(dims), bias)
    assert pos == len(data)
    return name, spec, layers


def independent_forward(spec, layers, x):
    """Run the network the README's architecture table describes, with plain loops. x: (N, *input_shape)."""
    for layer in spec["layers"]:
        kind = layer["kind"]
        if kind == "Linear":
            W, b = layers[layer["name"]]
            x = x @ W.T + b
        elif kind in ("Conv2D", "MaxPool2D"):
            k, s, p = layer["kernel_size"], layer["stride"], layer.get("padding", 0)
            xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
            ho, wo = (x.shape[2] + 2 * p - k) // s + 1, (x.shape[3] + 2 * p - k) // s + 1
            out = []
            for i in range(ho):
                for j in range(wo):
                    window = xp[:, :, i * s:i * s + k, j * s:j * s + k]
                    if kind == "Conv2D":
                        W, b = layers[layer["name"]]
                        out.append(np.einsum("ncuv,fcuv->nf", window, W) + b)
                    else:
                        out.append(window.max(axis=(2, 3)))
            x = np.stack(out, axis=-1).reshape(x.shape[0], -1, ho, wo)
        elif kind == "ReLU":
            x = np.maximum(x, 0)
        elif kind == "Flatten":
            x = x.reshape(x.shape[0], -1)
        else:
            assert kind == "Dropout"
    return x


def test_the_crc_is_the_one_the_readme_states():
    assert crc32(b"123456789") == 0xCBF43926


def _compressed_lenet5(pretrained):
    model = pretrained("lenet5")
    masks = prune_model(model, keep_fraction={"conv1": 0.5, "conv2": 0.05, "ip1": 0.005, "ip2": 0.1})
    quantized = quantize_model_params(model.params(), masks, bits={"conv1.W": 4, "conv2.W": 4, "ip1.W": 3,
                                                                    "ip2.W": 3})
    return CompressedModel.from_quantized(model, quantized, index_bits={"conv1": 3, "conv2": 8, "ip1": 5, "ip2": "auto"})


def _compressed_strided_net():
    rng = np.random.default_rng(7)
    model = Sequential(Conv2D(2, 6, 3, stride=2, padding=1, rng=rng, name="c1"), ReLU(name="r1"),
                       MaxPool2D(3, stride=2, name="p1"), Conv2D(6, 5, 2, stride=1, padding=2, rng=rng, name="c2"),
                       Flatten(name="f"), Dropout(0.3, rng=rng, name="d"), Linear(5 * 7 * 7, 12, rng=rng, name="l1"),
                       ReLU(name="r2"), Linear(12, 4, rng=rng, name="l2"), arch="strided", input_shape=(2, 17, 17))
    for layer in model.weight_layers():
        layer.params["b"][...] = rng.normal(0, 0.1, layer.params["b"].shape)
    masks = prune_model(model, keep_fraction={"c1": 0.7, "c2": 0.5, "l1": 0.2, "l2": 0.5})
    quantized = quantize_model_params(model.params(), masks, bits=3)
    return CompressedModel.from_quantized(model, quantized)


def test_a_decoder_written_from_the_readme_reads_and_runs_our_files(pretrained):
    from deepcompress_np.data import load_mnist

    images = load_mnist("test")[0][:4]
    for cm, x in ((_compressed_lenet5(pretrained), images),
                  (_compressed_strided_net(), np.random.default_rng(0).normal(size=(4, 2, 17, 17)))):
        data = cm.to_bytes()
        assert data[4] == 2
        name, spec, layers = independent_decode(data)
        assert name == cm.arch and spec == cm.architecture
        dense = cm.to_dense()
        for layer_name, (W, bias) in layers.items():
            np.testing.assert_array_equal(W, dense.layer(layer_name).params["W"])
            np.testing.assert_array_equal(bias, dense.layer(layer_name).params["b"])
        x = x.astype(np.float32)
        np.testing.assert_allclose(independent_forward(spec, layers, x), cm.forward(x), rtol=1e-4, atol=1e-4)


def test_the_readme_describes_version_1_too():
    data = (DATA / "lenet300_v1.dcnp").read_bytes()
    name, spec, layers = independent_decode(data)
    old = CompressedModel.load(DATA / "lenet300_v1.dcnp")
    assert name == "lenet300" and spec == old.architecture
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(independent_forward(spec, layers, x), old.forward(x), rtol=1e-4, atol=1e-4)
