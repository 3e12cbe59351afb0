"""The paper's tables, measured on a compressed file.

* :func:`layer_table` -- Tables 2 and 3 of the paper: per layer, #weights,
  weights % after pruning, weight bits and index bits after pruning +
  quantization (P+Q) and after Huffman coding (P+Q+H), and the compress rate
  of both, plus a total row.
* :func:`table1_row` -- Table 1: test error of the reference and of the
  compressed model, size before and after, and the ratio. The size after is
  the file's length in bytes; the size before is 4 bytes per parameter
  (weights and biases in float32), counted from the compressed layers'
  shapes, so for any network.
* :func:`size_breakdown` -- where the file's bytes go, and how the bit-count
  estimate of the table relates to the real size.

Every figure is computed from the :class:`CompressedModel` decoded from the
file (its layers carry the byte and bit counts the reader found), never from
the recipe.

Definitions, per layer with k codebook entries, index fields of b bits, m
stored entries (fillers included) and n weights in the dense tensor:

* weight bits P+Q = ceil(log2(k + 1)) if the layer has filler entries (the
  filler needs a symbol of its own), else log2(k); index bits P+Q = b;
* weight bits P+Q+H = Huffman bits of the weight stream / m, index bits
  P+Q+H = Huffman bits of the index stream / m;
* compress rate = (m * (weight bits + index bits) + 32 k) / (32 n): the
  stored entries plus the float32 codebook, over the dense float32 weights.

The paper does not give the formula behind its "compress rate" columns; this
one is our reconstruction (it counts what the file must hold for a layer's
weights), not a formula quoted from the paper.
"""

from __future__ import annotations

import math

import numpy as np

from deepcompress_np.fileformat import encode_layer

COLUMNS = ("layer", "n_weights", "weights_pct", "weight_bits_pq", "weight_bits_pqh", "index_bits_pq",
           "index_bits_pqh", "compress_rate_pq", "compress_rate_pqh")
HEADINGS = ("Layer", "#Weights", "Weights% (P)", "Weight bits (P+Q)", "Weight bits (P+Q+H)", "Index bits (P+Q)",
            "Index bits (P+Q+H)", "Compress rate (P+Q)", "Compress rate (P+Q+H)")


def fixed_weight_bits(layer):
    """Bits of a fixed-width weight symbol of a stored layer (column "Weight bits (P+Q)").

    The alphabet is the ``k`` cluster indices, plus the filler zero's symbol
    when the layer has fillers; the width is ``ceil(log2(alphabet))``, at
    least 1.
    """
    k = int(np.asarray(layer.codebook).size)
    alphabet = k + 1 if layer.n_fillers else k
    return max(1, math.ceil(math.log2(max(alphabet, 1))))


def layer_table(compressed):
    """Rows of the paper's Table 2/3 for every layer, then a ``"Total"`` row.

    Returns
    -------
    list of dict
        Keys: see :data:`COLUMNS`; rates and percentages as fractions (0.02 = 2%),
        plus ``bits_pq`` and ``bits_pqh`` (the layer's total bits).
    """
    rows = []
    total = {"n_weights": 0, "kept": 0, "m": 0, "w_pq": 0, "w_pqh": 0, "i_pq": 0, "i_pqh": 0, "codebook": 0}
    for layer in compressed.layers:
        if layer.sizes is None:  # built in memory, not yet written: count by encoding it
            encode_layer(layer)
        n = int(np.prod(layer.shape))
        m = layer.n_entries
        kept = int(np.count_nonzero(layer.symbols))
        w_pq, i_pq = fixed_weight_bits(layer), layer.index_bits
        w_bits_h, i_bits_h = layer.sizes["weight_stream_bits"], layer.sizes["index_stream_bits"]
        codebook_bits = 32 * layer.codebook.size
        bits_pq = m * (w_pq + i_pq) + codebook_bits
        bits_pqh = w_bits_h + i_bits_h + codebook_bits
        rows.append({
            "layer": layer.name, "n_weights": n, "weights_pct": kept / n,
            "weight_bits_pq": w_pq, "weight_bits_pqh": w_bits_h / m if m else 0.0,
            "index_bits_pq": i_pq, "index_bits_pqh": i_bits_h / m if m else 0.0,
            "compress_rate_pq": bits_pq / (32 * n), "compress_rate_pqh": bits_pqh / (32 * n),
            "bits_pq": bits_pq, "bits_pqh": bits_pqh, "stored_entries": m, "fillers": layer.n_fillers,
        })
        for key, value in (("n_weights", n), ("kept", kept), ("m", m), ("w_pq", m * w_pq), ("w_pqh", w_bits_h),
                           ("i_pq", m * i_pq), ("i_pqh", i_bits_h), ("codebook", codebook_bits)):
            total[key] += value
    m = total["m"] or 1
    bits_pq = total["w_pq"] + total["i_pq"] + total["codebook"]
    bits_pqh = total["w_pqh"] + total["i_pqh"] + total["codebook"]
    rows.append({
        "layer": "Total", "n_weights": total["n_weights"], "weights_pct": total["kept"] / total["n_weights"],
        "weight_bits_pq": total["w_pq"] / m, "weight_bits_pqh": total["w_pqh"] / m,
        "index_bits_pq": total["i_pq"] / m, "index_bits_pqh": total["i_pqh"] / m,
        "compress_rate_pq": bits_pq / (32 * total["n_weights"]),
        "compress_rate_pqh": bits_pqh / (32 * total["n_weights"]),
        "bits_pq": bits_pq, "bits_pqh": bits_pqh, "stored_entries": total["m"],
        "fillers": sum(layer.n_fillers for layer in compressed.layers),
    })
    return rows


def format_ratio(rate):
    """A compress rate (stored / dense) as the paper prints it: ``"(40x)"``.

    A ratio of 1 or more is printed without decimals, as in the paper's
    tables (``(40x)``, ``(7x)``); a layer that grows -- a ratio below 1, e.g.
    a tiny layer whose codebook outweighs its weights -- gets two significant
    digits (``(0.26x)``), never ``(0x)``.
    """
    ratio = 1 / rate
    return f"({ratio:.0f}x)" if ratio >= 1 else f"({ratio:.2g}x)"


def format_layer_table(rows):
    """The table as aligned text, percentages and ratios as the paper prints them."""
    def cells(r):
        return [
            r["layer"], f"{r['n_weights']:,}", f"{100 * r['weights_pct']:.1f}%",
            f"{r['weight_bits_pq']:.3g}", f"{r['weight_bits_pqh']:.2f}",
            f"{r['index_bits_pq']:.3g}", f"{r['index_bits_pqh']:.2f}",
            f"{100 * r['compress_rate_pq']:.2f}% {format_ratio(r['compress_rate_pq'])}",
            f"{100 * r['compress_rate_pqh']:.2f}% {format_ratio(r['compress_rate_pqh'])}",
        ]
    table = [list(HEADINGS)] + [cells(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADINGS))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def dense_bytes(model):
    """Bytes of every weight and bias in float32: the size before compression (Table 1).

    Parameters
    ----------
    model : CompressedModel, Sequential or str
        A compressed model (counted from its layers' shapes and biases, any
        architecture), a dense model, or a bundled architecture's name
        (``"lenet300"``).
    """
    if isinstance(model, str):
        from deepcompress_np.models import build

        model = build(model)
    if hasattr(model, "n_params"):
        return 4 * model.n_params()
    return 4 * sum(int(np.prod(layer.shape)) + int(np.size(layer.bias)) for layer in model.layers)


def size_breakdown(compressed, file_bytes):
    """Where the file's bytes go, by kind, summed over layers; checks that they add up to the file.

    Returns
    -------
    dict
        Bytes for ``weight stream``, ``index stream``, ``codebook``, ``bias``,
        ``code tables``, ``headers`` (file header, layer headers, lengths and CRCs).
    """
    kinds = {"weight stream": 0, "index stream": 0, "codebook": 0, "bias": 0, "code tables": 0, "headers": 0}
    for layer in compressed.layers:
        s = layer.sizes if layer.sizes is not None else encode_layer(layer)[1]
        for kind in ("weight stream", "index stream", "codebook", "bias", "code tables"):
            kinds[kind] += s[kind]
        kinds["headers"] += s["layer header"] + s["framing"]
    layer_bytes = sum(kinds.values())
    kinds["headers"] += file_bytes - layer_bytes  # the file header
    return kinds


def table1_row(compressed, file_bytes, reference_error, test_error):
    """The paper's Table 1 row, plus the bit-count estimate and what separates it from the file."""
    dense = dense_bytes(compressed)
    total = layer_table(compressed)[-1]
    estimate = total["bits_pqh"] / 8
    kinds = size_breakdown(compressed, file_bytes)
    return {
        "arch": compressed.arch,
        "test_error_reference": reference_error,
        "test_error": test_error,
        "dense_bytes": dense,
        "file_bytes": file_bytes,
        "ratio": dense / file_bytes,
        "estimate_bytes": estimate,
        "estimate_ratio": 32 * total["n_weights"] / total["bits_pqh"],
        # The estimate counts the two streams' bits and the codebooks; the file also holds:
        "difference": {
            "bias": kinds["bias"],
            "code tables": kinds["code tables"],
            "headers": kinds["headers"],
            "stream padding": kinds["weight stream"] + kinds["index stream"] + kinds["codebook"] - estimate,
        },
    }


def format_table1(row):
    """Table 1 as text, with the bit-count estimate and the bytes it leaves out."""
    def pct(error):
        return "n/a" if error is None else f"{100 * error:.2f}%"

    errors = f"{pct(row['test_error_reference'])} -> {pct(row['test_error'])}"
    sizes = f"{row['dense_bytes']:,} B -> {row['file_bytes']:,} B"
    diff = row["difference"]
    name = row["arch"] or "model"
    return "\n".join([
        f"{'Network':{max(10, len(name))}s} {'Top-1 error':>18s} {'Parameters (file)':>28s} {'Compress rate':>14s}",
        f"{name:{max(10, len(name))}s} {errors:>18s} {sizes:>28s} {row['ratio']:>13.1f}x",
        f"Bit-count estimate (streams + codebooks): {row['estimate_bytes']:,.0f} B ({row['estimate_ratio']:.1f}x of "
        f"the weights); the file adds biases {diff['bias']:,} B, code tables {diff['code tables']:,} B, "
        f"headers and checksums {diff['headers']:,} B and stream padding {diff['stream padding']:,.0f} B.",
    ])
