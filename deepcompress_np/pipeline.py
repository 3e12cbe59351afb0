"""The three-stage pipeline of Deep Compression (paper Figure 1).

    pruning -> retrain -> quantization (weight sharing) -> retrain -> Huffman coding
    (§2)                  (§3)                                        (§4)

:func:`compress` runs it on any trained ``Sequential`` with a
:class:`CompressionRecipe` and returns a :class:`CompressionResult`: the
:class:`CompressedModel`, the bytes of its file, and the error after every
stage. It runs on the arrays you give it (``train=(X, y)``, ``val=``,
``test=``); MNIST is the default only when no data is given and the model
takes 28x28 images. Every figure in the result is measured: errors on the
validation split (what recipes are chosen on) and on the test split when one
is given (what is reported), sizes on the file's bytes.

The stages take the recipe as an argument; they know nothing of the bundled
recipes in ``recipes.py``.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from deepcompress_np.architecture import infer_input_shape
from deepcompress_np.compressed import CompressedModel
from deepcompress_np.data import load_mnist
from deepcompress_np.datasets import check_xy, split_train_val
from deepcompress_np.nn import SGD, Linear
from deepcompress_np.prune import iterative_prune, kept_fraction
from deepcompress_np.quantize import install_shared_weights, quantize_model_params
from deepcompress_np.recipes import CompressionRecipe, bundled_recipe
from deepcompress_np.train import cosine_schedule, evaluate, random_shift, train

MNIST_SHAPES = ((1, 28, 28), (784,))


@dataclass
class CompressionResult:
    """What :func:`compress` returns.

    ``reference_error`` and ``test_error`` are test errors (None when no test
    split was given); ``stages`` holds one dict per stage with its
    ``val_error``, ``test_error`` (or None) and ``seconds``.
    """

    compressed: CompressedModel
    data: bytes
    reference_error: float
    stages: list = field(default_factory=list)
    recipe: CompressionRecipe = None

    @property
    def test_error(self):
        return self.stages[-1]["test_error"]

    @property
    def val_error(self):
        return self.stages[-1]["val_error"]

    @property
    def reference_val_error(self):
        return self.stages[0]["val_error"]


def copy_model(model):
    """An independent copy of ``model`` (same layers, copied parameters); the input stays untouched."""
    for layer in model.layers:
        layer.cache = None  # nothing of the last batch is worth copying
    return copy.deepcopy(model)


def recipe_augmentation(recipe, X):
    """Random shifts for image batches when the recipe asks for them (``max_shift > 0``), else None."""
    if not recipe.max_shift:
        return None
    if X.ndim != 4:
        raise ValueError(f"recipe.max_shift={recipe.max_shift} shifts images, but the training data has shape "
                         f"{X.shape}, not (N, C, H, W); use a recipe with max_shift=0")
    return random_shift(recipe.max_shift)


def _n_classes(model):
    last = [layer for layer in model.layers if isinstance(layer, Linear)]
    return last[-1].out_features if last else None


def resolve_data(model, train=None, val=None, test=None, *, data_dir=None, seed=0):
    """The ``train``, ``val`` and ``test`` pairs the pipeline runs on, checked against ``model``.

    With no data at all, a model that takes 28x28 images gets MNIST's
    ``fit``, ``val`` and ``test`` splits. With ``train`` but no ``val``, a
    sixth of ``train`` is held out (:func:`datasets.split_train_val`). ``test``
    may be None: the stages then report validation error only.
    """
    shape = model.input_shape or infer_input_shape(model)
    if train is None:
        if val is not None or test is not None:
            raise ValueError("val= or test= given without train=; pass train=(X, y) too")
        if shape is not None and tuple(shape) not in MNIST_SHAPES:
            raise ValueError(f"the model takes examples of shape {tuple(shape)}, not MNIST's 28x28 images: "
                             f"pass your data, compress(model, recipe, train=(X, y), val=(X, y), test=(X, y))")
        train, val, test = (load_mnist(split, data_dir=data_dir) for split in ("fit", "val", "test"))
        if shape == (784,):
            train, val, test = ((X.reshape(len(X), 784), y) for X, y in (train, val, test))
    n_classes = _n_classes(model)
    train = check_xy(train, "train", shape, n_classes)
    shape = shape or train[0].shape[1:]
    if val is None:
        train, val = split_train_val(*train, seed=seed)
    val = check_xy(val, "val", shape, n_classes)
    test = None if test is None else check_xy(test, "test", shape, n_classes)
    return train, val, test


def _stage(stages, name, model, data, start, verbose, **extra):
    """Measure a stage: validation error (what recipes are chosen on) and test error (what is reported)."""
    val_error = evaluate(model, *data["val"])
    test_error = None if data["test"] is None else evaluate(model, *data["test"])
    record = {"stage": name, "val_error": val_error, "test_error": test_error,
              "seconds": round(time.perf_counter() - start, 1), **extra}
    stages.append(record)
    if verbose:
        details = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in extra.items())
        test = "" if test_error is None else f", test error {100 * test_error:.2f}%"
        print(f"[{name}] val error {100 * val_error:.2f}%{test}  {details}  ({record['seconds']} s)", flush=True)
    return record


def prune_stage(model, recipe, X, y, *, seed=0, verbose=True, progress_bar=False, on_round=None):
    """Stage 1 (§2): prune to the recipe's kept fractions in ``prune_rounds`` rounds, retraining after each.

    Changes ``model`` in place; returns the masks (one per weight tensor).
    ``on_round(r, model, masks)``, if given, is called after every round.
    """
    recipe.for_model(model)
    names = [layer.name for layer in model.weight_layers()]
    masks, _ = iterative_prune(
        model, X, y, recipe.per_layer("keep_fraction", names), rounds=recipe.prune_rounds,
        epochs_per_round=recipe.prune_epochs, lr=recipe.prune_lr, weight_decay=recipe.weight_decay,
        batch_size=recipe.batch_size, seed=seed, lr_schedule=cosine_schedule(recipe.prune_lr, recipe.prune_epochs),
        verbose=verbose, progress_bar=progress_bar, augment=recipe_augmentation(recipe, X), on_round=on_round)
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
    names = [layer.name for layer in model.weight_layers()]
    bits = recipe.per_layer("bits", names) if bits is None else bits
    for name, b in bits.items():
        kept = int(np.count_nonzero(masks[f"{name}.W"])) if f"{name}.W" in masks else params[f"{name}.W"].size
        if 2 ** b > kept:
            warnings.warn(f"layer {name!r}: {2 ** b} shared weights (bits={b}) for only {kept} kept weights; "
                          f"most clusters stay empty or hold one weight -- use fewer bits for this layer",
                          stacklevel=2)
    quantized = quantize_model_params(params, masks, bits={f"{n}.W": b for n, b in bits.items()},
                                      init=recipe.init, seed=seed)
    optimizer = SGD(lr=recipe.quant_lr, momentum=0.9, weight_decay=recipe.weight_decay)
    install_shared_weights(optimizer, params, quantized)  # one SharedWeightUpdate rule per weight tensor
    if after_kmeans is not None:
        after_kmeans(model)
    train(model, X, y, epochs=recipe.quant_epochs, batch_size=recipe.batch_size, optimizer=optimizer,
          lr_schedule=cosine_schedule(recipe.quant_lr, recipe.quant_epochs), seed=seed + 1,
          augment=recipe_augmentation(recipe, X), verbose=verbose, progress_bar=progress_bar, desc="centroids")
    return quantized


def compress(model, recipe=None, *, train=None, val=None, test=None, data_dir=None, seed=0, verbose=True,
             progress_bar=False):
    """Prune, quantize and Huffman-code ``model`` (which is not modified).

    Parameters
    ----------
    model : Sequential
        Any trained model of the package's layers.
    recipe : CompressionRecipe, optional
        Default: the bundled recipe of a LeNet (``recipes.COMPRESSION``); any
        other model needs one, e.g. ``CompressionRecipe(keep_fraction=0.1, bits=5)``.
    train, val, test : tuple (X, y), optional
        The data: X ``(N, *input_shape)`` float, y ``(N,)`` integer labels.
        Without any, MNIST (for a model of 28x28 images). Without ``val``, a
        sixth of ``train`` is held out. Without ``test``, stages report
        validation error only.
    data_dir : optional
        Where the MNIST files are, when MNIST is used.
    seed : int
        Seeds shuffling, augmentation, the validation split and the centroid initialisation.

    Returns
    -------
    CompressionResult
    """
    recipe = bundled_recipe(model) if recipe is None else recipe
    if not isinstance(recipe, CompressionRecipe):
        raise TypeError(f"recipe must be a CompressionRecipe, got {type(recipe).__name__}")
    recipe.for_model(model)
    (X, y), val, test = resolve_data(model, train, val, test, data_dir=data_dir, seed=seed)
    data = {"val": val, "test": test}
    model = copy_model(model)
    if model.input_shape is None:
        model.input_shape = tuple(X.shape[1:])
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
    names = [layer.name for layer in model.weight_layers()]
    compressed = CompressedModel.from_quantized(model, quantized, index_bits=recipe.per_layer("index_bits", names))
    file_bytes = compressed.to_bytes()
    from_file = CompressedModel.from_bytes(file_bytes)  # measure what the file decodes to, not what we meant
    _stage(stages, "huffman (from the file)", from_file, data, start, verbose, file_bytes=len(file_bytes))
    return CompressionResult(from_file, file_bytes, reference["test_error"], stages, recipe)
