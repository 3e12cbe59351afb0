"""Pictures of a compressed model, for the demo, the README and the tutorials.

* :func:`plot_size_breakdown` -- where the file's bytes go (paper Figure 1's
  "same accuracy, 35x-49x smaller", made concrete for one file);
* :func:`plot_shared_weights` -- the distribution of a layer's weights after
  pruning and quantization: a few spikes at the shared centroids, none near 0
  (compare the paper's Figure 4);
* :func:`plot_symbol_distributions` -- the distributions of weight symbols and
  index gaps that Huffman coding exploits (paper Figure 5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib.pyplot as plt  # picks a non-interactive backend by itself on a machine without a screen

    return plt


def plot_size_breakdown(compressed, file_bytes, ax=None):
    """Horizontal stacked bars: one row per layer (and one for the file header), one colour per kind of bytes.

    Returns the Axes.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    kinds = ("weight stream", "index stream", "codebook", "bias", "code tables", "headers")
    colors = dict(zip(kinds, plt.cm.tab10(np.arange(len(kinds)))))
    names = [layer.name for layer in compressed.layers] + ["file header"]
    header = file_bytes - sum(sum(v for k, v in l.sizes.items() if not k.endswith("bits")) for l in compressed.layers)
    for row, layer in enumerate(compressed.layers):
        left = 0
        for kind in kinds:
            size = layer.sizes["layer header"] + layer.sizes["framing"] if kind == "headers" else layer.sizes[kind]
            ax.barh(row, size, left=left, color=colors[kind], label=kind if row == 0 else None)
            left += size
        ax.text(left, row, f" {left:,} B", va="center", fontsize=8)
    ax.barh(len(compressed.layers), header, color=colors["headers"])
    ax.text(header, len(compressed.layers), f" {header:,} B", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("bytes")
    ax.set_title(f"Where the {file_bytes:,} bytes of the {compressed.arch or 'compressed'} file go")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_shared_weights(compressed, layer_name, ax=None):
    """Histogram of a layer's surviving weights after pruning and quantization. Returns the Axes."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    layer = next(l for l in compressed.layers if l.name == layer_name)
    weights = layer.codebook[layer.symbols[layer.symbols > 0] - 1]
    values, counts = np.unique(weights, return_counts=True)
    ax.vlines(values, 0, counts, linewidth=1.5)  # one spike per shared value
    ax.plot(values, counts, "o", markersize=3)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("weight value")
    ax.set_ylabel("count")
    ax.set_title(f"{layer_name}: {weights.size:,} weights share {values.size} values")
    return ax


def plot_symbol_distributions(compressed, layer_name, axes=None):
    """Bar charts of the weight-symbol and index-gap frequencies of one layer (paper Figure 5)."""
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    layer = next(l for l in compressed.layers if l.name == layer_name)
    symbols = layer.symbols[layer.symbols > 0] - 1
    axes[0].bar(np.arange(layer.codebook.size), np.bincount(symbols, minlength=layer.codebook.size))
    axes[0].set_xlabel("weight index (cluster number, in increasing centroid order)")
    axes[0].set_ylabel("count")
    axes[0].set_title(f"{layer_name}: quantized weight indices")
    axes[1].bar(np.arange(2 ** layer.index_bits), np.bincount(layer.fields, minlength=2 ** layer.index_bits))
    axes[1].set_xlabel(f"gap field (zeros skipped, {layer.index_bits} bits)")
    axes[1].set_title(f"{layer_name}: relative index gaps")
    return axes


def save_demo_figures(compressed_path, folder):
    """Write the demo's figures (PNG) for a compressed file into ``folder`` (created if missing); returns their paths."""
    from deepcompress_np.compressed import CompressedModel

    plt = _pyplot()
    compressed = CompressedModel.load(compressed_path)
    file_bytes = Path(compressed_path).stat().st_size
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(8, 3))
    plot_size_breakdown(compressed, file_bytes, ax=ax)
    fig.tight_layout()
    paths.append(folder / "size_breakdown.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    first = compressed.layers[0].name
    fig, ax = plt.subplots(figsize=(6, 3.5))
    plot_shared_weights(compressed, first, ax=ax)
    fig.tight_layout()
    paths.append(folder / f"{first}_shared_weights.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    plot_symbol_distributions(compressed, first, axes=axes)
    fig.tight_layout()
    paths.append(folder / f"{first}_huffman_symbols.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths
