"""The compressed file and the model that lives in it: round trips and EIE-style inference on the LeNets.

Hostile and corrupted files: ``test_fileformat_v2.py``.
"""

import numpy as np
import pytest

from deepcompress_np.compressed import CompressedModel
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


def _brute_force_layers(name, q, bias):
    """Every candidate width built the long way: a dense symbol matrix, relative-indexed with the mask."""
    from deepcompress_np.compressed import AUTO_INDEX_BITS
    from deepcompress_np.fileformat import CompressedLayer
    from deepcompress_np.sparse import relative_index

    symbols = np.zeros(q.mask.shape, dtype=np.uint32)
    symbols[q.mask] = q.index.astype(np.uint32) + 1
    out = []
    for b in AUTO_INDEX_BITS:
        ri = relative_index(symbols, b, mask=q.mask)
        out.append(CompressedLayer(name, q.mask.shape, b, q.codebook.astype(np.float32), bias,
                                   ri.fields.astype(np.uint32), ri.values.astype(np.uint32)))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_stored_layer_from_the_mask_and_the_auto_width_match_the_long_way(seed):
    """stored_layer builds no dense symbol matrix; payload_size and best_index_bits predict encode_layer exactly."""
    from deepcompress_np.compressed import best_index_bits, stored_layer
    from deepcompress_np.fileformat import encode_layer, payload_size
    from deepcompress_np.quantize import quantize_layer

    rng = np.random.default_rng(seed)
    shape = [(40, 300), (7, 3, 5, 5), (1, 2000), (30, 30), (5, 700), (64, 64)][seed]
    W = rng.normal(size=shape).astype(np.float32)
    mask = rng.random(shape) < [0.03, 0.5, 0.001, 1.0, 0.2, 0.0005][seed]
    mask.flat[rng.integers(mask.size)] = True  # at least one kept weight
    q = quantize_layer(W, mask, bits=[5, 3, 2, 6, 4, 1][seed])
    bias = rng.normal(size=shape[0]).astype(np.float32)
    long_way = _brute_force_layers("fc", q, bias)
    for layer in long_way:
        payload = encode_layer(layer)[0]
        assert encode_layer(stored_layer("fc", q, bias, layer.index_bits))[0] == payload
        symbol_counts = np.bincount(layer.symbols, minlength=q.codebook.size + 1)
        field_counts = np.bincount(layer.fields, minlength=2 ** layer.index_bits)
        assert payload_size("fc", shape, layer.index_bits, symbol_counts, field_counts, bias.size) == len(payload)
    sizes = [len(encode_layer(layer)[0]) for layer in long_way]
    assert best_index_bits("fc", q, bias.size) == long_way[int(np.argmin(sizes))].index_bits
