"""The checks of tutorial 01: the solutions pass, plausible mistakes are caught and named."""

import numpy as np
import pytest

from deepcompress_np.checks import check_masked_sgd_step, check_prune_by_std


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
    result = check_prune_by_std.evaluate(prune_by_std)
    assert result and result.n_cases >= 5, result.report
    assert "\u2714" in result.report
    assert check_masked_sgd_step.evaluate(masked_sgd_step), check_masked_sgd_step.evaluate(masked_sgd_step).report


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
    result = check_prune_by_std.evaluate(mutant)
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
    result = check_masked_sgd_step.evaluate(mutant)
    assert not result
    assert hint in result.report, result.report


# --- stubs, crashes, wrong types -------------------------------------------------

def _stub(*args, **kwargs):
    raise NotImplementedError("prune_by_std: write your code here")


@pytest.mark.parametrize("check", [check_prune_by_std, check_masked_sgd_step])
def test_a_stub_reports_not_implemented(check):
    result = check.evaluate(_stub)
    assert not result and "not implemented yet" in result.report


@pytest.mark.parametrize("check", [check_prune_by_std, check_masked_sgd_step])
def test_an_exception_becomes_a_failed_result(check):
    def broken(*args, **kwargs):
        return 1 / 0

    result = check.evaluate(broken)
    assert not result and "ZeroDivisionError" in result.report


@pytest.mark.parametrize("check, bad", [
    (check_prune_by_std, lambda W, q, mask=None: np.ones(3, dtype=bool)),       # wrong shape
    (check_prune_by_std, lambda W, q, mask=None: [[True]]),                     # not an array
    (check_prune_by_std, lambda W, q, mask=None: None),
    (check_masked_sgd_step, lambda W, g, v, m, lr, mu: W),                        # not a tuple
    (check_masked_sgd_step, lambda W, g, v, m, lr, mu: (W.ravel(), v)),           # wrong shape
    (check_masked_sgd_step, lambda W, g, v, m, lr, mu: ("W", "v")),               # wrong type
    (check_masked_sgd_step, lambda W, g, v, m, lr, mu: (W, v, 0)),
])
def test_wrong_shapes_and_types_fail_without_raising(check, bad):
    result = check.evaluate(bad)
    assert not result
    assert "\u2718" in result.report


def test_a_non_function_fails_cleanly():
    assert not check_prune_by_std.evaluate(None)


@pytest.mark.parametrize("check, mutant", [(check_prune_by_std, strict_greater),
                                           (check_masked_sgd_step, velocity_not_masked)])
def test_failing_checks_raise_without_being_asked(monkeypatch, capsys, check, mutant):
    monkeypatch.delenv("DEEPCOMPRESS_CHECKS_RAISE", raising=False)
    with pytest.raises(AssertionError, match="check_"):
        check(mutant)
    assert "hint:" in capsys.readouterr().out


def test_passing_checks_return_none(capsys):
    assert check_prune_by_std(prune_by_std) is None
    assert check_masked_sgd_step(masked_sgd_step) is None
    assert capsys.readouterr().out.count("\u2714") == 2


def test_updating_the_weights_in_place_is_caught():
    def in_place(W, grad, velocity, mask, lr, momentum):
        v = (momentum * velocity - lr * grad * mask) * mask
        W += v
        W *= mask
        return W, v

    result = check_masked_sgd_step.evaluate(in_place)
    assert not result and "changed its input `W` in place" in result.report, result.report


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_random_cases(seed):
    assert check_prune_by_std.evaluate(prune_by_std, seed=seed)
    assert check_masked_sgd_step.evaluate(masked_sgd_step, seed=seed)
    assert not check_masked_sgd_step.evaluate(velocity_not_masked, seed=seed)
    assert not check_prune_by_std.evaluate(std_over_all_weights, seed=seed)


def test_the_library_as_the_answer_fails():
    from deepcompress_np.nn import SGD
    from deepcompress_np.prune import MaskedUpdate
    from deepcompress_np.prune import prune_by_std as library

    def via_masked_update(W, grad, velocity, mask, lr, momentum):
        param, opt = np.array(W, dtype=float), SGD(lr=lr, momentum=momentum)
        opt.velocity["W"] = np.array(velocity, dtype=float)
        MaskedUpdate(mask)(opt, "W", param, np.array(grad, dtype=float))
        return param, opt.velocity["W"]

    assert "library's own" in check_prune_by_std.evaluate(library).report
    assert "library's own" in check_masked_sgd_step.evaluate(via_masked_update).report
