"""Checks for tutorial 02 (sparse storage, paper §2 and Figure 2).

One exercise, ``relative_index(flat, b) -> (fields, values)``: store a 1-D
pruned vector with ``b``-bit relative indices and filler zeros, following the
convention of :mod:`deepcompress_np.sparse.relative_indexing`:

* an imaginary stored entry sits at position -1;
* each stored entry keeps the number of zeros skipped since the previous one,
  ``p_j - p_{j-1} - 1``, which must fit in ``0 .. 2**b - 1``, so one field
  spans a gap ``p_j - p_{j-1}`` of up to ``2**b``;
* a longer gap gets filler entries (value 0, field ``2**b - 1``), each
  ``2**b`` positions after the previous stored entry;
* zeros after the last non-zero are not stored.

:func:`check_relative_index` compares against
:func:`deepcompress_np.sparse.relative_index` on the paper's Figure 2 and on
edge cases (gaps of exactly ``2**b`` and ``2**b + 1``, a long leading run of
zeros, trailing zeros, an all-zero vector), and names the likely mistake by
recomputing what the common wrong conventions would have returned.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.checks._core import Case, _short, exercise_check, random_or_fixed, run_check
from deepcompress_np.sparse import relative_index as _library_relative_index

__all__ = ["check_relative_index"]


def _relative_index_reference(flat, b):
    ri = _library_relative_index(np.asarray(flat), b)
    return ri.fields, ri.values


def _cases():
    figure2 = np.zeros(16)
    figure2[[1, 4, 15]] = [3.4, 0.9, 1.7]
    exact_gap = np.zeros(5)
    exact_gap[[0, 4]] = [1.5, -2.0]  # gap 4 = 2**2: fits, no filler
    gap_plus_one = np.zeros(6)
    gap_plus_one[[0, 5]] = [1.5, -2.0]  # gap 5 = 2**2 + 1: one filler at 4
    leading = np.zeros(10)
    leading[9] = 0.7  # gap 10 from position -1: fillers at 3 and 7
    trailing = np.zeros(10)
    trailing[1] = 5.0  # eight zeros after the last non-zero: not stored
    rng = np.random.default_rng(4)
    random = np.round(rng.standard_normal(40), 2) * (rng.random(40) < 0.2)
    return [
        Case("the paper's Figure 2: non-zeros at 1, 4 and 15, b = 3", (figure2, 3)),
        Case("no zeros at all", (np.array([0.5, -1.0, 2.0]), 2)),
        Case("a gap of exactly 2**b = 4 (positions 0 and 4), b = 2: no filler", (exact_gap, 2)),
        Case("a gap of 2**b + 1 = 5 (positions 0 and 5), b = 2: one filler", (gap_plus_one, 2)),
        Case("a long leading run of zeros: first non-zero at 9, b = 2", (leading, 2)),
        Case("trailing zeros after the last non-zero, b = 2", (trailing, 2)),
        Case("b = 1 (gaps up to 2), a negative value", (np.array([-1.0, 0.0, 0.0, 0.0, 2.0]), 1)),
        Case("all zeros: nothing to store", (np.zeros(7), 3)),
        Case("a random sparse vector of length 40, b = 3", (random, 3)),
    ]


def _random_cases(rng, n_cases):
    """Hidden cases: random lengths (1 to 60), densities (0 to 0.6) and widths b = 1..4."""
    cases = []
    for _ in range(n_cases):
        length, b = int(rng.integers(1, 61)), int(rng.integers(1, 5))
        density = float(rng.choice([0.0, 0.05, 0.2, 0.6]))
        flat = np.round(rng.standard_normal(length), 2) * (rng.random(length) < density)
        cases.append(Case(f"random vector of length {length}, density {density}, b = {b}", (flat, b)))
    return cases


def _compare(got, expected, case):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a tuple (fields, values), got {_short(got, 80)}"
    for label, g, e in zip(("fields", "values"), got, expected):
        if not isinstance(g, np.ndarray):
            return f"{label} should be a numpy array, got {type(g).__name__}"
        if g.ndim != 1:
            return f"{label} should be 1-D, got shape {g.shape}"
        if g.shape != e.shape:
            return f"{label} has {g.size} entries, expected {e.size} (the non-zeros plus the fillers)"
    fields, values = got
    if fields.size and fields.dtype.kind not in "ui":
        return f"fields should be integers, got dtype {fields.dtype} (e.g. np.array(fields, dtype=np.uint32))"
    if not np.array_equal(fields, expected[0]):
        first = int(np.flatnonzero(fields != expected[0])[0])
        return f"fields differ, first at entry {first}"
    if not np.allclose(values, expected[1]):
        first = int(np.flatnonzero(~np.isclose(values, expected[1]))[0])
        return f"values differ, first at entry {first}"
    return None


# ----------------------------------------------------------------------------
# Diagnosis: the common wrong conventions, recomputed
# ----------------------------------------------------------------------------

def _variant(flat, b, *, offset=1, filler_when=None, first_prev=-1, leading_fillers=True, inclusive=False):
    """Relative indexing with a configurable (possibly wrong) convention, as plain Python.

    offset : field = gap - offset (1 is right; 0 stores the position difference).
    filler_when : a gap above this gets fillers (right: 2**b when offset is 1).
    first_prev : where the imaginary entry before the first sits (right: -1).
    leading_fillers : whether a long run before the first non-zero gets fillers.
    inclusive : a gap equal to filler_when already gets a filler (``>=`` instead of ``>``).
    Fillers are placed so that each bridged stretch is as long as allowed.
    """
    span = (1 << b) if filler_when is None else filler_when
    fields, values = [], []
    prev = first_prev
    for p in np.flatnonzero(np.asarray(flat) != 0):
        if leading_fillers or values:
            while p - prev > span or (inclusive and p - prev == span):
                prev += span
                fields.append(span - offset)
                values.append(0.0)
        fields.append(int(p - prev - offset))
        values.append(float(flat[p]))
        prev = p
    return np.array(fields), np.array(values)


def _mistakes(flat, b):
    n = 1 << b
    yield (_variant(flat, b, offset=0, filler_when=n - 1),
           "the field stores the number of zeros skipped, gap - 1, not the position difference: a 3-bit field "
           "(0..7) then spans a gap of 8, and a filler is needed only for gaps above 2**b.")
    yield (_variant(flat, b, offset=0),
           "the field stores gap - 1 (the zeros skipped), not the gap p_j - p_{j-1} itself.")
    yield (_variant(flat, b, inclusive=True),
           "a gap of exactly 2**b still fits in one field (2**b - 1 zeros skipped): insert a filler only when "
           "the gap exceeds 2**b (`>`, not `>=`).")
    yield (_variant(flat, b, filler_when=n - 1),
           "a filler is needed only when the gap exceeds 2**b, and it goes 2**b positions after the previous "
           "entry, so its field is 2**b - 1 (zeros skipped); yours come one position too early.")
    yield (_variant(flat, b, first_prev=0),
           "measure the first entry from an imaginary entry at position -1, so its field is its position.")
    yield (_variant(flat, b, leading_fillers=False),
           "a long run of zeros before the first non-zero needs fillers too (its field must also fit in b bits).")


def _diagnose(got, expected, case):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "return two arrays: `return np.array(fields, dtype=np.uint32), np.array(values)`."
    try:
        fields, values = (np.asarray(g) for g in got)
        exp_fields, exp_values = expected
        if np.array_equal(values, exp_fields) and np.allclose(fields, exp_values):
            return "return (fields, values) in this order."
        flat, b = case.args
        if (fields.size > exp_fields.size and np.array_equal(fields[:exp_fields.size], exp_fields)
                and np.all(values[exp_fields.size:] == 0)):
            return "zeros after the last non-zero are not stored: the layer's shape gives the length."
        for (wrong_fields, wrong_values), hint in _mistakes(flat, b):
            same_as_right = wrong_fields.shape == exp_fields.shape and np.array_equal(wrong_fields, exp_fields)
            if (not same_as_right and fields.shape == wrong_fields.shape and np.array_equal(fields, wrong_fields)
                    and values.shape == wrong_values.shape and np.allclose(values, wrong_values)):
                return hint
        nonzero = np.flatnonzero(np.asarray(flat) != 0)
        if fields.shape == nonzero.shape and np.array_equal(fields, nonzero):
            return "those are absolute positions; store the zeros skipped since the previous stored entry."
        if fields.size and fields.max() >= 1 << b:
            return f"every field must fit in b = {b} bits (at most {(1 << b) - 1}); bridge longer gaps with fillers."
    except (TypeError, ValueError):
        return None
    return ("redo the case by hand (positions of the non-zeros, the gaps between them, which gaps exceed "
            "2**b) and compare with `expected` at the first differing entry.")


@exercise_check
def check_relative_index(relative_index, seed=None):
    """Check ``relative_index(flat, b) -> (fields, values)`` (paper §2, Figure 2).

    The exercise asks to store a 1-D vector as relative indices with filler
    zeros: for each stored entry (the non-zeros, plus fillers where a gap is
    too long) a ``b``-bit field holding the number of zeros skipped since the
    previous stored entry (the first measured from position -1), and its
    value (0 for a filler). A filler goes in whenever the gap to the next
    non-zero exceeds ``2**b``, ``2**b`` positions after the previous entry;
    zeros after the last non-zero are not stored. The cases include the
    paper's Figure 2, gaps of exactly ``2**b`` and ``2**b + 1``, a long
    leading run of zeros and trailing zeros. With ``seed`` (hidden tests),
    random cases drawn from that seed are run instead. The answer may not
    call ``deepcompress_np.sparse.relative_index``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("relative_index", relative_index, _relative_index_reference,
                     random_or_fixed(_cases, _random_cases, seed), _compare, _diagnose,
                     forbidden=(_library_relative_index,), hidden=seed is not None)
