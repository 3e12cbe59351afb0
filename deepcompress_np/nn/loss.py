"""The loss: softmax followed by cross-entropy, fused for numerical stability."""

from __future__ import annotations

import numpy as np


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of the softmax of ``logits`` against integer labels ``y``.

    With p = softmax(z) and one-hot t, the loss of one example is -log p[y] and
    its gradient is p - t. Averaged over a batch of N, the gradient is (p - t) / N.

    Subtracting each row's maximum before exponentiating leaves the softmax
    unchanged and keeps ``exp`` from overflowing; the log-probabilities come
    from log-sum-exp rather than ``log(softmax)``, so a confident wrong answer
    gives a large finite loss instead of ``inf``.

    Parameters
    ----------
    logits : ndarray, shape (N, C), floating point
    y : ndarray of int, shape (N,), each in [0, C)

    Returns
    -------
    loss : float
        Mean over the batch.
    dlogits : ndarray, shape (N, C), same dtype as ``logits``
        Gradient of the mean loss.
    """
    if not isinstance(logits, np.ndarray) or logits.ndim != 2 or logits.dtype.kind != "f":
        raise TypeError(
            f"logits must be a 2-D floating point array (N, C), got "
            f"{getattr(logits, 'dtype', type(logits).__name__)} of shape {getattr(logits, 'shape', None)}"
        )
    y = np.asarray(y)
    n, c = logits.shape
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match logits {logits.shape}, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {y.dtype}")
    if n == 0:
        raise ValueError("empty batch: logits has no rows")
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"labels must lie in [0, {c}), got values from {y.min()} to {y.max()}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_sum  # (N, C) log-probabilities
    rows = np.arange(n)
    loss = -float(log_p[rows, y].mean())
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1
    dlogits /= n
    return loss, dlogits
