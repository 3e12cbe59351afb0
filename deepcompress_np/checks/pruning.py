"""Checks for tutorial 01 (pruning, paper §2; Han et al. 2015, "Learning both Weights and Connections").

Two exercises:

* ``prune_by_std(W, quality, mask=None) -> mask`` -- the threshold rule of
  Han 2015 §4: keep a weight if ``|w| >= quality * std``, the standard
  deviation taken over the weights that survived earlier pruning;
  checked by :func:`check_prune_by_std` against
  :func:`deepcompress_np.prune.prune_by_std`.
* ``masked_sgd_step(W, grad, velocity, mask, lr, momentum) -> (W, velocity)``
  -- one step of masked retraining with momentum, in which a pruned weight,
  its gradient and its momentum all stay exactly zero; checked by
  :func:`check_masked_sgd_step` against :class:`deepcompress_np.prune.MaskedUpdate`.

Each check tries small inputs built to expose one likely mistake (a weight
exactly at the threshold, pruned zeros that must not enter the std, momentum
left over at pruned positions, ...), and on a wrong answer it recomputes what
those mistakes would have returned to name the one the student made.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.checks._core import Case, _short, exercise_check, random_or_fixed, run_check
from deepcompress_np.nn import SGD
from deepcompress_np.prune import MaskedUpdate
from deepcompress_np.prune import prune_by_std as _library_prune_by_std

__all__ = ["check_prune_by_std", "check_masked_sgd_step"]


# ----------------------------------------------------------------------------
# Exercise 1: the threshold rule
# ----------------------------------------------------------------------------

def _prune_by_std_cases():
    # std of these six numbers is exactly 5 (mean 0, mean square 25): with
    # quality 1 the threshold is exactly 5.0 and the two weights of
    # magnitude 5 sit exactly on it.
    at_threshold = np.array([[7.0, -7.0, 1.0], [-1.0, 5.0, -5.0]])
    rng = np.random.default_rng(1)
    gaussian = np.round(rng.standard_normal((3, 4)), 2)
    # A layer pruned before: pruned weights are zero and must not enter the std.
    pruned_zeros = np.array([[0.0, 0.8, -0.1, 0.0], [0.4, 0.0, -0.6, 0.0], [0.0, -0.25, 0.0, 0.5]])
    pruned_mask = pruned_zeros != 0
    # Pruned positions that still hold large values (the mask was computed but not yet
    # applied): they must stay pruned however large they are.
    stale = np.array([[0.9, 0.2, -0.4], [-3.0, 0.05, 0.6]])
    stale_mask = np.array([[True, True, True], [False, True, True]])
    conv = np.round(np.random.default_rng(2).standard_normal((2, 1, 2, 2)), 2)
    return [
        Case("a weight exactly at the threshold: quality 1, std 5, |w| = 5", (at_threshold, 1.0)),
        Case("a small Gaussian-like layer, quality 0.7, no mask", (gaussian, 0.7)),
        Case("quality 0 keeps every weight", (gaussian, 0.0)),
        Case("a second round: the mask marks the survivors, pruned weights are 0",
             (pruned_zeros, 1.0, pruned_mask)),
        Case("a pruned position that still holds a large value must stay pruned",
             (stale, 0.5, stale_mask)),
        Case("a 4-D conv kernel (F, C, kh, kw), quality 0.5", (conv, 0.5)),
    ]


def _prune_by_std_random_cases(rng, n_cases):
    """Hidden cases: random 2-D and 4-D layers, qualities 0 to 2, half of them a second round with a mask."""
    cases = []
    for i in range(n_cases):
        shape = tuple(int(v) for v in rng.integers(1, 6, size=2 if i % 3 else 4))
        W = np.round(rng.standard_normal(shape), 2)
        quality = float(np.round(rng.uniform(0.0, 2.0), 2))
        if i % 2:
            mask = np.abs(W) >= np.quantile(np.abs(W), 0.3)
            cases.append(Case(f"random {shape} layer, quality {quality}, with a mask", (W * mask, quality, mask)))
        else:
            cases.append(Case(f"random {shape} layer, quality {quality}", (W, quality)))
    return cases


def _prune_by_std_reference(W, quality, mask=None):
    return _library_prune_by_std(W, quality, mask)


def _compare_mask(got, expected, case):
    if not isinstance(got, np.ndarray):
        return f"expected a boolean numpy array, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"the mask has shape {got.shape}, expected {expected.shape} (the shape of W)"
    if got.dtype != np.bool_:
        return (f"the mask has dtype {got.dtype}, expected bool (a comparison like `np.abs(W) >= t` "
                f"gives one)")
    if not np.array_equal(got, expected):
        wrong = np.argwhere(got != expected)
        first = tuple(int(i) for i in wrong[0])
        kept = "kept" if got[first] else "pruned"
        where = "1 position" if len(wrong) == 1 else f"{len(wrong)} positions"
        return f"the mask differs at {where}; first at index {first}, which you {kept}"
    return None


def _prune_by_std_mistakes(W, quality, mask):
    """What common wrong implementations return, with a hint for each."""
    W = np.asarray(W, dtype=float)
    mask = np.ones(W.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    mag = np.abs(W)
    std = np.std(W[mask]) if mask.any() else 0.0
    yield (mask & (mag > quality * std),
           "you used `>`; a weight exactly at the threshold is kept: |w| >= quality * std.")
    yield (mask & (mag >= quality * np.std(W)),
           "the standard deviation must be over the surviving weights only, W[mask]; "
           "you took it over all weights, pruned zeros included.")
    yield (mask & (mag >= quality * np.mean(mag[mask])),
           "the threshold is quality times the standard deviation (np.std), not the mean of |w|.")
    if mask.sum() > 1:
        yield (mask & (mag >= quality * np.std(W[mask], ddof=1)),
               "use the population standard deviation, np.std(...) with the default ddof=0.")
    yield (mag >= quality * std,
           "combine with the old mask (`mask & ...`): a pruned weight stays pruned even if its value is large.")
    yield (mask & (W >= quality * std),
           "compare the magnitude |w| (np.abs), not the signed weight: large negative weights are kept too.")
    yield (mask & (mag < quality * std),
           "the mask marks the weights to KEEP (True = kept), not the ones to remove.")


def _diagnose_prune_by_std(got, expected, case):
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        return "return a boolean array with the same shape as W: True where the weight is kept."
    if got.dtype != np.bool_:
        return "return the comparison itself (dtype bool), not numbers."
    W, quality = case.args[0], case.args[1]
    mask = case.args[2] if len(case.args) > 2 else case.kwargs.get("mask")
    for wrong, hint in _prune_by_std_mistakes(W, quality, mask):
        if np.array_equal(got, wrong) and not np.array_equal(wrong, expected):
            return hint
    return "compare your mask with `expected` at the first differing index: was that weight above the threshold?"


@exercise_check
def check_prune_by_std(prune_by_std, seed=None):
    """Check ``prune_by_std(W, quality, mask=None) -> mask`` (Han 2015 §4).

    The exercise asks for the boolean mask of the weights to keep: those with
    ``|w| >= quality * std``, where ``std`` is the standard deviation of the
    weights that survived so far (``W[mask]``; every weight when ``mask`` is
    None), and only among those survivors, so a pruned weight stays pruned.
    The cases include a weight exactly at the threshold, a layer whose
    pruned weights are zero, and a pruned position still holding a large value.
    With ``seed`` (hidden tests), random cases drawn from that seed are run
    instead. The answer may not call ``deepcompress_np.prune.prune_by_std``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("prune_by_std", prune_by_std, _prune_by_std_reference,
                     random_or_fixed(_prune_by_std_cases, _prune_by_std_random_cases, seed),
                     _compare_mask, _diagnose_prune_by_std, forbidden=(_library_prune_by_std,),
                     hidden=seed is not None)


# ----------------------------------------------------------------------------
# Exercise 2: the masked momentum update
# ----------------------------------------------------------------------------

def _masked_sgd_step_reference(W, grad, velocity, mask, lr, momentum):
    """One step of the library's SGD with a MaskedUpdate rule installed."""
    param = np.array(W, dtype=float)
    opt = SGD(lr=lr, momentum=momentum)
    opt.velocity["W"] = np.array(velocity, dtype=float)
    MaskedUpdate(mask)(opt, "W", param, np.array(grad, dtype=float))
    return param, opt.velocity["W"]


def _masked_update_cases():
    W = np.array([[0.5, 0.0, -0.3], [0.0, 0.8, 0.0]])
    mask = W != 0
    grad = np.array([[0.2, -0.4, 0.1], [0.3, -0.2, 0.6]])  # dense: pruned weights get gradients too
    zero_v = np.zeros_like(W)
    old_v = np.array([[0.01, -0.05, 0.02], [0.04, -0.03, 0.02]])  # momentum from before pruning
    rng = np.random.default_rng(3)
    W4 = np.round(rng.standard_normal((3, 4)), 2)
    mask4 = np.abs(W4) >= 0.5
    W4 = W4 * mask4
    grad4 = np.round(rng.standard_normal((3, 4)), 2)
    v4 = np.round(0.1 * rng.standard_normal((3, 4)), 3) * mask4
    stale = np.array([[0.5, 0.7, -0.3], [-0.9, 0.8, 0.4]])  # pruned positions not yet zeroed
    return [
        Case("no momentum, zero velocity", (W, grad, zero_v, mask, 0.1, 0.0)),
        Case("momentum 0.9, zero velocity: the first step of retraining", (W, grad, zero_v, mask, 0.1, 0.9)),
        Case("momentum 0.9 with velocity left over at pruned positions (from before pruning)",
             (W, grad, old_v, mask, 0.1, 0.9)),
        Case("a larger layer, velocity already masked, lr 0.05", (W4, grad4, v4, mask4, 0.05, 0.9)),
        Case("W still holds values at pruned positions (mask not applied yet)",
             (stale, grad, old_v, mask, 0.1, 0.5)),
        Case("nothing pruned: plain momentum SGD", (W, grad, old_v, np.ones_like(mask), 0.1, 0.9)),
    ]


def _masked_update_random_cases(rng, n_cases):
    """Hidden cases: random layers, masks, velocities (some left over at pruned positions), lr and momentum."""
    cases = []
    for i in range(n_cases):
        shape = tuple(int(v) for v in rng.integers(1, 6, size=2))
        mask = rng.random(shape) < 0.6
        W = np.round(rng.standard_normal(shape), 3)
        if i % 3:
            W = W * mask  # usually the pruned weights are already zero
        grad = np.round(rng.standard_normal(shape), 3)
        velocity = np.round(0.1 * rng.standard_normal(shape), 3)
        if i % 2:
            velocity = velocity * mask
        lr, momentum = float(rng.choice([0.01, 0.1, 0.5])), float(rng.choice([0.0, 0.5, 0.9]))
        cases.append(Case(f"random {shape} layer, lr {lr}, momentum {momentum}",
                          (W, grad, velocity, mask, lr, momentum)))
    return cases


def _masked_update_mistakes(W, grad, velocity, mask, lr, momentum):
    """(W, velocity) that common wrong implementations return, with a hint for each."""
    W, grad, v0 = (np.asarray(a, dtype=float) for a in (W, grad, velocity))
    m = np.asarray(mask, dtype=float)
    g = grad * m
    v = momentum * v0 - lr * g
    yield ((W + v) * m, v,
           "mask the momentum too (v <- v * mask): left-over velocity at a pruned position is not zero.")
    yield (W + v, v,
           "masking only the gradient is not enough: momentum left over from before pruning still moves "
           "pruned weights. Mask the velocity and the weights as well.")
    yield (W + v * m, v * m,
           "multiply the new weights by the mask as well: W may still hold values at pruned positions.")
    v_plus = momentum * v0 + lr * g
    yield ((W + v_plus * m) * m, v_plus * m,
           "gradient DEscent: v <- momentum * v - lr * g (a minus sign before lr).")
    v_ok = v * m
    yield ((W - v_ok) * m, v_ok, "with v <- momentum * v - lr * g, the step is W + v, not W - v.")
    v_plain = (momentum * v0 - lr * grad) * m
    yield ((W - lr * g) * m, v_plain,
           "use the momentum: the weights move by the new velocity, W <- (W + v) * mask, not by -lr * g.")


def _as_pair(got):
    if isinstance(got, tuple) and len(got) == 2:
        return got
    if isinstance(got, list) and len(got) == 2:
        return tuple(got)
    return None


def _compare_step(got, expected, case):
    pair = _as_pair(got)
    if pair is None:
        return f"expected a tuple (W, velocity), got {_short(got, 80)}"
    for label, g, e in zip(("W", "velocity"), pair, expected):
        if not isinstance(g, np.ndarray):
            return f"the new {label} should be a numpy array, got {type(g).__name__}"
        if g.shape != e.shape:
            return f"the new {label} has shape {g.shape}, expected {e.shape}"
        if not np.allclose(g, e, rtol=1e-6, atol=1e-9):
            worst = np.unravel_index(np.argmax(np.abs(g - e)), e.shape)
            where = "a pruned" if not np.asarray(case.args[3])[worst] else "a kept"
            return (f"the new {label} differs: largest error {np.max(np.abs(g - e)):.3g}, at index "
                    f"{tuple(int(i) for i in worst)} ({where} position)")
    return None


def _diagnose_masked_update(got, expected, case):
    pair = _as_pair(got)
    if pair is None:
        return "return both new arrays, in this order: `return W_new, v_new`."
    if _compare_step((pair[1], pair[0]), expected, case) is None:
        return "return (W, velocity) in this order: you returned the velocity first."
    try:
        got_W, got_v = (np.asarray(a, dtype=float) for a in pair)
    except (TypeError, ValueError):
        return None
    for wrong_W, wrong_v, hint in _masked_update_mistakes(*case.args):
        if (got_W.shape == wrong_W.shape and got_v.shape == wrong_v.shape
                and np.allclose(got_W, wrong_W) and np.allclose(got_v, wrong_v)
                and not (np.allclose(wrong_W, expected[0]) and np.allclose(wrong_v, expected[1]))):
            return hint
    return ("compare W and velocity with `expected` at a pruned position and at a kept one: "
            "which of the gradient, the velocity and the weights did you mask?")


@exercise_check
def check_masked_sgd_step(masked_sgd_step, seed=None):
    """Check ``masked_sgd_step(W, grad, velocity, mask, lr, momentum) -> (W, velocity)``.

    The exercise asks for one step of masked retraining with momentum
    (the update ``MaskedUpdate`` installs in the optimizer): mask the
    gradient, update the velocity ``v <- momentum * v - lr * g``, mask the
    velocity, and return the new weights ``(W + v) * mask`` and the new
    velocity, so that a pruned weight and its momentum stay exactly zero.
    The cases include momentum left over at pruned positions from before
    pruning, and weights not yet zeroed at pruned positions. With ``seed``
    (hidden tests), random cases drawn from that seed are run instead. The
    answer may not call ``deepcompress_np.prune.MaskedUpdate``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("masked_sgd_step", masked_sgd_step, _masked_sgd_step_reference,
                     random_or_fixed(_masked_update_cases, _masked_update_random_cases, seed),
                     _compare_step, _diagnose_masked_update, forbidden=(MaskedUpdate.__call__,),
                     hidden=seed is not None)
