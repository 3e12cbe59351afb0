"""Checks for tutorial 00, the mini neural net: a linear layer's backward pass and the loss.

Every later stage of Deep Compression (paper §2 pruning, §3 trained
quantization) retrains the network, so it rests on two pieces of ordinary
back-propagation written by hand: the gradients of a fully connected layer
and the gradient of the softmax cross-entropy loss. The two exercises of
tutorial 00 ask for exactly those, and the checks below compare a student's
version with the library's (``deepcompress_np.nn.Linear`` and
``deepcompress_np.nn.softmax_cross_entropy``) on small inputs, edge cases
included. When an answer is wrong, the hint names the likely mistake: a
transposed weight gradient, a bias gradient averaged instead of summed, a
missing 1/N, a loss summed instead of averaged, an ``exp`` that overflows.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.checks._core import Case, compare_arrays, exercise_check, random_or_fixed, run_check
from deepcompress_np.nn import Linear
from deepcompress_np.nn import softmax_cross_entropy as _library_softmax_cross_entropy

__all__ = ["check_linear_backward", "check_softmax_cross_entropy"]


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

def _same(got, value, rtol=1e-6, atol=1e-9):
    """True if ``got`` has the shape of ``value`` and matches it (NaN never matches)."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == np.shape(value) and bool(np.allclose(got, value, rtol=rtol, atol=atol))


def _has_nonfinite(*values):
    """True if any of ``values`` is numeric and holds nan or inf."""
    for value in values:
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if not np.all(np.isfinite(array)):
            return True
    return False


def _as_tuple(got, length):
    """The student's result as a tuple of ``length`` items, or None if it is not one."""
    if isinstance(got, list):
        got = tuple(got)
    return got if isinstance(got, tuple) and len(got) == length else None


def _with_exception_hint(fn, hint):
    """Wrap ``fn`` so that an exception it raises carries ``hint(*args)`` in its message.

    ``run_check`` reports an exception with the student's line and message but
    gives no hint; a shape error in a matrix product is the most common
    exception here, and the shapes involved are what the student needs to see.
    The exception keeps its type and traceback (the report still points at the
    student's line).
    """
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as e:
            if len(e.args) == 1 and isinstance(e.args[0], str):
                e.args = (f"{e.args[0]}\n  hint:     {hint(*args, **kwargs)}",)
            raise

    wrapped.__name__ = getattr(fn, "__name__", "your_function")
    wrapped.__wrapped__ = fn  # so that the check still sees (and names) the student's own function
    return wrapped


# ---------------------------------------------------------------------------
# Exercise 1: the backward pass of a fully connected layer
# ---------------------------------------------------------------------------

def _reference_linear_backward(dout, x, W):
    """The library's answer: run ``Linear``'s forward then backward pass with these weights."""
    layer = Linear(W.shape[1], W.shape[0], rng=0).astype(x.dtype)
    layer.params["W"] = W.copy()
    layer.forward(x)
    dx = layer.backward(dout)
    return dx, layer.grads["W"], layer.grads["b"]


def _linear_cases():
    rng = np.random.default_rng(0)

    def case(description, n, n_in, n_out, integers=False):
        def draw(*shape):
            if integers:  # small whole numbers, easy to check by hand in the report
                return rng.integers(-3, 4, size=shape).astype(np.float64)
            return rng.standard_normal(shape)

        return Case(description, (draw(n, n_out), draw(n, n_in), draw(n_out, n_in)))

    return [
        case("small whole numbers, N=2, in=3, out=4", 2, 3, 4, integers=True),
        case("a single example, N=1, in=3, out=2", 1, 3, 2),
        case("square weights, in = out = 3, N=4", 4, 3, 3),
        case("N=5, in=6, out=4", 5, 6, 4),
    ]


def _linear_random_cases(rng, n_cases):
    """Hidden cases: random sizes (1 to 7) and values, some with a single example or square weights."""
    cases = []
    for i in range(n_cases):
        n, n_in, n_out = (int(v) for v in rng.integers(1, 8, size=3))
        if i % 4 == 1:
            n_out = n_in  # square weights: a transposed product runs but is wrong
        scale = float(rng.choice([0.1, 1.0, 10.0]))
        args = tuple(scale * rng.standard_normal(shape) for shape in ((n, n_out), (n, n_in), (n_out, n_in)))
        cases.append(Case(f"random, N={n}, in={n_in}, out={n_out}", args))
    return cases


def _linear_shapes_hint(dout, x, W):
    n, n_out = dout.shape
    n_in = x.shape[1]
    return (f"the shapes here are dout {dout.shape} = (N, out), x {x.shape} = (N, in), W {W.shape} = (out, in); "
            f"each gradient has the shape of what it differentiates: dx ({n}, {n_in}), dW ({n_out}, {n_in}), "
            f"db ({n_out},). Pick the product whose shapes give that.")


def _diagnose_linear_backward(got, expected, case):
    dout, x, W = case.args
    got = _as_tuple(got, 3)
    if got is None:
        return "return the three gradients as a tuple: return dx, dW, db"
    dx, dW, db = got
    n = dout.shape[0]
    if not _same(dW, expected[1]):
        if _same(dW, x.T @ dout):
            return ("dW is transposed: x.T @ dout has shape (in, out), but a gradient always has the shape of "
                    "what it differentiates, here W's (out, in). Use dW = dout.T @ x.")
        if n > 1 and _same(dW, expected[1] / n):
            return ("dW is divided by N: the 1/N of the mean loss is already inside dout, so sum the "
                    "per-example contributions (dout.T @ x) without dividing again.")
    if not _same(db, expected[2]):
        if n > 1 and _same(db, dout.mean(axis=0)):
            return ("db is averaged over the batch; it must be summed: db = dout.sum(axis=0). The 1/N of the "
                    "mean loss is already inside dout.")
        if _same(db, dout.sum(axis=0, keepdims=True)):
            return "db has shape (1, out); drop keepdims so it has b's shape (out,): db = dout.sum(axis=0)."
        if _same(db, dout.sum(axis=1)):
            return "db sums over the wrong axis: sum over the batch (axis=0), one number per output unit."
        if _same(db, dout.sum()):
            return "db sums over everything; sum over the batch only (axis=0), one number per output unit."
    if not _same(dx, expected[0]):
        if _same(dx, dout @ W.T):
            return ("dx uses W.T: with W of shape (out, in), dout (N, out) @ W (out, in) gives dx (N, in). "
                    "(It only ran because W is square here.)")
        if n > 1 and _same(dx, dout @ W / n):
            return "dx is divided by N; dx = dout @ W, each example's gradient on its own."
    return None


@exercise_check
def check_linear_backward(fn, seed=None):
    """Check ``fn(dout, x, W) -> (dx, dW, db)``, the backward pass of ``out = x @ W.T + b``.

    The exercise asks for the gradients of the loss with respect to the
    layer's input, weights and bias, given ``dout``, its gradient with respect
    to the output: ``dout`` has shape (N, out), ``x`` (N, in), ``W`` (out, in);
    ``dx`` must have shape (N, in), ``dW`` (out, in) and ``db`` (out,), each
    summed over the N examples of the batch (``dout`` already carries the 1/N
    of the mean loss). The cases include a single example and square weights,
    where a transposed product gives the right shape and the wrong numbers.

    With ``seed`` (hidden tests), random cases drawn from that seed are run
    instead of the visible ones. The answer may not call ``Linear.backward``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    student = _with_exception_hint(fn, _linear_shapes_hint) if callable(fn) else fn
    return run_check("linear_backward", student, _reference_linear_backward,
                     random_or_fixed(_linear_cases, _linear_random_cases, seed),
                     compare_arrays(names=["dx", "dW", "db"], rtol=1e-6, atol=1e-9), _diagnose_linear_backward,
                     forbidden=(Linear.backward,), hidden=seed is not None)


# ---------------------------------------------------------------------------
# Exercise 2: softmax cross-entropy, the loss and its gradient
# ---------------------------------------------------------------------------

def _reference_softmax_cross_entropy(logits, y):
    return _library_softmax_cross_entropy(logits, y)


def _softmax_cases():
    rng = np.random.default_rng(1)
    return [
        Case("two examples, three classes", (np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]), np.array([0, 1]))),
        Case("all logits equal: loss log(5)", (np.zeros((4, 5)), np.array([0, 1, 2, 4]))),
        Case("one example", (np.array([[0.5, -1.5, 2.0, 0.0]]), np.array([2]))),
        Case("huge logits, ~1000 (exp overflows unless you subtract the maximum)",
             (np.array([[1000.0, 1001.0, 999.0], [-1000.0, 0.0, 1000.0]]), np.array([1, 0]))),
        Case("MNIST-sized rows, N=6, C=10, repeated labels",
             (3 * rng.standard_normal((6, 10)), np.array([3, 3, 0, 9, 3, 7]))),
    ]


def _softmax_random_cases(rng, n_cases):
    """Hidden cases: random N (1 to 8) and C (2 to 12), logits of scale 1 to 1000, repeated labels."""
    cases = []
    for _ in range(n_cases):
        n, c = int(rng.integers(1, 9)), int(rng.integers(2, 13))
        scale = float(rng.choice([0.5, 3.0, 800.0]))
        cases.append(Case(f"random, N={n}, C={c}, logits of scale {scale:g}",
                          (scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n))))
    return cases


def _stable_softmax(z, axis=1):
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def _diagnose_softmax_cross_entropy(got, expected, case):
    logits, y = case.args
    got = _as_tuple(got, 2)
    if got is None:
        return "return the loss and its gradient as a tuple: return loss, dlogits"
    loss, dlogits = got
    exp_loss, exp_grad = expected
    n = logits.shape[0]
    rows = np.arange(n)
    p = _stable_softmax(logits)
    onehot = np.zeros_like(p)
    onehot[rows, y] = 1
    if _has_nonfinite(loss, dlogits):
        if np.abs(logits).max() > 500:
            return ("the result holds nan or inf: np.exp overflows for logits near 1000 (and 0/0 appears when "
                    "every exp underflows). Subtract each row's maximum first, z - z.max(axis=1, keepdims=True): "
                    "the softmax does not change, and the largest exponent becomes exp(0) = 1.")
        return ("the result holds nan or inf although these logits are small: look for log(0) or a division "
                "by zero.")
    # Mistakes in the loss
    if not _same(loss, exp_loss):
        if np.shape(loss) == (n,) and n > 1:
            return "the loss holds one number per example; return their mean, a single number."
        if n > 1 and _same(loss, exp_loss * n):
            return "the loss is summed over the batch; the exercise asks for the mean: divide by N."
        if _same(loss, -np.log(p[:, y]).mean()):
            return ("p[:, y] picks every label's column in every row (an N x N block); pick one entry per row, "
                    "p[np.arange(N), y].")
        if _same(loss, -np.log(_stable_softmax(logits, axis=0)[rows, y]).mean()):
            return ("the softmax is normalised over the batch (axis=0); each row is one example, so normalise "
                    "over the classes: axis=1, keepdims=True.")
        if _same(loss, np.log(p[rows, y]).mean()):
            return "the loss has the wrong sign: it is -log p[y], which is >= 0."
    # Mistakes in the gradient
    if not _same(dlogits, exp_grad):
        if n > 1 and _same(dlogits, exp_grad * n):
            return ("dlogits is missing the 1/N: the loss is a mean over the batch, so its gradient is "
                    "(p - onehot) / N.")
        if _same(dlogits, -exp_grad):
            return "dlogits has the wrong sign: the gradient is (p - onehot) / N, not (onehot - p) / N."
        if _same(dlogits, p / n) or _same(dlogits, p):
            return "dlogits is the softmax alone; subtract 1 at each example's true class: (p - onehot) / N."
        wrong_columns = p.copy()
        wrong_columns[:, y] -= 1
        if _same(dlogits, wrong_columns / n) or _same(dlogits, wrong_columns):
            return ("dlogits[:, y] -= 1 subtracts 1 in every row at every label's column; subtract it once per "
                    "row at that row's label: dlogits[np.arange(N), y] -= 1.")
        if _same(dlogits, (p - y[:, None]) / n) or _same(dlogits, p - y[:, None]):
            return ("y holds class numbers (0 to C-1), not one-hot rows; build the one-hot matrix, or subtract 1 "
                    "at dlogits[np.arange(N), y].")
        if _same(dlogits, (_stable_softmax(logits, axis=0) - onehot) / n):
            return ("the softmax is normalised over the batch (axis=0); each row is one example, so normalise "
                    "over the classes: axis=1, keepdims=True.")
    return None


def _softmax_shapes_hint(logits, y):
    return (f"logits has shape {np.shape(logits)} = (N, C) and y {np.shape(y)} = (N,) holds class numbers; "
            f"return a number (the mean loss) and dlogits of shape {np.shape(logits)}")


@exercise_check
def check_softmax_cross_entropy(fn, seed=None):
    """Check ``fn(logits, y) -> (loss, dlogits)``, the softmax cross-entropy loss and its gradient.

    The exercise asks for the mean over the batch of ``-log softmax(logits)[n, y[n]]``
    as a number, and its gradient ``(softmax(logits) - onehot(y)) / N`` with the
    shape (N, C) of ``logits``; ``y`` holds integer class labels. The function
    must be numerically stable: one case has logits around 1000, where a
    direct ``np.exp`` overflows. With ``seed`` (hidden tests), random cases
    drawn from that seed are run instead of the visible ones. The answer may
    not call ``deepcompress_np.nn.softmax_cross_entropy``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    student = _with_exception_hint(fn, _softmax_shapes_hint) if callable(fn) else fn
    return run_check("softmax_cross_entropy", student, _reference_softmax_cross_entropy,
                     random_or_fixed(_softmax_cases, _softmax_random_cases, seed),
                     compare_arrays(names=["loss", "dlogits"], rtol=1e-6, atol=1e-9),
                     _diagnose_softmax_cross_entropy, forbidden=(_library_softmax_cross_entropy,),
                     hidden=seed is not None)
