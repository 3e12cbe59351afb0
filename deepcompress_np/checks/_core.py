"""The machinery behind every ``check_<name>(fn)``: run a student's function against the reference.

A check runs the student's function and the library's reference on the same
inputs (fresh copies for each, so neither can spoil the other's), compares
the results case by case, and prints a report: one line when every case
passes; otherwise how many cases pass, and for the first failing one what was
tried, what was expected, what came back, and a short hint aimed at the likely
mistake.

How a check ends is what an autograder reads (see ``tutorials/README.md``):

* every case passes: the report is printed and the check returns ``None``,
  so the cell has no value for nbgrader to misread as partial credit;
* any case fails: the report is printed, then :class:`CheckFailed` (a
  subclass of ``AssertionError``) is raised, so the cell ends in an error and
  nbgrader gives it no points. Nothing in the environment changes that.

Three things fail a check besides a wrong answer:

* the function is the library's own reference, a wrapper of it, or calls it
  (each check names the library functions an answer may not call; while the
  student's function runs, their code is swapped for a trip wire);
* the function changes one of its input arrays in place;
* the function raises (a stub's ``NotImplementedError`` included), unless
  the check expects that kind of error: with ``run_check(..., raises=(ValueError,))``
  a case on which the reference raises ``ValueError`` expects the student's
  function to raise one too (both outcomes reach ``compare`` as :class:`Raised`).

Warnings and ``stderr`` output of the student's function are caught and shown
in the report instead: nbgrader gives a cell that writes to ``stderr`` no
points, and a correct answer that warns should not lose them.

``evaluate`` (attached to every check as ``check_<name>.evaluate``) returns the
:class:`CheckResult` instead of printing and raising, for tests and for tools.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import io
import math
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

PASS, FAIL = "\u2714", "\u2718"  # check mark, cross
_MORE_FAILURES_LISTED = 3  # failing cases named after the first one's details
_MAX_DEPTH = 20  # how deep inputs are compared for changes made in place


@dataclass
class Case:
    """One input to try: a short description and the arguments."""

    description: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


class CheckResult:
    """What a check found. True if every case passed; its text is the report.

    Attributes
    ----------
    name : str
    passed : bool
    n_cases, n_passed : int
    report : str
    """

    def __init__(self, name, passed, n_cases, report, n_passed=None):
        self.name, self.passed, self.n_cases, self.report = name, passed, n_cases, report
        self.n_passed = (n_cases if passed else 0) if n_passed is None else n_passed

    def __bool__(self):
        return self.passed

    def __str__(self):
        return self.report

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle):  # IPython/Jupyter display
        printer.text(self.report)


class CheckFailed(AssertionError):
    """A check found a wrong answer (its report was printed just before). ``.result`` holds the CheckResult."""

    def __init__(self, result):
        self.result = result
        super().__init__(f"check_{result.name} failed: {result.n_passed} of {result.n_cases} cases pass "
                         f"(the report is printed above)")


class Raised:
    """The outcome of a call that raised one of the errors a check expects (``run_check(raises=...)``).

    Attributes
    ----------
    error : Exception
    """

    def __init__(self, error):
        self.error = error

    def __repr__(self):
        return f"raises {type(self.error).__name__}({str(self.error)!r})"


class UsedReference(Exception):
    """Raised inside a student's function that called the library's own reference."""


def finish(result):
    """Print ``result``'s report; raise :class:`CheckFailed` if it failed, else return None."""
    print(result.report)
    if not result.passed:
        raise CheckFailed(result)
    return None


def exercise_check(evaluate):
    """Turn ``evaluate(fn, seed=None) -> CheckResult`` into the notebook's ``check_<name>(fn, seed=None)``.

    The check prints the report and returns None on success, raises
    :class:`CheckFailed` otherwise; ``check.evaluate`` is ``evaluate`` itself.
    """
    @functools.wraps(evaluate)
    def check(fn, seed=None):
        return finish(evaluate(fn, seed=seed))

    check.evaluate = evaluate
    return check


def random_or_fixed(fixed_cases, random_cases, seed, n_random=8):
    """The cases to run: the fixed, visible ones, or ``n_random`` cases drawn from ``seed``.

    Hidden tests call a check with a ``seed`` that only the instructor's
    notebook holds; the cases are then drawn by ``random_cases(rng, n)``.
    """
    if seed is None:
        return fixed_cases()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative int (or None for the visible cases), got {seed!r}")
    return random_cases(np.random.default_rng(int(seed)), n_random)


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


@contextlib.contextmanager
def _quietly():
    """No warnings from the check's own arithmetic: a cell that writes to stderr gets no points in nbgrader."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _safely(fn, *args):
    """Call a comparison or diagnosis helper; a result too strange to inspect becomes a message."""
    try:
        with _quietly():
            return fn(*args)
    except Exception as e:  # e.g. a ragged list or a string where numbers were expected
        return f"the result could not be inspected ({type(e).__name__}: {e})"


def _hint(fn, *args):
    """Call a hint helper; a hint is a courtesy, so one that fails gives no hint rather than a crash."""
    try:
        with _quietly():
            return fn(*args)
    except Exception:
        return None


# ---------------------------------------------------------------------------
# Catching the library's own reference: identity, wrappers, calls
# ---------------------------------------------------------------------------

def _unwrapped(fn, limit=20):
    """``fn`` and every callable it visibly wraps (functools.wraps, partial, bound methods)."""
    chain = []
    while fn is not None and len(chain) < limit:
        chain.append(fn)
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif inspect.ismethod(fn):
            fn = fn.__func__
        else:
            fn = getattr(fn, "__wrapped__", None)
    return chain


def _code(fn):
    return getattr(fn, "__code__", None)


def is_reference(fn, forbidden):
    """The forbidden function ``fn`` is (or visibly wraps), or None."""
    for inner in _unwrapped(fn):
        for ref in forbidden:
            for ref_inner in _unwrapped(ref):
                if inner is ref_inner or (_code(inner) is not None and _code(inner) is _code(ref_inner)):
                    return ref
    return None


_TRIPPED = []  # names of forbidden functions called while a student's function ran


def _trip_wire(*args, **kwargs):
    # This code object replaces a forbidden function's code while a student's
    # function runs; it runs with that function's globals, so it imports
    # what it needs by absolute name.
    import deepcompress_np.checks._core as core

    core._TRIPPED.append(True)
    raise core.UsedReference("called the library's own reference function")


@contextlib.contextmanager
def _trip_wires(forbidden):
    """While inside, every forbidden function (and what it wraps) records a call and raises UsedReference."""
    patched = []
    try:
        for ref in forbidden:
            for inner in _unwrapped(ref):
                if inspect.isfunction(inner) and not inner.__closure__ and inner.__code__ is not _trip_wire.__code__:
                    patched.append((inner, inner.__code__))
                    inner.__code__ = _trip_wire.__code__
        del _TRIPPED[:]
        yield _TRIPPED
    finally:
        for inner, code in reversed(patched):
            inner.__code__ = code


def _qualname(fn):
    module = getattr(fn, "__module__", None) or ""
    return f"{module}.{getattr(fn, '__qualname__', getattr(fn, '__name__', repr(fn)))}".lstrip(".")


# ---------------------------------------------------------------------------
# Inputs changed in place
# ---------------------------------------------------------------------------

def _unchanged(before, after, depth=0):
    """True if ``after`` still equals ``before`` (arrays: same shape, dtype and values, NaN == NaN).

    Containers are compared item by item (an item replaced by a different
    number counts as a change), and a plain object (one with a ``__dict__``,
    such as a fitted model holding arrays) attribute by attribute, down to
    ``_MAX_DEPTH`` levels.
    """
    if depth > _MAX_DEPTH:
        return True
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape and before.dtype == after.dtype
                and bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")))
    if isinstance(before, (list, tuple)):
        return (type(before) is type(after) and len(before) == len(after)
                and all(_unchanged(a, b, depth + 1) for a, b in zip(before, after)))
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(_unchanged(before[k], after[k], depth + 1) for k in before))
    state = getattr(before, "__dict__", None)
    if isinstance(state, dict) and not callable(before):  # a plain object: compare its attributes
        return type(before) is type(after) and _unchanged(state, getattr(after, "__dict__", None), depth + 1)
    if depth == 0:
        return True  # a number, a string or None given as an argument cannot change in place
    try:  # an item of a container or an attribute: it may have been replaced
        return before is after or bool(before == after) or bool(before != before and after != after)  # NaN
    except Exception:  # a comparison without a single truth value: nothing to go on
        return True


def _argument_names(fn, case):
    """The parameter name of each positional argument of ``case`` (``argument i`` if unknown)."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"argument {i + 1}" for i in range(len(case.args))]


def _changed_inputs(fn, case, given_args, given_kwargs):
    names = _argument_names(fn, case)
    changed = [names[i] for i, (before, after) in enumerate(zip(case.args, given_args))
               if not _unchanged(before, after)]
    changed += [k for k in case.kwargs if not _unchanged(case.kwargs[k], given_kwargs[k])]
    return changed


# ---------------------------------------------------------------------------
# Running the student's function on one case
# ---------------------------------------------------------------------------

@dataclass
class _Call:
    got: object = None
    error: BaseException = None
    used_reference: bool = False
    changed: list = field(default_factory=list)
    noise: str = ""  # warnings and stderr output, shown in the report instead of on stderr


def _call_student(fn, case, forbidden, raises=()):
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    call = _Call()
    stderr = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
        warnings.simplefilter("always")
        with _trip_wires(forbidden) as tripped:
            try:
                call.got = fn(*args, **kwargs)
            except Exception as e:  # the student's bug, reported, never re-raised
                call.error = e
            call.used_reference = bool(tripped)
    if raises and isinstance(call.error, raises) and not call.used_reference:
        call.got, call.error = Raised(call.error), None  # an expected error is an answer, for compare to judge
    notes = [f"{w.category.__name__}: {w.message}" for w in caught[:2]]
    if stderr.getvalue().strip():
        notes.append("wrote to stderr: " + stderr.getvalue().strip().splitlines()[0][:160])
    call.noise = "; ".join(notes)
    if call.error is None and not call.used_reference:
        call.changed = _changed_inputs(fn, case, args, kwargs)
    return call


def run_check(name, student_fn, reference_fn, cases, compare, diagnose=None, on_exception=None, forbidden=(),
              hidden=False, raises=()):
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
    forbidden : sequence of callable, optional
        Library functions the answer must not be, wrap or call (``reference_fn``
        is always one of them).
    hidden : bool
        Whether these are the hidden cases (only changes the report's wording).
    raises : tuple of exception types, optional
        Errors that are an answer, not a crash: when the reference raises one
        (a case of invalid input), or the student's function does, the
        outcome reaches ``compare`` and ``diagnose`` as a :class:`Raised`
        holding the error; ``compare`` decides whether it is right.

    Returns
    -------
    CheckResult
        Every case is run (a wrong case does not stop the others), so
        ``n_passed`` counts the cases passed; a stub, a call of the reference
        or a non-callable fails all cases at once.
    """
    n = len(cases)
    kind = "hidden cases" if hidden else "cases"

    def failed(text, n_passed=0):
        return CheckResult(name, False, n, text, n_passed)

    if not callable(student_fn):
        return failed(f"{FAIL} check_{name}: expected a function, got {type(student_fn).__name__}")
    fn_name = getattr(student_fn, "__name__", name)
    forbidden = tuple(forbidden) + (reference_fn,)
    library = ", ".join(_qualname(f) for f in forbidden[:-1]) or "the check's own reference"
    same = is_reference(student_fn, forbidden)
    if same is not None:
        return failed(f"{FAIL} check_{name}: {fn_name} is the library's own implementation ({_qualname(same)}), "
                      f"not yours. Write the function body yourself; the library is there to compare with.")
    failures, note = [], None
    for i, case in enumerate(cases, 1):
        with _quietly():
            try:
                expected = reference_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            except tuple(raises) as e:  # an invalid input: the answer is to raise
                expected = Raised(e)
        call = _call_student(student_fn, case, forbidden, tuple(raises))
        if call.used_reference:
            return failed(f"{FAIL} check_{name}: {fn_name} calls the library's own implementation ({library}) "
                          f"instead of computing the answer itself. Write the function body yourself.")
        if isinstance(call.error, NotImplementedError):
            return failed(f"{FAIL} check_{name}: {fn_name} is not implemented yet -- replace "
                          f"`raise NotImplementedError` with your code, run the cell, then this check.")
        if call.noise and note is None:
            note = f"  note:     case {i} ({case.description}): {call.noise}"
        head = f"{FAIL} check_{name}: case {i} of {n} ({case.description})"
        if call.error is not None:
            e = call.error
            where = traceback.extract_tb(e.__traceback__)[-1]
            lines = [f"{head} raised {type(e).__name__}: {e}",
                     f"  tried:    {_call_text(fn_name, case)}",
                     f"  at line {where.lineno}: {where.line}",
                     f"  expected: {_short(expected)}"]
            hint = _hint(on_exception, e, case) if on_exception else None
        elif call.changed:
            names = ", ".join(f"`{c}`" for c in call.changed)
            lines = [f"{head}: {fn_name} changed its input {names} in place",
                     f"  tried:    {_call_text(fn_name, case)}"]
            hint = (f"the caller still needs {names} as it was: compute the result in a new array "
                    f"(e.g. start from a copy, `x = x.copy()`) instead of assigning into the input.")
        else:
            problem = _safely(compare, call.got, expected, case)
            if not problem:
                continue
            lines = [f"{head}: {problem}",
                     f"  tried:    {_call_text(fn_name, case)}",
                     f"  expected: {_short(expected)}",
                     f"  got:      {_short(call.got)}"]
            hint = _hint(diagnose, call.got, expected, case) if diagnose else None
        if hint:
            lines.append(f"  hint:     {hint}")
        failures.append((i, case, lines))
    n_passed = n - len(failures)
    if not failures:
        report = f"{PASS} check_{name}: all {n} {kind} pass"
        return CheckResult(name, True, n, report + ("\n" + note if note else ""), n_passed)
    lines = list(failures[0][2])
    others = [f"case {i} ({case.description})" for i, case, _ in failures[1:]]
    if others:
        shown = others[:_MORE_FAILURES_LISTED]
        more = f" and {len(others) - len(shown)} more" if len(others) > len(shown) else ""
        lines.append(f"  also failing: {'; '.join(shown)}{more}")
    if note:
        lines.append(note)
    lines.append(f"  {n_passed} of {n} {kind} pass")
    return failed("\n".join(lines), n_passed)


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


def as_number(value):
    """``(float, None)`` if ``value`` is one real number, else ``(None, what it is)``; never raises."""
    if isinstance(value, (str, bytes)):
        return None, f"the text {value!r:.60}"
    if value is None:
        return None, "None"
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 -- anything unreadable is reported, not raised
        return None, f"a {type(value).__name__}"
    if arr.ndim != 0 and arr.size != 1:
        return None, f"an array of shape {arr.shape}"
    if arr.dtype.kind not in "biuf":
        return None, f"a {type(value).__name__}"
    return float(arr.reshape(())), None


_COUNT_WORDS = {2: "two", 3: "three"}


def read_numbers(got, names):
    """A student's tuple of ``len(names)`` finite numbers: ``(tuple of float, None)`` or ``(None, problem)``.

    Never raises: None (a forgotten ``return``), a single value, the wrong
    count, text, arrays and non-finite numbers each get a message naming
    the result and the fix. A NumPy array of the right length counts as a
    tuple.
    """
    count, listed = len(names), ", ".join(names)
    expected = f"expected {_COUNT_WORDS.get(count, count)} numbers, ({listed})"
    if got is None:
        return None, "the function returned None: did you forget the `return` statement?"
    if isinstance(got, np.ndarray) and got.shape == (count,):
        got = tuple(got)
    if not isinstance(got, (tuple, list)):
        return None, f"{expected}, got {type(got).__name__} {got!r:.60}; return all of them, e.g. `return {listed}`"
    if len(got) != count:
        return None, f"{expected}, got {len(got)} values"
    numbers = []
    for label, value in zip(names, got):
        number, what = as_number(value)
        if number is None:
            return None, f"{label} should be a number, got {what}"
        if not np.isfinite(number):
            return None, f"{label} is {number} (not a finite number)"
        numbers.append(number)
    return tuple(numbers), None


def compare_numbers(names, abs_tol):
    """A ``compare`` for results that are a tuple of named numbers (read by :func:`read_numbers`)."""
    def compare(got, expected, case):
        answer, problem = read_numbers(got, names)
        if problem:
            return problem
        for label, g, e in zip(names, answer, expected):
            if not math.isclose(g, e, rel_tol=1e-9, abs_tol=abs_tol):
                return f"{label} is {g:.10g}, expected {e:.10g}"
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
