"""The check of tutorial 05 (compression accounting): it passes the solution and catches the usual mistakes."""

import math

import numpy as np
import pytest

from deepcompress_np.checks import check_layer_compression
from deepcompress_np.checks._core import CheckResult
from deepcompress_np.checks.ratio import _reference_layer_compression


# --- the notebook's solution ----------------------------------------------------------------------


def layer_compression(n_weights, n_kept, n_fillers, weight_bits, index_bits, codebook_size):
    stored_entries = n_kept + n_fillers
    compressed_bits = stored_entries * (weight_bits + index_bits) + 32 * codebook_size
    rate = compressed_bits / (32 * n_weights)
    return compressed_bits, rate


def layer_compression_numpy(n_weights, n_kept, n_fillers, weight_bits, index_bits, codebook_size):
    """Another correct solution: NumPy scalars, a list instead of a tuple."""
    bits = np.float64(n_kept + n_fillers) * np.float64(weight_bits + index_bits) + np.float32(32) * codebook_size
    return [bits, bits / np.float64(32 * n_weights)]


# --- plausible wrong answers ----------------------------------------------------------------------


def _ok(n, kept, fillers, w, i, k):
    bits = (kept + fillers) * (w + i) + 32 * k
    return bits, bits / (32 * n)


def no_codebook(n, kept, fillers, w, i, k):
    bits = (kept + fillers) * (w + i)
    return bits, bits / (32 * n)


def kept_only(n, kept, fillers, w, i, k):
    bits = kept * (w + i) + 32 * k
    return bits, bits / (32 * n)


def fillers_without_symbol(n, kept, fillers, w, i, k):
    bits = kept * (w + i) + fillers * i + 32 * k
    return bits, bits / (32 * n)


def in_bytes(n, kept, fillers, w, i, k):
    size = ((kept + fillers) * (w + i) + 32 * k) / 8
    return size, size / (4 * n)


def codebook_8_bits(n, kept, fillers, w, i, k):
    bits = (kept + fillers) * (w + i) + 8 * k
    return bits, bits / (32 * n)


def codebook_as_symbols(n, kept, fillers, w, i, k):
    bits = (kept + fillers) * (w + i) + k * w
    return bits, bits / (32 * n)


def log2_codebook(n, kept, fillers, w, i, k):
    bits = (kept + fillers) * (math.log2(k) + i) + 32 * k
    return bits, bits / (32 * n)


def inverted(n, kept, fillers, w, i, k):
    bits, _ = _ok(n, kept, fillers, w, i, k)
    return bits, 32 * n / bits


def percent(n, kept, fillers, w, i, k):
    bits, rate = _ok(n, kept, fillers, w, i, k)
    return bits, 100 * rate


def saving(n, kept, fillers, w, i, k):
    bits, rate = _ok(n, kept, fillers, w, i, k)
    return bits, 1 - rate


def dense_8_bits(n, kept, fillers, w, i, k):
    bits, _ = _ok(n, kept, fillers, w, i, k)
    return bits, bits / (8 * n)


def dense_in_bytes(n, kept, fillers, w, i, k):
    bits, _ = _ok(n, kept, fillers, w, i, k)
    return bits, bits / (4 * n)


def rate_over_kept(n, kept, fillers, w, i, k):
    bits, _ = _ok(n, kept, fillers, w, i, k)
    return bits, bits / (32 * max(kept, 1))


def swapped(n, kept, fillers, w, i, k):
    bits, rate = _ok(n, kept, fillers, w, i, k)
    return rate, bits


def divides_by_kept(n, kept, fillers, w, i, k):
    """Right, except that it computes fillers per kept weight on the way (and divides by zero when none are kept)."""
    _fillers_per_kept = fillers / kept
    return _ok(n, kept, fillers, w, i, k)


# --- the solutions pass ---------------------------------------------------------------------------


@pytest.mark.parametrize("solution", [layer_compression, layer_compression_numpy,
                                      lambda *a: np.array(layer_compression(*a))])
def test_the_solution_passes(solution):
    result = check_layer_compression.evaluate(solution)
    assert isinstance(result, CheckResult)
    assert result and result.n_cases >= 6, result.report
    assert "\u2714" in result.report and "all" in result.report


def test_the_reference_reproduces_the_library_table_on_a_real_layer(pretrained):
    """The formula the check holds the student to is the one report.layer_table uses, for P+Q and P+Q+H."""
    from deepcompress_np.compressed import CompressedModel
    from deepcompress_np.prune import prune_model
    from deepcompress_np.quantize import quantize_model_params
    from deepcompress_np.report import layer_table

    model = pretrained("lenet300")
    masks = prune_model(model, keep_fraction={"ip1": 0.05, "ip2": 0.08, "ip3": 0.25})
    quantized = quantize_model_params(model.params(), masks, bits=4, seed=0)
    written = CompressedModel.from_quantized(model, quantized, index_bits={"ip1": 5, "ip2": 5, "ip3": 3})
    compressed = CompressedModel.from_bytes(written.to_bytes())
    rows = layer_table(compressed)
    assert sum(layer.n_fillers for layer in compressed.layers) > 0  # the fillers matter in this test
    for layer, row in zip(compressed.layers, rows):
        n_kept = int(np.count_nonzero(layer.symbols))
        args = (row["n_weights"], n_kept, layer.n_fillers)
        bits, rate = _reference_layer_compression(*args, row["weight_bits_pq"], row["index_bits_pq"],
                                                  layer.codebook.size)
        assert bits == row["bits_pq"] and rate == pytest.approx(row["compress_rate_pq"], rel=1e-12)
        bits, rate = _reference_layer_compression(*args, row["weight_bits_pqh"], row["index_bits_pqh"],
                                                  layer.codebook.size)
        assert bits == pytest.approx(row["bits_pqh"], rel=1e-12)
        assert rate == pytest.approx(row["compress_rate_pqh"], rel=1e-12)
        assert layer_compression(*args, row["weight_bits_pq"], row["index_bits_pq"], layer.codebook.size) == \
            (row["bits_pq"], pytest.approx(row["compress_rate_pq"], rel=1e-12))


# --- wrong answers are rejected, with the right hint ----------------------------------------------


@pytest.mark.parametrize("mutant, hint", [
    (no_codebook, "the codebook is missing"),
    (kept_only, "only the kept weights"),
    (fillers_without_symbol, "a filler zero carries a weight symbol"),
    (in_bytes, "in bytes"),
    (codebook_8_bits, "codebook entry is a float32: 32 bits, not 8"),
    (codebook_as_symbols, "not k symbols"),
    (log2_codebook, "use the weight_bits argument"),
    (inverted, "compression *ratio*"),
    (percent, "not as a percentage"),
    (saving, "*saved*"),
    (dense_8_bits, "a dense weight is a float32: 32 bits, not 8"),
    (dense_in_bytes, "mixed units"),
    (rate_over_kept, "not only the kept ones"),
    (swapped, "swapped"),
    (divides_by_kept, "division by zero"),
])
def test_mistakes_are_rejected_with_a_hint(mutant, hint):
    result = check_layer_compression.evaluate(mutant)
    assert not result
    assert "\u2718" in result.report and "expected:" in result.report
    assert hint in result.report, result.report


def test_an_unrecognised_mistake_gets_the_general_hint():
    result = check_layer_compression.evaluate(lambda n, kept, fillers, w, i, k: (7.0, 0.5))
    assert not result and "recount the parts" in result.report, result.report


# --- robustness: stubs, crashes, wrong types ------------------------------------------------------


def test_a_stub_is_reported_as_not_implemented():
    def stub(*args):
        raise NotImplementedError("layer_compression: write your code here")

    result = check_layer_compression.evaluate(stub)
    assert not result
    assert "not implemented yet" in result.report


def _crash(*args):
    raise KeyError("oops")


@pytest.mark.parametrize("bad, message", [
    (_crash, "raised KeyError"),
    (lambda *a: None, "forget the `return`"),
    (lambda *a: 198, "expected two numbers"),
    (lambda *a: (198,), "got 1 values"),
    (lambda *a: (198, 0.04, 3), "got 3 values"),
    (lambda *a: ("198", "0.04"), "should be a number"),
    (lambda *a: (np.zeros(3), 0.04), "array of shape (3,)"),
    (lambda *a: ([1, [2, 3]], 0.04), "compressed_bits should be a number"),
    (lambda *a: {"bits": 198, "rate": 0.04}, "expected two numbers"),
    (lambda *a: (float("nan"), 0.04), "not a finite number"),
    (lambda *a: (198, None), "rate should be a number"),
])
def test_crashes_and_wrong_types_give_a_failed_result_never_an_exception(bad, message):
    result = check_layer_compression.evaluate(bad)
    assert isinstance(result, CheckResult) and not result
    assert "\u2718" in result.report and message in result.report, result.report


def test_a_non_function_is_rejected():
    result = check_layer_compression.evaluate(42)
    assert not result and "expected a function" in result.report


def test_a_failed_check_raises_without_being_asked(monkeypatch):
    monkeypatch.delenv("DEEPCOMPRESS_CHECKS_RAISE", raising=False)
    with pytest.raises(AssertionError, match="check_layer_compression"):
        check_layer_compression(kept_only)
    assert check_layer_compression(layer_compression) is None  # passing never raises


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_random_cases(seed):
    assert check_layer_compression.evaluate(layer_compression, seed=seed)
    assert not check_layer_compression.evaluate(kept_only, seed=seed)


def test_the_checks_own_reference_as_the_answer_fails():
    from deepcompress_np.checks.ratio import _reference_layer_compression

    assert "library's own" in check_layer_compression.evaluate(_reference_layer_compression).report
