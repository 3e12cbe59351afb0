"""The checks of the course's larger exercises: the solutions pass, plausible mistakes are caught and named."""

import numpy as np
import pytest

from deepcompress_np import sparse
from deepcompress_np.checks import check_choose_keep_fractions, check_from_relative_index


# --- choose_keep_fractions (tutorial 01) ------------------------------------------

def choose_keep_fractions(curves, fractions_pruned, budget):
    fractions_pruned = np.asarray(fractions_pruned, dtype=float)
    chosen = {}
    for name, errors in curves.items():
        within = fractions_pruned[np.asarray(errors) <= budget]
        chosen[name] = float(1 - within.max()) if within.size else 1.0
    return chosen


def returns_pruned(curves, fractions_pruned, budget):
    return {n: 1 - f for n, f in choose_keep_fractions(curves, fractions_pruned, budget).items()}


def strict_less(curves, fractions_pruned, budget):
    return choose_keep_fractions(curves, fractions_pruned, budget - 1e-12)


def zero_when_nothing_fits(curves, fractions_pruned, budget):
    fractions_pruned = np.asarray(fractions_pruned, dtype=float)
    out = {}
    for name, errors in curves.items():
        within = fractions_pruned[np.asarray(errors) <= budget]
        out[name] = float(1 - within.max()) if within.size else 0.0
    return out


def stops_at_first_violation(curves, fractions_pruned, budget):
    out = {}
    for name, errors in curves.items():
        best = 1.0
        for i in np.argsort(fractions_pruned):
            if errors[i] > budget:
                break
            best = 1.0 - fractions_pruned[i]
        out[name] = float(best)
    return out


def assumes_sorted(curves, fractions_pruned, budget):
    out = {}
    for name, errors in curves.items():
        idx = [i for i, e in enumerate(errors) if e <= budget]
        out[name] = float(1 - fractions_pruned[idx[-1]]) if idx else 1.0
    return out


def test_the_solution_passes():
    result = check_choose_keep_fractions(choose_keep_fractions)
    assert result and result.n_cases >= 5, result.report


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("mutant, hint", [
    (returns_pruned, "fraction KEPT"),
    (strict_less, "use <=, not <"),
    (zero_when_nothing_fits, "keep 1.0"),
    (stops_at_first_violation, "wherever it is on the curve"),
    (assumes_sorted, "do not assume fractions_pruned is sorted"),
])
def test_choose_keep_fractions_mutants_are_rejected_with_a_hint(mutant, hint):
    result = check_choose_keep_fractions(mutant)
    assert not result
    assert hint in result.report, result.report


def test_a_stub_and_a_non_dict_are_rejected():
    assert "not implemented yet" in check_choose_keep_fractions(stub).report
    result = check_choose_keep_fractions(lambda c, f, b: list(choose_keep_fractions(c, f, b).values()))
    assert not result and "expected a dict" in result.report


# --- from_relative_index (tutorial 02) -----------------------------------------------

def from_relative_index(fields, values, shape):
    fields = np.asarray(fields).astype(np.int64)
    values = np.asarray(values)
    if fields.size != values.size:
        raise ValueError("fields and values differ in length")
    positions = np.cumsum(fields + 1) - 1
    size = int(np.prod(shape))
    if positions.size and positions[-1] >= size:
        raise ValueError(f"position {positions[-1]} is past the end of the layer ({size} weights)")
    dense = np.zeros(size, dtype=values.dtype)
    dense[positions] = values
    return dense.reshape(shape)


def forgets_plus_one(fields, values, shape):
    fields = np.asarray(fields).astype(np.int64)
    positions = np.cumsum(fields)
    dense = np.zeros(int(np.prod(shape)), dtype=np.asarray(values).dtype)
    if positions.size and positions[-1] >= dense.size:
        raise ValueError("too long")
    if len(fields) != len(values):
        raise ValueError("lengths")
    dense[positions] = values
    return dense.reshape(shape)


def forgets_minus_one(fields, values, shape):
    fields = np.asarray(fields).astype(np.int64)
    positions = np.cumsum(fields + 1)
    dense = np.zeros(int(np.prod(shape)), dtype=np.asarray(values).dtype)
    if len(fields) != len(values):
        raise ValueError("lengths")
    if positions.size and positions[-1] >= dense.size:
        raise ValueError("too long")
    dense[positions] = values
    return dense.reshape(shape)


def overflows_uint8(fields, values, shape):
    fields = np.asarray(fields)  # no astype: 255 + 1 wraps to 0 in uint8
    values = np.asarray(values)
    if fields.size != values.size:
        raise ValueError("lengths")
    positions = (np.cumsum(fields + 1) - 1).astype(np.int64)
    size = int(np.prod(shape))
    if positions.size and positions[-1] >= size:
        raise ValueError("too long")
    dense = np.zeros(size, dtype=values.dtype)
    dense[positions] = values
    return dense.reshape(shape)


def always_float64(fields, values, shape):
    return from_relative_index(fields, values, shape).astype(np.float64)


def forgets_reshape(fields, values, shape):
    return from_relative_index(fields, values, shape).ravel()


def no_length_guard(fields, values, shape):
    fields = np.asarray(fields).astype(np.int64)
    positions = np.cumsum(fields + 1) - 1
    dense = np.zeros(int(np.prod(shape)), dtype=np.asarray(values).dtype)
    if positions.size and positions[-1] >= dense.size:
        raise ValueError("too long")
    n = min(len(positions), len(values))
    dense[positions[:n]] = np.asarray(values)[:n]
    return dense.reshape(shape)


def no_bounds_guard(fields, values, shape):
    fields = np.asarray(fields).astype(np.int64)
    if len(fields) != len(values):
        raise ValueError("lengths")
    positions = np.cumsum(fields + 1) - 1
    dense = np.zeros(int(np.prod(shape)), dtype=np.asarray(values).dtype)
    dense[positions] = values  # IndexError past the end
    return dense.reshape(shape)


def test_the_decoder_solution_passes_and_agrees_with_the_library():
    result = check_from_relative_index(from_relative_index)
    assert result and result.n_cases >= 6, result.report
    flat = np.zeros(50, dtype=np.float32)
    flat[[0, 9, 30, 49]] = [1, 2, 3, 4]
    ri = sparse.relative_index(flat, b=3)
    assert np.array_equal(from_relative_index(ri.fields, ri.values, (5, 10)), flat.reshape(5, 10))


@pytest.mark.parametrize("mutant, hint", [
    (forgets_plus_one, "field + 1"),
    (forgets_minus_one, "imaginary position -1"),
    (overflows_uint8, "overflows"),
    (always_float64, "dtype of values"),
    (forgets_reshape, "reshape"),
    (no_length_guard, "same length"),
    (no_bounds_guard, "should raise ValueError"),
])
def test_from_relative_index_mutants_are_rejected_with_a_hint(mutant, hint):
    result = check_from_relative_index(mutant)
    assert not result
    assert hint in result.report, result.report


def test_the_decoder_check_reports_a_stub_as_not_implemented():
    assert "not implemented yet" in check_from_relative_index(stub).report


def test_the_library_version_passes_and_rejects_bad_input():
    from deepcompress_np.prune import keep_fractions_for_budget

    assert check_choose_keep_fractions(keep_fractions_for_budget)
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        keep_fractions_for_budget({"a": [0.1]}, [1.0], 0.1)
    with pytest.raises(ValueError, match="2 errors for 3 fractions"):
        keep_fractions_for_budget({"a": [0.1, 0.2]}, [0.0, 0.5, 0.9], 0.1)
    with pytest.raises(TypeError, match="budget must be a number"):
        keep_fractions_for_budget({"a": [0.1]}, [0.0], "1%")
