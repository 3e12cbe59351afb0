"""Choosing the recipe automatically: the smallest file within a validation-error budget.

The question a student with their own network asks is "how small can it get
if I may lose at most 0.3 points of accuracy?". The recipes in ``recipes.py``
answer it for the two LeNets by hand; :func:`search_recipe` answers it for
any model, in five steps, every one of them measured on the **validation**
split (the test split, if given, is only reported at the end).

1. **Sensitivity, without retraining** (Han et al. 2015 §5, Figure 6: the
   sensitivity curves set each layer's pruning threshold). Each weight
   layer alone is pruned by magnitude to a grid of fractions and the
   validation error measured (:func:`deepcompress_np.prune.sensitivity`).
   A layer's *threshold* ``t_l`` is the smallest kept fraction whose error
   increase stays within the budget (interpolated between grid points).
   A robust layer (LeNet-300-100's ip1) has a small threshold, a sensitive
   one (the last classifier, a first convolution) a large one.

2. **One knob for all layers, weighted by their bytes.** Retraining recovers
   far more than the no-retraining curves suggest (Han et al. 2015 §3.3),
   so the thresholds only *rank* the layers; how far below them to go is
   found by search. Which kept fractions are best for a given total error?
   Model the error a layer adds after retraining as ``A (t_l / k_l)**p``
   (equal ``A`` for every layer: at its threshold every layer adds the same
   error, by definition of ``t_l``), and its bytes as ``n_l k_l`` (``n_l``
   weights). Minimising the bytes for a fixed total error (a Lagrange
   multiplier) gives ``k_l ∝ (t_l**p / n_l)**(1/(p+1))``: a layer keeps more
   the more sensitive it is, and *less the bigger it is*, because the bytes
   saved there are worth most. With ``p = 3`` (the curves of step 1 rise
   steeply past the threshold) and one aggressiveness knob ``a``::

       k_l(a) = min(1, a * (t_l**3 * n_max / n_l) ** (1/4))

   On LeNet-300-100 this reproduces the shape of the hand recipe (ip1 keeps
   least, ip3 most).

3. **Bits per layer from the measured error of weight sharing** (paper §3;
   its Figure 7 shows accuracy against the bits of conv and fc layers). For each
   candidate, after pruning, each layer alone is clustered with 2, 3, ... bits
   without retraining; it gets the fewest bits whose validation error
   increase stays within ``bit_tolerance`` (default a tenth of the budget).
   Layers with few kept weights never get more clusters than weights.

4. **A search over the knob with short retraining.** Every candidate is
   pruned (the base recipe's rounds, ``search_epochs`` per round, optionally
   on a random subset of the training data), quantized with its bits (one
   epoch of centroid fine-tuning) and written to a real file
   (``CompressedModel.from_quantized(...).to_bytes()``, index widths
   ``"auto"``): its *estimated size* is that file's length, its *estimated
   validation error* that of the short-retrained net -- usually pessimistic,
   since the final run retrains longer. The search starts at ``a = 1``,
   widens the bracket by factors of 4 (down while within the budget, up
   while not), then bisects ``log a`` for ``steps`` more candidates.

5. **The final run, verified.** The smallest candidate within the budget is
   compressed with the full retraining schedule of the base recipe
   (:func:`deepcompress_np.pipeline.compress`), and the *final* validation
   error read from the decoded file is checked against the budget. If it
   misses, the search backs off to the next larger candidate within the
   budget (at most ``max_backoffs`` times) before giving up with
   :class:`BudgetError`. The short retraining makes every estimate
   pessimistic; once a final run is within the budget, the search *calibrates*:
   the gap between that candidate's estimate and its final error corrects every
   estimate, the bisection continues below with the corrected estimates, and
   the smallest corrected candidate gets one more final run, kept only if its
   measured validation error is within the budget (and its file smaller);
   up to ``calibration_rounds`` times, each with the gap of the last accepted run.
   A calibrated run that misses is not the end: the next round tries the next
   smallest corrected candidate (one never run in full), so each round either
   accepts a smaller file or rules one candidate out.

The recipe returned keeps the base recipe's retraining schedule and sets
``keep_fraction`` and ``bits`` per layer; ``index_bits`` is ``"auto"`` for
every layer (the width is re-measured on the final weights; the widths the
chosen candidate's file used are recorded in its candidate entry).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.compressed import CompressedModel
from deepcompress_np.pipeline import CompressionResult, compress, copy_model, prune_stage, quantize_stage, \
    resolve_data
from deepcompress_np.progress import progress
from deepcompress_np.prune import sensitivity
from deepcompress_np.quantize import quantize_layer
from deepcompress_np.recipes import COMPRESSION, CompressionRecipe
from deepcompress_np.report import dense_bytes
from deepcompress_np.train import evaluate

#: Fractions pruned for the sensitivity scan (step 1): fine where the thresholds of pruned nets lie.
FRACTIONS_PRUNED = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
#: Bit widths tried per layer (step 3), fewest first.
BIT_CHOICES = (2, 3, 4, 5, 6, 7, 8)
#: A layer keeps at least this many weights (or all it has).
MIN_KEPT_WEIGHTS = 16


class BudgetError(ValueError):
    """No recipe the search tried keeps the validation error within the budget."""


@dataclass
class RecipeSearch:
    """What :func:`search_recipe` found, and everything it tried.

    Attributes
    ----------
    recipe : CompressionRecipe
        The chosen recipe (its final run met the budget).
    budget : float
        Allowed validation-error increase, a fraction (0.003 = 0.3 points).
    reference_val_error : float
        Validation error of the uncompressed model.
    dense_bytes : int
        float32 bytes of all the model's parameters (the ratio's numerator).
    thresholds : dict[layer name, float]
        Step 1: each layer's kept fraction at the budget, without retraining.
    sensitivity : dict[layer name, list of float]
        Step 1's validation errors, aligned with ``fractions_pruned``.
    fractions_pruned : tuple of float
    candidates : list of dict
        One per candidate, in the order tried: ``kind`` ("search": short
        retraining, estimated; "final": the full run, measured), ``knob``,
        ``keep_fraction``, ``bits``, ``index_bits``, ``file_bytes``,
        ``ratio``, ``val_error``, ``within_budget`` (of that error),
        ``gap_used`` (the calibration gap a candidate was judged with, 0
        before calibration), ``seconds``; final runs also hold their
        candidate's ``estimated_val_error`` and ``test_error`` (None without a
        test split).
    chosen : int
        Index in ``candidates`` of the final run that was accepted: the
        smallest file among the final runs within the budget.
    gap : float
        Estimated minus final validation error of the accepted final run the
        last calibration started from (0 without calibration): how much the
        full schedule recovers beyond the short one.
    result : CompressionResult
        That final run (the compressed model and the file's bytes).
    seconds : float
        Wall time of the whole search, final run included.
    """

    recipe: CompressionRecipe
    budget: float
    reference_val_error: float
    dense_bytes: int
    thresholds: dict
    sensitivity: dict
    fractions_pruned: tuple
    candidates: list = field(default_factory=list)
    chosen: int = None
    result: CompressionResult = None
    gap: float = 0.0
    seconds: float = 0.0

    @property
    def val_limit(self):
        """The largest validation error within the budget."""
        return self.reference_val_error + self.budget

    def to_dict(self):
        """JSON-able record (everything but the compressed model itself)."""
        return {"recipe": self.recipe.to_dict(), "budget": self.budget,
                "reference_val_error": self.reference_val_error, "val_limit": self.val_limit,
                "dense_bytes": self.dense_bytes, "thresholds": self.thresholds,
                "sensitivity": {"fractions_pruned": list(self.fractions_pruned), "val_error": self.sensitivity},
                "candidates": self.candidates, "chosen": self.chosen, "gap": self.gap,
                "seconds": round(self.seconds, 1)}


# ----------------------------------------------------------------------------
# Step 1: thresholds from the sensitivity curves
# ----------------------------------------------------------------------------

def kept_threshold(errors, fractions_pruned, reference_error, tolerance):
    """The smallest kept fraction whose error (without retraining) stays within ``tolerance``.

    Walks the curve from the least pruned point and stops at the first one
    whose increase over ``reference_error`` exceeds ``tolerance``; the
    threshold is interpolated linearly between that point and the one before.

    Parameters
    ----------
    errors : sequence of float, aligned with ``fractions_pruned``
    fractions_pruned : increasing sequence of float in [0, 1)
    reference_error, tolerance : float

    Returns
    -------
    float in (0, 1]
    """
    kept = 1.0 - np.asarray(fractions_pruned, dtype=float)
    excess = np.asarray(errors, dtype=float) - reference_error - tolerance
    over = np.flatnonzero(excess > 0)
    if over.size == 0:
        return float(kept[-1])
    i = int(over[0])
    if i == 0:
        return 1.0
    # excess[i-1] <= 0 < excess[i]: where the straight line between them crosses 0.
    w = -excess[i - 1] / (excess[i] - excess[i - 1])
    return float(kept[i - 1] + w * (kept[i] - kept[i - 1]))


# ----------------------------------------------------------------------------
# Step 2: one knob -> kept fractions
# ----------------------------------------------------------------------------

def allocation_weights(thresholds, sizes, steepness=3.0):
    """``g_l = (t_l**p * n_max / n_l) ** (1/(p+1))``: kept fraction of layer l per unit of the knob.

    The Lagrange solution of "fewest kept weights for a given total error"
    when a layer kept at ``k_l`` adds ``(t_l / k_l)**p`` to the error (see the
    module docstring).
    """
    p = float(steepness)
    n_max = max(sizes.values())
    return {name: (thresholds[name] ** p * n_max / sizes[name]) ** (1.0 / (p + 1.0)) for name in thresholds}


def kept_fractions(knob, weights, sizes):
    """``{layer: min(1, knob * g_l)}``, at least :data:`MIN_KEPT_WEIGHTS` weights per layer, 3 significant digits."""
    out = {}
    for name, g in weights.items():
        floor = min(1.0, MIN_KEPT_WEIGHTS / sizes[name])
        out[name] = float(f"{min(1.0, max(floor, knob * g)):.3g}")
    return out


# ----------------------------------------------------------------------------
# Step 3: bits from the error of weight sharing
# ----------------------------------------------------------------------------

def choose_bits(model, masks, X_val, y_val, tolerance, *, bit_choices=BIT_CHOICES, init="linear", seed=0):
    """Per layer, the fewest bits whose k-means weight sharing (no retraining) costs at most ``tolerance``.

    Each layer alone is quantized (the others keep their float weights) and
    the validation error compared with that of ``model`` as it is. A layer
    never gets more than ``kept weights`` clusters; if no width is within the
    tolerance, the layer gets the largest width tried.

    Returns
    -------
    bits : dict[layer name, int]
    scan : dict[layer name, dict[bits, val error]]
    """
    base = evaluate(model, X_val, y_val)
    bits, scan = {}, {}
    for layer in model.weight_layers():
        W = layer.params["W"]
        mask = masks[f"{layer.name}.W"]
        n_kept = int(mask.sum())
        choices = [b for b in bit_choices if 2 ** b <= max(n_kept, 2)] or [min(bit_choices)]
        saved = W.copy()
        scan[layer.name] = {}
        bits[layer.name] = choices[-1]
        for b in choices:
            W[...] = quantize_layer(saved, mask, bits=b, init=init, seed=seed).to_dense()
            error = evaluate(model, X_val, y_val)
            scan[layer.name][b] = error
            if error - base <= tolerance:
                bits[layer.name] = b
                break
        W[...] = saved
    return bits, scan


# ----------------------------------------------------------------------------
# Step 4: one candidate, short retraining, a real file
# ----------------------------------------------------------------------------

def _candidate(model, keep, short_recipe, train, val, *, bit_tolerance, bit_choices, seed, progress_bar):
    """Prune, choose bits, quantize and write the file of one candidate; returns its record."""
    start = time.perf_counter()
    m = copy_model(model)
    recipe = replace(short_recipe, keep_fraction=keep)
    masks = prune_stage(m, recipe, *train, seed=seed, verbose=False, progress_bar=progress_bar)
    bits, _ = choose_bits(m, masks, *val, bit_tolerance, bit_choices=bit_choices, init=recipe.init, seed=seed)
    quantized = quantize_stage(m, masks, recipe, *train, bits=bits, seed=seed, verbose=False,
                               progress_bar=progress_bar)
    names = list(keep)
    compressed = CompressedModel.from_quantized(m, quantized, index_bits={n: "auto" for n in names})
    data = compressed.to_bytes()
    return {"kind": "search", "keep_fraction": keep, "bits": bits,
            "index_bits": {layer.name: int(layer.index_bits) for layer in compressed.layers},
            "file_bytes": len(data), "val_error": evaluate(m, *val), "seconds": round(time.perf_counter() - start, 1)}


def _format(c, dense_bytes, val_limit):
    keep = " ".join(f"{n} {100 * f:.3g}%" for n, f in c["keep_fraction"].items())
    bits = "/".join(str(b) for b in c["bits"].values())
    what = "final, measured" if c["kind"] == "final" else "estimated"
    test = f", test {100 * c['test_error']:.2f}%" if c.get("test_error") is not None else ""
    knob = f"knob {c['knob']:.4g}: " if c.get("knob") is not None else ""
    verdict = f"{'within' if c['within_budget'] else 'OVER'} budget"
    if c["kind"] == "search" and c.get("gap_used"):
        corrected = c["val_error"] - c["gap_used"]
        verdict += (f"; corrected by the {100 * c['gap_used']:.2f}-point gap: {100 * corrected:.2f}% -> "
                    f"{'within' if corrected <= val_limit + 1e-12 else 'OVER'}")
    return (f"{knob}kept {keep}; bits {bits}; {c['file_bytes']:,} B ({dense_bytes / c['file_bytes']:.1f}x); "
            f"val error {100 * c['val_error']:.2f}%{test} ({what}) -> {verdict}  [{c['seconds']} s]")


# ----------------------------------------------------------------------------
# The search
# ----------------------------------------------------------------------------

def _check_budget(budget):
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise TypeError(f"budget must be a number (a fraction: 0.003 = 0.3 percentage points), got {budget!r}")
    if not math.isfinite(budget):
        raise ValueError(f"budget must be a finite number (a fraction: 0.003 = 0.3 percentage points), got {budget!r}")
    if budget <= 0:
        raise ValueError(f"budget must be > 0 (a fraction: 0.003 = 0.3 percentage points), got {budget!r}; "
                         f"with no loss allowed there is nothing to search -- compress with a hand recipe instead")
    if budget >= 1:
        raise ValueError(f"budget is a fraction of the error, below 1 (0.003 = 0.3 percentage points); got "
                         f"{budget!r} -- did you mean {budget / 100:g}?")
    return float(budget)


def default_base(model):
    """The retraining schedule the search keeps: the bundled recipe's for a LeNet, else the defaults."""
    return COMPRESSION.get(model.arch, CompressionRecipe())


def search_recipe(model, train=None, val=None, budget=0.003, *, test=None, base=None, seed=0, data_dir=None,
                  fractions_pruned=FRACTIONS_PRUNED, steepness=3.0, bit_choices=BIT_CHOICES, bit_tolerance=None,
                  search_epochs=1, search_examples=None, steps=4, max_backoffs=2, calibration_rounds=2,
                  verbose=True,
                  progress_bar=False):
    """The smallest compressed file whose validation error stays within ``budget`` (see the module docstring).

    Parameters
    ----------
    model : Sequential
        A trained model with at least one weight layer (not modified).
    train, val : tuple (X, y), optional
        Training and validation data; as for :func:`~deepcompress_np.pipeline.compress`
        (MNIST by default for a 28x28 model; without ``val``, a sixth of ``train``).
    budget : float
        Allowed increase of the validation error over the reference's, as a
        fraction: 0.003 = 0.3 percentage points. Must be in (0, 1).
    test : tuple (X, y), optional
        Only reported (final runs' ``test_error``); never used to choose.
    base : CompressionRecipe, optional
        Supplies the retraining schedule of the final run (rounds, epochs,
        learning rates, shifts, init). Default: :func:`default_base`.
    seed : int
        Seeds every candidate and the final run; the same seed gives the same recipe.
    fractions_pruned : increasing sequence of float in [0, 1)
        The sensitivity scan's grid (step 1).
    steepness : float > 0
        ``p`` of the allocation (step 2).
    bit_choices : increasing sequence of int in 1..16
        Widths tried per layer (step 3).
    bit_tolerance : float, optional
        Error a layer's weight sharing may cost before retraining (default ``budget / 10``).
    search_epochs : int >= 1
        Retraining epochs per pruning round for the candidates (step 4).
    search_examples : int, optional
        Retrain the candidates on a random subset of this many training examples (default: all).
    steps : int >= 0
        Bisection steps after the bracket is found.
    max_backoffs : int >= 0
        How many times a final run that misses the budget is retried with the next larger candidate.
    calibration_rounds : int >= 0
        After a final run within the budget, correct the estimates by how much
        better the full run was than its estimate, search again and try one
        more, smaller candidate with the full schedule (kept only if it meets
        the budget; if it misses, the next round tries the next smallest); at
        most this many times.
    verbose, progress_bar : bool
        A line per candidate; progress bars on the scans.

    Returns
    -------
    RecipeSearch

    Raises
    ------
    ValueError
        A budget <= 0 or >= 1; a model without weight layers; bad options.
    TypeError
        A budget that is not a number; a base that is not a CompressionRecipe.
    BudgetError
        No candidate (not even keeping every weight, only quantized) is
        within the budget, or every final run tried missed it.
    """
    start = time.perf_counter()
    budget = _check_budget(budget)
    names = [layer.name for layer in model.weight_layers()]
    if not names:
        raise ValueError("the model has no weight layers (Linear or Conv2D): there is nothing to compress")
    base = default_base(model) if base is None else base
    if not isinstance(base, CompressionRecipe):
        raise TypeError(f"base must be a CompressionRecipe, got {type(base).__name__}")
    _check_options(fractions_pruned, steepness, bit_choices, bit_tolerance, search_epochs, search_examples, steps,
                   max_backoffs, calibration_rounds)
    bit_tolerance = budget / 10 if bit_tolerance is None else float(bit_tolerance)
    (X, y), val, test = resolve_data(model, train, val, test, data_dir=data_dir, seed=seed)
    model = copy_model(model)
    if model.input_shape is None:
        model.input_shape = tuple(X.shape[1:])
    say = print if verbose else (lambda *a, **k: None)

    # Step 1: sensitivity and thresholds.
    reference = evaluate(model, *val)
    curves = {}
    for name in progress(names, desc="sensitivity", enabled=progress_bar):
        curves[name] = [float(e) for e in sensitivity(model, *val, fractions_pruned, layers=[name])[name]]
    thresholds = {n: kept_threshold(curves[n], fractions_pruned, reference, budget) for n in names}
    sizes = {layer.name: int(layer.params["W"].size) for layer in model.weight_layers()}
    weights = allocation_weights(thresholds, sizes, steepness)
    search = RecipeSearch(recipe=None, budget=budget, reference_val_error=reference, dense_bytes=dense_bytes(model),
                          thresholds=thresholds, sensitivity=curves, fractions_pruned=tuple(fractions_pruned))
    say(f"reference val error {100 * reference:.2f}%, budget {100 * budget:.2f} points -> at most "
        f"{100 * search.val_limit:.2f}%")
    say("thresholds (kept fraction at the budget, no retraining): " +
        ", ".join(f"{n} {100 * t:.3g}%" for n, t in thresholds.items()))

    # Step 4: the candidates, on a subset of the training data if asked.
    short_train = (X, y)
    if search_examples is not None and search_examples < len(X):
        pick = np.sort(np.random.default_rng(seed).choice(len(X), size=search_examples, replace=False))
        short_train = (X[pick], y[pick])
    short = replace(base, prune_epochs=search_epochs, quant_epochs=1)
    knob_max = max(1.0 / g for g in weights.values())  # every layer keeps everything
    tried = {}

    def run(knob, gap=0.0):
        keep = kept_fractions(knob, weights, sizes)
        key = tuple(keep.values())
        if key in tried:  # rounding made two knobs the same recipe
            return tried[key]
        c = _candidate(model, keep, short, short_train, val, bit_tolerance=bit_tolerance, bit_choices=bit_choices,
                       seed=seed, progress_bar=progress_bar)
        c.update(knob=knob, ratio=search.dense_bytes / c["file_bytes"],
                 within_budget=bool(c["val_error"] <= search.val_limit + 1e-12), gap_used=gap)
        search.candidates.append(c)
        tried[key] = c
        say(f"candidate {len(search.candidates)}: " + _format(c, search.dense_bytes, search.val_limit), flush=True)
        return c

    def admissible(c, gap):
        """Is the candidate's estimate, corrected by ``gap``, within the budget?"""
        return c["val_error"] - gap <= search.val_limit + 1e-12

    def explore(good, bad, gap):
        """From a knob within the budget: divide by 4 until one is not, then bisect ``log knob``."""
        knob = good
        while bad is None and knob * max(weights.values()) > 1e-4:
            knob /= 4
            if admissible(run(knob, gap), gap):
                good = knob
            else:
                bad = knob
        for _ in range(steps if bad is not None else 0):
            knob = math.sqrt(good * bad)
            if admissible(run(knob, gap), gap):
                good = knob
            else:
                bad = knob

    knob = min(1.0, knob_max)
    first = run(knob)
    if first["within_budget"]:
        explore(knob, None, 0.0)
    else:
        good, bad = None, knob
        while good is None and knob < knob_max:
            knob = min(4 * knob, knob_max)
            if run(knob)["within_budget"]:
                good = knob
            else:
                bad = knob
        if good is None:
            raise BudgetError(
                f"no candidate keeps the validation error within {100 * budget:.2f} points of the reference's "
                f"{100 * reference:.2f}%: even keeping every weight (only quantized, short retraining) gives "
                f"{100 * first['val_error']:.2f}%; allow a larger budget, or more bits (bit_choices)")
        explore(good, bad, 0.0)

    # Step 5: the final runs, smallest candidate within the budget first.
    def final_run(c, what, gap=0.0):
        recipe = replace(base, keep_fraction=dict(c["keep_fraction"]), bits=dict(c["bits"]),
                         index_bits={n: "auto" for n in names})
        say(f"{what}: the full schedule of the base recipe on the candidate of knob {c['knob']:.4g}", flush=True)
        t0 = time.perf_counter()
        result = compress(model, recipe, train=(X, y), val=val, test=test, seed=seed, verbose=verbose,
                          progress_bar=progress_bar)
        final = {"kind": "final", "knob": c["knob"], "keep_fraction": dict(c["keep_fraction"]),
                 "bits": dict(c["bits"]),
                 "index_bits": {layer.name: int(layer.index_bits) for layer in result.compressed.layers},
                 "file_bytes": len(result.data), "ratio": search.dense_bytes / len(result.data),
                 "val_error": result.val_error, "test_error": result.test_error,
                 "within_budget": bool(result.val_error <= search.val_limit + 1e-12),
                 "estimated_val_error": c["val_error"], "gap_used": gap,
                 "seconds": round(time.perf_counter() - t0, 1)}
        search.candidates.append(final)
        say("final: " + _format(final, search.dense_bytes, search.val_limit), flush=True)
        if final["within_budget"] and (search.result is None or len(result.data) < len(search.result.data)):
            search.recipe, search.result, search.chosen = recipe, result, len(search.candidates) - 1
        return final

    searched = lambda: [c for c in search.candidates if c["kind"] == "search"]  # noqa: E731
    within = sorted((c for c in searched() if c["within_budget"]), key=lambda c: c["file_bytes"])
    for attempt, c in enumerate(within[:max_backoffs + 1]):
        final = final_run(c, f"final run {attempt + 1}")
        if final["within_budget"]:
            break
    else:
        raise BudgetError(
            f"the final run of every candidate tried ({min(len(within), max_backoffs + 1)}) missed the budget of "
            f"{100 * budget:.2f} points over the reference's {100 * reference:.2f}% validation error; allow a "
            f"larger budget, more back-offs (max_backoffs), or longer candidate retraining (search_epochs)")

    # Calibration: the full run recovers more than the short one. Correct every estimate by the gap
    # measured on the accepted candidate, search again below it, and try the smallest corrected one.
    for round_ in range(calibration_rounds):
        accepted = search.candidates[search.chosen]
        gap = accepted["estimated_val_error"] - accepted["val_error"]
        if gap <= 0:
            break
        search.gap = gap
        say(f"calibration {round_ + 1}: the full run's validation error is {100 * gap:.2f} points below its "
            f"estimate; searching again with every estimate corrected by that gap", flush=True)
        good = min(c["knob"] for c in searched() if admissible(c, gap))
        below = [c["knob"] for c in searched() if c["knob"] < good]
        explore(good, max(below) if below else None, gap)
        done = {tuple(c["keep_fraction"].values()) for c in search.candidates if c["kind"] == "final"}
        better = sorted((c for c in searched() if admissible(c, gap) and c["file_bytes"] < accepted["file_bytes"]
                         and tuple(c["keep_fraction"].values()) not in done), key=lambda c: c["file_bytes"])
        if not better:
            break
        # kept only if within the budget; if it misses, the next round tries the next smallest candidate
        final_run(better[0], f"calibrated final run {round_ + 1}", gap)
    search.seconds = time.perf_counter() - start
    return search


def _check_options(fractions_pruned, steepness, bit_choices, bit_tolerance, search_epochs, search_examples, steps,
                   max_backoffs, calibration_rounds):
    f = np.asarray(fractions_pruned, dtype=float)
    if f.ndim != 1 or f.size < 2 or np.any(f < 0) or np.any(f >= 1) or np.any(np.diff(f) <= 0):
        raise ValueError(f"fractions_pruned must be at least two increasing fractions in [0, 1), got "
                         f"{fractions_pruned!r}")
    if not isinstance(steepness, (int, float)) or isinstance(steepness, bool) or not 0 < steepness < math.inf:
        raise ValueError(f"steepness must be a finite number > 0, got {steepness!r}")
    b = list(bit_choices)
    if not b or any(not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 16 for v in b) or \
            b != sorted(set(b)):
        raise ValueError(f"bit_choices must be increasing integers from 1 to 16, got {bit_choices!r}")
    if bit_tolerance is not None and (not isinstance(bit_tolerance, (int, float)) or isinstance(bit_tolerance, bool)
                                      or not 0 <= bit_tolerance < 1):
        raise ValueError(f"bit_tolerance must be a fraction in [0, 1), got {bit_tolerance!r}")
    for name, value, low in (("search_epochs", search_epochs, 1), ("steps", steps, 0),
                             ("max_backoffs", max_backoffs, 0), ("calibration_rounds", calibration_rounds, 0)):
        if not is_integer(value) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if search_examples is not None and (not is_integer(search_examples) or search_examples < 1):
        raise ValueError(f"search_examples must be a positive integer or None, got {search_examples!r}")
