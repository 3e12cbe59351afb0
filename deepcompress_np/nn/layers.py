"""Layers with hand-written forward and backward passes.

One protocol for every layer, stated once
-----------------------------------------
``forward(x, training=False) -> out``
    Computes the layer's output and keeps in ``self.cache`` what the backward
    pass needs. ``training=True`` switches on training-only behaviour (dropout).
``backward(dout, need_dx=True) -> dx``
    Takes the gradient of the loss with respect to the output and returns the
    gradient with respect to the input, storing the gradients of the
    parameters in ``self.grads``. A model's first layer is called with
    ``need_dx=False`` (nobody needs the gradient of the images) and may then
    return ``None`` and skip that work.
``params`` and ``grads``
    Dicts from the same names (``"W"``, ``"b"``) to arrays of the same shapes.
    The optimizer changes ``params`` in place; nothing else may rebind them
    during training.

Every layer computes in the dtype it is given: float32 by default, float64 for
gradient checks (``layer.astype(np.float64)``). Mixing the two is refused with
a ``TypeError`` rather than silently promoted, because a float64 batch through
a float32 net doubles memory traffic and hides bugs.

This module holds the layers of a multi-layer perceptron; the convolutional
layers are in ``conv.py``.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np._validate import is_integer


class Layer:
    """Base class: a layer with no parameters that passes its input through."""

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self.cache = None

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dout, need_dx=True):
        raise NotImplementedError

    def astype(self, dtype):
        """Convert the parameters to ``dtype`` (e.g. float64 for a gradient check). Returns self."""
        for key, value in self.params.items():
            self.params[key] = value.astype(dtype)
        self.grads = {}
        return self

    def _check_input(self, x, ndim, what):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{self!r}: input must be a NumPy array, got {type(x).__name__}")
        if x.ndim != ndim:
            raise ValueError(f"{self!r}: expected input of shape {what}, got shape {x.shape}")
        if x.dtype.kind != "f":
            raise TypeError(f"{self!r}: input must be floating point, got dtype {x.dtype}; use x.astype(np.float32)")
        w = self.params.get("W")
        if w is not None and x.dtype != w.dtype:
            raise TypeError(
                f"{self!r}: input dtype {x.dtype} differs from the weights' dtype {w.dtype}; "
                f"cast the input with x.astype(np.{w.dtype}) or the model with model.astype(np.{x.dtype})"
            )

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})" if self.name else f"{type(self).__name__}()"


def _glorot_uniform(rng, fan_in, fan_out, shape):
    """Glorot/Xavier uniform initialisation (Caffe's "xavier" filler uses fan_in only; this is the symmetric form)."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


class Linear(Layer):
    """Fully connected layer: ``out = x @ W.T + b``.

    Parameters
    ----------
    in_features, out_features : int
    rng : numpy.random.Generator, optional
        Source of the initial weights (Glorot uniform); biases start at zero.

    Shapes
    ------
    x : (N, in_features), W : (out_features, in_features), b : (out_features,),
    out : (N, out_features).
    """

    def __init__(self, in_features, out_features, rng=None, name=None):
        super().__init__(name)
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not is_integer(n) or n < 1:
                raise ValueError(f"{what} must be a positive integer, got {n!r}")
        rng = np.random.default_rng(rng)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.params["W"] = _glorot_uniform(rng, in_features, out_features, (out_features, in_features))
        self.params["b"] = np.zeros(out_features, dtype=np.float32)

    def __repr__(self):
        name = f"{self.name!r}, " if self.name else ""
        return f"Linear({name}{self.in_features}->{self.out_features})"

    def forward(self, x, training=False):
        """x: (N, in_features) -> out: (N, out_features)."""
        self._check_input(x, 2, f"(N, {self.in_features})")
        if x.shape[1] != self.in_features:
            raise ValueError(f"{self!r}: expected {self.in_features} input features, got {x.shape[1]} (shape {x.shape})")
        self.cache = x
        out = x @ self.params["W"].T
        out += self.params["b"]
        return out

    def backward(self, dout, need_dx=True):
        """dout: (N, out_features) -> dx: (N, in_features).

        dW = dout.T @ x, db = sum over the batch of dout, dx = dout @ W.
        """
        x = self.cache
        self.grads["W"] = dout.T @ x
        self.grads["b"] = np.einsum("nf->f", dout)  # sum over the batch (faster than .sum(0))
        return dout @ self.params["W"] if need_dx else None


class ReLU(Layer):
    """Rectified linear unit: ``out = max(x, 0)``; ``dx = dout * (x > 0)``. Any shape."""

    def forward(self, x, training=False):
        out = np.maximum(x, 0)
        self.cache = out
        return out

    def backward(self, dout, need_dx=True):
        if not need_dx:
            return None
        return dout * (self.cache > 0)


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest by 1/(1-p).

    At test time it is the identity. Pruning changes ``p`` during retraining
    (Han et al. 2015 §3.2, eq. 2): ``D_r = D_o * sqrt(C_ir / C_io)``.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping a unit.
    rng : numpy.random.Generator or int, optional
        Source of the dropout masks.
    """

    def __init__(self, p=0.5, rng=None, name=None):
        super().__init__(name)
        self.p = p
        self.rng = np.random.default_rng(rng)

    @property
    def p(self):
        return self._p

    @p.setter
    def p(self, value):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {value!r}")
        self._p = float(value)

    def forward(self, x, training=False):
        if not training or self.p == 0.0:
            self.cache = None
            return x
        keep = (self.rng.random(x.shape, dtype=np.float32) >= self.p).astype(x.dtype)
        keep *= x.dtype.type(1.0 / (1.0 - self.p))
        self.cache = keep
        return x * keep

    def backward(self, dout, need_dx=True):
        if not need_dx:
            return None
        return dout if self.cache is None else dout * self.cache

    def __repr__(self):
        return f"Dropout({self.name!r}, p={self.p:g})"


class Flatten(Layer):
    """Flatten everything but the batch axis: (N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x, training=False):
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, need_dx=True):
        return dout.reshape(self.cache) if need_dx else None
