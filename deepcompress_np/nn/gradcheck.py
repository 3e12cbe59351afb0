"""Gradient checking: compare a hand-written backward pass with centred differences.

For a scalar function f, the centred difference

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

has error O(h^2). In float64 with h = 1e-5 a correct backward pass agrees to a
relative error around 1e-7 or better; a wrong one is off by 1e-2 or more.
"""

from __future__ import annotations

import numpy as np


def rel_error(a, b):
    """Largest elementwise relative error max |a - b| / max(1e-8, |a| + |b|)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of the scalar function ``f()`` with respect to ``x``.

    ``x`` is changed in place, one element at a time, and restored; ``f`` takes
    no arguments and must read ``x``.

    Parameters
    ----------
    f : callable () -> float
    x : ndarray, float64
    h : float

    Returns
    -------
    grad : ndarray, same shape as x
    """
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks need float64 arrays, got {x.dtype}; use model.astype(np.float64)")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def check_layer(layer, x, seed=0, h=1e-5):
    """Check every gradient of a layer against centred differences.

    Uses the scalar ``L = sum(forward(x) * g)`` for a fixed random ``g``, so
    ``dL/dout = g``.

    Parameters
    ----------
    layer : Layer, with float64 parameters
    x : ndarray, float64, the layer's input

    Returns
    -------
    dict
        ``{"x": rel_error, "W": rel_error, ...}`` for the input and every parameter.
    """
    rng = np.random.default_rng(seed)
    out = layer.forward(x, training=False)
    g = rng.standard_normal(out.shape)

    def loss():
        return float(np.sum(layer.forward(x, training=False) * g))

    layer.forward(x, training=False)
    dx = layer.backward(g)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}
    errors = {"x": rel_error(analytic["x"], numerical_gradient(loss, x, h))}
    for name, param in layer.params.items():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, param, h))
    return errors


def check_model(model, loss_fn, x, y, h=1e-5):
    """Check the gradients of every parameter of a whole model with loss ``loss_fn(logits, y)``.

    Returns ``{key: rel_error}`` for every key of ``model.params()``.
    """
    def loss():
        return loss_fn(model.forward(x), y)[0]

    _, dlogits = loss_fn(model.forward(x), y)
    model.backward(dlogits)
    analytic = {k: v.copy() for k, v in model.grads().items()}
    return {k: rel_error(analytic[k], numerical_gradient(loss, p, h)) for k, p in model.params().items()}
