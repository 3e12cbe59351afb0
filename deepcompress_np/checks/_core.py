"""The machinery behind every ``check_<name>(fn)``: run a student's function against the reference.

A check runs the student's function and the library's reference on the same
inputs (fresh copies for each, so neither can spoil the other's), compares
the results, and returns a :class:`CheckResult`. Shown in a notebook, the
result is one line when everything passes; otherwise it says which case
failed, what was tried, what was expected, what came back, and a hint aimed
at the likely mistake.

Checks never raise because of what the student's function does: a missing
implementation (``NotImplementedError``), an exception or a wrong shape all
become a clear report. Set the environment variable
``DEEPCOMPRESS_CHECKS_RAISE=1`` to make a failed check raise
``AssertionError`` instead (what nbgrader's autograder needs).
"""

from __future__ import annotations

import copy
import os
import traceback
from dataclasses import dataclass, field

import numpy as np

PASS, FAIL = "\u2714", "\u2718"  # check mark, cross


@dataclass
class Case:
    """One input to try: a short description and the arguments."""

    description: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


class CheckResult:
    """What a check found. True if every case passed; its text is the report."""

    def __init__(self, name, passed, n_cases, report):
        self.name, self.passed, self.n_cases, self.report = name, passed, n_cases, report

    def __bool__(self):
        return self.passed

    def __str__(self):
        return self.report

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle):  # IPython/Jupyter display
        printer.text(self.report)


def _short(value, limit=400):
    """A readable, bounded rendering of an argument or result."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=4, suppress=True, threshold=40, edgeitems=3, linewidth=100):
            text = f"array(shape={value.shape}, dtype={value.dtype}) {value}"
    elif isinstance(value, tuple):
        text = "(" + ", ".join(_short(v, limit // max(1, len(value))) for v in value) + ")"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _call_text(fn_name, case):
    parts = [_short(a, 200) for a in case.args] + [f"{k}={_short(v, 200)}" for k, v in case.kwargs.items()]
    return f"{fn_name}(" + ", ".join(parts) + ")"


def _finish(result):
    if not result.passed and os.environ.get("DEEPCOMPRESS_CHECKS_RAISE"):
        raise AssertionError(result.report)
    return result


def _safely(fn, *args):
    """Call a comparison or diagnosis helper; a result too strange to inspect becomes a message."""
    try:
        return fn(*args)
    except Exception as e:  # e.g. a ragged list or a string where numbers were expected
        return f"the result could not be inspected ({type(e).__name__}: {e})"


def _hint(fn, *args):
    """Call a hint helper; a hint is a courtesy, so one that fails gives no hint rather than a crash."""
    try:
        return fn(*args)
    except Exception:
        return None


def run_check(name, student_fn, reference_fn, cases, compare, diagnose=None, on_exception=None):
    """Run ``student_fn`` and ``reference_fn`` on every case and compare.

    Parameters
    ----------
    name : str
        The exercise's name, as in ``check_<name>``.
    student_fn, reference_fn : callable
    cases : list of Case
    compare : callable (got, expected, case) -> str or None
        None if ``got`` is right, else a sentence saying what differs.
    diagnose : callable (got, expected, case) -> str or None, optional
        A hint for the likely mistake behind a wrong answer.
    on_exception : callable (exception, case) -> str or None, optional
        A hint for the likely mistake behind an exception the student's code raised.

    Returns
    -------
    CheckResult
    """
    fn_name = getattr(student_fn, "__name__", name)
    if not callable(student_fn):
        return _finish(CheckResult(name, False, len(cases),
                                   f"{FAIL} check_{name}: expected a function, got {type(student_fn).__name__}"))
    for i, case in enumerate(cases, 1):
        expected = reference_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        try:
            got = student_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except NotImplementedError:
            return _finish(CheckResult(name, False, len(cases),
                                       f"{FAIL} check_{name}: {fn_name} is not implemented yet -- replace "
                                       f"`raise NotImplementedError` with your code, run the cell, then this check."))
        except Exception as e:  # the student's bug, reported, never re-raised
            where = traceback.extract_tb(e.__traceback__)[-1]
            lines = [
                f"{FAIL} check_{name}: case {i} of {len(cases)} ({case.description}) raised "
                f"{type(e).__name__}: {e}",
                f"  tried:    {_call_text(fn_name, case)}",
                f"  at line {where.lineno}: {where.line}",
                f"  expected: {_short(expected)}",
            ]
            hint = _hint(on_exception, e, case) if on_exception else None
            if hint:
                lines.append(f"  hint:     {hint}")
            return _finish(CheckResult(name, False, len(cases), "\n".join(lines)))
        problem = _safely(compare, got, expected, case)
        if problem:
            hint = _hint(diagnose, got, expected, case) if diagnose else None
            lines = [
                f"{FAIL} check_{name}: case {i} of {len(cases)} ({case.description}): {problem}",
                f"  tried:    {_call_text(fn_name, case)}",
                f"  expected: {_short(expected)}",
                f"  got:      {_short(got)}",
            ]
            if hint:
                lines.append(f"  hint:     {hint}")
            return _finish(CheckResult(name, False, len(cases), "\n".join(lines)))
    return _finish(CheckResult(name, True, len(cases), f"{PASS} check_{name}: all {len(cases)} cases pass"))


def compare_arrays(names=None, rtol=1e-5, atol=1e-7, exact=False):
    """A ``compare`` for results that are an array or a tuple of arrays (named for the report)."""
    def compare(got, expected, case):
        single = not isinstance(expected, tuple)
        exp = (expected,) if single else expected
        if single:
            got = (got,)
        elif isinstance(got, list):
            got = tuple(got)  # a list of results is as good as a tuple
        if not isinstance(got, tuple) or len(got) != len(exp):
            return f"expected a tuple of {len(exp)} results, got {_short(got, 80)}"
        labels = names or [f"result {j}" for j in range(len(exp))]
        for label, g, e in zip(labels, got, exp):
            if np.isscalar(e) and not isinstance(e, np.ndarray):
                if not np.isscalar(g) and np.ndim(g) != 0:
                    return f"{label} should be a number, got {_short(g, 80)}"
                if not np.isclose(float(g), float(e), rtol=rtol, atol=atol):
                    return f"{label} is {float(g):.6g}, expected {float(e):.6g}"
                continue
            g = np.asarray(g)
            if g.shape != np.shape(e):
                return f"{label} has shape {g.shape}, expected {np.shape(e)}"
            if exact or e.dtype.kind in "biu":
                if not np.array_equal(g, e):
                    bad = np.argwhere(g != e)
                    return f"{label} differs at {len(bad)} positions, first at index {tuple(bad[0])}"
            elif not np.allclose(g, e, rtol=rtol, atol=atol):
                return f"{label} differs: largest error {np.max(np.abs(g - e)):.3g}"
        return None
    return compare


def close(a, b, rtol=1e-5, atol=1e-7):
    """True if two results (arrays or tuples of arrays) match in shape and value."""
    try:
        if isinstance(b, tuple):
            return isinstance(a, tuple) and len(a) == len(b) and all(close(x, y, rtol, atol) for x, y in zip(a, b))
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)
    except (TypeError, ValueError):
        return False
