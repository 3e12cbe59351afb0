"""Checks for tutorial 06, your own network: importing an MLP trained by scikit-learn.

Tutorial 06 asks the student to turn a fitted ``MLPClassifier`` into a
``state_dict`` our ``Sequential`` can load:

* ``sklearn_to_state_dict(clf, layer_names) -> dict``.

scikit-learn keeps one weight matrix per layer in ``clf.coefs_`` with shape
``(in, out)`` (it computes ``X @ W``), and the biases in ``clf.intercepts_``.
Our ``Linear`` layer, as PyTorch's, stores ``W`` as ``(out, in)`` (it computes
``x @ W.T``), so every matrix is transposed::

    {f"{name}.W": clf.coefs_[i].T, f"{name}.b": clf.intercepts_[i]}   for i, name in enumerate(layer_names)

The check needs no scikit-learn: it passes objects that hold ``coefs_`` and
``intercepts_`` as a fitted ``MLPClassifier`` does, one of them with a square
layer, where a forgotten transpose does not change the shape. When an answer
is wrong the hint names the likely mistake: the transpose forgotten, weights
and biases swapped, PyTorch's key names (``.weight``/``.bias``) instead of
ours, layers named in the wrong order.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.checks._core import Case, run_check

__all__ = ["check_sklearn_to_state_dict"]


class FittedMLP:
    """Stands in for a fitted ``sklearn.neural_network.MLPClassifier``: ``coefs_`` (in, out) and ``intercepts_``."""

    def __init__(self, sizes, seed):
        rng = np.random.default_rng(seed)
        self.coefs_ = [rng.normal(0, 0.5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.intercepts_ = [rng.normal(0, 0.1, b) for b in sizes[1:]]

    def __repr__(self):
        return f"FittedMLP(coefs_ shapes {[c.shape for c in self.coefs_]})"


def _reference_sklearn_to_state_dict(clf, layer_names):
    """Our keys and layouts: ``"<name>.W"`` is ``coefs_[i].T`` (out, in), ``"<name>.b"`` is ``intercepts_[i]``."""
    state = {}
    for name, W, b in zip(layer_names, clf.coefs_, clf.intercepts_):
        state[f"{name}.W"] = np.asarray(W).T.copy()
        state[f"{name}.b"] = np.asarray(b).copy()
    return state


def _cases():
    return [
        Case("the digits MLP 64-128-10", (FittedMLP((64, 128, 10), seed=0), ["fc1", "fc2"])),
        Case("three layers, the middle one square (5 -> 5)", (FittedMLP((3, 5, 5, 2), seed=1), ["a", "b", "c"])),
        Case("one layer (a linear classifier)", (FittedMLP((4, 3), seed=2), ["out"])),
    ]


def _compare(got, expected, case):
    if got is None:
        return "the function returned None: did you forget the `return` statement?"
    if not isinstance(got, dict):
        return f"expected a dict from key to array, got {type(got).__name__}"
    if set(got) != set(expected):
        return f"the keys are {sorted(map(str, got))}, expected {sorted(expected)}"
    for key, want in expected.items():
        value = got[key]
        try:
            value = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return f"{key!r} is not an array of numbers"
        if value.shape != want.shape:
            return f"{key!r} has shape {value.shape}, expected {want.shape}"
        if not np.allclose(value, want, rtol=1e-12, atol=0):
            return f"{key!r} has the right shape but other values"
    return None


def _diagnose(got, expected, case):
    clf, names = case.args
    if not isinstance(got, dict):
        return "build a dict: state[f\"{name}.W\"] = ..., state[f\"{name}.b\"] = ..."
    keys = set(map(str, got))
    if any(k.endswith((".weight", ".bias")) for k in keys):
        return ("those are PyTorch's key names (load_state_dict would accept them), but this exercise asks for "
                "ours: \"<name>.W\" and \"<name>.b\"")
    if keys == set(expected):
        for i, name in enumerate(names):
            W = np.asarray(got[f"{name}.W"], dtype=float)
            if W.shape == clf.coefs_[i].shape and np.allclose(W, clf.coefs_[i]):
                return (f"{name}.W is coefs_[{i}] as it is: scikit-learn stores (in, out), our Linear (out, in) -- "
                        f"transpose it (coefs_[{i}].T)")
            for j in range(len(names)):
                if j != i and np.shape(W) == np.shape(clf.coefs_[j].T) and np.allclose(W, clf.coefs_[j].T):
                    return f"{name}.W holds layer {j}'s weights: layer_names[i] goes with coefs_[i]"
            b = np.asarray(got[f"{name}.b"], dtype=float)
            if b.ndim == 2:
                return f"{name}.b is a matrix: the biases are intercepts_[{i}], the weights coefs_[{i}]"
    return None


def check_sklearn_to_state_dict(sklearn_to_state_dict):
    """Check ``sklearn_to_state_dict(clf, layer_names)`` against the reference (tutorial 06)."""
    return run_check("sklearn_to_state_dict", sklearn_to_state_dict, _reference_sklearn_to_state_dict, _cases(),
                     _compare, diagnose=_diagnose)
