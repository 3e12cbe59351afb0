"""Your own data: checking ``(X, y)`` arrays against a model, and holding out a validation split.

The pipeline runs on any labelled arrays: ``X`` of shape ``(N, *input_shape)``
in floating point, ``y`` of shape ``(N,)`` with integer class labels
``0 .. n_classes - 1``. MNIST (``data.load_mnist``) is only the default.

Every choice the pipeline makes (pruning, bits, recipes) is made on a
*validation* split, never on the test set; :func:`split_train_val` holds one
out when a data set comes without it.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np._validate import is_integer


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
