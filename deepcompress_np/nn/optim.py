"""Stochastic gradient descent with momentum, weight decay and an L1 option.

This is the one place where parameters change during training, and it is the
*extension point* the later stages of Deep Compression plug into:

* pruning (paper §2) must hold pruned weights, their gradients and their
  momentum at exactly zero during retraining;
* trained quantization replaces the per-weight update of a layer by a
  per-cluster update of shared centroids (paper §3.3, eq. 3, Figure 3). Eq. 3
  is a plain gradient step; the retraining here keeps this optimizer's
  momentum, L2 weight decay and (in ``recipes.py``) a cosine learning-rate
  schedule for the centroids too, a choice of ours, not the paper's.

Neither stage copies the training loop. Each installs an **update rule** for
the parameters it owns in ``SGD.rules``; every other parameter keeps the plain
momentum update. An update rule is any callable

    rule(opt, key, param, grad) -> None

that changes ``param`` in place. ``grad`` already includes the regularisation
terms. A rule can call ``opt.momentum_update(key, param, grad)`` to reuse the
plain update (see ``deepcompress_np.prune.MaskedUpdate`` and
``deepcompress_np.quantize.SharedWeightUpdate``).

The update, for a parameter ``w`` with gradient ``g`` (Caffe/PyTorch form)::

    g <- g + weight_decay * w + l1 * sign(w)      (weights "W" only)
    v <- momentum * v - lr * g
    w <- w + v
"""

from __future__ import annotations

import numpy as np

# Float32 numbers below this are flushed to zero in the momentum buffers: a
# weight that never sees a gradient again (MNIST's always-blank border pixels)
# has its momentum decay geometrically into denormal floats, which every
# arithmetic instruction then handles in slow microcode.
_DENORMAL_FLUSH = {np.dtype(np.float32): np.float32(1e-30), np.dtype(np.float64): 1e-300}


class SGD:
    """SGD with momentum, L2 weight decay and L1 regularisation.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        Momentum coefficient in [0, 1).
    weight_decay : float
        L2 regularisation strength lambda (adds ``lambda * w`` to the gradient
        of every weight matrix ``"W"``; biases are not decayed).
    l1 : float
        L1 regularisation strength (adds ``l1 * sign(w)`` to the gradient of
        every ``"W"``).
    flush_every : int
        Every this many steps, momentum entries too small to matter
        (|v| < 1e-30) are set to zero, so they never become denormal floats.

    Attributes
    ----------
    velocity : dict[str, ndarray]
        Momentum buffer per parameter key, created on first use.
    rules : dict[str, callable]
        The extension point: parameter key -> update rule (see module docstring).
    t : int
        Number of steps taken.
    """

    def __init__(self, lr=0.01, momentum=0.9, weight_decay=0.0, l1=0.0, flush_every=100):
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if weight_decay < 0 or l1 < 0:
            raise ValueError(
                f"weight_decay and l1 must be >= 0, got weight_decay={weight_decay!r}, l1={l1!r}"
            )
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.l1 = float(l1)
        self.flush_every = int(flush_every)
        self.velocity = {}
        self.rules = {}
        self.t = 0
        self._scratch = {}  # key -> work array, so a step allocates nothing

    def _work(self, key, param, which):
        """A reusable work array shaped like ``param`` (allocating per step is slow for big layers)."""
        buf = self._scratch.get((key, which))
        if buf is None or buf.shape != param.shape or buf.dtype != param.dtype:
            buf = self._scratch[(key, which)] = np.empty_like(param)
        return buf

    def regularized_grad(self, key, param, grad):
        """The gradient plus the L2 and L1 terms (weights ``"W"`` only).

        Returns ``grad`` itself when no regularisation applies, otherwise a
        work array owned by the optimizer (valid until the next step).
        """
        if not key.endswith("W") or not (self.weight_decay or self.l1):
            return grad
        out = self._work(key, param, "grad")
        np.multiply(param, param.dtype.type(self.weight_decay), out=out)  # lambda * w
        out += grad
        if self.l1:
            out += param.dtype.type(self.l1) * np.sign(param)  # l1 * sign(w)
        return out

    def momentum_update(self, key, param, grad):
        """The plain update: ``v <- momentum * v - lr * grad``, ``param <- param + v``."""
        v = self.velocity.get(key)
        if v is None:
            v = self.velocity[key] = np.zeros_like(param)
        step = np.multiply(grad, param.dtype.type(self.lr), out=self._work(key, param, "step"))  # lr * grad
        if self.momentum:
            v *= param.dtype.type(self.momentum)
            v -= step
        else:
            np.negative(step, out=v)
        param += v

    def step(self, params, grads):
        """Update every parameter in place.

        Parameters
        ----------
        params : dict[str, ndarray]
            Parameter key -> array, updated in place (``Sequential.params()``).
        grads : dict[str, ndarray]
            Parameter key -> gradient of the loss, same shapes (``Sequential.grads()``).
        """
        for key, param in params.items():
            grad = grads.get(key)
            if grad is None:
                raise KeyError(f"no gradient for parameter {key!r}: call model.backward() before step()")
            grad = self.regularized_grad(key, param, grad)
            rule = self.rules.get(key)
            if rule is None:
                self.momentum_update(key, param, grad)
            else:
                rule(self, key, param, grad)
        self.t += 1
        if self.flush_every and self.t % self.flush_every == 0:
            self.flush_denormals()

    def flush_denormals(self):
        """Set momentum entries with |v| < 1e-30 to exactly zero (see module notes)."""
        for v in self.velocity.values():
            tiny = _DENORMAL_FLUSH.get(v.dtype)
            if tiny is not None:
                v[np.abs(v) < tiny] = 0
