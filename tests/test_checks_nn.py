"""Tests of the checks of tutorial 00 (``deepcompress_np.checks.nn``).

The reference solutions (copied from the notebook) must pass; plausible wrong
answers (mutants) must fail, with the hint aimed at their mistake; a stub, a
crash or a result of the wrong type must give a False result from
``check.evaluate``, never an exception; the check itself prints the report and
raises CheckFailed (an AssertionError) on any failure.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from deepcompress_np.assignments import student_notebook
from deepcompress_np.checks import check_linear_backward, check_softmax_cross_entropy

NOTEBOOK = Path(__file__).resolve().parent.parent / "tutorials" / "00_mini_neural_net.ipynb"


# ---------------------------------------------------------------------------
# The notebook's solutions, copied
# ---------------------------------------------------------------------------

def linear_backward(dout, x, W):
    dx = dout @ W
    dW = dout.T @ x
    db = dout.sum(axis=0)
    return dx, dW, db


def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[rows, y].mean()
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1
    dlogits /= n
    return loss, dlogits


def _softmax(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------
# Mutants: plausible wrong answers, and a word their hint must contain
# ---------------------------------------------------------------------------

LINEAR_MUTANTS = {
    "dW transposed (x.T @ dout)": (lambda d, x, W: (d @ W, x.T @ d, d.sum(axis=0)), "transposed"),
    "db averaged over the batch": (lambda d, x, W: (d @ W, d.T @ x, d.mean(axis=0)), "averaged"),
    "dW divided by N": (lambda d, x, W: (d @ W, d.T @ x / len(x), d.sum(axis=0)), "divided by N"),
    "db kept as (1, out)": (lambda d, x, W: (d @ W, d.T @ x, d.sum(axis=0, keepdims=True)), "keepdims"),
    "db summed over the wrong axis": (lambda d, x, W: (d @ W, d.T @ x, d.sum(axis=1)), "wrong axis"),
    # dout @ W.T fails with a shape error on non-square W: the exception report carries the shapes
    "dx = dout @ W.T": (lambda d, x, W: (d @ W.T, d.T @ x, d.sum(axis=0)), "dx must be (N, in)"),
    "gradients in the wrong order": (lambda d, x, W: (d.T @ x, d @ W, d.sum(axis=0)), None),
}


def _loss_summed(z, y):
    loss, grad = softmax_cross_entropy(z, y)
    return loss * len(z), grad


def _grad_missing_1_over_n(z, y):
    loss, grad = softmax_cross_entropy(z, y)
    return loss, grad * len(z)


def _no_max_subtraction(z, y):
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    rows = np.arange(len(z))
    grad = p.copy()
    grad[rows, y] -= 1
    return -np.log(p[rows, y]).mean(), grad / len(z)


def _labels_as_columns(z, y):
    p = _softmax(z)
    grad = p.copy()
    grad[:, y] -= 1
    return -np.log(p[np.arange(len(z)), y]).mean(), grad / len(z)


def _labels_as_onehot(z, y):
    p = _softmax(z)
    return -np.log(p[np.arange(len(z)), y]).mean(), (p - y[:, None]) / len(z)


def _softmax_over_batch(z, y):
    p = _softmax(z, axis=0)
    rows = np.arange(len(z))
    grad = p.copy()
    grad[rows, y] -= 1
    return -np.log(p[rows, y]).mean(), grad / len(z)


def _per_example_loss(z, y):
    loss, grad = softmax_cross_entropy(z, y)
    return -np.log(_softmax(z)[np.arange(len(z)), y]), grad


def _gradient_sign_flipped(z, y):
    loss, grad = softmax_cross_entropy(z, y)
    return loss, -grad


SOFTMAX_MUTANTS = {
    "loss summed instead of averaged": (_loss_summed, "summed over the batch"),
    "gradient missing the 1/N": (_grad_missing_1_over_n, "missing the 1/N"),
    "no max-subtraction": (_no_max_subtraction, "Subtract each row's maximum"),
    "dlogits[:, y] -= 1": (_labels_as_columns, "np.arange(N), y"),
    "labels used as one-hot rows": (_labels_as_onehot, "not one-hot"),
    "softmax over the batch axis": (_softmax_over_batch, "axis=1"),
    "one loss per example": (_per_example_loss, "their mean"),
    "gradient sign flipped": (_gradient_sign_flipped, "wrong sign"),
}


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_reference_solutions_pass():
    for check, solution in ((check_linear_backward, linear_backward),
                            (check_softmax_cross_entropy, softmax_cross_entropy)):
        result = check.evaluate(solution)
        assert result, result.report
        assert "all" in result.report and result.n_cases >= 4


def test_a_list_instead_of_a_tuple_is_accepted():
    result = check_linear_backward.evaluate(lambda d, x, W: list(linear_backward(d, x, W)))
    assert result, result.report


@pytest.mark.parametrize("name", sorted(LINEAR_MUTANTS))
def test_linear_mutants_are_rejected_with_their_hint(name):
    mutant, hint = LINEAR_MUTANTS[name]
    with np.errstate(all="ignore"):
        result = check_linear_backward.evaluate(mutant)
    assert not result, f"{name} passed"
    if hint is not None:
        assert hint in result.report, result.report


@pytest.mark.parametrize("name", sorted(SOFTMAX_MUTANTS))
def test_softmax_mutants_are_rejected_with_their_hint(name):
    mutant, hint = SOFTMAX_MUTANTS[name]
    with np.errstate(all="ignore"):
        result = check_softmax_cross_entropy.evaluate(mutant)
    assert not result, f"{name} passed"
    assert hint in result.report, result.report


def test_overflow_is_caught_on_the_huge_logits_case():
    with np.errstate(all="ignore"):
        result = check_softmax_cross_entropy.evaluate(_no_max_subtraction)
    assert "huge logits" in result.report and "nan" in result.report


def test_square_weights_catch_a_transposed_dx_that_runs():
    # Only the square case lets dout @ W.T run; its hint must say so.
    def square_only(d, x, W):
        if W.shape[0] != W.shape[1]:
            return linear_backward(d, x, W)
        return d @ W.T, d.T @ x, d.sum(axis=0)

    result = check_linear_backward.evaluate(square_only)
    assert not result and "square" in result.report and "W.T" in result.report, result.report


def _stub(*args):
    raise NotImplementedError("linear_backward: write your code here")


@pytest.mark.parametrize("check", [check_linear_backward, check_softmax_cross_entropy])
def test_stub_says_not_implemented(check):
    result = check.evaluate(_stub)
    assert not result
    assert "not implemented yet" in result.report


@pytest.mark.parametrize("check", [check_linear_backward, check_softmax_cross_entropy])
@pytest.mark.parametrize("bad", [
    lambda *a: 1 / 0,                                     # crashes
    lambda *a: None,                                      # returns nothing
    lambda *a: "gradients",                               # wrong type
    lambda *a: (np.zeros(3),),                            # a tuple of the wrong length
    lambda *a: tuple(np.zeros((2, 2)) for _ in a) + (np.zeros(1),),  # wrong shapes
    lambda *a: (np.zeros(2), [[1, 2], [3]], object()),    # unreadable items
    lambda *a: ("loss", "grad"),                          # strings
])
def test_bad_results_give_false_never_an_exception(check, bad):
    result = check.evaluate(bad)
    assert not result
    assert result.report.startswith("\u2718")


@pytest.mark.parametrize("check", [check_linear_backward, check_softmax_cross_entropy])
def test_not_a_function(check):
    result = check.evaluate(42)
    assert not result and "expected a function" in result.report


def test_exception_report_keeps_type_and_adds_shapes():
    def crash(dout, x, W):
        return dout @ W.T, None, None  # shape error on the first case (W is 4 x 3)

    result = check_linear_backward.evaluate(crash)
    assert not result
    assert "raised ValueError" in result.report
    assert "dout (2, 4)" in result.report and "at line" in result.report


@pytest.mark.parametrize("env", [None, "0", "1"])
def test_a_failure_raises_whatever_the_environment(monkeypatch, capsys, env):
    if env is None:
        monkeypatch.delenv("DEEPCOMPRESS_CHECKS_RAISE", raising=False)
    else:
        monkeypatch.setenv("DEEPCOMPRESS_CHECKS_RAISE", env)
    with pytest.raises(AssertionError, match="check_linear_backward failed"):
        check_linear_backward(LINEAR_MUTANTS["dW transposed (x.T @ dout)"][0])
    assert "transposed" in capsys.readouterr().out  # the report is printed before the exception
    with pytest.raises(AssertionError):
        check_softmax_cross_entropy(_stub)
    assert "not implemented yet" in capsys.readouterr().out
    assert check_softmax_cross_entropy(softmax_cross_entropy) is None  # a pass does not raise, and has no value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_random_cases(seed):
    assert check_linear_backward.evaluate(linear_backward, seed=seed)
    assert check_softmax_cross_entropy.evaluate(softmax_cross_entropy, seed=seed)
    for mutant, _ in LINEAR_MUTANTS.values():
        with np.errstate(all="ignore"):
            assert not check_linear_backward.evaluate(mutant, seed=seed)


def test_the_library_layer_as_the_answer_fails():
    from deepcompress_np.nn import Linear

    def via_library(dout, x, W):
        layer = Linear(W.shape[1], W.shape[0], rng=0)
        layer.params["W"] = W
        layer.forward(x)
        return layer.backward(dout), layer.grads["W"], layer.grads["b"]

    result = check_linear_backward.evaluate(via_library)
    assert not result and "library's own implementation" in result.report, result.report
    assert check_linear_backward.evaluate(linear_backward)  # Linear.backward is restored afterwards


def test_a_solution_that_changes_its_inputs_fails_and_spoils_nothing():
    def scribbles(dout, x, W):
        result = tuple(np.array(r) for r in linear_backward(dout, x, W))
        dout[...] = 0
        W[...] = 0
        return result

    result = check_linear_backward.evaluate(scribbles)
    assert not result and "changed its input `dout`, `W` in place" in result.report, result.report
    assert check_linear_backward.evaluate(linear_backward)  # the cases themselves were not spoiled


# ---------------------------------------------------------------------------
# The notebook itself: its exercise cells pass, and its student version stubs them
# ---------------------------------------------------------------------------

def _exercise_cells(notebook):
    return [cell for cell in notebook["cells"] if "exercise" in cell.get("metadata", {}).get("tags", [])]


def _run_cells(cells):
    namespace = {"np": np}
    for cell in cells:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        exec(compile(source, "<notebook cell>", "exec"), namespace)
    return namespace


def test_notebook_solutions_pass_and_student_version_is_stubbed():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = _exercise_cells(notebook)
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in cells] == ["linear_backward", "softmax_cross_entropy"]
    solved = _run_cells(cells)
    assert check_linear_backward.evaluate(solved["linear_backward"])
    assert check_softmax_cross_entropy.evaluate(solved["softmax_cross_entropy"])

    stubbed = _run_cells(_exercise_cells(student_notebook(notebook)))
    for check, name in ((check_linear_backward, "linear_backward"),
                        (check_softmax_cross_entropy, "softmax_cross_entropy")):
        result = check.evaluate(stubbed[name])
        assert not result and "not implemented yet" in result.report
