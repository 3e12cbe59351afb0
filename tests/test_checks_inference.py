"""The check of tutorial 07 (bytes of weights per inference): it passes the solution and catches the usual mistakes."""

import math

import numpy as np
import pytest

from deepcompress_np.checks import check_weight_traffic
from deepcompress_np.checks._core import CheckFailed, CheckResult
from deepcompress_np.checks.inference import _reference_weight_traffic
from deepcompress_np.energy import layer_counts, weight_bytes


# --- the notebook's solution ----------------------------------------------------------------------


def weight_traffic(n_out, n_in, n_kept, n_entries, weight_bits, index_bits, codebook_size):
    dense_bytes = 4 * n_out * n_in
    csr_bytes = 4 * (2 * n_kept + n_out + 1)
    compressed_bytes = (n_entries * (weight_bits + index_bits) + 32 * codebook_size) / 8
    return dense_bytes, csr_bytes, compressed_bytes


def weight_traffic_numpy(n_out, n_in, n_kept, n_entries, weight_bits, index_bits, codebook_size):
    """Another correct solution: NumPy scalars, returned as an array."""
    bits = np.float64(n_entries) * (weight_bits + index_bits) + np.int64(32) * codebook_size
    return np.array([np.int64(4) * n_out * n_in, np.int64(4) * (2 * n_kept + n_out + 1), bits / 8])


# --- plausible wrong answers ----------------------------------------------------------------------


def _with(**changes):
    """The solution with one result replaced by a mistaken formula."""
    def mutant(n_out, n_in, n_kept, n_entries, wb, ib, k):
        d, c, z = weight_traffic(n_out, n_in, n_kept, n_entries, wb, ib, k)
        args = dict(n_out=n_out, n_in=n_in, n_kept=n_kept, n_entries=n_entries, wb=wb, ib=ib, k=k)
        d = changes["dense"](**args) if "dense" in changes else d
        c = changes["csr"](**args) if "csr" in changes else c
        z = changes["compressed"](**args) if "compressed" in changes else z
        return d, c, z
    return mutant


MISTAKES = [
    (_with(dense=lambda n_out, n_in, **_: 32 * n_out * n_in), "dense_bytes is in bits"),
    (_with(dense=lambda n_kept, **_: 4 * n_kept), "pruned ones included"),
    (_with(dense=lambda n_out, n_in, **_: n_out * n_in), "4 bytes, not 1"),
    (_with(csr=lambda n_kept, **_: 8 * n_kept), "row pointers"),
    (_with(csr=lambda n_kept, n_out, **_: 4 * (2 * n_kept + n_out)), "n_out + 1 row pointers"),
    (_with(csr=lambda n_kept, n_in, **_: 4 * (2 * n_kept + n_in + 1)), "is CSC"),
    (_with(csr=lambda n_kept, n_out, **_: 8 * (2 * n_kept + n_out + 1)), "32-bit (4 bytes)"),
    (_with(csr=lambda n_kept, n_out, **_: 4 * n_kept + 8 * (n_kept + n_out + 1)), "not 64-bit"),
    (_with(csr=lambda n_kept, n_out, **_: 32 * (2 * n_kept + n_out + 1)), "csr_bytes is in bits"),
    (_with(csr=lambda n_entries, n_out, **_: 4 * (2 * n_entries + n_out + 1)), "only the kept weights"),
    (_with(compressed=lambda n_entries, wb, ib, k, **_: n_entries * (wb + ib) + 32 * k), "divide the bits by 8"),
    (_with(compressed=lambda n_kept, wb, ib, k, **_: (n_kept * (wb + ib) + 32 * k) / 8), "the filler zeros too"),
    (_with(compressed=lambda n_entries, wb, ib, **_: n_entries * (wb + ib) / 8), "the codebook is read too"),
    (_with(compressed=lambda n_entries, wb, ib, k, **_: n_entries * (wb + ib) / 8 + k), "4 bytes, not 1"),
    (_with(compressed=lambda n_entries, wb, k, **_: (n_entries * wb + 32 * k) / 8), "its relative-index field"),
    (_with(compressed=lambda n_entries, ib, k, **_: (n_entries * ib + 32 * k) / 8), "its cluster index"),
    (_with(compressed=lambda n_entries, wb, ib, k, **_: math.ceil(n_entries * (wb + ib) / 8) + 4 * k),
     "do not round"),
    (_with(compressed=lambda n_entries, wb, ib, k, **_: (n_entries * (wb + ib) + 32 * k) // 8), "do not round"),
    (lambda *a: weight_traffic(*a)[::-1], "another order"),
]


# --- the solutions pass ---------------------------------------------------------------------------


@pytest.mark.parametrize("solution", [weight_traffic, weight_traffic_numpy, lambda *a: list(weight_traffic(*a))])
def test_the_solution_passes(solution):
    result = check_weight_traffic.evaluate(solution)
    assert isinstance(result, CheckResult)
    assert result and result.n_cases >= 6, result.report
    assert "\u2714" in result.report


def test_the_reference_is_the_energy_modules_accounting_of_a_real_layer(pretrained):
    from deepcompress_np.bench.inference import stored_layer
    from deepcompress_np.quantize import quantize_layer

    W = pretrained("lenet300").weight_layers()[0].params["W"]
    from deepcompress_np.prune import prune_to_fraction

    q = quantize_layer(W, prune_to_fraction(W, 0.08), bits=6)
    counts = layer_counts(stored_layer("ip1", q, 3))
    assert counts.n_entries > counts.n_kept  # fillers matter here
    args = (counts.n_out, counts.n_in, counts.n_kept, counts.n_entries, counts.weight_bits, counts.index_bits,
            counts.codebook_size)
    expected = tuple(weight_bytes(counts, form) for form in ("dense", "csr", "compressed"))
    assert _reference_weight_traffic(*args) == expected == weight_traffic(*args)


# --- wrong answers are rejected, with the right hint ----------------------------------------------


@pytest.mark.parametrize("mutant, hint", MISTAKES)
def test_mistakes_are_rejected_with_a_hint(mutant, hint):
    result = check_weight_traffic.evaluate(mutant)
    assert not result
    assert "\u2718" in result.report and "expected:" in result.report
    assert hint in result.report, result.report


@pytest.mark.parametrize("label, mutant, hint", [
    ("dense", _with(dense=lambda **_: 7.0), "4 bytes for every one"),
    ("csr", _with(csr=lambda **_: 7.0), "2 * n_kept + n_out + 1 numbers"),
    ("compressed", _with(compressed=lambda **_: 7.0), "(n_entries * (weight_bits + index_bits)"),
])
def test_an_unrecognised_mistake_gets_the_general_hint_of_that_result(label, mutant, hint):
    result = check_weight_traffic.evaluate(mutant)
    assert not result and hint in result.report, result.report


# --- robustness: stubs, crashes, wrong types ------------------------------------------------------


def test_a_stub_is_reported_as_not_implemented():
    def stub(*args):
        raise NotImplementedError("weight_traffic: write your code here")

    result = check_weight_traffic.evaluate(stub)
    assert not result and "not implemented yet" in result.report


def _crash(*args):
    raise KeyError("oops")


@pytest.mark.parametrize("bad, message", [
    (_crash, "raised KeyError"),
    (lambda *a: None, "forget the `return`"),
    (lambda *a: 160, "expected three numbers"),
    (lambda *a: (160, 68), "got 2 values"),
    (lambda *a: ("160", 68, 21), "dense_bytes should be a number"),
    (lambda *a: (160, np.zeros(2), 21), "csr_bytes should be a number"),
    (lambda *a: (160, 68, None), "compressed_bytes should be a number"),
    (lambda *a: (160, 68, float("nan")), "not a finite number"),
    (lambda *a: {"dense": 160}, "expected three numbers"),
])
def test_crashes_and_wrong_types_give_a_failed_result_never_an_exception(bad, message):
    result = check_weight_traffic.evaluate(bad)
    assert isinstance(result, CheckResult) and not result
    assert "\u2718" in result.report and message in result.report, result.report


def test_a_non_function_is_rejected():
    result = check_weight_traffic.evaluate("weight_traffic")
    assert not result and "expected a function" in result.report


def test_a_failed_check_prints_and_raises_and_a_passing_one_returns_none(capsys):
    with pytest.raises(CheckFailed):
        check_weight_traffic(_with(dense=lambda n_kept, **_: 4 * n_kept))
    assert "\u2718 check_weight_traffic" in capsys.readouterr().out
    assert check_weight_traffic(weight_traffic) is None
    assert "\u2714 check_weight_traffic" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_random_cases(seed):
    assert check_weight_traffic.evaluate(weight_traffic, seed=seed)
    assert not check_weight_traffic.evaluate(MISTAKES[3][0], seed=seed)  # row pointers forgotten


def test_the_library_as_the_answer_fails():
    def calls_the_library(n_out, n_in, n_kept, n_entries, wb, ib, k):
        from deepcompress_np.energy import LayerCounts

        counts = LayerCounts("x", n_out, n_in, n_kept, n_entries, wb, ib, k)
        return tuple(weight_bytes(counts, form) for form in ("dense", "csr", "compressed"))

    assert "library's own" in check_weight_traffic.evaluate(calls_the_library).report
    assert "library's own" in check_weight_traffic.evaluate(_reference_weight_traffic).report
