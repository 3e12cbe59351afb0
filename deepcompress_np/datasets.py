"""Your own data: checking ``(X, y)`` arrays against a model, reading a data file, holding out a validation split.

The pipeline runs on any labelled arrays: ``X`` of shape ``(N, *input_shape)``
in floating point, ``y`` of shape ``(N,)`` with integer class labels
``0 .. n_classes - 1``. MNIST (``data.load_mnist``) is only the default.

On disk (the command line's ``--data DATA.npz``) a data set is one ``.npz``
archive with the layout of Keras' ``mnist.npz`` (:func:`load_data_file`):

=================  ==========================================================
``x_train``        ``(N, ...)`` examples: uint8 (scaled to [0, 1] by /255)
                   or floating point (taken as given)
``y_train``        ``(N,)`` integer class labels ``0 .. n_classes - 1``
``x_test``         ``(M, ...)``, same example shape as ``x_train``
``y_test``         ``(M,)``
``x_val, y_val``   optional; without them a sixth of the training set is held
                   out for validation (:func:`split_train_val`, seeded)
=================  ==========================================================

Every choice the pipeline makes (pruning, bits, recipes) is made on a
*validation* split, never on the test set; :func:`split_train_val` holds one
out when a data set comes without it.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from deepcompress_np._validate import check_npz_file, is_integer


def check_xy(data, what, input_shape=None, n_classes=None):
    """Check one ``(X, y)`` pair; returns ``(X, y)`` as float32 and int64 arrays.

    Parameters
    ----------
    data : tuple (X, y)
        X : (N, *input_shape) floating point; y : (N,) integers.
    what : str
        The split's name for messages (``"train"``).
    input_shape : tuple of int, optional
        One example's shape, as the model takes it.
    n_classes : int, optional
        Labels must lie in ``0 .. n_classes - 1``.

    Raises
    ------
    TypeError, ValueError
        Naming the split and the problem.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{what} must be a pair (X, y), got {type(data).__name__}")
    X, y = np.asarray(data[0]), np.asarray(data[1])
    if X.dtype.kind != "f":
        hint = " (for 8-bit images use X.astype(np.float32) / 255)" if X.dtype == np.uint8 else ""
        raise TypeError(f"{what}: X must be floating point, got dtype {X.dtype}{hint}")
    if y.ndim != 1 or (y.dtype.kind not in "iu" and y.size):
        raise TypeError(f"{what}: y must be a 1-D array of integer labels, got dtype {y.dtype} shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{what}: X has {len(X)} examples but y has {len(y)} labels")
    if len(y) == 0:
        raise ValueError(f"{what}: no examples")
    if input_shape is not None and tuple(X.shape[1:]) != tuple(input_shape):
        raise ValueError(f"{what}: each example has shape {tuple(X.shape[1:])} but the model takes "
                         f"{tuple(input_shape)} (X must be (N, {', '.join(map(str, input_shape))}))")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{what}: X holds NaN or infinite values")
    if y.min() < 0 or (n_classes is not None and y.max() >= n_classes):
        raise ValueError(f"{what}: labels must be 0 .. {'n_classes - 1' if n_classes is None else n_classes - 1}, "
                         f"got {int(y.min())} .. {int(y.max())}")
    return np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64)


def split_train_val(X, y, val_fraction=1 / 6, seed=0):
    """Hold out a random ``val_fraction`` of ``(X, y)`` for validation.

    The split is a seeded permutation (so class-sorted data still gives a
    fair split): the same seed gives the same split. With the default
    fraction, 60,000 examples give 50,000 to fit and 10,000 to validate, as
    MNIST's ``fit``/``val`` splits.

    Returns
    -------
    (X_fit, y_fit), (X_val, y_val)
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if not is_integer(seed):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    n = len(y)
    n_val = int(round(n * val_fraction))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"cannot hold out {val_fraction:.3g} of {n} examples for validation")
    order = np.random.default_rng(seed).permutation(n)
    fit, val = order[:n - n_val], order[n - n_val:]
    return (X[fit], y[fit]), (X[val], y[val])


#: The arrays of a data file (the layout of Keras' ``mnist.npz``), and the optional validation pair.
DATA_KEYS = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL_KEYS = ("x_val", "y_val")

_WRITE_HINT = "np.savez(path, x_train=X, y_train=y, x_test=X_test, y_test=y_test)"


def load_data_file(path, n_classes=None):
    """Read a data set saved as ``.npz`` with the layout of Keras' ``mnist.npz`` (see the module docstring).

    Parameters
    ----------
    path : str or Path
    n_classes : int, optional
        When given, every label must lie in ``0 .. n_classes - 1``.

    Returns
    -------
    dict
        ``"train"``, ``"test"`` and ``"val"`` (None when the file has no
        ``x_val``/``y_val``): pairs ``(X, y)``, X float32 ``(N, ...)`` (uint8
        scaled to [0, 1]), y int64 ``(N,)``. Shapes are as stored: fit them to
        a model with :func:`fit_input_shape`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError, TypeError
        A file that is not an ``.npz`` archive, a missing or unknown key,
        arrays of Python objects, the wrong dtype, lengths that do not match,
        labels out of range, NaN or infinite values; the message names the
        key and the fix. The file is read with ``allow_pickle=False``.
    """
    path = check_npz_file(path, "data", f"{path}: not an .npz archive; write the data with {_WRITE_HINT}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz archive ({e}); write it with {_WRITE_HINT}") from None
    with archive:
        names = set(archive.files)
        missing = [k for k in DATA_KEYS if k not in names]
        if missing:
            raise ValueError(f"{path}: missing {missing}; a data file holds {list(DATA_KEYS)} (and optionally "
                             f"{list(OPTIONAL_KEYS)}), as Keras' mnist.npz: {_WRITE_HINT}")
        unknown = sorted(names - set(DATA_KEYS) - set(OPTIONAL_KEYS))
        if unknown:
            raise ValueError(f"{path}: unknown keys {unknown}; a data file holds exactly {list(DATA_KEYS)} and "
                             f"optionally {list(OPTIONAL_KEYS)} (check the spelling: lower case x, y)")
        if ("x_val" in names) != ("y_val" in names):
            raise ValueError(f"{path}: has {'x_val' if 'x_val' in names else 'y_val'} without its partner; "
                             f"give both x_val and y_val, or neither (then a sixth of the training set is held out)")
        arrays = {}
        for key in sorted(names):
            try:
                arrays[key] = archive[key]
            except ValueError as e:
                if "pickle" not in str(e):
                    raise ValueError(f"{path}: {key!r} is not a readable array ({e})") from None
                # NumPy refuses object arrays without pickle; say what to store instead, not how to unpickle.
                raise TypeError(f"{path}: {key!r} holds Python objects, not numbers; store a numeric array, "
                                f"e.g. np.asarray({key}, dtype={'np.int64' if key[0] == 'y' else 'np.float32'})"
                                ) from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise ValueError(f"{path}: {key!r} is damaged ({e}); write the file again") from None
    splits = {}
    for split in ("train", "val", "test"):
        if f"x_{split}" not in arrays:
            splits[split] = None
            continue
        X = _examples(arrays[f"x_{split}"], f"{path}: x_{split}")
        y = _labels(arrays[f"y_{split}"], f"{path}: y_{split}", n_classes)
        if len(X) != len(y):
            raise ValueError(f"{path}: x_{split} has {len(X)} examples but y_{split} has {len(y)} labels; "
                             f"they must be the same length, one label per example")
        splits[split] = (X, y)
    shape = splits["train"][0].shape[1:]
    for split in ("val", "test"):
        if splits[split] is not None and splits[split][0].shape[1:] != shape:
            raise ValueError(f"{path}: x_{split} examples have shape {splits[split][0].shape[1:]} but x_train's "
                             f"have {shape}; every split must hold examples of the same shape")
    return splits


def _examples(X, what):
    if X.dtype == np.uint8:
        X = X.astype(np.float32) / 255  # 8-bit images, as in mnist.npz
    elif X.dtype.kind == "f":
        X = X.astype(np.float32)
    else:
        raise TypeError(f"{what} has dtype {X.dtype}; examples must be uint8 images (scaled by /255) or floating "
                        f"point (taken as given): convert with x.astype(np.float32)")
    if X.ndim < 2:
        raise ValueError(f"{what} has shape {X.shape}; examples are stacked along the first axis, (N, ...) -- "
                         f"for one feature per example use x.reshape(-1, 1)")
    if len(X) == 0:
        raise ValueError(f"{what} holds no examples")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{what} holds NaN or infinite values; remove or replace them")
    return np.ascontiguousarray(X)


def _labels(y, what, n_classes):
    if y.dtype.kind not in "iu":
        hint = "; for one-hot labels use y.argmax(axis=1)" if y.ndim == 2 else ""
        raise TypeError(f"{what} has dtype {y.dtype}; labels must be integers 0 .. n_classes - 1: "
                        f"convert with y.astype(np.int64){hint}")
    if y.ndim != 1:
        hint = "; for one-hot labels use y.argmax(axis=1)" if y.ndim == 2 and y.shape[1] > 1 else ""
        raise ValueError(f"{what} has shape {y.shape}; labels are one integer per example, shape (N,): "
                         f"use y.reshape(-1){hint}")
    if y.size and (y.min() < 0 or (n_classes is not None and y.max() >= n_classes)):
        top = "n_classes - 1" if n_classes is None else n_classes - 1
        raise ValueError(f"{what}: labels must lie in 0 .. {top}, got {int(y.min())} .. {int(y.max())}; "
                         f"number the classes from 0")
    return y.astype(np.int64)


def fit_input_shape(X, input_shape, what="X"):
    """``X`` reshaped to ``(N, *input_shape)`` when that is unambiguous; returns ``(X, note)``.

    Two cases are unambiguous and done (``note`` says which):

    * only axes of length 1 differ: ``(N, 28, 28)`` for a ``(1, 28, 28)``
      model, or ``(N, 28, 28, 1)`` (channels last, one channel);
    * the model takes flat feature vectors ``(D,)`` and each example holds D
      numbers: ``(N, 8, 8)`` for a ``(64,)`` model, flattened row by row.

    ``note`` is None when ``X`` already fits. Anything else (e.g. ``(N, 32,
    32, 3)`` for a ``(3, 32, 32)`` model, which needs a transpose, not a
    reshape) is a ValueError.
    """
    shape = tuple(int(n) for n in input_shape)
    have = tuple(X.shape[1:])
    if have == shape:
        return X, None
    squeeze = lambda s: tuple(n for n in s if n != 1)
    if squeeze(have) == squeeze(shape) or (len(shape) == 1 and math.prod(have) == shape[0]):
        how = "flattened" if len(shape) == 1 else "reshaped"
        return X.reshape(len(X), *shape), f"{what}: {how} from {(len(X),) + have} to {(len(X),) + shape} " \
                                           f"for the model's input shape {shape}"
    raise ValueError(f"{what}: each example has shape {have} but the model takes {shape}, and no unambiguous "
                     f"reshape turns one into the other; store the examples as (N, {', '.join(map(str, shape))}) "
                     f"(channels-last images need x.transpose(0, 3, 1, 2))")
