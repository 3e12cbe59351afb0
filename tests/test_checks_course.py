"""The checks of the course's larger exercises: the solutions pass, plausible mistakes are caught and named."""

import numpy as np
import pytest

from deepcompress_np import sparse
from deepcompress_np.checks import CheckFailed, check_choose_keep_fractions, check_from_relative_index
from deepcompress_np.checks._core import CheckResult

NOTEBOOK_SEEDS = {"choose_keep_fractions": 40119, "from_relative_index": 50224}  # tutorials 01 and 02


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
    result = check_choose_keep_fractions.evaluate(choose_keep_fractions)
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
    result = check_choose_keep_fractions.evaluate(mutant)
    assert not result
    assert hint in result.report, result.report


def test_a_stub_and_a_non_dict_are_rejected():
    assert "not implemented yet" in check_choose_keep_fractions.evaluate(stub).report
    result = check_choose_keep_fractions.evaluate(lambda c, f, b: list(choose_keep_fractions(c, f, b).values()))
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
    result = check_from_relative_index.evaluate(from_relative_index)
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
    result = check_from_relative_index.evaluate(mutant)
    assert not result
    assert hint in result.report, result.report


def test_the_decoder_check_reports_a_stub_as_not_implemented():
    assert "not implemented yet" in check_from_relative_index.evaluate(stub).report


def test_the_librarys_keep_fractions_for_budget_is_refused_and_still_rejects_bad_input():
    from deepcompress_np.prune import keep_fractions_for_budget

    result = check_choose_keep_fractions.evaluate(keep_fractions_for_budget)
    assert not result and "library's own implementation" in result.report, result.report
    result = check_choose_keep_fractions.evaluate(lambda c, f, b: keep_fractions_for_budget(c, f, b))
    assert not result and "calls the library's own" in result.report, result.report
    assert "prune.keep_fractions_for_budget" in result.report
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        keep_fractions_for_budget({"a": [0.1]}, [1.0], 0.1)
    with pytest.raises(ValueError, match="2 errors for 3 fractions"):
        keep_fractions_for_budget({"a": [0.1, 0.2]}, [0.0, 0.5, 0.9], 0.1)
    with pytest.raises(TypeError, match="budget must be a number"):
        keep_fractions_for_budget({"a": [0.1]}, [0.0], "1%")


def test_choose_keep_fractions_hidden_cases_pass_the_solution_and_catch_every_mistake():
    for seed in (0, 1, 2, NOTEBOOK_SEEDS["choose_keep_fractions"]):
        result = check_choose_keep_fractions.evaluate(choose_keep_fractions, seed=seed)
        assert result and "hidden cases pass" in result.report, result.report
        for mutant in (returns_pruned, strict_less, zero_when_nothing_fits, stops_at_first_violation,
                       assumes_sorted):
            assert not check_choose_keep_fractions.evaluate(mutant, seed=seed), (mutant.__name__, seed)


def test_choose_keep_fractions_that_changes_its_input_is_named():
    def sorts_in_place(curves, fractions_pruned, budget):
        """Right, but it sorts the curves in the caller's dict (and the fractions in the caller's list)."""
        order = np.argsort(fractions_pruned)
        for name in curves:
            curves[name] = list(np.asarray(curves[name])[order])
        fractions_pruned[:] = list(np.asarray(fractions_pruned)[order])
        return choose_keep_fractions(curves, fractions_pruned, budget)

    result = check_choose_keep_fractions.evaluate(sorts_in_place)
    assert not result and "changed its input `curves`, `fractions_pruned` in place" in result.report, result.report


def test_the_checks_print_and_return_none_or_raise(capsys):
    assert check_choose_keep_fractions(choose_keep_fractions) is None
    assert check_from_relative_index(from_relative_index) is None
    assert capsys.readouterr().out.count("\u2714") == 2
    with pytest.raises(CheckFailed, match="check_choose_keep_fractions"):
        check_choose_keep_fractions(strict_less)
    with pytest.raises(CheckFailed, match="check_from_relative_index"):
        check_from_relative_index(forgets_plus_one, seed=3)
    assert "use <=, not <" in capsys.readouterr().out


def test_the_decoder_checks_own_reference_is_refused_but_the_same_code_written_out_passes():
    """The reference is run as it is (no wrapper), so only the reference itself is judged to be the library's."""
    from deepcompress_np.checks.course import _decode_reference

    result = check_from_relative_index.evaluate(_decode_reference)
    assert not result and "library's own implementation" in result.report, result.report
    assert isinstance(check_from_relative_index.evaluate(from_relative_index), CheckResult)
    assert check_from_relative_index.evaluate(from_relative_index)


@pytest.mark.parametrize("answer, message", [
    (sparse.from_relative_index, "is the library's own implementation (deepcompress_np.sparse.relative_indexing"),
    (lambda fields, values, shape: sparse.from_relative_index(fields, values, shape, 32), "calls the library's own"),
    (lambda fields, values, shape: sparse.RelativeIndex(np.asarray(fields), np.asarray(values), None, shape,
                                                        32).to_dense(), "calls the library's own"),
])
def test_the_librarys_decoder_imported_wrapped_or_called_is_refused(answer, message):
    result = check_from_relative_index.evaluate(answer)
    assert not result and message in result.report, result.report
    assert result.n_passed == 0
    flat = np.array([0.0, 1.5, 0.0, 0.0, -2.0], dtype=np.float32)  # the library works again afterwards
    ri = sparse.relative_index(flat, b=2)
    assert np.array_equal(sparse.from_relative_index(ri.fields, ri.values, flat.shape, 2), flat)


def test_a_decoder_built_on_the_librarys_positions_from_fields_is_refused():
    def uses_positions(fields, values, shape):
        values = np.asarray(values)
        if len(fields) != len(values):
            raise ValueError("lengths")
        positions = sparse.positions_from_fields(fields)
        dense = np.zeros(int(np.prod(shape)), dtype=values.dtype)
        if positions.size and positions[-1] >= dense.size:
            raise ValueError("too long")
        dense[positions] = values
        return dense.reshape(shape)

    result = check_from_relative_index.evaluate(uses_positions)
    assert not result and "calls the library's own" in result.report, result.report
    assert "positions_from_fields" in result.report


def test_a_decoder_that_changes_its_fields_in_place_is_named():
    def adds_one_in_place(fields, values, shape):
        fields = np.asarray(fields)  # no copy: += below writes into the caller's array
        values = np.asarray(values)
        if fields.size != values.size:
            raise ValueError("lengths")
        fields += 1
        positions = np.cumsum(fields.astype(np.int64)) - 1
        size = int(np.prod(shape))
        if positions.size and positions[-1] >= size:
            raise ValueError("too long")
        dense = np.zeros(size, dtype=values.dtype)
        dense[positions] = values
        return dense.reshape(shape)

    result = check_from_relative_index.evaluate(adds_one_in_place)
    assert not result and "changed its input `fields` in place" in result.report, result.report


def test_a_decoder_that_raises_valueerror_on_a_valid_stream_fails():
    def refuses_everything(fields, values, shape):
        raise ValueError("no")

    result = check_from_relative_index.evaluate(refuses_everything)
    assert not result and "raised ValueError(no) on a valid stream" in result.report, result.report
    assert result.n_passed == 2  # only the two invalid streams


def test_from_relative_index_hidden_cases_pass_the_solution_and_catch_every_mistake():
    for seed in (0, 1, 2, NOTEBOOK_SEEDS["from_relative_index"]):
        result = check_from_relative_index.evaluate(from_relative_index, seed=seed)
        assert result and "hidden cases pass" in result.report, result.report
        for mutant in (forgets_plus_one, forgets_minus_one, overflows_uint8, always_float64, forgets_reshape,
                       no_length_guard, no_bounds_guard):
            assert not check_from_relative_index.evaluate(mutant, seed=seed), (mutant.__name__, seed)


def test_the_same_seed_draws_the_same_hidden_cases():
    from deepcompress_np.checks.course import _choose_random_cases, _decode_random_cases

    for draw in (_choose_random_cases, _decode_random_cases):
        a, b = draw(np.random.default_rng(7), 8), draw(np.random.default_rng(7), 8)
        assert [c.description for c in a] == [c.description for c in b]
        assert all(np.array_equal(x.args[0 if draw is _decode_random_cases else 1],
                                  y.args[0 if draw is _decode_random_cases else 1]) for x, y in zip(a, b))
