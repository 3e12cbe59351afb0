"""The checks of tutorial 01: the solutions pass, plausible mistakes are caught and named."""

import numpy as np
import pytest

from deepcompress_np.checks import check_masked_update, check_prune_by_std


# --- the notebook's solutions ------------------------------------------------

def prune_by_std(W, quality, mask=None):
    if mask is None:
        mask = np.ones(W.shape, dtype=bool)
    threshold = quality * np.std(W[mask])
    return mask & (np.abs(W) >= threshold)


def masked_sgd_step(W, grad, velocity, mask, lr, momentum):
    g = grad * mask
    v = momentum * velocity - lr * g
    v = v * mask
    return (W + v) * mask, v


def test_the_solutions_pass():
    result = check_prune_by_std(prune_by_std)
    assert result and result.n_cases >= 5, result.report
    assert "\u2714" in result.report
    assert check_masked_update(masked_sgd_step), check_masked_update(masked_sgd_step).report


def test_the_library_passes_too():
    from deepcompress_np.prune import prune_by_std as library

    assert check_prune_by_std(library)


# --- prune_by_std mutants ------------------------------------------------------

def strict_greater(W, quality, mask=None):
    mask = np.ones(W.shape, dtype=bool) if mask is None else mask
    return mask & (np.abs(W) > quality * np.std(W[mask]))


def std_over_all_weights(W, quality, mask=None):
    mask = np.ones(W.shape, dtype=bool) if mask is None else mask
    return mask & (np.abs(W) >= quality * np.std(W))


def mean_abs(W, quality, mask=None):
    mask = np.ones(W.shape, dtype=bool) if mask is None else mask
    return mask & (np.abs(W) >= quality * np.mean(np.abs(W[mask])))


def forgets_old_mask(W, quality, mask=None):
    mask = np.ones(W.shape, dtype=bool) if mask is None else mask
    return np.abs(W) >= quality * np.std(W[mask])


def returns_floats(W, quality, mask=None):
    return prune_by_std(W, quality, mask).astype(float)


@pytest.mark.parametrize("mutant, hint", [
    (strict_greater, "you used `>`"),
    (std_over_all_weights, "over the surviving weights only"),
    (mean_abs, "not the mean of |w|"),
    (forgets_old_mask, "stays pruned"),
    (returns_floats, "dtype bool"),
])
def test_prune_by_std_mutants_are_rejected_with_a_hint(mutant, hint):
    result = check_prune_by_std(mutant)
    assert not result
    assert "\u2718" in result.report
    assert hint in result.report, result.report


# --- masked_sgd_step mutants ----------------------------------------------------

def velocity_not_masked(W, grad, velocity, mask, lr, momentum):
    v = momentum * velocity - lr * grad * mask
    return (W + v) * mask, v


def only_gradient_masked(W, grad, velocity, mask, lr, momentum):
    v = momentum * velocity - lr * grad * mask
    return W + v, v


def lr_sign(W, grad, velocity, mask, lr, momentum):
    v = (momentum * velocity + lr * grad * mask) * mask
    return (W + v) * mask, v


def swapped_outputs(W, grad, velocity, mask, lr, momentum):
    W_new, v = masked_sgd_step(W, grad, velocity, mask, lr, momentum)
    return v, W_new


def weights_not_masked(W, grad, velocity, mask, lr, momentum):
    v = (momentum * velocity - lr * grad * mask) * mask
    return W + v, v


@pytest.mark.parametrize("mutant, hint", [
    (velocity_not_masked, "mask the momentum too"),
    (only_gradient_masked, "masking only the gradient is not enough"),
    (lr_sign, "minus sign"),
    (swapped_outputs, "in this order"),
    (weights_not_masked, "multiply the new weights by the mask"),
])
def test_masked_update_mutants_are_rejected_with_a_hint(mutant, hint):
    result = check_masked_update(mutant)
    assert not result
    assert hint in result.report, result.report


# --- stubs, crashes, wrong types -------------------------------------------------

def _stub(*args, **kwargs):
    raise NotImplementedError("prune_by_std: write your code here")


@pytest.mark.parametrize("check", [check_prune_by_std, check_masked_update])
def test_a_stub_reports_not_implemented(check):
    result = check(_stub)
    assert not result and "not implemented yet" in result.report


@pytest.mark.parametrize("check", [check_prune_by_std, check_masked_update])
def test_an_exception_becomes_a_failed_result(check):
    def broken(*args, **kwargs):
        return 1 / 0

    result = check(broken)
    assert not result and "ZeroDivisionError" in result.report


@pytest.mark.parametrize("check, bad", [
    (check_prune_by_std, lambda W, q, mask=None: np.ones(3, dtype=bool)),       # wrong shape
    (check_prune_by_std, lambda W, q, mask=None: [[True]]),                     # not an array
    (check_prune_by_std, lambda W, q, mask=None: None),
    (check_masked_update, lambda W, g, v, m, lr, mu: W),                        # not a tuple
    (check_masked_update, lambda W, g, v, m, lr, mu: (W.ravel(), v)),           # wrong shape
    (check_masked_update, lambda W, g, v, m, lr, mu: ("W", "v")),               # wrong type
    (check_masked_update, lambda W, g, v, m, lr, mu: (W, v, 0)),
])
def test_wrong_shapes_and_types_fail_without_raising(check, bad):
    result = check(bad)
    assert not result
    assert "\u2718" in result.report


def test_a_non_function_fails_cleanly():
    assert not check_prune_by_std(None)


@pytest.mark.parametrize("check, mutant", [(check_prune_by_std, strict_greater),
                                           (check_masked_update, velocity_not_masked)])
def test_failing_checks_raise_when_asked(monkeypatch, check, mutant):
    monkeypatch.setenv("DEEPCOMPRESS_CHECKS_RAISE", "1")
    with pytest.raises(AssertionError, match="check_"):
        check(mutant)


def test_passing_checks_do_not_raise_when_asked(monkeypatch):
    monkeypatch.setenv("DEEPCOMPRESS_CHECKS_RAISE", "1")
    assert check_prune_by_std(prune_by_std)
    assert check_masked_update(masked_sgd_step)
