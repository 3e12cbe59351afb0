"""The compressed file and the model that lives in it: round trips, EIE-style inference, hostile files."""

import struct
import zlib

import numpy as np
import pytest

from deepcompress_np.compressed import CompressedModel
from deepcompress_np.fileformat import CompressedFileError, decode_file
from deepcompress_np.prune import prune_model
from deepcompress_np.quantize import quantize_model_params


def _compressed(pretrained, arch, keep, bits, index_bits=None, seed=0):
    model = pretrained(arch)
    masks = prune_model(model, keep_fraction=keep)
    quantized = quantize_model_params(model.params(), masks, bits=bits, seed=seed)
    for key, q in quantized.items():
        model.params()[key][...] = q.to_dense()
    return model, masks, CompressedModel.from_quantized(model, quantized, index_bits=index_bits)


@pytest.fixture(scope="module")
def small_file(pretrained):
    """A deliberately small LeNet-300-100 file (0.5% of the weights kept, 2-bit codebooks)."""
    _, _, cm = _compressed(pretrained, "lenet300", {"ip1": 0.002, "ip2": 0.01, "ip3": 0.1}, bits=2,
                           index_bits={"ip1": 5, "ip2": 3, "ip3": 2})
    return cm.to_bytes()


@pytest.fixture(scope="module")
def images():
    from deepcompress_np.data import load_mnist

    return load_mnist("test")[0][:1000]


@pytest.mark.parametrize("arch, keep, bits", [
    ("lenet300", {"ip1": 0.05, "ip2": 0.1, "ip3": 0.3}, 6),
    ("lenet5", {"conv1": 0.7, "conv2": 0.2, "ip1": 0.05, "ip2": 0.2}, {"conv1.W": 8, "conv2.W": 8, "ip1.W": 5,
                                                                     "ip2.W": 5}),
])
def test_save_load_round_trip_and_eie_inference_match_the_dense_model(pretrained, tmp_path, images, arch, keep,
                                                                     bits):
    model, masks, cm = _compressed(pretrained, arch, keep, bits)
    path = tmp_path / "m.dcnp"
    n = cm.save(path)
    assert n == path.stat().st_size
    back = CompressedModel.load(path)
    dense = back.to_dense()
    for key, value in model.params().items():  # the decoded weights are exactly the quantized ones
        np.testing.assert_array_equal(dense.params()[key], value)
    for key, mask in masks.items():
        np.testing.assert_array_equal(dense.masks[key], mask)
    # predict() runs from the relative indices and the codebook, never building W
    np.testing.assert_array_equal(back.predict(images), model.predict(images))
    np.testing.assert_allclose(back.forward(images[:50]), model.forward(images[:50]), rtol=1e-4, atol=1e-4)
    assert back.to_bytes() == path.read_bytes()  # writing is deterministic


def test_index_bits_auto_picks_the_smallest_encoding(pretrained):
    keep = {"ip1": 0.05, "ip2": 0.1, "ip3": 0.3}
    sizes = {b: len(_compressed(pretrained, "lenet300", keep, 4, {n: b for n in keep})[2].to_bytes())
             for b in (3, 5, 8)}
    auto = _compressed(pretrained, "lenet300", keep, 4, {n: "auto" for n in keep})[2]
    assert len(auto.to_bytes()) <= min(sizes.values())
    assert all(2 <= layer.index_bits <= 12 for layer in auto.layers)


def test_filler_zeros_and_an_empty_layer_round_trip(pretrained, images):
    model, _, cm = _compressed(pretrained, "lenet300", {"ip1": 0.01, "ip2": 0.0, "ip3": 1.0}, 3,
                               index_bits={"ip1": 2, "ip2": 5, "ip3": 5})
    assert cm.layers[0].n_fillers > 0 and cm.layers[1].n_entries == 0
    back = CompressedModel.from_bytes(cm.to_bytes())
    np.testing.assert_array_equal(back.to_dense().params()["ip1.W"], model.params()["ip1.W"])
    np.testing.assert_array_equal(back.predict(images[:200]), model.predict(images[:200]))


def test_every_flipped_byte_gives_the_project_error_or_a_correct_decode(small_file):
    good = decode_file(small_file)
    assert len(small_file) < 8000
    for i in range(len(small_file)):
        data = bytearray(small_file)
        data[i] ^= 0xFF  # flip every bit of byte i
        try:
            arch, layers = decode_file(bytes(data))
        except CompressedFileError:
            continue
        # Accepted: it must then be the same model (a CRC collision would be a bug to see).
        assert arch == good[0]
        for a, b in zip(layers, good[1]):
            np.testing.assert_array_equal(a.to_dense(), b.to_dense())


def test_every_truncation_gives_the_project_error(small_file):
    for n in range(len(small_file)):
        with pytest.raises(CompressedFileError):
            decode_file(small_file[:n])
    with pytest.raises(CompressedFileError, match="unexpected bytes"):
        decode_file(small_file + b"\0")


def _reseal(payload_edit, data):
    """Apply ``payload_edit`` to the first layer's payload and fix its CRC: a hostile, not a corrupted, file."""
    arch_len = data[5]
    start = 12 + arch_len
    (length,) = struct.unpack_from("<I", data, start)
    payload = bytearray(data[start + 4:start + 4 + length])
    payload_edit(payload)
    return (data[:start] + struct.pack("<I", len(payload)) + bytes(payload)
            + struct.pack("<I", zlib.crc32(bytes(payload))) + data[start + 8 + length:])


def test_hostile_counts_are_refused_before_allocating(small_file):
    # Layout of the first payload: name_len(1) "ip1"(3) ndim(1) dims(8) b(1) k(4) m(4) ...
    def set_u32(offset, value):
        return lambda p: p.__setitem__(slice(offset, offset + 4), struct.pack("<I", value))

    def set_u8(offset, value):
        return lambda p: p.__setitem__(offset, value)

    cases = {  # what the error must name (the first check that catches the lie wins)
        "entries": set_u32(18, 2 ** 31),  # m: two billion stored entries
        "codebook size": set_u32(14, 0),  # k = 0
        "index field width": set_u8(13, 40),  # b = 40
        "shape": set_u32(5, 10 ** 9),  # dims[0]: a billion outputs
        "code lengths|counts imply": set_u32(26, 10 ** 6),  # n_wlen: a million code lengths
    }
    import tracemalloc

    for expected, edit in cases.items():
        hostile = _reseal(edit, small_file)
        tracemalloc.start()
        with pytest.raises(CompressedFileError, match=expected):
            decode_file(hostile)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 2_000_000, (expected, peak)  # no allocation sized by the lie


def test_invalid_huffman_table_and_bad_magic(small_file):
    with pytest.raises(CompressedFileError, match="not a deepcompress_np compressed file"):
        decode_file(b"PK\x03\x04" + small_file[4:])
    with pytest.raises(CompressedFileError, match="version"):
        decode_file(small_file[:4] + b"\x07" + small_file[5:])

    def all_lengths_one(payload):  # five symbols with 1-bit codes: Kraft sum 5/2 > 1
        start = 1 + 3 + 1 + 8 + 1 + 4 * 7
        payload[start:start + 4] = bytes([0b00001000, 0b01000010, 0b00010000, 0b10000000])
    with pytest.raises(CompressedFileError):
        decode_file(_reseal(all_lengths_one, small_file))


def test_report_figures_come_from_the_file(pretrained, tmp_path):
    from deepcompress_np.report import layer_table, size_breakdown, table1_row

    _, _, cm = _compressed(pretrained, "lenet300", {"ip1": 0.05, "ip2": 0.1, "ip3": 0.3}, 6)
    path = tmp_path / "m.dcnp"
    cm.save(path)
    stored = CompressedModel.load(path)
    size = path.stat().st_size
    rows = layer_table(stored)
    row = table1_row(stored, size, 0.01, 0.012)
    assert row["ratio"] == pytest.approx(1_066_440 / size)
    assert sum(size_breakdown(stored, size).values()) == size  # every byte accounted for
    for r, layer in zip(rows, stored.layers):
        assert r["n_weights"] == np.prod(layer.shape)
        assert r["weights_pct"] == pytest.approx(np.count_nonzero(layer.symbols) / np.prod(layer.shape))
        assert r["index_bits_pq"] == layer.index_bits
        assert r["weight_bits_pqh"] * layer.n_entries == pytest.approx(layer.sizes["weight_stream_bits"])
    # the estimate plus what it leaves out is exactly the file
    extra = row["difference"]
    assert row["estimate_bytes"] + sum(extra.values()) == pytest.approx(size)
    # a different file gives different figures: nothing is a constant
    _, _, other = _compressed(pretrained, "lenet300", {"ip1": 0.02, "ip2": 0.1, "ip3": 0.3}, 4)
    assert table1_row(other, len(other.to_bytes()), 0.01, 0.012)["ratio"] > row["ratio"]
