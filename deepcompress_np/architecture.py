"""A network that describes itself: the architecture as plain JSON.

The paper compresses networks it names (LeNet-300-100, LeNet-5, AlexNet,
VGG-16, §5); a file that only holds a *name* can be run only by a program that
already knows that name. Here a model's architecture is written out layer by
layer as plain data, so that a saved model (``models.save_model``) and a
compressed file (``fileformat``, version 2) can be rebuilt from the file alone::

    {"format": "deepcompress_np.architecture", "version": 1,
     "input_shape": [1, 28, 28],
     "layers": [{"kind": "Conv2D", "name": "conv1", "in_channels": 1, "out_channels": 20,
                 "kernel_size": 5, "stride": 1, "padding": 0},
                {"kind": "MaxPool2D", "name": "pool1", "kernel_size": 2, "stride": 2},
                {"kind": "Flatten", "name": "flatten"},
                {"kind": "Linear", "name": "ip1", "in_features": 800, "out_features": 500},
                {"kind": "ReLU", "name": "relu1"}, ...]}

Every layer is listed, the ones without weights included, in the order they
run. ``input_shape`` is the shape of one example without the batch axis:
``(C, H, W)`` for images, ``(D,)`` for feature vectors.

An architecture read from a file is untrusted. :func:`validate` checks all of
it before anything is allocated: known layer kinds with exactly their
hyper-parameters, integers within the documented bounds (:data:`MAX_LAYERS`,
:data:`MAX_DIM`, :data:`MAX_LAYER_WEIGHTS`, :data:`MAX_FEATURES`), unique
names, and shapes that chain (each layer's input is the previous layer's
output). The same idea as Keras' model config (layers as plain JSON) and
safetensors' header (validated in full before a tensor is touched).
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.nn import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential

FORMAT = "deepcompress_np.architecture"
VERSION = 1

#: At most this many layers (weight layers and the others together).
MAX_LAYERS = 256
#: Any one size (features, channels, height, width, kernel, stride, padding) is at most this.
MAX_DIM = 65536
#: A weight layer holds at most this many weights (VGG-16's fc6 has 102,760,448).
MAX_LAYER_WEIGHTS = 2 ** 28
#: One example's activation after any layer has at most this many numbers.
MAX_FEATURES = 2 ** 26
#: Layer names: ASCII letters, digits, ``_ . -``, 1 to 64 characters.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

#: kind -> (layer class, its hyper-parameters in constructor order).
LAYER_KINDS = {
    "Linear": (Linear, ("in_features", "out_features")),
    "Conv2D": (Conv2D, ("in_channels", "out_channels", "kernel_size", "stride", "padding")),
    "MaxPool2D": (MaxPool2D, ("kernel_size", "stride")),
    "ReLU": (ReLU, ()),
    "Flatten": (Flatten, ()),
    "Dropout": (Dropout, ("p",)),
}


class ArchitectureError(ValueError):
    """An architecture description that is malformed, out of bounds or whose shapes do not chain."""


# ----------------------------------------------------------------------------
# Describing a model
# ----------------------------------------------------------------------------

def layer_config(layer):
    """The plain-data description of one layer: ``{"kind": ..., "name": ..., <hyper-parameters>}``."""
    kind = type(layer).__name__
    if kind not in LAYER_KINDS or type(layer) is not LAYER_KINDS[kind][0]:
        raise TypeError(f"layer {layer!r} is a {type(layer).__name__}; a saved architecture can hold only "
                        f"{sorted(LAYER_KINDS)}")
    config = {"kind": kind, "name": layer.name}
    for key in LAYER_KINDS[kind][1]:
        value = getattr(layer, key)
        config[key] = float(value) if key == "p" else int(value)
    return config


def infer_input_shape(model):
    """The example shape a model takes, if its layers determine it; else None.

    A model that starts with a Linear layer (possibly after Flatten, ReLU or
    Dropout) takes ``(in_features,)``. A convolution does not fix the image
    size, so a model that starts with one needs ``model.input_shape``.
    """
    for layer in model.layers:
        if isinstance(layer, Linear):
            return (layer.in_features,)
        if not isinstance(layer, (Flatten, ReLU, Dropout)):
            return None
    return None


def describe(model, input_shape=None):
    """The architecture of a ``Sequential`` as a JSON-ready dict (see the module docstring).

    Parameters
    ----------
    model : Sequential
    input_shape : tuple of int, optional
        One example's shape; default ``model.input_shape``, else inferred
        from a leading Linear layer.

    Raises
    ------
    ValueError
        If the input shape is unknown (set ``model.input_shape = (C, H, W)``),
        or the description does not validate (e.g. shapes that do not chain).
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"expected a Sequential model, got {type(model).__name__}")
    shape = input_shape or getattr(model, "input_shape", None) or infer_input_shape(model)
    if shape is None:
        raise ValueError(
            "the model's input shape is unknown (its first layer does not fix it); set it, e.g. "
            "model.input_shape = (1, 28, 28) for one-channel 28x28 images, or pass input_shape=")
    spec = {"format": FORMAT, "version": VERSION, "input_shape": [int(n) for n in shape],
            "layers": [layer_config(layer) for layer in model.layers]}
    validate(spec)
    return spec


def to_json(spec):
    """Compact, deterministic JSON text of an architecture (sorted keys, no spaces)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def from_json(text):
    """Parse and :func:`validate` an architecture from JSON text or bytes; raises ArchitectureError."""
    try:
        spec = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as e:
        raise ArchitectureError(f"the architecture is not valid JSON ({e})") from None
    validate(spec)
    return spec


# ----------------------------------------------------------------------------
# Validating one (untrusted) description
# ----------------------------------------------------------------------------

def _int(value, what, low, high=MAX_DIM):
    if not is_integer(value):
        raise ArchitectureError(f"{what} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ArchitectureError(f"{what} must be between {low} and {high}, got {value}")
    return int(value)


def _output_shape(config, shape, what):
    """One layer's output shape (one example) from its input shape; raises if they do not fit."""
    kind = config["kind"]
    if kind == "Linear":
        if len(shape) != 1 or shape[0] != config["in_features"]:
            raise ArchitectureError(f"{what}: takes {config['in_features']} features but receives shape "
                                    f"{tuple(shape)} (add a Flatten layer or fix in_features)")
        if config["in_features"] * config["out_features"] > MAX_LAYER_WEIGHTS:
            raise ArchitectureError(f"{what}: more than {MAX_LAYER_WEIGHTS:,} weights")
        return (config["out_features"],)
    if kind in ("Conv2D", "MaxPool2D"):
        if len(shape) != 3:
            raise ArchitectureError(f"{what}: takes (C, H, W) images but receives shape {tuple(shape)}")
        c, h, w = shape
        k, s = config["kernel_size"], config["stride"]
        p = config.get("padding", 0)
        if h + 2 * p < k or w + 2 * p < k:
            raise ArchitectureError(f"{what}: a {k}x{k} window does not fit a {h}x{w} input with padding {p}")
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if kind == "MaxPool2D":
            return (c, ho, wo)
        if c != config["in_channels"]:
            raise ArchitectureError(f"{what}: takes {config['in_channels']} channels but receives {c}")
        if config["out_channels"] * c * k * k > MAX_LAYER_WEIGHTS:
            raise ArchitectureError(f"{what}: more than {MAX_LAYER_WEIGHTS:,} weights")
        return (config["out_channels"], ho, wo)
    if kind == "Flatten":
        return (math.prod(shape),)
    return tuple(shape)  # ReLU, Dropout


def validate(spec):
    """Check an architecture description completely; return the output shape after every layer.

    Nothing is allocated: the checks use only the numbers in ``spec``.

    Returns
    -------
    shapes : list of tuple
        ``shapes[i]`` is the shape of one example after layer i.

    Raises
    ------
    ArchitectureError
        Naming the first problem found.
    """
    if not isinstance(spec, dict):
        raise ArchitectureError(f"an architecture is a JSON object, got {type(spec).__name__}")
    expected = {"format", "version", "input_shape", "layers"}
    if set(spec) != expected:
        raise ArchitectureError(f"an architecture has exactly the keys {sorted(expected)}, got {sorted(spec)}")
    if spec["format"] != FORMAT:
        raise ArchitectureError(f"format is {spec['format']!r}, expected {FORMAT!r}")
    if spec["version"] != VERSION or not is_integer(spec["version"]):
        raise ArchitectureError(f"architecture version {spec['version']!r} is not supported (this reader: {VERSION})")
    shape = spec["input_shape"]
    if not isinstance(shape, list) or len(shape) not in (1, 3):
        raise ArchitectureError(f"input_shape must be [D] or [C, H, W], got {shape!r}")
    shape = tuple(_int(n, "an input_shape entry", 1) for n in shape)
    if math.prod(shape) > MAX_FEATURES:
        raise ArchitectureError(f"input_shape {shape} has more than {MAX_FEATURES:,} numbers per example")
    layers = spec["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise ArchitectureError(f"layers must be a list of 1 to {MAX_LAYERS} layers")
    names, shapes = set(), []
    for i, config in enumerate(layers):
        what = f"layer {i}"
        if not isinstance(config, dict) or "kind" not in config:
            raise ArchitectureError(f"{what}: must be an object with a 'kind'")
        kind = config["kind"]
        if not isinstance(kind, str) or kind not in LAYER_KINDS:
            raise ArchitectureError(f"{what}: unknown layer kind {kind!r}; known: {sorted(LAYER_KINDS)}")
        keys = {"kind", "name", *LAYER_KINDS[kind][1]}
        if set(config) != keys:
            raise ArchitectureError(f"{what} ({kind}): has keys {sorted(config)}, expected {sorted(keys)}")
        name = config["name"]
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ArchitectureError(f"{what}: name {name!r} is not 1-64 ASCII letters, digits or _.-")
        if name in names:
            raise ArchitectureError(f"{what}: two layers are named {name!r}")
        names.add(name)
        what = f"layer {i} ({kind} {name!r})"
        for key in LAYER_KINDS[kind][1]:
            if key == "p":
                p = config["p"]
                if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
                    raise ArchitectureError(f"{what}: dropout p must be a number in [0, 1), got {p!r}")
            else:
                _int(config[key], f"{what}: {key}", 0 if key == "padding" else 1)
        shape = _output_shape(config, shape, what)
        if math.prod(shape) > MAX_FEATURES:
            raise ArchitectureError(f"{what}: its output {shape} has more than {MAX_FEATURES:,} numbers")
        shapes.append(shape)
    return shapes


def weight_shapes(spec):
    """Layer name -> weight shape, ``(out, in)`` or ``(F, C, kh, kw)``, for every weight layer, in order."""
    validate(spec)
    shapes = {}
    for config in spec["layers"]:
        if config["kind"] == "Linear":
            shapes[config["name"]] = (config["out_features"], config["in_features"])
        elif config["kind"] == "Conv2D":
            k = config["kernel_size"]
            shapes[config["name"]] = (config["out_channels"], config["in_channels"], k, k)
    return shapes


# ----------------------------------------------------------------------------
# Building a model from a description
# ----------------------------------------------------------------------------

def build_layer(config, rng=None):
    """The layer a (validated) config describes; weight layers get fresh Glorot weights from ``rng``."""
    cls, keys = LAYER_KINDS[config["kind"]]
    kwargs = {key: config[key] for key in keys}
    if cls in (Linear, Conv2D, Dropout):
        kwargs["rng"] = rng
    return cls(**kwargs, name=config["name"])


def build(spec, seed=0, arch=None):
    """A freshly initialised ``Sequential`` from an architecture description (validated first).

    Parameters
    ----------
    spec : dict
        As returned by :func:`describe` or read with :func:`from_json`.
    seed : int
        Seeds the initial weights.
    arch : str, optional
        A name to record on the model (``model.arch``).
    """
    validate(spec)
    rng = np.random.default_rng(seed)
    layers = [build_layer(config, rng) for config in spec["layers"]]
    return Sequential(*layers, arch=arch, input_shape=tuple(spec["input_shape"]))
