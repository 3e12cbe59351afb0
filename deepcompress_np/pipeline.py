"""The three-stage pipeline of Deep Compression (paper Figure 1).

    pruning -> retrain -> quantization (weight sharing) -> retrain -> Huffman coding
    (§2)                  (§3)                                        (§4)

:func:`compress` runs it on a trained model with a :class:`CompressionRecipe`
and returns a :class:`CompressionResult`: the :class:`CompressedModel`, the
bytes of its file, and the error after every stage. Every figure in the
result is measured: errors on the MNIST test set, and sizes on the file's
bytes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field


from deepcompress_np.compressed import CompressedModel
from deepcompress_np.data import load_mnist
from deepcompress_np.models import build
from deepcompress_np.nn import SGD
from deepcompress_np.prune import iterative_prune, kept_fraction
from deepcompress_np.quantize import install_shared_weights, quantize_model_params
from deepcompress_np.train import cosine_schedule, evaluate, random_shift, train


@dataclass(frozen=True)
class CompressionRecipe:
    """Every knob of the pipeline.

    Attributes
    ----------
    keep_fraction : dict[layer name, float]
        Fraction of each layer's weights that survive pruning.
    prune_rounds : int
        Iterative pruning rounds (Han 2015 §3.4); each keeps ``f ** (r / R)``.
    prune_epochs : int
        Retraining epochs after each pruning round.
    prune_lr : float
        Retraining learning rate (the paper: a tenth of the original).
    weight_decay : float
        L2 regularisation during both retraining stages.
    bits : dict[layer name, int]
        Bits per cluster index: the codebook has 2**bits shared weights.
    init : str
        Centroid initialisation: "linear" (the paper's choice), "forgy" or "density".
    quant_epochs : int
        Epochs of centroid fine-tuning (paper §3.3).
    quant_lr : float
        Learning rate of the centroids (their gradients are sums over clusters).
    index_bits : dict[layer name, int]
        Width of a relative-index field; the paper uses 5 for fc, 8 for conv.
    max_shift : int
        Data augmentation (random shifts) during retraining, as in reference training.
    batch_size : int
    """

    keep_fraction: dict
    bits: dict
    index_bits: dict
    prune_rounds: int = 3
    prune_epochs: int = 4
    prune_lr: float = 0.005
    weight_decay: float = 5e-4
    init: str = "linear"
    quant_epochs: int = 3
    quant_lr: float = 1e-4
    max_shift: int = 1
    batch_size: int = 64

    def to_dict(self):
        return asdict(self)


@dataclass
class CompressionResult:
    """What :func:`compress` returns."""

    compressed: CompressedModel
    data: bytes
    reference_error: float
    stages: list = field(default_factory=list)  # one dict per stage: name, test_error, seconds, ...
    recipe: CompressionRecipe = None

    @property
    def test_error(self):
        return self.stages[-1]["test_error"]


def copy_model(model):
    """A fresh model of the same architecture with copies of the parameters (the input stays untouched)."""
    clone = build(model.arch)
    for key, value in model.params().items():
        clone.params()[key][...] = value
    return clone


def _stage(stages, name, model, data, start, verbose, **extra):
    """Measure a stage: validation error (what recipes are chosen on) and test error (what is reported)."""
    val_error, test_error = evaluate(model, *data["val"]), evaluate(model, *data["test"])
    record = {"stage": name, "val_error": val_error, "test_error": test_error,
              "seconds": round(time.perf_counter() - start, 1), **extra}
    stages.append(record)
    if verbose:
        details = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in extra.items())
        print(f"[{name}] val error {100 * val_error:.2f}%, test error {100 * test_error:.2f}%  {details}  "
              f"({record['seconds']} s)", flush=True)
    return record


def prune_stage(model, recipe, X, y, *, seed=0, verbose=True, progress_bar=False):
    """Stage 1 (§2): prune to the recipe's kept fractions in ``prune_rounds`` rounds, retraining after each.

    Changes ``model`` in place; returns the masks (one per weight tensor).
    """
    masks, _ = iterative_prune(
        model, X, y, recipe.keep_fraction, rounds=recipe.prune_rounds, epochs_per_round=recipe.prune_epochs,
        lr=recipe.prune_lr, weight_decay=recipe.weight_decay, batch_size=recipe.batch_size, seed=seed,
        lr_schedule=cosine_schedule(recipe.prune_lr, recipe.prune_epochs), verbose=verbose,
        progress_bar=progress_bar, augment=random_shift(recipe.max_shift) if recipe.max_shift else None)
    return masks


def quantize_stage(model, masks, recipe, X, y, *, bits=None, seed=0, verbose=True, progress_bar=False,
                   after_kmeans=None):
    """Stage 2 (§3): k-means weight sharing per layer, then ``quant_epochs`` of centroid fine-tuning.

    Changes ``model`` in place (its weights become ``codebook[index]``).
    ``after_kmeans(model)``, if given, is called between clustering and
    fine-tuning (to measure the error of plain weight sharing).

    Returns
    -------
    dict[key, QuantizedLayer]
        With the fine-tuned codebooks.
    """
    params = model.params()
    bits = recipe.bits if bits is None else bits
    quantized = quantize_model_params(params, masks, bits={f"{n}.W": b for n, b in bits.items()},
                                      init=recipe.init, seed=seed)
    optimizer = SGD(lr=recipe.quant_lr, momentum=0.9, weight_decay=recipe.weight_decay)
    install_shared_weights(optimizer, params, quantized)  # one SharedWeightUpdate rule per weight tensor
    if after_kmeans is not None:
        after_kmeans(model)
    train(model, X, y, epochs=recipe.quant_epochs, batch_size=recipe.batch_size, optimizer=optimizer,
          lr_schedule=cosine_schedule(recipe.quant_lr, recipe.quant_epochs), seed=seed + 1,
          augment=random_shift(recipe.max_shift) if recipe.max_shift else None,
          verbose=verbose, progress_bar=progress_bar, desc="centroids")
    return quantized


def compress(model, recipe=None, *, data_dir=None, seed=0, verbose=True, progress_bar=False):
    """Prune, quantize and Huffman-code ``model`` (which is not modified).

    Parameters
    ----------
    model : Sequential
        A trained ``lenet300`` or ``lenet5``.
    recipe : CompressionRecipe, optional
        Default: ``recipes.COMPRESSION[model.arch]``.
    data_dir : optional
        Where the MNIST files are (default: the usual search).
    seed : int
        Seeds shuffling, augmentation and the centroid initialisation.

    Returns
    -------
    CompressionResult
    """
    from deepcompress_np.recipes import COMPRESSION

    if model.arch not in COMPRESSION:
        raise ValueError(f"no compression recipe for architecture {model.arch!r}")
    recipe = COMPRESSION[model.arch] if recipe is None else recipe
    names = [layer.name for layer in model.weight_layers()]
    for what in ("keep_fraction", "bits"):
        missing = set(names) - set(getattr(recipe, what))
        if missing:
            raise ValueError(f"recipe.{what} has no entry for layers {sorted(missing)}")
    X, y = load_mnist("fit", data_dir=data_dir)
    data = {split: load_mnist(split, data_dir=data_dir) for split in ("val", "test")}
    model = copy_model(model)
    stages = []
    start = time.perf_counter()
    reference = _stage(stages, "reference", model, data, start, verbose)

    masks = prune_stage(model, recipe, X, y, seed=seed, verbose=verbose, progress_bar=progress_bar)
    _stage(stages, "pruned + retrained", model, data, start, verbose, kept_fraction=kept_fraction(masks))

    start = time.perf_counter()
    quantized = quantize_stage(
        model, masks, recipe, X, y, seed=seed, verbose=verbose, progress_bar=progress_bar,
        after_kmeans=lambda m: _stage(stages, "quantized", m, data, start, verbose))
    _stage(stages, "quantized + retrained", model, data, start, verbose)

    # Stage 3 (§4): relative indices with filler zeros, Huffman-code both streams, write the bytes.
    start = time.perf_counter()
    compressed = CompressedModel.from_quantized(model, quantized, index_bits=recipe.index_bits)
    file_bytes = compressed.to_bytes()
    from_file = CompressedModel.from_bytes(file_bytes)  # measure what the file decodes to, not what we meant
    _stage(stages, "huffman (from the file)", from_file, data, start, verbose, file_bytes=len(file_bytes))
    return CompressionResult(from_file, file_bytes, reference["test_error"], stages, recipe)
