"""Pictures of a compressed model, for the demo, the README and the tutorials.

* :func:`plot_size_breakdown` -- where the file's bytes go (paper Figure 1's
  "same accuracy, 35x-49x smaller", made concrete for one file);
* :func:`plot_shared_weights` -- the distribution of a layer's weights after
  pruning and quantization: a few spikes at the shared centroids, none near 0
  (compare the paper's Figure 4);
* :func:`plot_symbol_distributions` -- the distributions of weight symbols and
  index gaps that Huffman coding exploits (paper Figure 5);
* :func:`plot_recipe_search` -- what the automatic recipe search tried:
  validation error against compression ratio, the budget line and the chosen
  recipe (the accuracy/size trade-off of the paper's Figure 6 and of Han et al.
  2015's Figure 5, for one net).
"""

from __future__ import annotations

import math

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


def plot_recipe_search(search, ax=None):
    """Validation error against compression ratio of every candidate of a recipe search.

    Parameters
    ----------
    search : RecipeSearch or dict
        From :func:`deepcompress_np.recipe_search.search_recipe`, or its
        ``to_dict()`` (as stored in the CLI's report JSON).
    ax : matplotlib Axes, optional

    Circles are the candidates' estimates (short retraining), squares the
    final runs (full retraining, read from the file), filled when within the
    budget; the star is the chosen recipe; the dashed line is the budget
    (reference validation error + budget), the dotted one the reference.
    Returns the Axes.
    """
    plt = _pyplot()
    record = search.to_dict() if hasattr(search, "to_dict") else search
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    dense = record["dense_bytes"]
    for kind, marker, label in (("search", "o", "candidate (short retraining, estimated)"),
                                ("final", "s", "final run (full retraining, from the file)")):
        for within in (True, False):
            points = [c for c in record["candidates"] if c["kind"] == kind and c["within_budget"] == within]
            if not points:
                continue
            ax.scatter([dense / c["file_bytes"] for c in points], [100 * c["val_error"] for c in points],
                       marker=marker, s=36, color="C0" if kind == "search" else "C1",
                       facecolors=None if within else "none",
                       label=f"{label}{'' if within else ', over budget'}")
    if record.get("chosen") is not None:
        c = record["candidates"][record["chosen"]]
        ax.scatter([dense / c["file_bytes"]], [100 * c["val_error"]], marker="*", s=220, color="C3", zorder=3,
                   label=f"chosen: {dense / c['file_bytes']:.1f}x, val error {100 * c['val_error']:.2f}%")
    ax.axhline(100 * record["val_limit"], color="C3", linestyle="--", linewidth=1,
               label=f"budget: reference + {100 * record['budget']:.2g} points")
    ax.axhline(100 * record["reference_val_error"], color="gray", linestyle=":", linewidth=1,
               label="reference (uncompressed)")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    # label the minor ticks at 2, 3 and 5 times a power of ten only: all nine crowd each other near 100x
    ax.xaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}x" if v > 0 and round(v / 10 ** math.floor(math.log10(v))) in (2, 3, 5) else ""))
    ax.set_xlabel("compression ratio (dense float32 bytes / file bytes)")
    ax.set_ylabel("validation error (%)")
    ax.set_title("Automatic recipe search: the smallest file within the budget")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return ax


def save_recipe_search_figure(search, path):
    """Write :func:`plot_recipe_search` to ``path`` (PNG); returns the path."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plot_recipe_search(search, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


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


# ============================================================================
# The course's figures (tutorials 00-05): plotting moved out of the notebooks
# so that their cells show the lesson, not matplotlib.
# ============================================================================

def plot_weight_histograms(model, keep=0.08, axes=None):
    """One histogram per weight layer, counts on a log axis so the tails show.

    The shaded band marks the weights of smallest magnitude a layer would lose
    if it kept only its largest ``keep`` fraction. Returns the Axes.
    """
    plt = _pyplot()
    layers = model.weight_layers()
    if axes is None:
        _, axes = plt.subplots(1, len(layers), figsize=(4.4 * len(layers), 3.8))
    for ax, layer in zip(np.atleast_1d(axes), layers):
        w = layer.params["W"].ravel()
        threshold = np.quantile(np.abs(w), 1 - keep)
        ax.hist(w, bins=120, color="tab:blue")
        ax.axvspan(-threshold, threshold, color="tab:red", alpha=0.15, label=f"smallest {1 - keep:.0%} of |w|")
        ax.set_yscale("log")
        ax.set_title(f"{layer.name}: {w.size:,} weights")
        ax.set_xlabel("weight value")
        ax.set_ylabel("number of weights (log scale)")
        ax.legend(fontsize=8, loc="upper right")
    return axes


def plot_masked_update(pruned_values, drift, axes=None):
    """Tutorial 01's experiment: where the pruned weights end up under three update rules.

    Parameters
    ----------
    pruned_values : dict[label, ndarray]
        The weights at pruned positions after the last step, per rule.
    drift : dict[label, list of float]
        Mean |w| over the pruned positions after each step, per rule.

    Left: histogram of |w| at the pruned positions (log-spaced bins); a rule
    that keeps them at exactly 0 has no bar and is named in the legend.
    Right: the mean |w| step by step. Returns the Axes.
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    nonzero = [np.abs(v[v != 0]) for v in pruned_values.values()]
    low = min((a.min() for a in nonzero if a.size), default=1e-8)
    high = max((a.max() for a in nonzero if a.size), default=1.0)
    bins = np.logspace(np.log10(low), np.log10(high), 50)
    for (label, values), color in zip(pruned_values.items(), ("tab:blue", "tab:orange", "tab:green")):
        values = np.abs(np.asarray(values))
        n_zero = int(np.sum(values == 0))
        if values.size - n_zero:
            axes[0].hist(values[values != 0], bins=bins, histtype="step", lw=1.8, color=color,
                         label=f"{label}: {values.size - n_zero:,} non-zero")
        else:
            axes[0].plot([], [], color=color, label=f"{label}: all {values.size:,} exactly 0")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("|w| at a pruned position after the last step (log scale)")
    axes[0].set_ylabel("number of pruned weights")
    axes[0].set_title("Where the pruned weights end up")
    for (label, values), style in zip(drift.items(), ("o-", "s--", "^-")):
        if max(values) > 0:  # a log axis cannot show an exact zero
            axes[1].plot(range(1, len(values) + 1), values, style, label=label)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("SGD steps after pruning")
    axes[1].set_ylabel("mean |w| over the pruned connections")
    axes[1].set_title("How far they drift (exactly 0 is not drawn)")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return axes


def plot_storage_by_format(totals, ax=None):
    """Grouped bars of the weight storage per network and format, on a linear axis with every bar labelled.

    ``totals[net][format]`` is in bits and must hold a ``"dense"`` entry;
    each bar is labelled with its size in kB and how many times smaller than
    dense it is. Returns the Axes.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    formats = list(next(iter(totals.values())))
    width = 0.8 / len(formats)
    for i, fmt in enumerate(formats):
        for j, t in enumerate(totals.values()):
            kb = t[fmt] / 8e3
            bar = ax.bar(j + (i - (len(formats) - 1) / 2) * width, kb, width=width, color=f"C{i}",
                         label=fmt if j == 0 else None)[0]
            ratio = "" if fmt == "dense" else f"\n{t['dense'] / t[fmt]:.0f}x"
            ax.text(bar.get_x() + width / 2, kb, f"{kb:,.0f}{ratio}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(totals)), list(totals))
    ax.set_ylabel("storage of the weights (kB, linear)")
    ax.set_title("Weight storage of the pruned networks, by format (label: kB, times smaller than dense)")
    ax.margins(y=0.15)
    ax.legend(fontsize=8)
    return ax


def plot_stages(stages, paper_errors=None, axes=None):
    """Size and test error after each stage of the pipeline (paper Figure 1 with our numbers).

    Parameters
    ----------
    stages : list of (name, test error, bytes)
        The first entry is the dense reference.
    paper_errors : tuple (reference, compressed), optional
        The paper's test errors (Table 1), drawn as dashed lines for scale.

    The size panel is linear, each bar labelled with how many times smaller
    than dense it is; the error axis starts at 0, so a change of a few tenths
    of a point looks as small as it is. Returns the Axes.
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    names = [name for name, _, _ in stages]
    dense = stages[0][2]
    bars = axes[0].bar(names, [size / 1000 for _, _, size in stages], color=["0.6"] + ["C0"] * (len(stages) - 1))
    for bar, (_, _, size) in zip(bars, stages):
        axes[0].text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{size / 1000:,.1f} kB\n{dense / size:.0f}x",
                     ha="center", va="bottom", fontsize=8)
    axes[0].set_ylabel("size (kB, linear)")
    axes[0].set_title("Size after each stage (label: times smaller than dense)")
    axes[0].margins(y=0.2)
    errors = [100 * error for _, error, _ in stages]
    axes[1].plot(names, errors, "o-", label="ours (10,000 test images)")
    for x, e in enumerate(errors):
        axes[1].annotate(f"{e:.2f}%", (x, e), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    if paper_errors is not None:
        axes[1].axhline(100 * paper_errors[0], color="tab:red", ls="--", lw=1, label="paper, reference")
        axes[1].axhline(100 * paper_errors[1], color="tab:red", ls=":", lw=1, label="paper, compressed")
    axes[1].set_ylim(0, 1.5 * max(errors + [100 * e for e in (paper_errors or ())]))
    axes[1].set_ylabel("test error (%, axis from 0)")
    axes[1].set_title("Test error after each stage")
    axes[1].grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    return axes


def plot_weight_journey(steps, ax=None):
    """One weight through the stages, one row per stage: what is stored and how many bits it takes.

    ``steps`` is a list of dicts with ``stage``, ``stored`` (text shown in a
    monospace box) and ``bits`` (a number or a short text), e.g. from
    :func:`deepcompress_np.course.follow_one_weight`. Returns the Axes.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(14, 0.8 * len(steps) + 0.6))
    for row, step in enumerate(steps):
        y = len(steps) - 1 - row
        ax.text(0.0, y, step["stage"], ha="left", va="center", fontsize=9, fontweight="bold")
        ax.text(0.22, y, step["stored"], ha="left", va="center", fontsize=8, family="monospace",
                bbox=dict(boxstyle="round", fc=plt.cm.Pastel1(row % 9), ec="0.5"))
        ax.text(1.0, y, str(step["bits"]), ha="right", va="center", fontsize=9)
        if row:
            ax.annotate("", xy=(0.1, y + 0.3), xytext=(0.1, y + 0.7), arrowprops={"arrowstyle": "->", "color": "0.5"})
    ax.text(1.0, len(steps) - 0.35, "bits", ha="right", va="bottom", fontsize=9, fontstyle="italic")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(steps) - 0.2)
    ax.axis("off")
    return ax


def lower_envelope(points):
    """The (size, error) points no smaller model beats, in increasing size: the best error at each size."""
    front, best = [], np.inf
    for size, err in sorted(points):
        if err < best:
            front.append((size, err))
            best = err
    return front


def plot_pruning_and_quantization(prune_only, quant_only, both, unpruned, pruned, size_bits, reference_error,
                                  top=2.0, axes=None):
    """The paper's Figures 6 and 7 on our network (tutorial 03).

    Parameters
    ----------
    prune_only, quant_only, both : list of (size fraction, test error)
        Pruning alone, quantization alone, and every pruned-and-quantized net.
    unpruned, pruned : tuple (kept %, list of (size fraction, error) over ``size_bits``)
        Two networks quantized to each of ``size_bits``; the last entry is 32 bits (not quantized).
    reference_error : float
    top : float
        Upper end of the error axes in percentage points; points above it are marked at the top with
        their value.

    Returns the Axes.
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    ax6, ax7 = axes

    def mark_off_chart(ax, xs, ys):
        for x, y in zip(xs, ys):
            if y > top:
                ax.annotate(f"{y:.1f}", (x, top), xytext=(0, -12), textcoords="offset points", ha="center",
                            fontsize=8, arrowprops={"arrowstyle": "->"})

    def loss(pts):
        return [100 * (e - reference_error) for _, e in pts]

    def size(pts):
        return [100 * s for s, _ in pts]

    ax6.plot(size(prune_only), loss(prune_only), "s-", color="tab:purple", label="pruning only")
    ax6.plot(size(quant_only), loss(quant_only), "^-", color="tab:olive", label="quantization only")
    ax6.scatter(size(both), loss(both), color="tab:red", s=14, alpha=0.5,
                label="pruning + quantization, each level x bits")
    for pts in (prune_only, quant_only, both):
        mark_off_chart(ax6, size(pts), loss(pts))
    front = lower_envelope(both)
    ax6.plot(size(front), loss(front), "-", color="tab:red", label="pruning + quantization, best at each size")
    ax6.set_xscale("log")
    ax6.set_xticks([2, 5, 10, 20, 50, 100], ["2%", "5%", "10%", "20%", "50%", "100%"])
    ax6.set_xlabel("compressed size (% of the dense float32 model, log scale)")
    ax6.set_ylabel("test error increase over the reference (points)")
    ax6.set_title("LeNet-300-100: error against size (paper Figure 6)")
    ax6.legend(fontsize=8, loc="upper right")
    for (kept, pts), style in ((unpruned, "o--"), (pruned, "o-")):
        cost = [100 * (e - pts[-1][1]) for _, e in pts[:-1]]
        ax7.plot(size_bits[:-1], cost, style, label=f"{kept:.1f}% of weights kept")
        mark_off_chart(ax7, size_bits[:-1], cost)
    ax7.set_xlabel("bits per weight (all layers)")
    ax7.set_ylabel("error increase over the same net in float32 (points)")
    ax7.set_title("Quantization without fine-tuning, unpruned vs pruned (paper Figure 7)")
    ax7.legend()
    for ax in axes:
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_ylim(-0.5, top)
        ax.grid(True, which="both", alpha=0.3)
    return axes


def draw_code_tree(words, labels, weights, ax, title):
    """Draw the binary tree of a prefix code (tutorial 04).

    Parameters
    ----------
    words : dict[symbol, str]
        The code word of each symbol, as a string of '0' and '1'.
    labels : dict[symbol, str]
        Text shown in each leaf.
    weights : dict[symbol, int]
        Count of each symbol; every inner node shows the total count of the leaves below it.
    ax : matplotlib Axes
    title : str

    Leaves are placed left to right in the order of their code words, each inner node above the middle
    of its children; the vertical axis is the depth, i.e. the code length. Returns the Axes.
    """
    nodes = {""}
    for w in words.values():
        nodes.update(w[:i] for i in range(len(w) + 1))
    x = {words[s]: rank for rank, s in enumerate(sorted(words, key=words.get))}
    for p in sorted(nodes, key=len, reverse=True):  # children before parents
        if p not in x:
            x[p] = np.mean([x[p + bit] for bit in "01" if p + bit in nodes])
    below = {p: sum(weights[s] for s, w in words.items() if w.startswith(p)) for p in nodes}
    leaf_of = {w: s for s, w in words.items()}
    for p in nodes:
        for bit in "01":
            if p + bit in nodes:
                ax.plot([x[p], x[p + bit]], [-len(p), -len(p) - 1], color="0.6", zorder=1)
                ax.text((x[p] + x[p + bit]) / 2, -len(p) - 0.5, bit, color="tab:red", fontsize=8,
                        ha="right" if bit == "0" else "left", va="center")
    for p in nodes:
        if p in leaf_of:
            ax.text(x[p], -len(p), f"{labels[leaf_of[p]]}\n{below[p]}", ha="center", va="center",
                    fontsize=9, bbox=dict(boxstyle="round", fc="tab:blue", ec="none", alpha=0.25), zorder=2)
        else:
            ax.text(x[p], -len(p), str(below[p]), ha="center", va="center", fontsize=8,
                    bbox=dict(boxstyle="circle", fc="white", ec="0.4"), zorder=2)
    depth = max(len(w) for w in words.values())
    ax.set_yticks(-np.arange(depth + 1), np.arange(depth + 1))
    ax.set_ylabel("depth = code length (bits)")
    ax.set_xticks([])
    ax.set_xlim(-0.7, len(words) - 0.3)
    ax.set_ylim(-depth - 0.6, 0.6)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(title)
    return ax


def plot_training_history(history, window=20, axes=None):
    """Training loss per mini-batch (log axis, with a moving average) and validation error per epoch.

    ``history`` is what :func:`deepcompress_np.train.train` returns (with ``X_val``). Returns the Axes.
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_loss, ax_val = axes
    step_loss = np.array(history["step_loss"])
    steps_per_epoch = len(step_loss) // len(history["epoch"])
    smooth = np.convolve(step_loss, np.ones(window) / window, mode="valid")
    ax_loss.plot(step_loss, lw=0.6, alpha=0.4, label="loss of each mini-batch")
    ax_loss.plot(np.arange(window - 1, len(step_loss)), smooth, lw=1.8, label=f"moving average of {window} steps")
    for epoch in history["epoch"][:-1]:
        ax_loss.axvline(epoch * steps_per_epoch, color="grey", ls=":", lw=1)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("training step (mini-batch)")
    ax_loss.set_ylabel("softmax cross-entropy (log scale)")
    ax_loss.set_title("Training loss")
    ax_loss.legend()
    val_percent = 100 * np.array(history["val_error"])
    ax_val.plot(history["epoch"], val_percent, "o-")
    for epoch, err in zip(history["epoch"], val_percent):
        ax_val.annotate(f"{err:.2f}%", (epoch, err), textcoords="offset points", xytext=(0, 7), ha="center")
    ax_val.set_xticks(history["epoch"])
    ax_val.set_ylim(0, 1.3 * val_percent.max())
    ax_val.margins(x=0.1)
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel("validation error (%, axis from 0)")
    ax_val.set_title("Error on the 10,000 'val' images")
    return axes


def plot_index_width_tradeoff(layers, widths, best, axes=None):
    """Fillers and bits per surviving weight against the field width b, one curve per layer (tutorial 02).

    Parameters
    ----------
    layers : dict[label, (mask, value bits)]
    widths : array of int
        The field widths tried, 1, 2, ...
    best : dict[label, int]
        The best width of each layer, marked with a star.

    Left: fillers per surviving weight (log axis; a width with no filler has no point). Right: the
    relative-index storage per surviving weight, index and value. Returns the Axes.
    """
    from deepcompress_np import sparse

    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    widths = np.asarray(widths)
    for label, (mask, v) in layers.items():
        a = int(mask.sum())
        fillers = np.array([sparse.count_fillers(mask, b) for b in widths])
        per_weight = np.array([sparse.relative_index_bits(mask, b, v) for b in widths]) / a
        style = "--" if label.startswith("LeNet-5") else "-"
        axes[0].plot(widths, np.where(fillers > 0, fillers / a, np.nan), style, marker="o", ms=3, label=label)
        line, = axes[1].plot(widths, per_weight, style, marker="o", ms=3, label=label)
        b = best[label]
        axes[1].plot(b, per_weight[list(widths).index(b)], "*", ms=14, color=line.get_color())
    axes[0].set_yscale("log")
    axes[0].set_ylabel("fillers per surviving weight (log scale)")
    axes[0].set_title("Filler zeros against the field width")
    axes[1].set_ylabel("bits per surviving weight (index + value)")
    axes[1].set_title("Relative-index storage against the field width (star: best b)")
    axes[1].set_ylim(0, 40)
    for ax in axes:
        ax.set_xlabel("field width b (bits)")
        ax.set_xticks(widths)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    return axes


def plot_huffman_streams(layer, weight_code, field_code, axes=None):
    """Both streams of a stored layer with their Huffman code lengths (tutorial 04, paper Figure 5).

    Left: the weight stream, each cluster drawn at its centroid value and the filler symbol at 0.
    Right: the index stream, one bar per field value. Counts on a log axis (base 2); the orange dots,
    on the right axes, are the code lengths, short words at the top. Returns the Axes.
    """
    from deepcompress_np.huffman import entropy_bits

    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    k = layer.codebook.size
    weight_counts = np.bincount(layer.symbols, minlength=k + 1)
    field_counts = np.bincount(layer.fields, minlength=2 ** layer.index_bits)
    ax = axes[0]
    used = weight_counts[1:] > 0
    ax.vlines(layer.codebook[used], 0.5, weight_counts[1:][used], color="tab:blue", lw=2.5,
              label="cluster (shared weight)")
    ax.vlines([0.0], 0.5, weight_counts[0], color="tab:gray", lw=4, label="filler zero (symbol 0)")
    ax.set_xlabel("weight value (centroid of the cluster)")
    ax.set_title(f"{layer.name} weight stream: {layer.n_entries:,} symbols, "
                 f"H = {entropy_bits(weight_counts):.2f} bits")
    ax.legend(loc="upper left", fontsize=8)
    twin = ax.twinx()
    twin.plot(layer.codebook[used], weight_code.lengths[1:][used], "o", ms=3, color="tab:orange")
    twin.plot([0.0], weight_code.lengths[:1], "o", ms=4, color="tab:orange")
    twins = [twin]
    ax = axes[1]
    f = np.arange(field_counts.size)
    ax.bar(f[field_counts > 0], field_counts[field_counts > 0], color="tab:green")
    ax.set_xlabel(f"field (pruned positions skipped, gap - 1; {layer.index_bits} bits, "
                  f"so 0..{field_counts.size - 1})")
    ax.set_title(f"{layer.name} index stream: {layer.n_entries:,} fields, H = {entropy_bits(field_counts):.2f} bits")
    twin = ax.twinx()
    twin.plot(f[field_counts > 0], field_code.lengths[field_counts > 0], "o", ms=3, color="tab:orange")
    twins.append(twin)
    for ax in axes:
        ax.set_yscale("log", base=2)
        ax.set_ylim(0.5, None)
        ax.set_ylabel("count (log scale)")
    for twin in twins:
        twin.set_ylabel("Huffman code length (bits)", color="tab:orange")
        twin.set_ylim(twin.get_ylim()[1], 0)  # short code words at the top
    return axes


def plot_bits_per_symbol(rows, ax=None):
    """Fixed-width code, Huffman code and entropy bound, in bits per symbol, for every stream (tutorial 04).

    ``rows`` hold ``layer``, ``stream``, ``n`` (symbols) and the bits ``fixed``, ``huffman`` and
    ``entropy`` of the whole stream. Returns the Axes.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.8))
    pos = np.arange(len(rows))
    for offset, key, label, color in ((-0.27, "fixed", "fixed width", "tab:gray"),
                                      (0.0, "huffman", "Huffman", "tab:blue"),
                                      (0.27, "entropy", "entropy bound", "tab:orange")):
        ax.bar(pos + offset, [r[key] / r["n"] for r in rows], width=0.27, label=label, color=color)
    ax.set_xticks(pos, [f"{r['layer']}\n{r['stream']}" for r in rows])
    ax.set_ylabel("bits per symbol")
    ax.set_title("Fixed-width code vs Huffman code vs entropy, for every stream")
    ax.legend(fontsize=8)
    return ax


def plot_initialisations(w, inits, title, axes=None):
    """A layer's weights (PDF and CDF) with the starting centroids of each initialisation (paper Figure 4).

    ``inits`` maps a method's name to its centroids. Returns the two Axes (distribution, centroids).
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax_pdf, ax_init = axes
    ax_pdf.hist(w, bins=120, density=True, color="tab:red", alpha=0.45, label="PDF (histogram)")
    ax_pdf.set_ylabel("density")
    ax_cdf = ax_pdf.twinx()
    ax_cdf.plot(np.sort(w), np.arange(1, w.size + 1) / w.size, color="tab:blue", label="CDF")
    ax_cdf.set_ylabel("cumulative fraction of weights")
    ax_cdf.set_ylim(0, 1)
    ax_pdf.set_title(title)
    handles, labels = ax_pdf.get_legend_handles_labels()
    handles2, labels2 = ax_cdf.get_legend_handles_labels()
    ax_pdf.legend(handles + handles2, labels + labels2, loc="upper left")
    for row, (name, c) in enumerate(inits.items()):
        ax_init.scatter(c, np.full(len(c), row), color=INIT_COLORS.get(name, f"C{row}"), s=30)
    ax_init.set_yticks(range(len(inits)), list(inits))
    ax_init.set_ylim(-0.7, len(inits) - 0.3)
    ax_init.set_xlabel("weight value")
    ax_init.set_title("starting centroids", fontsize=10)
    return axes


INIT_COLORS = {"forgy": "tab:orange", "density": "tab:blue", "linear": "tab:green"}


def plot_error_by_bits(bits, panels, baseline, axes=None):
    """Test error against bits per weight, one line per initialisation, one panel per stage (tutorial 03).

    ``panels`` is a list of (title, {init: [error per bit width]}); ``baseline`` the error of the
    unquantized net, drawn dashed. The error axis starts at 0. Returns the Axes.
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(12, 4), sharey=True)
    top = 0
    for ax, (title, table) in zip(axes, panels):
        for init, errors in table.items():
            ax.plot(list(bits), 100 * np.array(errors), marker="o", color=INIT_COLORS.get(init), label=init)
            top = max(top, 100 * max(errors))
        ax.axhline(100 * baseline, color="gray", ls="--", label="pruned, 32-bit weights")
        ax.set_xlabel("bits per weight (all layers)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylim(0, 1.1 * top)
    axes[0].set_ylabel("test error (%, axis from 0)")
    axes[0].legend()
    return axes


def plot_weight_panels(panels, axes=None):
    """Histograms of one layer's surviving weights at several stages, on shared bins (tutorial 01).

    ``panels`` is a list of (title, weights). Returns the Axes.
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.5))
    limit = max(np.abs(w).max() for _, w in panels)
    bins = np.linspace(-limit, limit, 121)
    for ax, (title, w) in zip(axes, panels):
        ax.hist(w, bins=bins)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("weight value")
        ax.set_ylabel("number of weights")
        ax.text(0.02, 0.95, f"{w.size:,} weights", transform=ax.transAxes, va="top", fontsize=9)
    return axes


def plot_accuracy_against_sparsity(kept_levels, no_retrain, retrained, reference, ax=None):
    """Validation error against the fraction pruned, without and with retraining (tutorial 01).

    The error axis is logarithmic: the two curves span two orders of magnitude. Returns the Axes.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    pruned_pct = [100 * (1 - f) for f in kept_levels]
    ax.plot(pruned_pct, [100 * e for e in no_retrain], "o-", label="pruned, no retraining")
    ax.plot(pruned_pct, [100 * e for e in retrained], "s-", label="pruned + 1 epoch of retraining")
    ax.axhline(100 * reference, color="k", ls=":", lw=1, label="unpruned")
    ax.set_yscale("log")
    ax.set_xlabel("weights pruned away, every layer (%)")
    ax.set_ylabel("validation error (%, log scale)")
    ax.set_title("Accuracy against sparsity")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
