"""The two networks of the paper's MNIST experiments, and saving/loading them.

LeNet-300-100 and LeNet-5 are the nets of Deep Compression's Tables 2 and 3
(Han, Mao and Dally, ICLR 2016, §5.1). Layer names follow Caffe's prototxt
(``ip1`` = "inner product 1"), as the paper's tables do.

Any ``Sequential`` of the package's layers is a model that can be saved and
loaded: the file describes its own architecture. A model is saved as ``.npz``
(never with pickle): one array per parameter key (``"ip1.W"``), one boolean
array per pruning mask (``"mask:ip1.W"``), the architecture as JSON text
under ``"__architecture__"`` (every layer in order, see ``architecture.py``),
the model's name (``"lenet300"``, or empty) under ``"__arch__"``, and a JSON
metadata string (seed, epochs, test error, ...) under ``"__metadata__"``.
Files written before the architecture was stored hold only ``"__arch__"``;
they still load for the two LeNets.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from deepcompress_np import architecture
from deepcompress_np._validate import check_npz_file
from deepcompress_np.nn import Conv2D, Flatten, Linear, MaxPool2D, ReLU, Sequential


def lenet_300_100(seed=0):
    """LeNet-300-100: a 784-300-100-10 perceptron with ReLU, 266,610 parameters.

    Input (N, 1, 28, 28) or anything with 784 features per example; logits (N, 10).
    """
    rng = np.random.default_rng(seed)
    return Sequential(
        Flatten(name="flatten"),
        Linear(784, 300, rng=rng, name="ip1"),
        ReLU(name="relu1"),
        Linear(300, 100, rng=rng, name="ip2"),
        ReLU(name="relu2"),
        Linear(100, 10, rng=rng, name="ip3"),
        arch="lenet300",
        input_shape=(1, 28, 28),
    )


def lenet5(seed=0):
    """The Caffe LeNet-5 used by the paper, 431,080 parameters.

    conv 20@5x5 -> maxpool 2 -> conv 50@5x5 -> maxpool 2 -> fc 800->500 -> ReLU -> fc 500->10.
    (Caffe's LeNet has no ReLU after the convolutions.) Input (N, 1, 28, 28); logits (N, 10).
    """
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2D(1, 20, 5, rng=rng, name="conv1"),
        MaxPool2D(2, name="pool1"),
        Conv2D(20, 50, 5, rng=rng, name="conv2"),
        MaxPool2D(2, name="pool2"),
        Flatten(name="flatten"),
        Linear(800, 500, rng=rng, name="ip1"),
        ReLU(name="relu1"),
        Linear(500, 10, rng=rng, name="ip2"),
        arch="lenet5",
        input_shape=(1, 28, 28),
    )


ARCHITECTURES = {"lenet300": lenet_300_100, "lenet5": lenet5}

#: Where the bundled reference weights live: inside the package (``deepcompress_np/pretrained/``), so that
#: an installed copy (``pip install .``, a wheel) has them as well as a source checkout.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def build(arch, seed=0):
    """A freshly initialised model of architecture ``"lenet300"`` or ``"lenet5"``."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](seed=seed)


def atomic_write(path, write):
    """Call ``write(file_object)`` on a temporary file next to ``path``, then move it into place.

    A crash half-way never leaves a half-written file where a good one was.
    The file gets the permissions any new file would (0666 less the umask,
    e.g. 0644), not the private 0600 of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_model(path, model, masks=None, metadata=None):
    """Save any model (and optional pruning masks) as ``.npz`` without pickle.

    The file holds the architecture, so :func:`load_model` rebuilds the model
    with no other information.

    Parameters
    ----------
    path : str or Path
    model : Sequential
        Of the package's layers; a model whose first layer is a convolution
        needs ``model.input_shape`` (e.g. ``(1, 28, 28)``).
    masks : dict[str, ndarray of bool], optional
        Pruning masks by parameter key (``"ip1.W"``); True = kept.
    metadata : dict, optional
        JSON-serialisable facts (seed, epochs, test error, the command...).
    """
    spec = architecture.describe(model)
    params = model.params()
    arrays = {key: np.asarray(value, dtype=np.float32) for key, value in params.items()}
    for key, mask in (masks or {}).items():
        if key not in params or np.shape(mask) != params[key].shape:
            raise ValueError(f"mask {key!r} does not match a parameter of the model")
        arrays[f"mask:{key}"] = np.asarray(mask, dtype=bool)
    arrays["__architecture__"] = np.array(architecture.to_json(spec))
    arrays["__arch__"] = np.array(model.arch or "")
    arrays["__metadata__"] = np.array(json.dumps(metadata or {}, sort_keys=True))
    if not str(path).endswith(".npz"):
        raise ValueError(f"model files end in .npz, got {str(path)!r}")
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_pretrained(arch):
    """The bundled reference weights ``deepcompress_np/pretrained/<arch>.npz`` (made as ``data/README.md`` says)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    path = PRETRAINED_DIR / f"{arch}.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"no pretrained weights at {path}; they ship inside the package (reinstall it with "
            f"'pip install --force-reinstall deepcompress_np'), or make them with "
            f"'python -m deepcompress_np train --model {arch} --out {arch}.npz' and pass that file"
        )
    return load_model(path)


def load_model(path):
    """Load a model saved by :func:`save_model`.

    Returns
    -------
    model : Sequential
        With two extra attributes: ``metadata`` (dict) and ``masks``
        (dict key -> bool array; empty for an unpruned model).
    """
    path = check_npz_file(path, "model",
                          f"{path}: not a model file saved by deepcompress_np (a model is an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        # Never pass on NumPy's advice to load with allow_pickle: we store no pickles.
        reason = "it holds pickled objects" if "pickle" in str(e) else str(e)
        raise ValueError(f"{path}: not a model file saved by deepcompress_np ({reason})") from None
    for key in ("__arch__", "__architecture__", "__metadata__"):
        if key in arrays and (arrays[key].dtype.kind != "U" or arrays[key].ndim != 0):
            raise ValueError(f"{path}: entry {key!r} is not a text string")
    if "__arch__" not in arrays and "__architecture__" not in arrays:
        raise ValueError(f"{path}: no '__architecture__' entry; not a model file saved by deepcompress_np")
    arch = str(arrays.pop("__arch__", "")) or None
    try:
        metadata = json.loads(str(arrays.pop("__metadata__", "{}")))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: unreadable metadata ({e})") from None
    if "__architecture__" in arrays:
        try:
            spec = architecture.from_json(str(arrays.pop("__architecture__")))
        except architecture.ArchitectureError as e:
            raise ValueError(f"{path}: {e}") from None
        model = architecture.build(spec, arch=arch)
    else:  # a file from before architectures were stored: only the two LeNets had names
        model = build(arch)
    params = model.params()
    masks = {}
    for key, value in arrays.items():
        if key.startswith("mask:"):
            pkey = key[len("mask:"):]
            if pkey not in params or value.shape != params[pkey].shape or value.dtype != bool:
                raise ValueError(f"{path}: mask {pkey!r} does not match the model's parameters")
            masks[pkey] = value
        elif key not in params:
            raise ValueError(f"{path}: unexpected array {key!r}; the model's parameters are {list(params)}")
    for key, param in params.items():
        if key not in arrays:
            raise ValueError(f"{path}: parameter {key!r} is missing")
        value = arrays[key]
        if value.shape != param.shape:
            raise ValueError(f"{path}: parameter {key!r} has shape {value.shape}, expected {param.shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{path}: parameter {key!r} holds NaN or infinite values")
        param[...] = value
    model.metadata = metadata
    model.masks = masks
    return model
