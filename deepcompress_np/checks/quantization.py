"""Checks for tutorial 03, weight sharing: where the centroids start, and how they are trained.

Trained quantization (paper §3) shares each layer's surviving weights among
``k`` values found by 1-D k-means. Two small pieces carry the method, and the
two exercises of tutorial 03 ask for them:

* ``linear_init`` -- the paper's preferred starting centroids (§3.2): ``k``
  values evenly spaced from the smallest to the largest weight, so the few
  large weights, which matter most, get centroids of their own;
* ``centroid_update`` -- one step of fine-tuning (§3.3, eq. 3, Figure 3): the
  gradients of all weights in a cluster are *summed* into the gradient of
  their shared centroid, and the centroid takes a plain SGD step.

The checks compare a student's function with the library's
(``deepcompress_np.quantize.linear_init`` and the sum that
``SharedWeightUpdate`` computes) on small inputs, edge cases included. When an
answer is wrong, the hint names the likely mistake: random (Forgy) or
density-based centroids instead of linear ones, a grid without its end
points or over ``|w|``, averaging the gradients instead of summing them,
``codebook[index] -= lr * grad`` (with repeated indices only one gradient per
centroid counts), a ``bincount`` without ``minlength``, a ``+`` where the step
needs a ``-``.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.checks._core import Case, compare_arrays, exercise_check, random_or_fixed, run_check
from deepcompress_np.quantize import SharedWeightUpdate
from deepcompress_np.quantize import linear_init as _library_linear_init

__all__ = ["check_linear_init", "check_centroid_update"]


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

def _safe_compare(name, rtol=1e-6, atol=1e-9):
    """``compare_arrays`` for one array that never raises on a strange result (a ragged list, a string)."""
    compare = compare_arrays(names=[name], rtol=rtol, atol=atol)

    def safe(got, expected, case):
        try:
            if np.asarray(got).dtype.kind not in "biuf":
                return f"{name} should be an array of numbers, got {type(got).__name__}"
            return compare(got, expected, case)
        except (TypeError, ValueError) as e:
            return f"{name} could not be read as an array ({type(e).__name__}: {e})"

    return safe


def _as_floats(got):
    """The student's result as a float array, or None if it cannot be one."""
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _matches(got, candidate):
    return got is not None and got.shape == np.shape(candidate) and np.allclose(got, candidate, rtol=1e-6,
                                                                                   atol=1e-9)


# ---------------------------------------------------------------------------
# Exercise 1: linear initialisation (paper §3.2, Figure 4)
# ---------------------------------------------------------------------------

def _linear_init_reference(weights, k):
    return _library_linear_init(weights, k)


def _linear_init_cases():
    rng = np.random.default_rng(3)
    # trained-layer-like: two bumps either side of zero, as after pruning (paper Figure 4)
    bimodal = np.concatenate([rng.normal(-0.08, 0.02, 12), rng.normal(0.06, 0.03, 12)])
    rng.shuffle(bimodal)
    return [
        Case("the paper's Figure 3 weights (flattened), 4 clusters",
             (np.array([2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12,
                        -0.91, 1.92, 0.0, -1.03, 1.87, 0.0, 1.53, 1.49]), 4)),
        Case("unsorted weights, 5 clusters", (np.array([0.3, -0.2, 0.1, -0.5, 0.7, 0.0]), 5)),
        Case("two clusters: just the smallest and the largest weight", (np.array([0.25, -0.75, 0.5]), 2)),
        Case("all weights negative, 3 clusters", (np.array([-0.4, -0.1, -0.3, -0.2]), 3)),
        Case("a pruned-layer-like bimodal sample, 8 clusters (3 bits)", (bimodal, 8)),
        Case("every weight equal: all centroids coincide", (np.array([0.2, 0.2, 0.2]), 3)),
    ]


def _linear_init_random_cases(rng, n_cases):
    """Hidden cases: 2 to 40 weights of random scale and sign, k = 2..16."""
    cases = []
    for i in range(n_cases):
        n, k = int(rng.integers(2, 41)), int(rng.integers(2, 17))
        weights = np.round(rng.normal(float(rng.normal(0, 0.05)), float(rng.choice([0.01, 0.1, 1.0])), n), 4)
        if i == n_cases - 1:
            weights = np.full(n, weights[0])  # every weight equal
        cases.append(Case(f"random, {n} weights, {k} clusters", (weights, k)))
    return cases


def _diagnose_linear_init(got, expected, case):
    weights, k = case.args
    w = np.asarray(weights, dtype=np.float64)
    got = _as_floats(got)
    if got is None:
        return None
    lo, hi = w.min(), w.max()
    wrong = [
        (np.linspace(np.abs(w).min(), np.abs(w).max(), k),
         "you spaced the centroids over |w|; use the signed weights: from min(w) (negative) to max(w)."),
        (np.linspace(0.0, np.abs(w).max(), k),
         "your grid starts at 0; it must start at the smallest (most negative) weight, min(w)."),
        (np.linspace(lo, hi, k, endpoint=False),
         "the largest weight is missing: np.linspace(min, max, k) includes the end point; "
         "endpoint=False (or a step of (max - min) / k) leaves it out."),
        (np.linspace(lo, hi, k + 2)[1:-1],
         "your grid leaves out both ends: the first centroid must be min(w) and the last max(w)."),
        (lo + (np.arange(k) + 0.5) * (hi - lo) / k,
         "these are the centres of k equal bins; the paper's linear initialisation puts the first centroid "
         "on min(w) and the last on max(w): np.linspace(min, max, k)."),
        (np.quantile(w, (np.arange(k) + 0.5) / k),
         "these are quantiles of the weights: that is density-based initialisation. Linear initialisation "
         "spaces the centroids evenly in weight value, not in probability."),
        (np.linspace(hi, lo, k),
         "right values, wrong order: return them ascending, from min(w) to max(w)."),
    ]
    for candidate, hint in wrong:
        if _matches(got, candidate):
            return hint
    if got.shape == (k,) and not _matches(got, expected):
        if np.all(np.isin(got, w)):
            return ("every centroid is one of the weights: that looks like Forgy (random) initialisation. "
                    "Linear initialisation ignores where the weights are and spaces k values evenly from "
                    "min to max.")
        if np.isclose(got.min(), lo) and np.isclose(got.max(), hi):
            return "the end points are right but the spacing is not even: every gap should be (max - min) / (k - 1)."
        return "check the end points: the first centroid should be min(w) and the last max(w)."
    return None


@exercise_check
def check_linear_init(linear_init, seed=None):
    """Check ``linear_init(weights, k) -> centroids``.

    The exercise: given the surviving weights of one layer as a 1-D array and
    a number of clusters ``k >= 2``, return the ``k`` starting centroids of
    linear initialisation (paper §3.2), an array of shape (k,) whose values
    are evenly spaced from ``min(weights)`` to ``max(weights)``, both
    included, in ascending order. With ``seed`` (hidden tests), random cases
    drawn from that seed are run instead. The answer may not call
    ``deepcompress_np.quantize.linear_init``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("linear_init", linear_init, _linear_init_reference,
                     random_or_fixed(_linear_init_cases, _linear_init_random_cases, seed),
                     _safe_compare("centroids"), _diagnose_linear_init, forbidden=(_library_linear_init,),
                     hidden=seed is not None)


# ---------------------------------------------------------------------------
# Exercise 2: the centroid update (paper §3.3, eq. 3, Figure 3)
# ---------------------------------------------------------------------------

# Paper Figure 3: the 4x4 layer's cluster indices, its gradient, and the centroids, flattened row by row.
_FIG3_INDEX = np.array([3, 0, 2, 1, 1, 1, 0, 3, 0, 3, 1, 0, 3, 1, 2, 2])
_FIG3_GRAD = np.array([-0.03, -0.01, 0.03, 0.02, -0.01, 0.01, -0.02, 0.12,
                       -0.01, 0.02, 0.04, 0.01, -0.07, -0.02, 0.01, -0.02])
_FIG3_CODEBOOK = np.array([-1.00, 0.00, 1.50, 2.00])


def _centroid_update_reference(codebook, index, grad, lr):
    codebook = np.asarray(codebook, dtype=np.float64)
    summed = np.bincount(np.asarray(index, dtype=np.intp), weights=grad, minlength=codebook.size)
    return codebook - lr * summed


def _centroid_update_cases():
    rng = np.random.default_rng(7)
    codebook8 = np.sort(rng.normal(0.0, 0.1, 8))
    index8 = rng.integers(0, 8, 40)
    grad8 = rng.normal(0.0, 0.01, 40)
    return [
        Case("the paper's Figure 3, learning rate 1", (_FIG3_CODEBOOK, _FIG3_INDEX, _FIG3_GRAD, 1.0)),
        Case("the paper's Figure 3, learning rate 0.1", (_FIG3_CODEBOOK, _FIG3_INDEX, _FIG3_GRAD, 0.1)),
        Case("5 clusters, the last one (index 4) unused: it keeps its value and the result still has 5 entries",
             (np.array([-0.2, -0.1, 0.0, 0.1, 0.2]), np.array([0, 1, 1, 3, 2, 0]),
              np.array([0.5, -1.0, 2.0, 0.25, -0.5, 1.5]), 0.1)),
        Case("4 clusters, a middle one unused, uint8 indices as in a QuantizedLayer",
             (np.array([-1.0, -0.5, 0.5, 1.0]), np.array([0, 3, 3, 0, 3], dtype=np.uint8),
              np.array([1.0, 2.0, -1.0, 3.0, 0.5]), 0.01)),
        Case("8 clusters (3 bits), 40 weights", (codebook8, index8, grad8, 0.5)),
        Case("no surviving weights: nothing moves",
             (np.array([0.1, 0.2]), np.array([], dtype=np.int64), np.array([]), 0.1)),
    ]


def _centroid_update_random_cases(rng, n_cases):
    """Hidden cases: k = 2..16 centroids, 0 to 60 weights with many repeated indices, some clusters unused."""
    cases = []
    for i in range(n_cases):
        k, n = int(rng.integers(2, 17)), int(rng.integers(0 if i == 0 else 5, 61))
        codebook = np.sort(np.round(rng.normal(0.0, 0.1, k), 4))
        index = rng.integers(0, max(1, k - int(rng.integers(0, 2))), n)  # sometimes the last cluster is unused
        if i % 2:
            index = index.astype(np.uint8)
        grad = np.round(rng.normal(0.0, 0.05, n), 4)
        lr = float(rng.choice([0.01, 0.1, 1.0]))
        cases.append(Case(f"random, {k} clusters, {n} weights, lr {lr}", (codebook, index, grad, lr)))
    return cases


def _last_write_wins(codebook, index, grad, lr):
    """What ``codebook[index] -= lr * grad`` gives: for each cluster, only the last of its gradients counts."""
    wrong = np.array(codebook, dtype=np.float64)
    wrong[index] -= lr * np.asarray(grad, dtype=np.float64)
    return wrong


def _diagnose_centroid_update(got, expected, case):
    codebook, index, grad, lr = case.args
    codebook = np.asarray(codebook, dtype=np.float64)
    index = np.asarray(index, dtype=np.intp)
    k = codebook.size
    summed = np.bincount(index, weights=grad, minlength=k)
    counts = np.bincount(index, minlength=k)
    got = _as_floats(got)
    if got is None:
        return None
    if got.ndim == 1 and got.size < k:
        return (f"your codebook has {got.size} entries instead of {k}: np.bincount stops at the largest index "
                f"it sees, so an unused last cluster disappears. Pass minlength=k (k = codebook.size).")
    if got.shape == (k,) and np.any(np.isnan(got[counts == 0])):
        return ("an unused cluster became NaN: a mean over no weights (or a division by its count, 0) is "
                "NaN. Sum the gradients with np.sum or np.bincount: an empty sum is 0, so the centroid stays.")
    mean = summed / np.maximum(counts, 1)
    wrong = [
        (_last_write_wins(codebook, index, grad, lr) if np.any(counts > 1) else None,
         "`codebook[index] -= lr * grad` applies only one gradient per centroid when an index repeats: "
         "NumPy's fancy-index assignment does not accumulate (the last write wins). Sum the gradients per "
         "cluster first, e.g. with np.add.at or np.bincount(..., minlength=k)."),
        (codebook - lr * mean,
         "you averaged the gradients of each cluster; the paper sums them (eq. 3): every weight in the "
         "cluster *is* the centroid, so each one's gradient adds to the centroid's gradient."),
        (codebook + lr * summed,
         "the centroids moved uphill: gradient descent subtracts, c_k <- c_k - lr * (sum of the gradients)."),
        (codebook - summed,
         "the learning rate is missing: multiply the summed gradient by lr before subtracting."),
        (-lr * summed,
         "you returned the step alone; add the old codebook: c_k - lr * (sum of the gradients)."),
        (summed,
         "you returned the summed gradients; the exercise asks for the updated codebook."),
        (codebook - lr * grad[:k] if np.size(grad) >= k else None,
         "each centroid must use the gradients of all the weights in its cluster (index == k), not grad[k]."),
    ]
    for candidate, hint in wrong:
        if candidate is not None and _matches(got, candidate):
            return hint
    return None


@exercise_check
def check_centroid_update(centroid_update, seed=None):
    """Check ``centroid_update(codebook, index, grad, lr) -> new_codebook``.

    The exercise: ``codebook`` (k,) holds a layer's shared weights, ``index``
    (n,) the cluster (0..k-1) of each of its n surviving weights and ``grad``
    (n,) the loss gradient with respect to each of those weights. Return the
    codebook after one SGD step of trained quantization (paper §3.3, eq. 3,
    Figure 3): the gradient of centroid ``c_k`` is the sum of the gradients
    of the weights in cluster ``k``, and ``c_k <- c_k - lr * that sum``. A
    cluster no weight points to keeps its value. Shape (k,), whatever the
    largest index present. The input ``codebook`` must not be changed (the
    check compares it before and after the call). With ``seed`` (hidden
    tests), random cases drawn from that seed are run instead. The answer may
    not call ``SharedWeightUpdate``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("centroid_update", centroid_update, _centroid_update_reference,
                     random_or_fixed(_centroid_update_cases, _centroid_update_random_cases, seed),
                     _safe_compare("new codebook"), _diagnose_centroid_update,
                     forbidden=(SharedWeightUpdate.__call__, SharedWeightUpdate.centroid_grad),
                     hidden=seed is not None)
