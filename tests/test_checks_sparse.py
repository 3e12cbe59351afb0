"""The check of tutorial 02: the solution passes, the off-by-one family of mistakes is caught and named."""

import numpy as np
import pytest

from deepcompress_np.checks import check_relative_index


# --- the notebook's solution ------------------------------------------------------

def relative_index(flat, b):
    span = 2 ** b
    fields, values = [], []
    prev = -1
    for p in np.flatnonzero(flat):
        while p - prev > span:
            prev += span
            fields.append(span - 1)
            values.append(0.0)
        fields.append(p - prev - 1)
        values.append(flat[p])
        prev = p
    return np.array(fields, dtype=np.uint32), np.array(values, dtype=flat.dtype)


def test_the_solution_passes():
    result = check_relative_index.evaluate(relative_index)
    assert result and result.n_cases >= 8, result.report
    assert "\u2714" in result.report


def test_the_solution_reproduces_figure_2():
    flat = np.zeros(16)
    flat[[1, 4, 15]] = [3.4, 0.9, 1.7]
    fields, values = relative_index(flat, 3)
    np.testing.assert_array_equal(fields, [1, 2, 7, 2])
    np.testing.assert_array_equal(values, [3.4, 0.9, 0.0, 1.7])


# --- mutants: each a plausible wrong convention --------------------------------------

def _generic(flat, b, *, offset=1, span=None, prev0=-1, lead=True, trailing=False, filler_at=None):
    span = 2 ** b if span is None else span
    filler_at = span + 1 if filler_at is None else filler_at  # the smallest gap that needs a filler
    fields, values = [], []
    prev = prev0
    for p in np.flatnonzero(flat):
        while (lead or values) and p - prev >= filler_at:
            prev += span
            fields.append(span - offset)
            values.append(0.0)
        fields.append(p - prev - offset)
        values.append(flat[p])
        prev = p
    if trailing:
        while len(flat) - 1 - prev > 0:
            step = min(span, len(flat) - 1 - prev)
            prev += step
            fields.append(step - offset)
            values.append(0.0)
    return np.array(fields, dtype=np.int64), np.array(values)


def stores_position_difference(flat, b):
    # the paper's "diff" row read literally: gap stored, filler once the gap no longer fits
    return _generic(flat, b, offset=0, span=2 ** b - 1)


def filler_one_too_early(flat, b):
    return _generic(flat, b, span=2 ** b - 1)


def filler_at_exact_gap(flat, b):
    # `>=` instead of `>`: a gap of exactly 2**b gets a filler it does not need
    return _generic(flat, b, filler_at=2 ** b)


def first_from_zero(flat, b):
    return _generic(flat, b, prev0=0)


def no_leading_fillers(flat, b):
    return _generic(flat, b, lead=False)


def stores_trailing_zeros(flat, b):
    return _generic(flat, b, trailing=True)


def absolute_positions(flat, b):
    p = np.flatnonzero(flat)
    return p.astype(np.uint32), flat[p]


def swapped(flat, b):
    fields, values = relative_index(flat, b)
    return values, fields


def float_fields(flat, b):
    fields, values = relative_index(flat, b)
    return fields.astype(float), values


@pytest.mark.parametrize("mutant, hint", [
    (stores_position_difference, "not the position difference"),
    (filler_one_too_early, "one position too early"),
    (filler_at_exact_gap, "`>`, not `>=`"),
    (first_from_zero, "position -1"),
    (no_leading_fillers, "before the first non-zero needs fillers"),
    (stores_trailing_zeros, "zeros after the last non-zero are not stored"),
    (absolute_positions, "absolute positions"),
    (swapped, "in this order"),
    (float_fields, "should be integers"),
])
def test_mutants_are_rejected_with_a_hint(mutant, hint):
    result = check_relative_index.evaluate(mutant)
    assert not result
    assert "\u2718" in result.report
    assert hint in result.report, result.report


def test_a_gap_of_exactly_2_to_the_b_is_tested():
    # the `>=` mutant is right on every gap but one of exactly 2**b: the case built for it must catch it
    result = check_relative_index.evaluate(filler_at_exact_gap)
    assert "case 3 of" in result.report and "exactly 2**b" in result.report, result.report


# --- stubs, crashes, wrong types ---------------------------------------------------

def test_a_stub_reports_not_implemented():
    def stub(flat, b):
        raise NotImplementedError("relative_index: write your code here")

    result = check_relative_index.evaluate(stub)
    assert not result and "not implemented yet" in result.report


def test_an_exception_becomes_a_failed_result():
    result = check_relative_index.evaluate(lambda flat, b: flat[len(flat) + 5])
    assert not result and "IndexError" in result.report


@pytest.mark.parametrize("bad", [
    lambda flat, b: None,
    lambda flat, b: np.zeros(3),
    lambda flat, b: ([1, 2], [3.0, 4.0]),
    lambda flat, b: (np.zeros((1, 2), dtype=np.uint32), np.zeros(2)),
    lambda flat, b: (np.zeros(100, dtype=np.uint32), np.zeros(100)),
    lambda flat, b: ("fields", "values"),
])
def test_wrong_shapes_and_types_fail_without_raising(bad):
    result = check_relative_index.evaluate(bad)
    assert not result and "\u2718" in result.report


def test_a_failing_check_raises_without_being_asked(monkeypatch):
    monkeypatch.delenv("DEEPCOMPRESS_CHECKS_RAISE", raising=False)
    with pytest.raises(AssertionError, match="check_relative_index"):
        check_relative_index(first_from_zero)
    assert check_relative_index(relative_index) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_random_cases(seed):
    assert check_relative_index.evaluate(relative_index, seed=seed)
    assert not check_relative_index.evaluate(first_from_zero, seed=seed)
