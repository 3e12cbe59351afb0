"""File format version 2: a file that describes its network, read by a reader that trusts nothing.

The tests here build hostile files with :func:`resealed`: it edits one field of a
valid file and recomputes every CRC, so the file fails exactly one check of the
reader and that check (not a checksum) is what must refuse it. There is one test
per check the reader makes (``RESEALED`` below); the README lists the checks.
"""

import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import deepcompress_np
from deepcompress_np import architecture
from deepcompress_np.compressed import CompressedModel
from deepcompress_np.fileformat import (
    MAX_ARCHITECTURE_BYTES,
    CompressedFileError,
    CompressedLayer,
    decode_file,
    encode_layer,
)
from deepcompress_np.nn import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential
from deepcompress_np.prune import prune_model
from deepcompress_np.quantize import quantize_model_params

DATA = Path(__file__).resolve().parent / "data"
PACKAGE_ROOT = Path(deepcompress_np.__file__).resolve().parent.parent


# ----------------------------------------------------------------------------
# A small conv net with stride and padding, and its compressed file
# ----------------------------------------------------------------------------

def small_net(seed=0):
    """Conv (stride 2, padding 1) -> ReLU -> max-pool -> flatten -> dropout -> fc -> ReLU -> fc, on 1x12x12."""
    rng = np.random.default_rng(seed)
    model = Sequential(
        Conv2D(1, 4, 3, stride=2, padding=1, rng=rng, name="conv1"),
        ReLU(name="relu1"),
        MaxPool2D(2, name="pool1"),
        Flatten(name="flatten"),
        Dropout(0.25, rng=rng, name="drop"),
        Linear(36, 16, rng=rng, name="fc1"),
        ReLU(name="relu2"),
        Linear(16, 3, rng=rng, name="fc2"),
        arch="tinycnn", input_shape=(1, 12, 12))
    for layer in model.weight_layers():  # biases that are not all zero, so that they are tested too
        layer.params["b"][...] = rng.normal(0, 0.1, layer.params["b"].shape)
    return model


def compress(model, keep, bits, index_bits=None, seed=0):
    """Prune, quantize (weights set to their shared values) and store ``model``; returns the CompressedModel."""
    masks = prune_model(model, keep_fraction=keep)
    quantized = quantize_model_params(model.params(), masks, bits=bits, seed=seed)
    for key, q in quantized.items():
        model.params()[key][...] = q.to_dense()
    return CompressedModel.from_quantized(model, quantized, index_bits=index_bits)


@pytest.fixture(scope="module")
def net_and_file():
    model = small_net()
    cm = compress(model, {"conv1": 0.6, "fc1": 0.3, "fc2": 0.5}, bits=2, index_bits={"conv1": 3, "fc1": 2, "fc2": 4})
    return model, cm, cm.to_bytes()


@pytest.fixture(scope="module")
def small(net_and_file):
    return net_and_file[2]


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).normal(size=(64, 1, 12, 12)).astype(np.float32)


# ----------------------------------------------------------------------------
# Editing a file and resealing it (recomputing every CRC)
# ----------------------------------------------------------------------------

COUNTS = ("b", "k", "m", "n_bias", "n_wlen", "n_glen", "wbits", "gbits")
PARTS = ("wlen", "glen", "wstream", "gstream", "codebook", "bias")


def split_payload(p):
    """A layer payload as a dict of its fields (byte strings for the variable-length parts)."""
    d = {"name": bytes(p[1:1 + p[0]])}
    q = 1 + p[0]
    ndim = p[q]
    d["dims"] = list(struct.unpack_from(f"<{ndim}I", p, q + 1))
    q += 1 + 4 * ndim
    d["b"] = p[q]
    d.update(zip(COUNTS[1:], struct.unpack_from("<7I", p, q + 1)))
    q += 29
    sizes = ((5 * d["n_wlen"] + 7) // 8, (5 * d["n_glen"] + 7) // 8, (d["wbits"] + 7) // 8, (d["gbits"] + 7) // 8,
             4 * d["k"], 4 * d["n_bias"])
    for key, size in zip(PARTS, sizes):
        d[key] = bytes(p[q:q + size])
        q += size
    assert q == len(p)
    d["extra"] = b""
    return d


def join_payload(d):
    out = bytes([len(d["name"])]) + d["name"] + bytes([len(d["dims"])]) + struct.pack(f"<{len(d['dims'])}I", *d["dims"])
    out += struct.pack("<B7I", d["b"], *(d[key] for key in COUNTS[1:]))
    return out + b"".join(d[key] for key in PARTS) + d["extra"]


def split_file(data):
    """A version-2 file as a dict: version, name, arch (JSON bytes), n_layers, sections (payload dicts)."""
    assert data[:4] == b"DCNP" and data[4] == 2
    n = data[5]
    (a,) = struct.unpack_from("<I", data, 6 + n)
    f = {"magic": data[:4], "version": 2, "name": data[6:6 + n], "arch": data[10 + n:10 + n + a], "arch_len": None,
         "n_layers": struct.unpack_from("<H", data, 10 + n + a)[0], "sections": []}
    pos = 16 + n + a
    for _ in range(f["n_layers"]):
        (p,) = struct.unpack_from("<I", data, pos)
        f["sections"].append(split_payload(data[pos + 4:pos + 4 + p]))
        pos += 8 + p
    assert pos == len(data)
    return f


def join_file(f):
    """The bytes of a file dict, every CRC computed afresh."""
    arch_len = len(f["arch"]) if f["arch_len"] is None else f["arch_len"]
    head = (f["magic"] + bytes([f["version"], len(f["name"])]) + f["name"] + struct.pack("<I", arch_len) + f["arch"]
            + struct.pack("<H", f["n_layers"]))
    out = [head + struct.pack("<I", zlib.crc32(head))]
    for section in f["sections"]:
        p = join_payload(section)
        out.append(struct.pack("<I", len(p)) + p + struct.pack("<I", zlib.crc32(p)))
    return b"".join(out)


def resealed(data, edit):
    """``data`` with ``edit(file_dict)`` applied and every CRC recomputed."""
    f = split_file(data)
    edit(f)
    return join_file(f)


def empty_section(name, shape, b=5, k=1):
    """The payload dict of a layer with no stored entries."""
    layer = CompressedLayer(name, tuple(shape), b, np.zeros(k, np.float32), np.zeros(shape[0], np.float32),
                            np.zeros(0, np.uint32), np.zeros(0, np.uint32))
    return split_payload(encode_layer(layer)[0])


def with_empty(i, **changes):
    """Edit: section i replaced by an empty layer, then ``changes`` applied to its fields."""
    def edit(f):
        s = f["sections"][i]
        f["sections"][i] = empty_section(s["name"].decode(), s["dims"])
        f["sections"][i].update(changes)
    return edit


def section(i, **changes):
    def edit(f):
        f["sections"][i].update(changes)
    return edit


def header(**changes):
    def edit(f):
        f.update(changes)
    return edit


def spec_edit(change):
    """Edit: the architecture JSON parsed, changed by ``change(spec)`` in place, written back."""
    def edit(f):
        spec = json.loads(f["arch"])
        change(spec)
        f["arch"] = json.dumps(spec).encode()
    return edit


def set_layer(i, **changes):
    return spec_edit(lambda spec: spec["layers"][i].update(changes))


def code_lengths(lengths):
    """5-bit code lengths packed as in the file."""
    bits = "".join(f"{n:05b}" for n in lengths)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def refused(data, match):
    """Assert the reader refuses ``data`` with a CompressedFileError matching ``match``, allocating little."""
    tracemalloc.start()
    try:
        with pytest.raises(CompressedFileError, match=match):
            decode_file(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak  # nothing sized by a hostile number
    return peak


def test_the_editing_helper_round_trips(small):
    assert join_file(split_file(small)) == small
    assert decode_file(resealed(small, lambda f: None)).name == "tinycnn"


# ----------------------------------------------------------------------------
# The small file: a few hundred bytes, every layer kind, decodes to the model
# ----------------------------------------------------------------------------

def test_the_small_file_holds_every_layer_kind(net_and_file, images):
    model, cm, data = net_and_file
    assert 300 < len(data) < 1500
    decoded = decode_file(data)
    assert decoded.version == 2 and decoded.name == "tinycnn"
    assert decoded.architecture == model.architecture()
    kinds = [config["kind"] for config in decoded.architecture["layers"]]
    assert kinds == ["Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dropout", "Linear", "ReLU", "Linear"]
    assert all(layer.n_entries > 0 for layer in decoded.layers)
    back = CompressedModel.from_bytes(data)
    assert back.format_version == 2 and back.arch == "tinycnn" and back.input_shape == (1, 12, 12)
    np.testing.assert_allclose(back.forward(images), model.forward(images), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(back.predict(images), model.predict(images))
    dense = back.to_dense()
    for key, value in model.params().items():
        np.testing.assert_array_equal(dense.params()[key], value)
    assert back.to_bytes() == data


def test_every_flipped_byte_gives_the_project_error_or_an_identical_decode(small):
    good = decode_file(small)
    accepted = 0
    for i in range(len(small)):
        data = bytearray(small)
        data[i] ^= 0xFF  # flip every bit of byte i
        try:
            got = decode_file(bytes(data))
        except CompressedFileError:
            continue
        accepted += 1  # accepted: it must then be the same model (a CRC collision would be a bug to see)
        assert (got.version, got.name, got.architecture) == (good.version, good.name, good.architecture)
        for a, b in zip(got.layers, good.layers):
            np.testing.assert_array_equal(a.to_dense(), b.to_dense())
            np.testing.assert_array_equal(a.bias, b.bias)
    assert accepted == 0, accepted  # every byte is covered by a CRC or a length


def test_every_truncation_and_any_extra_byte_gives_the_project_error(small):
    for n in range(len(small)):
        with pytest.raises(CompressedFileError):
            decode_file(small[:n])
    refused(small + b"\0", "1 unexpected bytes after the last layer")


# ----------------------------------------------------------------------------
# One resealed file per check of the reader
# ----------------------------------------------------------------------------

RESEALED = {
    # the file header
    "magic": (header(magic=b"DCNQ"), "not a deepcompress_np compressed file: magic number b'DCNQ'"),
    "zip magic": (header(magic=b"PK\x03\x04"), "not a deepcompress_np compressed file"),
    "version 3": (header(version=3), "format version 3 is not supported"),
    "version 0": (header(version=0), "format version 0 is not supported"),
    "version as an ASCII digit": (header(version=ord("2")), "format version 50 is not supported"),
    "name of 65 bytes": (header(name=b"x" * 65), "model name takes 65 bytes"),
    "name not printable": (header(name=b"tiny\x00"), "model name is not printable ASCII"),
    "name not ASCII": (header(name="café".encode()), "model name is not printable ASCII"),
    "architecture of 0 bytes": (header(arch=b""), "architecture takes 0 bytes"),
    "architecture length 2**32 - 1": (header(arch_len=2 ** 32 - 1), "architecture takes 4,294,967,295 bytes"),
    "architecture length past the end": (header(arch_len=60000), "truncated while reading architecture"),
    "layer count too high": (lambda f: f.update(n_layers=f["n_layers"] + 1), "4 layer sections in the header"),
    "layer count too low": (lambda f: f.update(n_layers=f["n_layers"] - 1), "2 layer sections in the header"),
    # the architecture JSON
    "JSON syntax": (header(arch=b'{"format": '), "not valid JSON"),
    "JSON not UTF-8": (header(arch=b'{"format": "\xff"}'), "not valid JSON"),
    "JSON repeated key": (lambda f: f.update(arch=f["arch"].replace(b'"kind":"ReLU"', b'"kind":"ReLU","kind":"ReLU"', 1)),
                          "repeats a key"),
    "JSON NaN": (lambda f: f.update(arch=f["arch"].replace(b'"p":0.25', b'"p":NaN')), "NaN is not a JSON number"),
    "JSON nested 30,000 deep": (header(arch=b"[" * 30000 + b"]" * 30000), "not valid JSON"),
    "JSON integer of 5,000 digits": (header(arch=b"[" + b"9" * 5000 + b"]"), "not valid JSON"),
    "JSON not an object": (header(arch=b"[]"), "architecture is a JSON object"),
    "unknown layer kind": (set_layer(1, kind="LSTM"), "unknown layer kind 'LSTM'"),
    "300 layers": (spec_edit(lambda s: s["layers"].extend({"kind": "ReLU", "name": f"r{i}"} for i in range(300))),
                   "1 to 256 layers"),
    "no layers": (spec_edit(lambda s: s.update(layers=[])), "1 to 256 layers"),
    "missing key": (spec_edit(lambda s: s.pop("input_shape")), "exactly the keys"),
    "extra key": (spec_edit(lambda s: s.update(extra=1)), "exactly the keys"),
    "wrong format": (spec_edit(lambda s: s.update(format="keras")), "format is 'keras'"),
    "version true": (spec_edit(lambda s: s.update(version=True)), "architecture version True"),
    "layer extra key": (set_layer(0, bias=True), "has keys"),
    "in_features as text": (set_layer(5, in_features="36"), "in_features must be an integer"),
    "in_features 36.0": (set_layer(5, in_features=36.0), "in_features must be an integer"),
    "in_features true": (set_layer(7, in_features=True), "in_features must be an integer"),
    "in_features null": (set_layer(5, in_features=None), "in_features must be an integer"),
    "out_features 0": (set_layer(7, out_features=0), "out_features must be between 1 and 65536"),
    "stride -1": (set_layer(0, stride=-1), "stride must be between 1"),
    "2**40 features": (set_layer(5, out_features=2 ** 40), "out_features must be between 1 and 65536"),
    "input 65536 x 65536 x 65536": (spec_edit(lambda s: s.update(input_shape=[65536] * 3)), "more than 67,108,864"),
    "input shape of 2 entries": (spec_edit(lambda s: s.update(input_shape=[12, 12])), "input_shape must be"),
    "a 2**32-weight layer": (spec_edit(lambda s: s.update(
        input_shape=[65536], layers=[{"kind": "Linear", "name": "big", "in_features": 65536, "out_features": 65536}])),
        "more than 268,435,456 weights"),
    "shapes that do not chain": (set_layer(5, in_features=37), "takes 37 features but receives shape"),
    "channels that do not chain": (set_layer(0, in_channels=3), "takes 3 channels but receives 1"),
    "kernel larger than the image": (set_layer(0, kernel_size=15), "does not fit"),
    "two layers of one name": (set_layer(1, name="conv1"), "two layers are named 'conv1'"),
    "bad layer name": (set_layer(1, name="relu 1"), "is not 1-64 ASCII letters"),
    "dropout p = 1": (set_layer(4, p=1.0), "dropout p must be a number in"),
    "dropout p true": (set_layer(4, p=True), "dropout p must be a number in"),
    # a layer section
    "section of another layer": (lambda f: f["sections"].reverse(), "section is named b'fc2'"),
    "section name": (section(0, name=b"conv9"), "section is named b'conv9'"),
    "ndim": (section(1, dims=[16, 36, 1]), "3 dimensions, expected 2"),
    "shape": (section(1, dims=[16, 37]), r"shape \(16, 37\) does not match"),
    "b = 0": (with_empty(2, b=0), "index field width 0 is outside 1..16"),
    "b = 17": (with_empty(2, b=17), "index field width 17 is outside 1..16"),
    "k = 0": (with_empty(2, k=0, codebook=b""), "codebook size 0 is outside 1..65535"),
    "k = 65536": (with_empty(2, k=65536, codebook=bytes(4 * 65536)), "codebook size 65536 is outside 1..65535"),
    "n_bias": (with_empty(2, n_bias=4, bias=bytes(16)), "4 biases for 3 outputs"),
    "m above the layer size": (with_empty(2, m=49), "49 stored entries for a layer of 48 weights"),
    "m above the stream bits": (lambda f: f["sections"][1].update(m=min(f["sections"][1]["wbits"],
                                                                          f["sections"][1]["gbits"]) + 1),
                                "entries cannot fit in streams"),
    "two billion entries": (section(1, m=2 ** 31), "2147483648 stored entries for a layer of 576 weights"),
    "a billion outputs": (section(1, dims=[10 ** 9, 36]), r"shape \(1000000000, 36\) does not match"),
    "a million code lengths": (section(1, n_wlen=10 ** 6), "the counts imply 625248 bytes"),
    "payload longer than its fields": (section(0, extra=b"\0"), "the counts imply"),
    "n_wlen above k + 1": (with_empty(2, n_wlen=3, wlen=code_lengths([0, 0, 0])), "3 code lengths for an alphabet of 2"),
    "n_glen above 2**b": (with_empty(2, b=1, n_glen=3, glen=code_lengths([0, 0, 0])),
                          "3 code lengths for an alphabet of 2"),
    "code length 25": (with_empty(2, n_wlen=1, wlen=code_lengths([25])), "a code length of 25 bits"),
    "Kraft sum above 1": (with_empty(2, k=4, codebook=bytes(16), n_wlen=5, wlen=code_lengths([1] * 5)),
                          "invalid Huffman code table"),
    "code-length padding": (with_empty(2, n_wlen=1, wlen=bytes([0b00001001])), "weight symbols code lengths: the 3 padding"),
    "gap code-length padding": (with_empty(2, n_glen=1, glen=bytes([0b00001001])), "index gaps code lengths: the 3 padding"),
    "symbols that end before the stream": (lambda f: f["sections"][0].update(m=f["sections"][0]["m"] - 1),
                                           "weight stream: "),
    "NaN in the codebook": (section(1, codebook=struct.pack("<f", float("nan")) + bytes(12)), "NaN or infinite"),
    "infinite bias": (section(2, bias=struct.pack("<3f", 0, float("inf"), 0)), "NaN or infinite"),
}


@pytest.mark.parametrize("case", list(RESEALED))
def test_each_reader_check_refuses_a_file_that_fails_it_alone(small, case):
    edit, match = RESEALED[case]
    refused(resealed(small, edit), match)


def test_the_empty_layer_edits_are_valid_on_their_own(small):
    """The base of the checks above: an empty layer with the default fields is a valid file."""
    decoded = decode_file(resealed(small, with_empty(2)))
    assert decoded.layers[2].n_entries == 0
    decode_file(resealed(small, with_empty(2, n_wlen=1, wlen=code_lengths([24]))))  # 24 bits is allowed
    decode_file(resealed(small, with_empty(2, k=65535, codebook=bytes(4 * 65535))))
    decode_file(resealed(small, with_empty(2, b=16)))
    decode_file(resealed(small, with_empty(2, n_wlen=1, wlen=bytes([0b00001000]))))  # zero padding


def _padded_stream(f, part, count):
    """The first section whose ``part`` has spare bits in its last byte."""
    for s in f["sections"]:
        n_bits = s[count] * (5 if part in ("wlen", "glen") else 1)
        if n_bits % 8:
            return s
    raise AssertionError(f"no layer of the small file has padding in its {part}")


@pytest.mark.parametrize("part, count, what", [
    ("wlen", "n_wlen", "weight symbols code lengths"), ("glen", "n_glen", "index gaps code lengths"),
    ("wstream", "wbits", "weight stream"), ("gstream", "gbits", "index stream")])
def test_padding_bits_must_be_zero_in_every_stream(small, part, count, what):
    def edit(f):
        s = _padded_stream(f, part, count)
        s[part] = s[part][:-1] + bytes([s[part][-1] | 1])  # the last padding bit set
    refused(resealed(small, edit), f"{what}: the [1-7] padding bits after the last of its")


def test_the_header_crc_is_checked(small):
    data = bytearray(small)
    data[6] ^= 1  # "tinycnn" -> "uinycnn": still a valid name, only the CRC can tell
    refused(bytes(data), "header checksum mismatch")
    arch_start = 6 + data[5] + 4
    data = bytearray(small)
    data[arch_start + data[arch_start:].index(b'"p":0.25') + 6] = ord("5")  # p = 0.55: valid, only the CRC can tell
    refused(bytes(data), "header checksum mismatch")


def test_every_section_crc_is_checked(small):
    f = split_file(small)
    for i, s in enumerate(f["sections"]):
        data = bytearray(join_file(f))
        start = data.index(join_payload(s))
        data[start + len(join_payload(s)) - 1] ^= 0x01  # the last bias's lowest mantissa bit: still finite
        refused(bytes(data), f"layer {i}: checksum mismatch")


def _with_gaps(small, total):
    """The small file with fc2 stored as 2 entries whose last position is ``total - 1``."""
    def edit(f):
        layer = CompressedLayer("fc2", (3, 16), 6, np.array([0.5], np.float32), np.zeros(3, np.float32),
                                np.array([0, total - 2], np.uint32), np.array([1, 1], np.uint32))
        f["sections"][2] = split_payload(encode_layer(layer)[0])
    return resealed(small, edit)


def test_gaps_may_reach_the_last_weight_but_not_run_past_it(small):
    decoded = decode_file(_with_gaps(small, 48))  # fc2 has 3 x 16 = 48 weights: positions 0 and 47
    np.testing.assert_array_equal(np.flatnonzero(decoded.layers[2].to_dense()), [0, 47])
    refused(_with_gaps(small, 49), r"relative indices run past the end of the layer \(48 weights\)")


def test_a_version_1_header_naming_an_unknown_network_is_refused():
    data = (DATA / "lenet300_v1.dcnp").read_bytes()
    head = b"DCNP" + bytes([1, 5]) + b"mycnn" + data[6 + data[5]:8 + data[5]]
    refused(head + struct.pack("<I", zlib.crc32(head)) + data[12 + data[5]:], "unknown architecture 'mycnn'")
    head = b"DCNP" + bytes([1, 8]) + b"lenet\xff00" + data[6 + data[5]:8 + data[5]]
    refused(head + struct.pack("<I", zlib.crc32(head)) + data[12 + data[5]:], "unknown architecture 'lenet\xff00'")


def test_an_architecture_up_to_the_length_limit_is_read_and_one_byte_more_is_not(small):
    def padded_to(n):
        return lambda f: f.update(arch=f["arch"] + b" " * (n - len(f["arch"])))  # JSON allows trailing spaces
    assert decode_file(resealed(small, padded_to(MAX_ARCHITECTURE_BYTES))).name == "tinycnn"
    refused(resealed(small, padded_to(MAX_ARCHITECTURE_BYTES + 1)), "architecture takes 65,537 bytes")


# ----------------------------------------------------------------------------
# Loading any network, in a fresh process, without its dense weights
# ----------------------------------------------------------------------------

FRESH = """
import json, sys
import numpy as np
from deepcompress_np.compressed import CompressedModel
model = CompressedModel.load(sys.argv[1])
X = np.load(sys.argv[2])
print(json.dumps({"arch": model.arch, "predictions": model.predict(X).tolist(),
                  "logits": model.forward(X).astype(float).tolist()}))
"""


def test_a_conv_net_with_stride_and_padding_runs_from_its_file_in_a_fresh_process(tmp_path, images):
    model = small_net(seed=3)
    cm = compress(model, {"conv1": 0.5, "fc1": 0.25, "fc2": 0.6}, bits={"conv1.W": 3, "fc1.W": 3, "fc2.W": 2})
    path, inputs = tmp_path / "net.dcnp", tmp_path / "X.npy"
    cm.save(path)
    np.save(inputs, images)
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    done = subprocess.run([sys.executable, "-c", FRESH, str(path), str(inputs)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["arch"] == "tinycnn"
    np.testing.assert_array_equal(out["predictions"], cm.predict(images))
    np.testing.assert_array_equal(np.array(out["logits"], dtype=np.float32), cm.forward(images))
    np.testing.assert_array_equal(out["predictions"], model.predict(images))  # = the quantized dense model
    assert len(set(out["predictions"])) > 1


def vgg16_architecture():
    """VGG-16's layers (138 million weights), as a description: nothing is allocated."""
    layers, c, i = [], 3, 0
    for block, (width, n) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], 1):
        for j in range(1, n + 1):
            layers += [{"kind": "Conv2D", "name": f"conv{block}_{j}", "in_channels": c, "out_channels": width,
                        "kernel_size": 3, "stride": 1, "padding": 1}, {"kind": "ReLU", "name": f"relu{block}_{j}"}]
            c = width
        layers.append({"kind": "MaxPool2D", "name": f"pool{block}", "kernel_size": 2, "stride": 2})
    layers.append({"kind": "Flatten", "name": "flatten"})
    for n_in, n_out in [(25088, 4096), (4096, 4096), (4096, 1000)]:
        i += 1
        layers += [{"kind": "Linear", "name": f"fc{i + 5}", "in_features": n_in, "out_features": n_out}]
        if n_out == 4096:
            layers += [{"kind": "ReLU", "name": f"relu{i + 5}"}, {"kind": "Dropout", "name": f"drop{i + 5}", "p": 0.5}]
    return {"format": architecture.FORMAT, "version": architecture.VERSION, "input_shape": [3, 224, 224],
            "layers": layers}


def test_a_vgg16_size_file_loads_without_allocating_its_dense_weights():
    spec = vgg16_architecture()
    shapes = architecture.weight_shapes(spec)
    assert sum(int(np.prod(s)) for s in shapes.values()) > 138_000_000
    layers = [CompressedLayer(name, shape, 8, np.ones(1, np.float32), np.zeros(shape[0], np.float32),
                              np.array([5], np.uint32), np.array([1], np.uint32)) for name, shape in shapes.items()]
    data = CompressedModel(spec, layers, name="vgg16").to_bytes()
    assert len(data) < 100_000  # the biases, and one weight per layer
    tracemalloc.start()
    try:
        model = CompressedModel.from_bytes(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak  # not the 553 MB of float32 weights
    assert model.arch == "vgg16" and len(model.layers) == 16 and model.n_kept() == 16


# ----------------------------------------------------------------------------
# Version 1 files, the umask, the constructor's checks
# ----------------------------------------------------------------------------

def test_a_version_1_file_still_loads_and_predicts_as_it_did(tmp_path):
    """``tests/data/lenet300_v1.dcnp`` and its predictions were written by the version-1 code (commit 3ed7f9b)."""
    from deepcompress_np.data import load_mnist

    data = (DATA / "lenet300_v1.dcnp").read_bytes()
    assert data[4] == 1
    expected = json.loads((DATA / "lenet300_v1.json").read_text())
    X = load_mnist("test")[0][:200]
    old = CompressedModel.load(DATA / "lenet300_v1.dcnp")
    assert old.format_version == 1 and old.arch == "lenet300"
    np.testing.assert_array_equal(old.predict(X), expected["predictions"])
    np.testing.assert_allclose(old.forward(X[:1])[0], expected["logits_first_image"], rtol=1e-5, atol=1e-5)
    # written again it is a version-2 file with the same layers and the same predictions
    path = tmp_path / "again.dcnp"
    old.save(path)
    new = CompressedModel.load(path)
    assert new.format_version == 2 and new.arch == "lenet300"
    np.testing.assert_array_equal(new.predict(X), expected["predictions"])
    assert [encode_layer(a)[0] for a in new.layers] == [encode_layer(b)[0] for b in old.layers]
    assert len(path.read_bytes()) - len(data) == len(new.to_bytes()) - len(data)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_saved_file_honours_the_umask(tmp_path, net_and_file, umask, mode):
    old = os.umask(umask)
    try:
        net_and_file[1].save(tmp_path / "m.dcnp")
    finally:
        os.umask(old)
    assert (tmp_path / "m.dcnp").stat().st_mode & 0o777 == mode


def test_the_constructor_and_forward_refuse_what_does_not_fit(net_and_file, images):
    _, cm, _ = net_and_file
    with pytest.raises(ValueError, match="weight layers are"):
        CompressedModel(cm.architecture, cm.layers[:2], name="x")
    with pytest.raises(architecture.ArchitectureError):
        CompressedModel(dict(cm.architecture, input_shape=[2, 12, 12]), cm.layers)
    with pytest.raises(ValueError, match="printable ASCII"):
        CompressedModel(cm.architecture, cm.layers, name="réseau")
    with pytest.raises(TypeError, match="model.architecture"):
        CompressedModel("lenet5", cm.layers)
    with pytest.raises(ValueError, match=r"batch of shape \(N, 1, 12, 12\)"):
        cm.forward(images[:, :, :11])
    unnamed = CompressedModel(cm.architecture, cm.layers)
    assert CompressedModel.from_bytes(unnamed.to_bytes()).arch is None


def test_index_bits_default_to_auto_and_are_checked():
    model = small_net()
    auto = compress(small_net(), {"conv1": 0.6, "fc1": 0.3, "fc2": 0.5}, bits=2)
    widths = {name: compress(small_net(), {"conv1": 0.6, "fc1": 0.3, "fc2": 0.5}, bits=2, index_bits=b)
              for name, b in (("3", 3), ("auto", "auto"))}
    assert auto.to_bytes() == widths["auto"].to_bytes()
    assert len(auto.to_bytes()) <= len(widths["3"].to_bytes())
    masks = prune_model(model, keep_fraction={"conv1": 0.6, "fc1": 0.3, "fc2": 0.5})
    quantized = quantize_model_params(model.params(), masks, bits=2)
    for bad, match in (({"fc9": 3}, "does not have"), ({"fc1": 17}, "from 1 to 16"), ({"fc1": True}, "from 1 to 16"),
                       ({"fc1": "best"}, "from 1 to 16")):
        with pytest.raises(ValueError, match=match):
            CompressedModel.from_quantized(model, quantized, index_bits=bad)


def test_random_edits_of_the_architecture_give_the_project_error_or_a_network_that_runs(small):
    """500 seeded one-byte edits of the architecture JSON, resealed: refused, or a valid network that runs."""
    rng = np.random.default_rng(0)
    f = split_file(small)
    alphabet = b'0123456789[]{}",:-.eE tfnrualsNI\\'
    outcomes = {"refused": 0, "runs": 0, "large": 0}
    for _ in range(500):
        arch = bytearray(f["arch"])
        arch[rng.integers(len(arch))] = alphabet[rng.integers(len(alphabet))]
        data = join_file(dict(f, arch=bytes(arch)))
        try:
            model = CompressedModel.from_bytes(data)
        except CompressedFileError:
            outcomes["refused"] += 1
            continue
        shape = model.input_shape
        if np.prod(shape) > 100_000:  # a valid but large input: not run here
            outcomes["large"] += 1
            continue
        out = model.forward(rng.normal(size=(2,) + shape).astype(np.float32))
        assert out.shape[0] == 2 and np.all(np.isfinite(out))
        outcomes["runs"] += 1
    assert outcomes["refused"] > 300 and outcomes["runs"] > 0, outcomes
