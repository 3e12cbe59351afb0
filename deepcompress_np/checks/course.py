"""Checks for the course's two larger exercises (tutorials 01 and 02).

* ``choose_keep_fractions(curves, fractions_pruned, budget) -> dict`` (01):
  turn sensitivity curves (Han et al. 2015 §5, Figure 6; one layer pruned at a
  time, no retraining, validation error) into a per-layer pruning recipe:
  for every layer, the smallest kept fraction whose validation error stays
  within the budget; checked by :func:`check_choose_keep_fractions` against
  :func:`deepcompress_np.prune.keep_fractions_for_budget`.
* ``from_relative_index(fields, values, shape) -> ndarray`` (02): the decoder
  of relative indexing with filler zeros (paper §2, Figure 2): rebuild the
  dense layer from its fields (zeros skipped before each entry) and values,
  and refuse, with a ValueError, a stream that does not fit the layer;
  checked by :func:`check_from_relative_index`.

Like every check, each tries small inputs built to expose one likely mistake
and, on a wrong answer, names it by recomputing what that mistake returns.
With a ``seed`` (the hidden tests), each runs random cases drawn from it
instead. An answer may not be, wrap or call the library's own version
(:func:`~deepcompress_np.prune.keep_fractions_for_budget`;
:func:`~deepcompress_np.sparse.from_relative_index` and
:func:`~deepcompress_np.sparse.positions_from_fields`), nor change its inputs.
The decoder's check expects a ``ValueError`` for an invalid stream: it runs
with ``run_check(..., raises=(ValueError,))``, so the student's function is
run as it is (not wrapped) and the reference raises like any reader.
"""

from __future__ import annotations

import math

import numpy as np

from deepcompress_np.checks._core import Case, Raised, _short, exercise_check, random_or_fixed, run_check
from deepcompress_np.prune import keep_fractions_for_budget
from deepcompress_np.sparse import from_relative_index as _library_from_relative_index
from deepcompress_np.sparse import positions_from_fields as _library_positions_from_fields
from deepcompress_np.sparse import relative_index as _library_relative_index

__all__ = ["check_choose_keep_fractions", "check_from_relative_index"]


# ----------------------------------------------------------------------------
# Tutorial 01: from sensitivity curves to kept fractions
# ----------------------------------------------------------------------------

def _choose_reference(curves, fractions_pruned, budget):
    return keep_fractions_for_budget(curves, fractions_pruned, budget)


def _choose_cases():
    fractions = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95]
    curves = {"ip1": [0.010, 0.010, 0.011, 0.012, 0.027, 0.093],
              "ip2": [0.010, 0.011, 0.012, 0.018, 0.124, 0.482],
              "ip3": [0.010, 0.010, 0.011, 0.016, 0.040, 0.134]}
    at_budget = {"a": [0.01, 0.012, 0.015, 0.020]}
    bumpy = {"a": [0.010, 0.013, 0.011, 0.030]}  # not monotonic: 0.7 pruned is within, 0.5 is not
    return [
        Case("three layers, budget 1.5% validation error", (curves, fractions, 0.015)),
        Case("three layers, budget 3%", (curves, fractions, 0.03)),
        Case("an error exactly at the budget is within it", (at_budget, [0.0, 0.5, 0.7, 0.9], 0.015)),
        Case("no fraction is within the budget: keep the whole layer", (curves, fractions, 0.005)),
        Case("the fractions pruned in decreasing order", ({"a": [0.05, 0.02, 0.01]}, [0.9, 0.5, 0.0], 0.03)),
        Case("a curve that is not monotonic", (bumpy, [0.0, 0.5, 0.7, 0.9], 0.012)),
    ]


def _choose_random_cases(rng, n_cases):
    """Hidden cases: 1 to 4 layers, 3 to 8 fractions (sorted, reversed or shuffled, 0 included or not),
    curves rising with noise, every other one dipping back within the budget after a rise above it, and
    budgets exactly at an error of the curves, or below a whole curve."""
    cases = []
    for i in range(n_cases):
        n = int(rng.integers(3, 9))
        fractions = np.sort(rng.choice(np.arange(1, 100), size=n, replace=False) / 100)
        if i % 2 == 0:
            fractions[0] = 0.0
        order = ("sorted", "reversed", "shuffled")[i % 3]
        if order == "reversed":
            fractions = fractions[::-1].copy()
        elif order == "shuffled":
            fractions = rng.permutation(fractions)
        names = [f"layer{j}" for j in range(int(rng.integers(1, 5)))]
        curves = {}
        for name in names:
            errors = rng.uniform(0.005, 0.03) + rng.uniform(0.02, 0.5) * fractions ** rng.uniform(2.0, 8.0)
            if i % 2:  # a bumpy curve: not monotonic
                errors = errors + rng.uniform(-0.01, 0.01, size=n)
            curves[name] = np.round(np.abs(errors), 4)
        every = np.concatenate(list(curves.values()))
        if i % 4 == 3:  # one curve entirely over the budget: that layer keeps everything
            budget = float(np.round(rng.uniform(every.min(), np.median(every)), 4))
            curves[names[0]] = np.round(curves[names[0]] + (budget - curves[names[0]].min()) + 0.001, 4)
        else:  # a budget equal to one of the errors: that fraction is within it
            budget = float(rng.choice(every))
        if i % 2 and (i % 4 != 3 or len(names) > 1):  # back within the budget after a rise above it
            ascending, j = np.argsort(fractions), int(rng.integers(1, n))
            dip = curves[names[-1]]
            dip[ascending[j - 1]] = np.round(budget + rng.uniform(0.001, 0.02), 4)
            dip[ascending[j]] = budget
        if i % 2:
            curves = {name: [float(e) for e in errors] for name, errors in curves.items()}
            fractions = [float(f) for f in fractions]
        cases.append(Case(f"random: {len(names)} layer(s), {n} fractions ({order}), budget {budget:.4f}",
                          (curves, fractions, budget)))
    return cases


def _compare_choice(got, expected, case):
    if not isinstance(got, dict):
        return f"expected a dict {{layer name: kept fraction}}, got {type(got).__name__}"
    if set(got) != set(expected):
        return f"the keys are {sorted(got)}, expected the layer names {sorted(expected)}"
    for name, value in expected.items():
        try:
            g = float(got[name])
        except (TypeError, ValueError):
            return f"{name}: expected a number, got {_short(got[name], 80)}"
        if not math.isclose(g, value, abs_tol=1e-9):
            return f"{name}: kept fraction {g:.4g}, expected {value:.4g}"
    return None


def _choose_mistakes(curves, fractions_pruned, budget):
    pruned = np.asarray(fractions_pruned, dtype=np.float64)
    nothing = {n: 0.0 for n in curves}
    yield nothing, "when no fraction stays within the budget, prune nothing: keep 1.0 of the layer."
    yield ({n: float(v) for n, v in
            {n: 1.0 - c for n, c in _choose_reference(curves, fractions_pruned, budget).items()}.items()},
           "return the fraction KEPT, 1 - fraction pruned (keep 5% of a layer = prune 95%).")
    strict = {}
    for name, errors in curves.items():
        within = pruned[np.asarray(errors) < budget]
        strict[name] = float(1.0 - within.max()) if within.size else 1.0
    yield strict, "an error equal to the budget is within it: use <=, not <."
    prefix = {}
    for name, errors in curves.items():
        order = np.argsort(pruned)
        best = 1.0
        for i in order:
            if errors[i] > budget:
                break
            best = 1.0 - pruned[i]
        prefix[name] = float(best)
    yield prefix, ("you stopped at the first fraction over the budget; the task asks for the smallest kept "
                   "fraction whose error is within it, wherever it is on the curve.")
    last = {}
    for name, errors in curves.items():
        idx = [i for i, e in enumerate(errors) if e <= budget]
        last[name] = float(1.0 - pruned[idx[-1]]) if idx else 1.0
    yield last, ("do not assume fractions_pruned is sorted: take the largest fraction pruned among those "
                 "within the budget (e.g. with a boolean mask and .max()).")


def _diagnose_choice(got, expected, case):
    for wrong, hint in _choose_mistakes(*case.args):
        if _compare_choice(wrong, expected, case) and not _compare_choice(got, wrong, case):
            return hint
    return None


@exercise_check
def check_choose_keep_fractions(choose_keep_fractions, seed=None):
    """Check ``choose_keep_fractions(curves, fractions_pruned, budget) -> {layer: kept fraction}``.

    ``curves[name][i]`` is the validation error with only layer ``name``
    pruned by ``fractions_pruned[i]`` (no retraining). For each layer the
    answer is ``1 - f`` for the largest ``f`` whose error is ``<= budget``,
    or 1.0 when none is. The cases include an error exactly at the budget,
    no fraction within it, fractions in decreasing order and a curve that is
    not monotonic. With ``seed`` (hidden tests), random cases drawn from that
    seed are run instead. The answer may not call
    ``deepcompress_np.prune.keep_fractions_for_budget``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("choose_keep_fractions", choose_keep_fractions, _choose_reference,
                     random_or_fixed(_choose_cases, _choose_random_cases, seed), _compare_choice,
                     _diagnose_choice, forbidden=(keep_fractions_for_budget,), hidden=seed is not None)


# ----------------------------------------------------------------------------
# Tutorial 02: the relative-index decoder
# ----------------------------------------------------------------------------

def _decode_reference(fields, values, shape):
    fields = np.asarray(fields).astype(np.int64)
    values = np.asarray(values)
    if fields.shape != values.shape:
        raise ValueError(f"fields and values must have the same length, got {fields.size} and {values.size}")
    size = math.prod(shape)
    positions = np.cumsum(fields + 1) - 1
    if positions.size and positions[-1] >= size:
        raise ValueError(f"the fields reach position {positions[-1]}, past the end of a layer of {size} weights")
    dense = np.zeros(size, dtype=values.dtype)
    dense[positions] = values
    return dense.reshape(shape)


def _decode_cases():
    fig2_fields = np.array([1, 2, 7, 2], dtype=np.uint32)
    fig2_values = np.array([3.4, 0.9, 0.0, 1.7])
    wide_fields = np.array([255, 255, 3], dtype=np.uint8)  # b = 8: two fillers, then a weight at 515
    wide_values = np.array([0.0, 0.0, -0.5], dtype=np.float32)
    return [
        Case("the paper's Figure 2 (b = 3): entries at 1, 4, 12 (filler) and 15", (fig2_fields, fig2_values, (16,))),
        Case("a 2-D layer of shape (3, 4), first entry at position 0",
             (np.array([0, 0, 3, 5], dtype=np.uint32), np.array([1.0, -2.0, 0.5, 4.0]), (3, 4))),
        Case("nothing stored: an all-zero layer", (np.array([], dtype=np.uint32), np.array([]), (2, 3))),
        Case("float32 values keep their dtype", (np.array([2, 0], dtype=np.uint32),
                                                 np.array([0.25, -0.75], dtype=np.float32), (5,))),
        Case("8-bit fields stored as uint8, two fillers with the largest field 255",
             (wide_fields, wide_values, (600,))),
        Case("the fields run past the end of the layer: ValueError",
             (np.array([3, 4], dtype=np.uint32), np.array([1.0, 2.0]), (8,))),
        Case("fields and values of different lengths: ValueError",
             (np.array([0, 1, 2], dtype=np.uint32), np.array([1.0, 2.0]), (10,))),
    ]


def _decode_random_cases(rng, n_cases):
    """Hidden cases, four kinds in turn: 8-bit fields as uint8 with fillers (field 255) in a 2-D layer,
    a stream running past the layer (ValueError), fields and values of different lengths (ValueError),
    and any layer of 1 to 3 dimensions with float32 values or uint8 cluster symbols, empty at times."""
    cases = []
    for i in range(n_cases):
        kind = i % 4
        if kind == 0:
            shape, b = (int(rng.integers(20, 40)), int(rng.integers(30, 50))), 8
        else:
            shape, b = tuple(int(v) for v in rng.integers(1, 12, size=int(rng.integers(1, 4)))), int(rng.integers(2, 9))
        size = math.prod(shape)
        density = float(rng.choice([0.0, 0.05, 0.2, 0.6])) if kind == 3 else float(rng.choice([0.05, 0.2]))
        flat = np.round(rng.uniform(-1.0, 1.0, size), 3) * (rng.random(size) < density)
        if kind == 0:  # a gap longer than 2**8: fillers whose field is 255
            start = int(rng.integers(0, size - 300))
            flat[start:start + 300] = 0.0
            flat[start + int(rng.integers(257, 300))] = 0.5
        if kind != 3 and not flat.any():
            flat[int(rng.integers(0, size))] = 0.25
        if kind == 3 and i % 8 == 7:  # cluster symbols, as a quantized layer stores them
            flat = (np.abs(flat) * 15).astype(np.uint8)
        stream = _library_relative_index(flat.reshape(shape), b)
        values = stream.values.astype(np.float32) if stream.values.dtype.kind == "f" else stream.values
        fields = stream.fields.astype(np.uint8 if b <= 8 and kind != 1 else (np.uint32, np.int64)[int(rng.integers(2))])
        what = f"random {shape} layer, b = {b}, {fields.size} entries, {fields.dtype} fields, {values.dtype} values"
        if kind == 1:  # the last entry moved past the end of the layer
            positions = np.cumsum(fields.astype(np.int64) + 1) - 1
            fields[-1] += size - positions[-1] + int(rng.integers(0, 3))
            what += ", the last one past the end: ValueError"
        elif kind == 2:  # one value too many or too few
            values = values[:-1] if rng.random() < 0.5 else np.append(values, values.dtype.type(1))
            what += f" but {values.size} values: ValueError"
        cases.append(Case(what, (fields, values, shape)))
    return cases


def _compare_decoded(got, expected, case):
    if isinstance(expected, Raised):
        if isinstance(got, Raised):
            return None
        return "a stream that does not fit the layer must raise ValueError, naming the problem"
    if isinstance(got, Raised):
        return f"raised ValueError({got.error}) on a valid stream"
    if not isinstance(got, np.ndarray):
        return f"expected a numpy array, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"the layer has shape {got.shape}, expected {expected.shape}"
    if got.dtype != expected.dtype:
        return f"the layer has dtype {got.dtype}, expected {expected.dtype} (the dtype of values)"
    if not np.array_equal(got, expected):
        wrong = np.argwhere(got != expected)
        return f"the layer differs at {len(wrong)} positions, first at index {tuple(int(i) for i in wrong[0])}"
    return None


def _decode_mistakes(fields, values, shape):
    size = math.prod(shape)
    values = np.asarray(values)

    def place(positions):
        dense = np.zeros(size, dtype=values.dtype)
        ok = positions[(positions >= 0) & (positions < size)]
        dense[ok] = values[(positions >= 0) & (positions < size)]
        return dense.reshape(shape)

    f64 = np.asarray(fields).astype(np.int64)
    yield place(np.cumsum(f64) if f64.size else f64), (
        "a field counts the zeros skipped, so the step from one stored entry to the next is field + 1.")
    yield place(np.cumsum(f64 + 1) if f64.size else f64), (
        "the first entry is counted from the imaginary position -1: positions are cumsum(fields + 1) - 1.")
    native = np.asarray(fields)
    yield place((np.cumsum(native + 1) - 1).astype(np.int64) if native.size else f64), (
        "`fields + 1` overflows in the fields' own small integer type (255 + 1 = 0 in uint8): convert the "
        "fields to int64 first, e.g. fields.astype(np.int64).")
    dense = place(np.cumsum(f64 + 1) - 1 if f64.size else f64)
    yield dense.astype(np.float64), "create the layer with the dtype of values (np.zeros(..., dtype=values.dtype))."
    yield dense.ravel(), "reshape the decoded vector to `shape` (row-major, as the layer was flattened)."


def _diagnose_decoded(got, expected, case):
    if isinstance(expected, Raised):
        return ("check the stream before writing: the last position, cumsum(fields + 1)[-1] - 1, must be smaller "
                "than the layer's size, and fields and values must have the same length; raise ValueError "
                "saying which is wrong.")
    if isinstance(got, Raised):
        return ("this stream is valid: its last position, counted from the imaginary position -1 as "
                "cumsum(fields + 1)[-1] - 1, lies inside the layer; compare that with the layer's size.")
    for wrong, hint in _decode_mistakes(*case.args):
        if _compare_decoded(wrong, expected, case) and not _compare_decoded(got, wrong, case):
            return hint
    return None


def _decode_exception(error, case):
    fields = np.asarray(case.args[0])
    if fields.dtype.kind == "u" and fields.dtype.itemsize < 8 and (fields == np.iinfo(fields.dtype).max).any():
        return ("`fields + 1` overflows in the fields' own small integer type (255 + 1 = 0 in uint8): convert the "
                "fields to int64 first, e.g. fields.astype(np.int64).")
    if isinstance(error, IndexError):
        return ("a position fell outside the layer: either the positions are off (cumsum(fields + 1) - 1) or "
                "this stream is invalid and should raise ValueError before anything is written.")
    return None


@exercise_check
def check_from_relative_index(from_relative_index, seed=None):
    """Check ``from_relative_index(fields, values, shape) -> ndarray of shape ``shape````.

    The decoder of relative indexing (paper §2, Figure 2; the convention of
    :mod:`deepcompress_np.sparse.relative_indexing`): entry j sits at position
    ``sum_{i <= j} (fields[i] + 1) - 1`` of the row-major flattened layer and
    holds ``values[j]`` (fillers hold 0). The result has the dtype of
    ``values``; a stream whose positions run past the layer, or whose fields
    and values differ in length, raises ValueError. The cases include the
    paper's Figure 2, a 2-D layer, an empty stream, uint8 fields of 255 and
    both invalid streams. With ``seed`` (hidden tests), random cases drawn
    from that seed are run instead. The answer may not call
    ``deepcompress_np.sparse.from_relative_index`` or ``positions_from_fields``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("from_relative_index", from_relative_index, _decode_reference,
                     random_or_fixed(_decode_cases, _decode_random_cases, seed), _compare_decoded,
                     _diagnose_decoded, _decode_exception,
                     forbidden=(_library_from_relative_index, _library_positions_from_fields),
                     hidden=seed is not None, raises=(ValueError,))
