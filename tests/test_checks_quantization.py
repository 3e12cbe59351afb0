"""The checks of tutorial 03 (weight sharing): they pass the solution and catch the usual mistakes."""

import warnings

import numpy as np
import pytest

from deepcompress_np.checks import check_centroid_update, check_linear_init
from deepcompress_np.checks._core import CheckResult


# --- the notebook's solutions ---------------------------------------------------------------------


def linear_init(weights, k):
    w = np.asarray(weights, dtype=np.float64).ravel()
    return np.linspace(w.min(), w.max(), k)


def centroid_update(codebook, index, grad, lr):
    codebook = np.asarray(codebook, dtype=np.float64)
    summed = np.bincount(index, weights=grad, minlength=codebook.size)
    return codebook - lr * summed


def centroid_update_loop(codebook, index, grad, lr):
    """Another correct solution: one cluster at a time."""
    new = np.array(codebook, dtype=np.float64)
    for j in range(new.size):
        new[j] -= lr * np.sum(grad[index == j])
    return new


# --- plausible wrong answers ----------------------------------------------------------------------


def linear_init_forgy(weights, k):
    w = np.asarray(weights, dtype=np.float64)
    return np.sort(np.random.default_rng(0).choice(w, size=k, replace=False))


def linear_init_abs(weights, k):
    w = np.abs(np.asarray(weights, dtype=np.float64))
    return np.linspace(w.min(), w.max(), k)


def linear_init_no_endpoint(weights, k):
    w = np.asarray(weights, dtype=np.float64)
    return np.linspace(w.min(), w.max(), k, endpoint=False)


def linear_init_inner(weights, k):
    w = np.asarray(weights, dtype=np.float64)
    return np.linspace(w.min(), w.max(), k + 2)[1:-1]


def linear_init_density(weights, k):
    return np.quantile(np.asarray(weights, dtype=np.float64), (np.arange(k) + 0.5) / k)


def linear_init_descending(weights, k):
    w = np.asarray(weights, dtype=np.float64)
    return np.linspace(w.max(), w.min(), k)


def centroid_update_mean(codebook, index, grad, lr):
    codebook = np.asarray(codebook, dtype=np.float64)
    sums = np.bincount(index, weights=grad, minlength=codebook.size)
    counts = np.maximum(np.bincount(index, minlength=codebook.size), 1)
    return codebook - lr * sums / counts


def centroid_update_mean_nan(codebook, index, grad, lr):
    """Right for every cluster that has weights (mean times count is the sum), NaN for an empty one."""
    codebook = np.asarray(codebook, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice"
        mean = np.array([np.mean(grad[index == j]) for j in range(codebook.size)])
    return codebook - lr * mean * np.bincount(index, minlength=codebook.size)


def centroid_update_ascent(codebook, index, grad, lr):
    return np.asarray(codebook) + lr * np.bincount(index, weights=grad, minlength=len(codebook))


def centroid_update_no_minlength(codebook, index, grad, lr):
    summed = np.bincount(index, weights=grad)
    return np.asarray(codebook)[:summed.size] - lr * summed


def centroid_update_no_minlength_broadcast(codebook, index, grad, lr):
    return np.asarray(codebook) - lr * np.bincount(index, weights=grad)


def centroid_update_no_lr(codebook, index, grad, lr):
    return np.asarray(codebook) - np.bincount(index, weights=grad, minlength=len(codebook))


def centroid_update_returns_gradient(codebook, index, grad, lr):
    return np.bincount(index, weights=grad, minlength=len(codebook))


# --- the solutions pass ---------------------------------------------------------------------------


@pytest.mark.parametrize("solution", [linear_init, lambda w, k: np.linspace(np.min(w), np.max(w), k).tolist()])
def test_linear_init_solution_passes(solution):
    result = check_linear_init.evaluate(solution)
    assert isinstance(result, CheckResult)
    assert result and result.n_cases >= 5, result.report
    assert "\u2714" in result.report and "all" in result.report


@pytest.mark.parametrize("solution", [centroid_update, centroid_update_loop])
def test_centroid_update_solution_passes(solution):
    result = check_centroid_update.evaluate(solution)
    assert result and result.n_cases >= 5, result.report


def test_the_first_case_is_figure_3_and_matches_the_paper():
    """Paper Figure 3 with lr = 1: the fine-tuned centroids are -0.97, -0.04, 1.48, 1.96."""
    seen = []

    def spy(codebook, index, grad, lr):
        seen.append((codebook.copy(), index.copy(), grad.copy(), lr))
        return centroid_update(codebook, index, grad, lr)

    assert check_centroid_update.evaluate(spy)
    codebook, index, grad, lr = seen[0]
    assert lr == 1.0
    np.testing.assert_allclose(centroid_update(codebook, index, grad, lr), [-0.97, -0.04, 1.48, 1.96], atol=1e-9)


# --- wrong answers are rejected, with the right hint ----------------------------------------------


@pytest.mark.parametrize("mutant, hint", [
    (linear_init_forgy, "Forgy"),
    (linear_init_abs, "|w|"),
    (linear_init_no_endpoint, "end point"),
    (linear_init_inner, "leaves out both ends"),
    (linear_init_density, "density-based"),
    (linear_init_descending, "ascending"),
])
def test_linear_init_rejects_mistakes_with_a_hint(mutant, hint):
    result = check_linear_init.evaluate(mutant)
    assert not result
    assert "\u2718" in result.report and "expected:" in result.report
    assert hint in result.report, result.report


@pytest.mark.parametrize("mutant, hint", [
    (centroid_update_mean, "averaged"),
    (centroid_update_mean_nan, "NaN"),
    (centroid_update_ascent, "uphill"),
    (centroid_update_no_minlength, "minlength"),
    (centroid_update_no_lr, "learning rate is missing"),
    (centroid_update_returns_gradient, "summed gradients"),
])
def test_centroid_update_rejects_mistakes_with_a_hint(mutant, hint):
    result = check_centroid_update.evaluate(mutant)
    assert not result
    assert hint in result.report, result.report


def test_missing_minlength_that_crashes_is_reported_on_the_unused_cluster_case():
    result = check_centroid_update.evaluate(centroid_update_no_minlength_broadcast)
    assert not result
    assert "raised ValueError" in result.report and "index 4" in result.report


# --- robustness: stubs, crashes, wrong types ------------------------------------------------------


def _stub(*args):
    raise NotImplementedError("linear_init: write your code here")


@pytest.mark.parametrize("check", [check_linear_init, check_centroid_update])
def test_a_stub_is_reported_as_not_implemented(check):
    result = check.evaluate(_stub)
    assert not result
    assert "not implemented yet" in result.report


def _crash(*args):
    raise KeyError("oops")


@pytest.mark.parametrize("check", [check_linear_init, check_centroid_update])
@pytest.mark.parametrize("bad", [
    _crash,
    lambda *a: None,
    lambda *a: "centroids",
    lambda *a: np.zeros((2, 2)),
    lambda *a: [[1.0], [2.0, 3.0]],
    lambda *a: (np.zeros(4), np.zeros(4)),
])
def test_crashes_and_wrong_types_give_a_failed_result_never_an_exception(check, bad):
    result = check.evaluate(bad)
    assert isinstance(result, CheckResult) and not result
    assert "\u2718" in result.report


@pytest.mark.parametrize("check", [check_linear_init, check_centroid_update])
def test_a_non_function_is_rejected(check):
    result = check.evaluate(42)
    assert not result and "expected a function" in result.report


@pytest.mark.parametrize("check, mutant", [(check_linear_init, linear_init_abs),
                                           (check_centroid_update, centroid_update_mean)])
def test_a_failed_check_raises_without_being_asked(monkeypatch, check, mutant):
    monkeypatch.delenv("DEEPCOMPRESS_CHECKS_RAISE", raising=False)
    with pytest.raises(AssertionError, match="check_"):
        check(mutant)
    assert check(linear_init if check is check_linear_init else centroid_update) is None  # a pass: no value


def centroid_update_fancy_index(codebook, index, grad, lr):
    new = np.array(codebook, dtype=float)
    new[index] -= lr * grad  # with repeated indices only the last gradient of each cluster counts
    return new


def centroid_update_add_at_in_place(codebook, index, grad, lr):
    np.add.at(codebook, index, -lr * np.asarray(grad))
    return codebook


def test_repeated_indices_with_fancy_assignment_get_their_own_hint():
    result = check_centroid_update.evaluate(centroid_update_fancy_index)
    assert not result and "np.add.at" in result.report and "last write wins" in result.report, result.report


def test_a_codebook_changed_in_place_is_caught():
    result = check_centroid_update.evaluate(centroid_update_add_at_in_place)
    assert not result and "changed its input `codebook` in place" in result.report, result.report


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_random_cases(seed):
    assert check_linear_init.evaluate(linear_init, seed=seed)
    assert check_centroid_update.evaluate(centroid_update, seed=seed)
    assert not check_centroid_update.evaluate(centroid_update_mean, seed=seed)
    assert not check_centroid_update.evaluate(centroid_update_fancy_index, seed=seed)
    assert not check_linear_init.evaluate(linear_init_abs, seed=seed)


def test_the_library_as_the_answer_fails():
    from deepcompress_np.quantize import linear_init as library

    assert "library's own" in check_linear_init.evaluate(library).report
    assert "library's own" in check_linear_init.evaluate(lambda w, k: library(w, k)).report


def test_a_function_that_overwrites_its_inputs_fails_and_spoils_nothing():
    """The Figure 3 arrays are shared by two cases and by every call: a vandal must not change them."""

    def vandal(codebook, index, grad, lr):
        out = centroid_update(codebook, index, grad, lr)
        codebook[...] = 0
        index[...] = 0
        grad[...] = 0
        return out

    assert "in place" in check_centroid_update.evaluate(vandal).report
    seen = []
    check_centroid_update.evaluate(lambda c, i, g, lr: seen.append((c.copy(), g.copy())) or centroid_update(c, i, g, lr))
    np.testing.assert_array_equal(seen[0][0], [-1.0, 0.0, 1.5, 2.0])
    assert np.count_nonzero(seen[0][1]) == 16
