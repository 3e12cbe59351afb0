"""The training loop: mini-batch SGD on softmax cross-entropy, and evaluation.

The loop is written once and shared by every stage of Deep Compression. A
stage changes *how parameters are updated* by installing update rules in the
optimizer (``SGD.rules``, see ``nn/optim.py``), never by copying this loop:

* pruning (``prune.py``) installs ``MaskedUpdate`` rules that hold pruned
  weights, gradients and momentum at exactly zero;
* trained quantization (``quantize/trained.py``) installs ``SharedWeightUpdate``
  rules that sum the gradients of each cluster into its shared centroid.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from deepcompress_np._validate import is_integer
from deepcompress_np.nn import SGD, softmax_cross_entropy
from deepcompress_np.progress import progress


def evaluate(model, X, y, batch_size=1000):
    """Classification error (a fraction in [0, 1]) of ``model`` on ``(X, y)``.

    Parameters
    ----------
    X : ndarray, shape (N, 1, 28, 28) (or what the model takes)
    y : ndarray of int, shape (N,)
    """
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)} labels")
    if len(y) == 0:
        raise ValueError("cannot evaluate on an empty data set")
    return float(np.mean(model.predict(X, batch_size=batch_size) != y))


def cosine_schedule(lr, epochs, final_lr=0.0):
    """Cosine decay from ``lr`` at epoch 0 to ``final_lr`` at the last epoch."""
    def schedule(epoch):
        t = epoch / max(1, epochs - 1)
        return final_lr + 0.5 * (lr - final_lr) * (1 + np.cos(np.pi * t))
    return schedule


def random_shift(max_shift=2):
    """Data augmentation: move each image by up to ``max_shift`` pixels in x and y (zeros fill in).

    Returns a callable ``augment(xb, rng) -> shifted`` for :func:`train`;
    xb has shape (N, C, H, W).
    """
    if not is_integer(max_shift) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative integer, got {max_shift!r}")

    def augment(xb, rng):
        if max_shift == 0:
            return xb
        if xb.ndim != 4:
            raise ValueError(f"random_shift moves images (N, C, H, W); this batch has shape {xb.shape}. "
                             f"Turn the augmentation off for other data (max_shift=0)")
        n, c, h, w = xb.shape
        s = max_shift
        padded = np.pad(xb, ((0, 0), (0, 0), (s, s), (s, s)))
        views = sliding_window_view(padded, (h, w), axis=(2, 3))  # (N, C, 2s+1, 2s+1, H, W)
        dy, dx = rng.integers(0, 2 * s + 1, size=(2, n))
        return views[np.arange(n), :, dy, dx]  # (N, C, H, W)

    return augment


def train(model, X, y, *, epochs=1, batch_size=64, optimizer=None, lr_schedule=None, seed=0,
          X_val=None, y_val=None, augment=None, progress_bar=False, verbose=True, desc="train",
          on_epoch_end=None):
    """Train ``model`` in place with mini-batch SGD.

    Parameters
    ----------
    model : Sequential
    X : ndarray, shape (N, ...), float32
    y : ndarray of int, shape (N,)
    epochs : int
    batch_size : int
    optimizer : SGD, optional
        Defaults to ``SGD(lr=0.01, momentum=0.9)``. Its ``rules`` are how pruning
        and quantization change the update.
    lr_schedule : callable epoch -> lr, optional
        Sets ``optimizer.lr`` at the start of each epoch.
    seed : int
        Seeds the shuffling and the augmentation (dropout layers own their rng).
    X_val, y_val : optional
        If given, the validation error is measured after every epoch.
    augment : callable (xb, rng) -> xb, optional
        Applied to every training mini-batch, e.g. :func:`random_shift`.
    progress_bar : bool
        A bar over the mini-batches of each epoch (needs tqdm).
    verbose : bool
        Print one line per epoch.
    on_epoch_end : callable (epoch, history) -> None, optional

    Returns
    -------
    history : dict of lists
        ``epoch``, ``lr``, ``loss`` (mean training loss), ``val_error``,
        ``seconds`` per epoch, and ``step_loss`` (every mini-batch's loss).
    """
    X_len, y = len(X), np.asarray(y)
    if X_len != len(y):
        raise ValueError(f"X has {X_len} examples but y has {len(y)} labels")
    if X_len == 0:
        raise ValueError("cannot train on an empty data set")
    if not is_integer(epochs) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not is_integer(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    optimizer = SGD() if optimizer is None else optimizer
    rng = np.random.default_rng(seed)
    params = model.params()
    history = {"epoch": [], "lr": [], "loss": [], "val_error": [], "seconds": [], "step_loss": []}
    n_batches = -(-X_len // batch_size)
    for epoch in range(epochs):
        if lr_schedule is not None:
            optimizer.lr = float(lr_schedule(epoch))
        start = time.perf_counter()
        order = rng.permutation(X_len)
        losses = np.empty(n_batches)
        batches = progress(range(n_batches), total=n_batches, desc=f"{desc} epoch {epoch + 1}/{epochs}",
                           enabled=progress_bar)
        for i in batches:
            idx = order[i * batch_size:(i + 1) * batch_size]
            xb = X[idx] if augment is None else augment(X[idx], rng)
            logits = model.forward(xb, training=True)
            losses[i], dlogits = softmax_cross_entropy(logits, y[idx])
            if not np.isfinite(losses[i]):
                raise FloatingPointError(
                    f"training diverged at epoch {epoch + 1}, step {i + 1}: the loss is {losses[i]}; "
                    f"lower the learning rate (now {optimizer.lr:g})"
                )
            model.backward(dlogits)
            optimizer.step(params, model.grads())
        seconds = time.perf_counter() - start
        val_error = evaluate(model, X_val, y_val) if X_val is not None else None
        history["epoch"].append(epoch + 1)
        history["lr"].append(optimizer.lr)
        history["loss"].append(float(losses.mean()))
        history["val_error"].append(val_error)
        history["seconds"].append(seconds)
        history["step_loss"].extend(losses.tolist())
        if verbose:
            val = "" if val_error is None else f"  val error {100 * val_error:.2f}%"
            print(f"{desc} epoch {epoch + 1}/{epochs}  lr {optimizer.lr:.4g}  loss {losses.mean():.4f}{val}"
                  f"  ({seconds:.1f} s)", flush=True)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    return history
