"""energy.py: bytes read and energy per inference, against values worked out by hand."""

import numpy as np
import pytest

from deepcompress_np.energy import (
    DEFAULT_SRAM_BYTES,
    ENERGY_PJ,
    LayerCounts,
    format_energy_table,
    layer_counts,
    layer_energy,
    network_energy,
    weight_bytes,
)
from deepcompress_np.fileformat import CompressedLayer
from deepcompress_np.sparse import relative_index

# 4 x 10 layer, 6 weights kept, 2 fillers, 3-bit symbols, 2-bit gaps, 4 shared weights
SMALL = LayerCounts("fc", n_out=4, n_in=10, n_kept=6, n_entries=8, weight_bits=3, index_bits=2, codebook_size=4)
MAC_PJ = 3.7 + 0.9


def test_the_table_holds_the_papers_figures():
    assert ENERGY_PJ == {"dram_read_32bit": 640.0, "sram_read_32bit": 5.0, "float_mult_32bit": 3.7,
                         "float_add_32bit": 0.9}
    assert DEFAULT_SRAM_BYTES == 15 * 1024 * 1024


def test_bytes_per_form_by_hand():
    assert weight_bytes(SMALL, "dense") == 160  # 40 float32
    assert weight_bytes(SMALL, "csr") == 68  # (2 * 6 + 4 + 1) numbers of 4 bytes
    assert weight_bytes(SMALL, "compressed") == 21  # (8 entries * 5 bits + 4 * 32 bits) / 8


def test_energy_of_one_layer_by_hand():
    dense = layer_energy(SMALL, "dense", "dram")
    assert dense["reads"] == 40 and dense["macs"] == 40
    assert dense["memory_pj"] == pytest.approx(40 * 640)
    assert dense["arithmetic_pj"] == pytest.approx(40 * MAC_PJ)
    assert dense["total_pj"] == pytest.approx(25600 + 184)
    compressed = layer_energy(SMALL, "compressed", "sram")
    assert compressed["reads"] == 5.25 and compressed["macs"] == 6
    assert compressed["total_pj"] == pytest.approx(5.25 * 5 + 6 * MAC_PJ)  # 26.25 + 27.6
    csr = layer_energy(SMALL, "csr", "dram")
    assert csr["total_pj"] == pytest.approx(17 * 640 + 6 * MAC_PJ)


def test_a_changed_table_changes_the_answer():
    cheaper_dram = {**ENERGY_PJ, "dram_read_32bit": 100.0}
    assert layer_energy(SMALL, "dense", "dram", cheaper_dram)["memory_pj"] == pytest.approx(4000)


def test_network_places_each_form_in_sram_only_if_all_of_it_fits():
    other = LayerCounts("fc2", 2, 4, 8, 8, 3, 2, 4)  # dense 32 B, csr 4 * (16 + 3) = 76 B, compressed (8 * 5 + 128) / 8 = 21 B
    result = network_energy([SMALL, other], sram_bytes=150)
    forms = result["forms"]
    assert forms["dense"]["bytes"] == 192 and forms["dense"]["location"] == "dram"
    assert forms["csr"]["bytes"] == 144 and forms["csr"]["location"] == "sram"
    assert forms["compressed"]["bytes"] == 42 and forms["compressed"]["location"] == "sram"
    dense_pj = 40 * 640 + 40 * MAC_PJ + 8 * 640 + 8 * MAC_PJ
    compressed_pj = 5.25 * 5 + 6 * MAC_PJ + 5.25 * 5 + 8 * MAC_PJ
    assert forms["dense"]["total_pj"] == pytest.approx(dense_pj)
    assert forms["compressed"]["total_pj"] == pytest.approx(compressed_pj)
    assert result["dense_over_compressed"] == pytest.approx(dense_pj / compressed_pj)
    assert [row["layer"] for row in forms["csr"]["layers"]] == ["fc", "fc2"]
    # one byte less of SRAM and the CSR form no longer fits
    assert network_energy([SMALL, other], sram_bytes=143)["forms"]["csr"]["location"] == "dram"


def test_layer_counts_of_a_stored_layer():
    mask = np.zeros((3, 20), bool)
    mask[0, 1] = mask[0, 15] = mask[2, 19] = True
    symbols = np.zeros(mask.shape, np.uint32)
    symbols[mask] = [1, 2, 3]
    ri = relative_index(symbols, 3, mask=mask)
    layer = CompressedLayer("ip", (3, 20), 3, np.arange(4, dtype=np.float32), np.zeros(3, np.float32),
                            ri.fields, ri.values.astype(np.uint32))
    counts = layer_counts(layer)
    assert counts.n_kept == 3 and counts.n_entries == ri.n_entries and ri.n_fillers > 0
    assert counts.weight_bits == 3  # 4 clusters + the filler symbol: 5 symbols need 3 bits
    assert (counts.n_out, counts.n_in, counts.index_bits, counts.codebook_size) == (3, 20, 3, 4)


def test_the_text_table_names_every_layer_and_where_it_is_read_from():
    text = format_energy_table({"tiny": network_energy([SMALL], sram_bytes=100)})
    assert "tiny" in text and "fc" in text and "total" in text and "DRAM" in text and "SRAM" in text


@pytest.mark.parametrize("call, error, message", [
    (lambda: weight_bytes(SMALL, "coo"), ValueError, "unknown form"),
    (lambda: layer_energy(SMALL, "dense", "disk"), ValueError, "'dram' or 'sram'"),
    (lambda: layer_energy(SMALL, "dense", "dram", {"dram_read_32bit": 1.0}), ValueError, "lacks"),
    (lambda: layer_energy(SMALL, "dense", "dram", {**ENERGY_PJ, "float_add_32bit": -1}), ValueError, ">= 0"),
    (lambda: layer_energy(SMALL, "dense", "dram", {**ENERGY_PJ, "float_add_32bit": "0.9"}), ValueError, ">= 0"),
    (lambda: layer_energy(SMALL, "dense", "dram", {**ENERGY_PJ, "dram_read_32bit": float("inf")}), ValueError,
     "finite"),
    (lambda: LayerCounts("x", 2, 2, 5, 5, 1, 1, 1), ValueError, "exceeds"),
    (lambda: LayerCounts("x", 2, 2, 3, 2, 1, 1, 1), ValueError, "below"),
    (lambda: LayerCounts("x", 2, -2, 0, 0, 1, 1, 1), ValueError, "n_in"),
    (lambda: LayerCounts("x", 2, 2.0, 0, 0, 1, 1, 1), TypeError, "n_in"),
    (lambda: network_energy([]), ValueError, "at least one layer"),
    (lambda: network_energy([SMALL], sram_bytes=-1), ValueError, "sram_bytes"),
    (lambda: layer_counts(CompressedLayer("c", (2, 1, 3, 3), 4, np.ones(2, np.float32), np.zeros(2, np.float32),
                                          np.zeros(1, np.uint32), np.ones(1, np.uint32))), ValueError, "fully"),
])
def test_bad_input_is_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()
