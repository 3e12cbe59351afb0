"""One LeNet-300-100 carried through the whole course (tutorials 01 to 05).

Tutorial 01 prunes and retrains the bundled LeNet-300-100 and saves it;
tutorial 03 quantizes that same net and saves it too; tutorials 02 to 05 load
them, so every number from 02 on is about one network. A notebook run on its
own still works: :func:`course_model` returns the saved net when the course
folder holds it, and otherwise rebuilds it with exactly the code below and the
same seed (the build is deterministic), then saves it for the next notebook.

The net is the one the project's pipeline makes (:func:`pipeline.compress`
with ``recipes.COMPRESSION["lenet300"]`` and seed 0):

* ``"pruned"`` -- stage 1 (paper §2): ``prune_rounds`` rounds, round r of R
  keeping ``f ** (r / R)`` of each layer, each followed by ``prune_epochs`` of
  masked retraining (Han et al. 2015, iterative pruning);
  ``"pruned_round1"``, ... are the nets after the earlier rounds (tutorial 03
  uses them for the paper's Figure 6);
* ``"quantized"`` -- stage 2 (paper §3): 6-bit k-means weight sharing with
  linear initialisation, then ``quant_epochs`` of centroid fine-tuning.

The folder is ``$DEEPCOMPRESS_COURSE_DIR`` if set, else ``course_models/`` in
the current directory (the tutorials run in ``tutorials/``). Each saved net
records the settings it was built with; a net saved with other settings is
rebuilt rather than used.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepcompress_np.data import load_mnist
from deepcompress_np.models import load_model, load_pretrained, save_model
from deepcompress_np.pipeline import copy_model, prune_stage, quantize_stage
from deepcompress_np.quantize import QuantizedLayer
from deepcompress_np.recipes import COMPRESSION
from deepcompress_np.report import fixed_weight_bits
from deepcompress_np.train import evaluate

ARCH = "lenet300"
SEED = 0
COURSE_DIR_ENV = "DEEPCOMPRESS_COURSE_DIR"
FORMAT = 1  # bump when what a saved course net means changes


@dataclass
class CourseNet:
    """A saved stage of the course's network.

    Attributes
    ----------
    model : Sequential
        LeNet-300-100 with the stage's weights (pruned weights exactly 0.0).
    masks : dict[str, ndarray of bool]
        One mask per weight tensor (``"ip1.W"`` ...), True = kept.
    quantized : dict[str, QuantizedLayer] or None
        The codebook and cluster indices per weight tensor (``"quantized"`` only).
    metadata : dict
        ``stage``, ``settings``, ``val_error``, ``test_error`` (and, for
        ``"quantized"``, ``kmeans_val_error`` and ``kmeans_test_error``, the
        errors before the centroids were fine-tuned).
    """

    model: object
    masks: dict
    quantized: dict = None
    metadata: dict = field(default_factory=dict)

    @property
    def kept_fractions(self):
        """Kept fraction of each layer, by layer name (``"ip1"`` ...)."""
        return {key.split(".")[0]: float(m.mean()) for key, m in self.masks.items()}


def course_recipe():
    """The recipe the course's net is built with: the bundled LeNet-300-100 recipe."""
    return COMPRESSION[ARCH]


def settings():
    """Everything that decides the course's net; a saved net with other settings is rebuilt."""
    return {"arch": ARCH, "seed": SEED, "format": FORMAT, "recipe": course_recipe().to_dict()}


def stage_names():
    """The stages that can be saved: the pruning rounds, ``"pruned"`` and ``"quantized"``."""
    rounds = course_recipe().prune_rounds
    return [f"pruned_round{r}" for r in range(1, rounds)] + ["pruned", "quantized"]


def course_dir(cache_dir=None):
    """The course folder: ``cache_dir``, else ``$DEEPCOMPRESS_COURSE_DIR``, else ``./course_models``."""
    if cache_dir is None:
        cache_dir = os.environ.get(COURSE_DIR_ENV) or "course_models"
    if not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a path (str or Path), got {type(cache_dir).__name__}")
    return Path(cache_dir)


def _check_stage(stage):
    if stage not in stage_names():
        raise ValueError(f"unknown course stage {stage!r}; choose one of {stage_names()}")


def _paths(stage, cache_dir):
    folder = course_dir(cache_dir)
    return folder / f"{ARCH}_{stage}.npz", folder / f"{ARCH}_{stage}_codebooks.npz"


def save_course_model(stage, model, masks, quantized=None, cache_dir=None, **errors):
    """Save one stage of the course's net into the course folder (created if missing).

    Parameters
    ----------
    stage : str
        One of :func:`stage_names`.
    model : Sequential
    masks : dict[str, ndarray of bool]
    quantized : dict[str, QuantizedLayer], optional
        Required for ``"quantized"``, not allowed otherwise.
    cache_dir : str or Path, optional
    **errors : float
        Measured errors to record (``val_error=``, ``test_error=``, ...).

    Returns
    -------
    Path
        The model file written.
    """
    _check_stage(stage)
    if (stage == "quantized") != (quantized is not None):
        raise ValueError("pass quantized= for the 'quantized' stage, and only for it")
    model_path, codebook_path = _paths(stage, cache_dir)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"stage": stage, "settings": settings(), **{k: float(v) for k, v in errors.items()}}
    if quantized is not None:
        arrays = {}
        for key, q in quantized.items():
            arrays[f"{key}:codebook"], arrays[f"{key}:index"] = q.codebook, q.index
            arrays[f"{key}:bits"] = np.array(q.bits)
        tmp = codebook_path.with_name(codebook_path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, codebook_path)
    save_model(model_path, model, masks=masks, metadata=metadata)
    return model_path


def load_course_model(stage, cache_dir=None):
    """The saved stage, or None when the folder does not hold it (or holds one built with other settings)."""
    _check_stage(stage)
    model_path, codebook_path = _paths(stage, cache_dir)
    if not model_path.is_file():
        return None
    model = load_model(model_path)
    if model.metadata.get("settings") != json.loads(json.dumps(settings())):
        return None
    quantized = None
    if stage == "quantized":
        if not codebook_path.is_file():
            return None
        with np.load(codebook_path, allow_pickle=False) as z:
            quantized = {key: QuantizedLayer(codebook=z[f"{key}:codebook"], index=z[f"{key}:index"],
                                             mask=model.masks[key], shape=model.masks[key].shape,
                                             bits=int(z[f"{key}:bits"]))
                         for key in model.masks}
    return CourseNet(model, model.masks, quantized, model.metadata)


def prune_rounds(model, X, y, recipe, *, seed=SEED, on_round=None, verbose=False):
    """Stage 1 of the pipeline, round by round: ``pipeline.prune_stage`` with the course's seed.

    Round r of R keeps ``f ** (r / R)`` of each layer whose target is ``f``,
    then retrains the survivors for ``recipe.prune_epochs`` epochs with the
    mask held fixed (cosine learning rate from ``recipe.prune_lr``). Changes
    ``model`` in place.

    Parameters
    ----------
    on_round : callable (r, model, masks), optional
        Called after the retraining of every round.

    Returns
    -------
    masks : dict[str, ndarray of bool]
    """
    return prune_stage(model, recipe, X, y, seed=seed, verbose=verbose, on_round=on_round)


def _build(cache_dir, verbose):
    recipe = course_recipe()
    (X_fit, y_fit), (X_val, y_val), (X_test, y_test) = (load_mnist(s) for s in ("fit", "val", "test"))

    def save(r, model, masks):
        stage = "pruned" if r == recipe.prune_rounds else f"pruned_round{r}"
        save_course_model(stage, model, masks, cache_dir=cache_dir, val_error=evaluate(model, X_val, y_val),
                          test_error=evaluate(model, X_test, y_test))

    model = load_pretrained(ARCH)
    masks = prune_rounds(model, X_fit, y_fit, recipe, on_round=save, verbose=verbose)
    build_quantized(model, masks, X_fit, y_fit, cache_dir=cache_dir, X_val=X_val, y_val=y_val,
                    X_test=X_test, y_test=y_test, verbose=verbose)


def build_quantized(pruned, masks, X, y, *, cache_dir=None, X_val, y_val, X_test, y_test, verbose=False):
    """Stage 2 on the course's pruned net (a copy), saved as ``"quantized"``; returns the :class:`CourseNet`."""
    recipe = course_recipe()
    model = copy_model(pruned)
    before = {}
    quantized = quantize_stage(model, masks, recipe, X, y, seed=SEED, verbose=verbose,
                               after_kmeans=lambda m: before.update(val=evaluate(m, X_val, y_val),
                                                                    test=evaluate(m, X_test, y_test)))
    errors = dict(val_error=evaluate(model, X_val, y_val), test_error=evaluate(model, X_test, y_test),
                  kmeans_val_error=before["val"], kmeans_test_error=before["test"])
    save_course_model("quantized", model, masks, quantized, cache_dir=cache_dir, **errors)
    return load_course_model("quantized", cache_dir)


def course_model(stage, cache_dir=None, *, verbose=False):
    """The course's network after ``stage``: loaded from the course folder, or rebuilt and saved there.

    Parameters
    ----------
    stage : {"pruned", "quantized", "pruned_round1", ...}
    cache_dir : str or Path, optional
        Default: ``$DEEPCOMPRESS_COURSE_DIR``, else ``./course_models``.
    verbose : bool
        Print the retraining progress when the net has to be rebuilt.

    Returns
    -------
    CourseNet
    """
    _check_stage(stage)
    net = load_course_model(stage, cache_dir)
    if net is not None:
        return net
    pruned = load_course_model("pruned", cache_dir) if stage == "quantized" else None
    if pruned is not None:  # only the quantized stage is missing: build it from the pruned net
        data = {s: load_mnist(s) for s in ("fit", "val", "test")}
        return build_quantized(pruned.model, pruned.masks, *data["fit"], cache_dir=cache_dir,
                               X_val=data["val"][0], y_val=data["val"][1], X_test=data["test"][0],
                               y_test=data["test"][1], verbose=verbose)
    if verbose:
        print(f"building the course's {stage} net (about a minute); it is saved in {course_dir(cache_dir)}/")
    _build(cache_dir, verbose)
    return load_course_model(stage, cache_dir)


def _bits_at(data, start_bit, n_bits):
    """``n_bits`` bits of ``data`` from bit ``start_bit`` on (most significant bit first), as a '0'/'1' string."""
    first, last = start_bit // 8, (start_bit + n_bits - 1) // 8
    chunk = "".join(format(byte, "08b") for byte in data[first:last + 1])
    return chunk[start_bit - 8 * first:start_bit - 8 * first + n_bits]


def follow_one_weight(reference, pruned, compressed, data, layer="ip1", entry=None):
    """Follow one weight from the trained float to the bytes of the file (the recap of tutorial 05).

    Parameters
    ----------
    reference : Sequential
        The trained, unpruned net.
    pruned : CourseNet
        The pruned and retrained net (``course_model("pruned")``).
    compressed : CompressedModel
        The file, as decoded (``CompressedModel.load``).
    data : bytes
        The file's bytes: the code words are read from them, not recomputed.
    layer : str
    entry : int, optional
        Which stored entry of the layer; default the first real weight (not
        a filler) whose field is the layer's most common non-zero field.

    Returns
    -------
    list of dict
        One per stage: ``stage``, ``stored`` (text), ``bits``; the last ones
        also give ``byte_offset`` (in the file) and ``code_word``.
    """
    from deepcompress_np.fileformat import MAX_HUFFMAN_LENGTH
    from deepcompress_np.huffman import HuffmanCode

    names = [l.name for l in compressed.layers]
    if layer not in names:
        raise ValueError(f"no layer {layer!r} in the file; it holds {names}")
    i = names.index(layer)
    stored = compressed.layers[i]
    candidates = np.flatnonzero((stored.symbols > 0) & (stored.fields > 0))
    if entry is None:
        if not candidates.size:
            raise ValueError(f"layer {layer!r} has no stored weight with a non-zero field; pass entry=")
        typical = np.bincount(stored.fields[candidates]).argmax()  # the most common non-zero field
        entry = int(candidates[stored.fields[candidates] == typical][0])
    if not 0 <= entry < stored.n_entries or stored.symbols[entry] == 0:
        raise ValueError(f"entry must index a stored weight (not a filler) of {layer!r}, 0..{stored.n_entries - 1}")
    position = int(stored.positions()[entry])
    row, col = np.unravel_index(position, stored.shape)
    w0 = np.float32(reference.layer(layer).params["W"].flat[position])
    w1 = np.float32(pruned.model.layer(layer).params["W"].flat[position])
    symbol, field = int(stored.symbols[entry]), int(stored.fields[entry])
    k, b = stored.codebook.size, stored.index_bits
    weight_code = HuffmanCode.from_counts(np.bincount(stored.symbols, minlength=k + 1), max_length=MAX_HUFFMAN_LENGTH)
    gap_code = HuffmanCode.from_counts(np.bincount(stored.fields, minlength=2 ** b), max_length=MAX_HUFFMAN_LENGTH)
    # Where the layer's two streams start in the file (fileformat.py lists the parts in order).
    section_bytes = [sum(v for key, v in l.sizes.items() if not key.endswith("bits")) for l in compressed.layers]
    offset = len(data) - sum(section_bytes)  # the file header: whatever precedes the layer sections (v1 or v2)
    offset += sum(section_bytes[:i])
    weight_start = 8 * (offset + 4 + stored.sizes["layer header"] + stored.sizes["code tables"])
    index_start = weight_start + 8 * stored.sizes["weight stream"]
    weight_bit = weight_start + int(weight_code.lengths[stored.symbols[:entry]].sum())
    index_bit = index_start + int(gap_code.lengths[stored.fields[:entry]].sum())
    ls, lf = int(weight_code.lengths[symbol]), int(gap_code.lengths[field])
    word_s, word_f = _bits_at(data, weight_bit, ls), _bits_at(data, index_bit, lf)
    if word_s != format(int(weight_code.codes[symbol]), f"0{ls}b") or word_f != format(int(gap_code.codes[field]),
                                                                                     f"0{lf}b"):
        raise ValueError("the file's bits at the computed offsets are not the expected code words")
    symbol_bits = fixed_weight_bits(stored)
    return [
        {"stage": f"trained: {layer}.W[{row}, {col}]", "bits": 32,
         "stored": f"{w0:+.6f}  =  {format(int(np.array(w0).view(np.uint32)), '032b')} (float32)"},
        {"stage": "pruned + retrained", "bits": 32,
         "stored": f"kept (|w| among the largest {pruned.kept_fractions[layer]:.0%}); retrained to {w1:+.6f}"},
        {"stage": "quantized (6-bit codebook)", "bits": symbol_bits,
         "stored": f"cluster {symbol - 1} of {k}: shared value {stored.codebook[symbol - 1]:+.6f}; "
                   f"weight symbol {symbol} ({symbol_bits} bits: filler symbol included)"},
        {"stage": "relative index", "bits": b,
         "stored": f"field {field} = {field:0{b}b} ({b}-bit field: {field} pruned positions skipped, gap {field + 1})"},
        {"stage": "Huffman code words", "bits": ls + lf, "code_word": (word_s, word_f),
         "stored": f"weight symbol {symbol} -> {word_s} ({ls} bits);  field {field} -> {word_f} ({lf} bits)"},
        {"stage": "bytes in the file", "bits": ls + lf, "byte_offset": (weight_bit // 8, index_bit // 8),
         "stored": f"byte {weight_bit // 8:,} = {data[weight_bit // 8]:08b}, word starts at its bit {weight_bit % 8};  "
                   f"byte {index_bit // 8:,} = {data[index_bit // 8]:08b}, word starts at its bit {index_bit % 8}"},
    ]
