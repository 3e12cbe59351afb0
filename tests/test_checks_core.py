"""The machinery every check shares (deepcompress_np.checks._core): how a check ends, what it refuses."""

import functools
import sys
import warnings

import numpy as np
import pytest

from deepcompress_np.checks import CheckFailed, check_linear_init
from deepcompress_np.checks._core import Case, compare_arrays, exercise_check, random_or_fixed, run_check
from deepcompress_np.quantize import linear_init as library_linear_init


def reference(x):
    return np.asarray(x, dtype=float) * 2


def own_double(x):
    return np.asarray(x, dtype=float) + np.asarray(x, dtype=float)


CASES = [Case("one", (np.array([1.0, 2.0]),)), Case("two", (np.array([-3.0]),)), Case("three", (np.zeros(0),))]


def evaluate(fn, seed=None):
    return run_check("double", fn, reference, random_or_fixed(lambda: CASES, None, seed), compare_arrays())


check_double = exercise_check(evaluate)


def test_a_pass_prints_one_line_and_returns_none(capsys):
    assert check_double(own_double) is None
    assert capsys.readouterr().out == "\u2714 check_double: all 3 cases pass\n"


def test_a_failure_prints_the_report_then_raises_an_assertion_error(capsys):
    def wrong_on_one_case(x):
        return own_double(x) + (x.size == 1)

    with pytest.raises(CheckFailed) as failure:
        check_double(wrong_on_one_case)
    assert isinstance(failure.value, AssertionError)
    assert failure.value.result.n_passed == 2 and failure.value.result.n_cases == 3
    out = capsys.readouterr().out
    assert "case 2 of 3 (two)" in out and "2 of 3 cases pass" in out


def test_every_case_is_run_and_counted():
    result = evaluate(lambda x: np.ones_like(x, dtype=float))
    assert result.n_passed == 1  # only the empty case passes
    assert "also failing: case 2 (two)" in result.report


def test_warnings_and_stderr_of_the_students_function_go_into_the_report_not_to_stderr(capsys):
    def noisy(x):
        print("debugging", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning)
        with np.errstate(divide="warn"):
            np.log(np.zeros(1))
        return own_double(x)

    assert check_double(noisy) is None
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "note:" in captured.out and "careful" in captured.out


@pytest.mark.parametrize("answer", [
    reference,
    functools.partial(reference),
    functools.wraps(reference)(lambda x: 0),
    lambda x: reference(x),
])
def test_the_reference_itself_a_wrapper_or_a_caller_fails(answer):
    result = evaluate(answer)
    assert not result and "library's own" in result.report and result.n_passed == 0


def test_a_caller_that_swallows_the_trip_wire_still_fails_and_the_reference_is_restored():
    def sneaky(x):
        try:
            return reference(x)
        except Exception:
            return own_double(x)

    assert "library's own" in evaluate(sneaky).report
    np.testing.assert_array_equal(reference(np.array([1.0])), [2.0])  # the real code is back
    assert evaluate(own_double)


def test_the_library_function_imported_under_another_name_fails():
    from deepcompress_np.quantize import linear_init as my_linear_init

    result = check_linear_init.evaluate(my_linear_init)
    assert not result and "library's own" in result.report
    assert check_linear_init.evaluate(lambda w, k: np.linspace(np.min(w), np.max(w), k))
    np.testing.assert_allclose(library_linear_init(np.array([0.0, 1.0]), 3), [0.0, 0.5, 1.0])


def test_an_input_changed_in_place_is_named():
    def doubles_in_place(x):
        x *= 2
        return x

    result = evaluate(doubles_in_place)
    assert not result and "changed its input `x` in place" in result.report


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_a_bad_seed_is_refused(seed):
    with pytest.raises(TypeError, match="seed"):
        random_or_fixed(lambda: CASES, lambda rng, n: CASES, seed)


def test_the_same_seed_draws_the_same_hidden_cases():
    draw = lambda rng, n: [Case("r", (rng.standard_normal(3),)) for _ in range(n)]  # noqa: E731
    a, b = random_or_fixed(None, draw, 5), random_or_fixed(None, draw, 5)
    assert all(np.array_equal(x.args[0], y.args[0]) for x, y in zip(a, b))


def test_the_environment_variable_of_old_is_gone():
    import deepcompress_np.checks._core as core
    import inspect

    assert "DEEPCOMPRESS_CHECKS_RAISE" not in inspect.getsource(core)


def _halve_or_refuse(x):
    x = np.asarray(x, dtype=float)
    if x.size and x.min() < 0:
        raise ValueError("negative input")
    return x / 2


def _compare_halves(got, expected, case):
    from deepcompress_np.checks._core import Raised

    if isinstance(expected, Raised) or isinstance(got, Raised):
        return None if isinstance(got, Raised) and isinstance(expected, Raised) else f"expected {expected!r}"
    return compare_arrays()(got, expected, case)


HALVING = [Case("positive", (np.array([2.0, 4.0]),)), Case("negative: ValueError", (np.array([-1.0]),))]


def test_an_expected_error_is_an_answer_only_where_the_reference_raises_it():
    def run(fn):
        return run_check("halve", fn, _halve_or_refuse, HALVING, _compare_halves, raises=(ValueError,))

    def own(x):
        if np.any(np.asarray(x) < 0):
            raise ValueError("no negatives")
        return np.asarray(x) * 0.5

    assert run(own)
    never_raises = run(lambda x: np.asarray(x) * 0.5)
    assert not never_raises and never_raises.n_passed == 1
    assert "expected: raises ValueError('negative input')" in never_raises.report, never_raises.report
    always_raises = run(lambda x: own(-np.abs(x)))
    assert not always_raises and always_raises.n_passed == 1
    other_error = run(lambda x: own(x) if np.all(np.asarray(x) >= 0) else [][0])
    assert not other_error and "raised IndexError" in other_error.report
    assert "library's own" in run(_halve_or_refuse).report  # the reference itself is still refused
    # without raises=, a ValueError of the student's function is a crash, reported with its line
    crash = run_check("halve", lambda x: own(x - 10), _halve_or_refuse, HALVING[:1], compare_arrays())
    assert not crash and "raised ValueError: no negatives" in crash.report and "at line" in crash.report


class _Model:
    def __init__(self):
        self.weights = [np.arange(3.0), np.ones(2)]
        self.scale = 2.0


def _total(model):
    return float(sum(w.sum() for w in model.weights) * model.scale)


@pytest.mark.parametrize("change", [
    lambda m: m.weights.reverse(),            # a list inside an object, reordered
    lambda m: m.weights[0].__imul__(2),       # an array inside an object, written into
    lambda m: setattr(m, "scale", 3.0),       # an attribute replaced by another number
    lambda m: m.weights.append(np.zeros(1)),  # a list grown
])
def test_a_change_inside_an_object_or_a_container_is_named(change):
    def answer(model):
        total = float(sum(w.sum() for w in model.weights) * model.scale)
        change(model)
        return total

    case = [Case("a model", (_Model(),))]
    result = run_check("total", answer, _total, case, compare_arrays())
    assert not result and "changed its input `model` in place" in result.report, result.report
    assert run_check("total", lambda model: float(sum(w.sum() for w in model.weights) * model.scale), _total,
                     case, compare_arrays())
