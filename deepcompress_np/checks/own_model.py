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
ours, layers named in the wrong order. With a ``seed`` (the hidden tests),
random networks of one to four layers drawn from it are tried instead,
every other one with a square layer. An answer that changes the model it
was given (say, transposes ``clf.coefs_[i]`` in place) fails.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.checks._core import Case, exercise_check, random_or_fixed, run_check

__all__ = ["check_sklearn_to_state_dict"]


class FittedMLP:
    """Stands in for a fitted ``sklearn.neural_network.MLPClassifier``: ``coefs_`` (in, out) and ``intercepts_``.

    Parameters
    ----------
    sizes : sequence of int
        Input size, then the output size of every layer.
    seed : int or numpy.random.Generator
        Draws the weights, N(0, 0.5^2), and the biases, N(0, 0.1^2).
    """

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


_NAMES = ("fc1", "fc2", "fc3", "fc4", "hidden", "out", "dense_1", "dense_2", "layer0", "classifier")


def _random_cases(rng, n_cases):
    """Hidden cases: 1 to 4 layers of 2 to 20 units (never 1 x 1, which a transpose cannot change), every
    other network with a square layer, and layer names drawn in any order."""
    cases = []
    for i in range(n_cases):
        n_layers = int(rng.integers(2, 5)) if i % 4 else int(rng.integers(1, 5))
        sizes = [int(v) for v in rng.integers(2, 21, size=n_layers + 1)]
        if i % 2:  # a square layer: a forgotten transpose keeps its shape
            j = int(rng.integers(0, n_layers))
            sizes[j + 1] = sizes[j]
        names = [str(name) for name in rng.choice(_NAMES, size=n_layers, replace=False)]
        cases.append(Case(f"random {'-'.join(map(str, sizes))} MLP, layers {names}",
                          (FittedMLP(sizes, seed=rng), names)))
    return cases


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


@exercise_check
def check_sklearn_to_state_dict(sklearn_to_state_dict, seed=None):
    """Check ``sklearn_to_state_dict(clf, layer_names) -> {"<name>.W": (out, in), "<name>.b": (out,)}`` (tutorial 06).

    ``clf`` holds ``coefs_[i]`` of shape (in, out) and ``intercepts_[i]`` as a
    fitted ``MLPClassifier`` does; the answer's ``"<name>.W"`` must be
    ``coefs_[i].T`` and ``"<name>.b"`` ``intercepts_[i]``, for ``name =
    layer_names[i]``, and ``clf`` must be left as it was. Arrays or nested
    lists are accepted; values must match to 12 significant digits. The cases
    include a square layer, where a forgotten transpose keeps the shape. With
    ``seed`` (hidden tests), random networks drawn from that seed are tried
    instead.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("sklearn_to_state_dict", sklearn_to_state_dict, _reference_sklearn_to_state_dict,
                     random_or_fixed(_cases, _random_cases, seed), _compare, diagnose=_diagnose,
                     hidden=seed is not None)
