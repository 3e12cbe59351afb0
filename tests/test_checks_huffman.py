"""Tests of the tutorial 04 checks (deepcompress_np.checks.huffman).

The notebook's reference solutions must pass; plausible wrong solutions
(mutants) must fail, with a hint naming the mistake where one is expected;
broken functions must give a failed result, never an exception.
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from deepcompress_np.checks import CheckFailed, check_canonical_codes, check_huffman_code_lengths
from deepcompress_np.huffman import huffman_code_lengths as library_code_lengths


# ---------------------------------------------------------------------------
# The notebook's reference solutions (copied from tutorials/04_huffman_coding.ipynb)
# ---------------------------------------------------------------------------

def huffman_code_lengths(counts):
    counts = np.asarray(counts, dtype=np.int64)
    code_length = np.zeros(counts.size, dtype=np.int64)
    occurring = np.flatnonzero(counts > 0)
    if occurring.size == 1:
        code_length[occurring] = 1  # a lone symbol still needs a 1-bit code word
    # Heap entries: (weight, tie-breaker, the symbols below this node).
    heap = [(int(counts[s]), rank, [int(s)]) for rank, s in enumerate(occurring)]
    heapq.heapify(heap)
    tie_breaker = len(heap)
    while len(heap) > 1:
        weight_a, _, below_a = heapq.heappop(heap)
        weight_b, _, below_b = heapq.heappop(heap)
        code_length[below_a + below_b] += 1  # all of them move one level deeper
        heapq.heappush(heap, (weight_a + weight_b, tie_breaker, below_a + below_b))
        tie_breaker += 1
    return code_length


def canonical_codes(lengths):
    lengths = np.asarray(lengths, dtype=np.int64)
    code_word = np.zeros(lengths.size, dtype=np.int64)
    ranked = sorted((int(l), s) for s, l in enumerate(lengths) if l > 0)
    value, last_length = -1, 0  # so that the first code word comes out all zeros
    for length, s in ranked:
        value = (value + 1) << (length - last_length)
        code_word[s], last_length = value, length
    return code_word


# ---------------------------------------------------------------------------
# Mutants of huffman_code_lengths
# ---------------------------------------------------------------------------

def _merge(heap, n_symbols, deepen=lambda below_a, below_b: below_a + below_b):
    """The merge loop the mutants share, run on their own heap entries (weight, rank, symbols below)."""
    out = np.zeros(n_symbols, dtype=np.int64)
    heapq.heapify(heap)
    rank = len(heap)
    while len(heap) > 1:
        wa, _, a = heapq.heappop(heap)
        wb, _, b = heapq.heappop(heap)
        out[deepen(a, b)] += 1
        heapq.heappush(heap, (wa + wb, rank, a + b))
        rank += 1
    return out


def lengths_merging_two_largest(counts):
    counts = np.asarray(counts, dtype=np.int64)
    occurring = np.flatnonzero(counts > 0)
    out = _merge([(-int(counts[s]), i, [int(s)]) for i, s in enumerate(occurring)], counts.size)  # max-heap
    if occurring.size == 1:
        out[occurring] = 1
    return out


def lengths_depth_from_one(counts):
    """Counts the root as depth 1: every symbol one bit too long."""
    out = huffman_code_lengths(counts)
    return np.where(out > 0, out + 1, 0)


def lengths_single_symbol_zero(counts):
    """Forgets that a lone symbol needs one bit."""
    counts = np.asarray(counts)
    out = huffman_code_lengths(counts)
    if np.count_nonzero(counts) == 1:
        out[:] = 0
    return out


def lengths_zero_counts_included(counts):
    """Puts symbols with count 0 in the heap too."""
    counts = np.asarray(counts, dtype=np.int64)
    return _merge([(int(c), i, [i]) for i, c in enumerate(counts)], counts.size)


def lengths_only_popped_nodes(counts):
    """Adds a bit only to the two nodes popped, not to all symbols below them."""
    counts = np.asarray(counts, dtype=np.int64)
    heap = [(int(counts[s]), i, [int(s)]) for i, s in enumerate(np.flatnonzero(counts))]
    return _merge(heap, counts.size, deepen=lambda a, b: a[:1] + b[:1])


# ---------------------------------------------------------------------------
# Mutants of canonical_codes
# ---------------------------------------------------------------------------

def codes_in_symbol_order(lengths):
    """Ignores the lengths when ordering: symbol 0 first."""
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros(lengths.size, dtype=np.int64)
    value, last = None, 0
    for s, length in enumerate(lengths.tolist()):
        if length == 0:
            continue
        value = 0 if value is None else (value + 1) << max(length - last, 0)
        out[s], last = value, length
    return out


def codes_longest_first(lengths):
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros(lengths.size, dtype=np.int64)
    ranked = sorted(((-int(l), s) for s, l in enumerate(lengths) if l > 0))
    value, last = None, 0
    for neg, s in ranked:
        length = -neg
        value = 0 if value is None else (value + 1) >> (last - length)
        out[s], last = value, length
    return out


def codes_without_shift(lengths):
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros(lengths.size, dtype=np.int64)
    ranked = sorted((int(l), s) for s, l in enumerate(lengths) if l > 0)
    for rank, (_, s) in enumerate(ranked):
        out[s] = rank
    return out


def codes_as_strings(lengths):
    codes = canonical_codes(lengths)
    return [format(int(c), f"0{int(l)}b") if l else "" for c, l in zip(codes, lengths)]


def codes_bit_reversed(lengths):
    codes = canonical_codes(lengths)
    return np.array([int(format(int(c), f"0{int(l)}b")[::-1], 2) if l else 0 for c, l in zip(codes, lengths)])


def codes_ties_descending(lengths):
    """Sorts by length, but larger symbols first among equal lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros(lengths.size, dtype=np.int64)
    ranked = sorted((int(l), -s) for s, l in enumerate(lengths) if l > 0)
    value, last = -1, 0
    for length, neg_s in ranked:
        value = (value + 1) << (length - last)
        out[-neg_s], last = value, length
    return out


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_reference_solutions_pass():
    assert check_huffman_code_lengths.evaluate(huffman_code_lengths)
    assert check_canonical_codes.evaluate(canonical_codes)


def test_other_optimal_lengths_and_other_types_are_accepted():
    # Swapping which of two equally counted symbols gets the longer code is still optimal.
    def reversed_ties(counts):
        counts = np.asarray(counts)
        return huffman_code_lengths(counts[::-1])[::-1]

    assert check_huffman_code_lengths.evaluate(reversed_ties)
    assert check_huffman_code_lengths.evaluate(lambda counts: huffman_code_lengths(counts).tolist())
    assert check_huffman_code_lengths.evaluate(lambda counts: huffman_code_lengths(counts).astype(np.uint8))
    assert check_canonical_codes.evaluate(lambda lengths: canonical_codes(lengths).tolist())
    assert check_canonical_codes.evaluate(lambda lengths: canonical_codes(lengths).astype(np.uint32))


@pytest.mark.parametrize("mutant, hint", [
    (lengths_merging_two_largest, "smallest"),
    (lengths_depth_from_one, "one too long"),
    (lengths_single_symbol_zero, "lone symbol"),
    (lengths_zero_counts_included, "count 0"),
    (lengths_only_popped_nodes, "every* symbol below"),
])
def test_code_length_mutants_fail_with_a_hint(mutant, hint):
    result = check_huffman_code_lengths.evaluate(mutant)
    assert not result
    assert "hint:" in result.report and hint in result.report, result.report


@pytest.mark.parametrize("mutant, hint", [
    (codes_in_symbol_order, "symbol order"),
    (codes_longest_first, "longest"),
    (codes_without_shift, "shift"),
    (codes_as_strings, "int(word, 2)"),
    (codes_bit_reversed, "bit-reversed"),
    (codes_ties_descending, "smaller symbol number"),
])
def test_canonical_code_mutants_fail_with_a_hint(mutant, hint):
    result = check_canonical_codes.evaluate(mutant)
    assert not result
    assert hint in result.report, result.report


def lengths_without_lone_symbol_case(counts):
    """Forgets the cases with fewer than two symbols: pops from an empty heap."""
    counts = np.asarray(counts, dtype=np.int64)
    out = np.zeros(counts.size, dtype=np.int64)
    heap = [(int(counts[s]), i, [int(s)]) for i, s in enumerate(np.flatnonzero(counts))]
    heapq.heapify(heap)
    i = len(heap)
    while True:
        wa, _, a = heapq.heappop(heap)
        wb, _, b = heapq.heappop(heap)
        out[a + b] += 1
        if not heap:
            return out
        heapq.heappush(heap, (wa + wb, i, a + b))
        i += 1


def codes_in_symbol_order_shifting(lengths):
    """Symbol order with the plain shift: crashes with a negative shift when a length goes down."""
    out, value, last = np.zeros(len(lengths), dtype=np.int64), -1, 0
    for s, length in enumerate(np.asarray(lengths).tolist()):
        if length:
            value = (value + 1) << (length - last)
            out[s], last = value, length
    return out


@pytest.mark.parametrize("check, mutant, hint", [
    (check_huffman_code_lengths, lengths_without_lone_symbol_case, "fewer than two symbols"),
    (check_canonical_codes, codes_in_symbol_order_shifting, "sort the symbols by (length, symbol)"),
])
def test_exceptions_get_a_hint(check, mutant, hint):
    result = check.evaluate(mutant)
    assert not result and "raised" in result.report and hint in result.report, result.report


@pytest.mark.parametrize("check", [check_huffman_code_lengths, check_canonical_codes])
def test_stub_reports_not_implemented(check):
    def stub(arg):
        raise NotImplementedError("write your code here")

    result = check.evaluate(stub)
    assert not result and "not implemented yet" in str(result)


@pytest.mark.parametrize("check", [check_huffman_code_lengths, check_canonical_codes])
@pytest.mark.parametrize("broken", [
    lambda arg: 1 / 0,
    lambda arg: None,
    lambda arg: np.zeros((2, 2)),
    lambda arg: "0101",
    lambda arg: {0: 1},
    lambda arg: [[1, 2], [3]],
    lambda arg: np.full(len(arg), 0.5),
    lambda arg: -np.ones(len(arg), dtype=int),
    lambda arg: np.full(len(arg), 10**30, dtype=object),
    lambda arg: np.full(len(arg), 10**6),  # absurd lengths/codes: must not build 2**(10**6)
    lambda arg: np.ones(len(arg), dtype=bool),
])
def test_broken_functions_fail_without_raising(check, broken):
    result = check.evaluate(broken)
    assert not result and "\u2718" in str(result)


def test_not_a_function():
    assert not check_huffman_code_lengths.evaluate(None)


@pytest.mark.parametrize("check, mutant", [
    (check_huffman_code_lengths, lengths_merging_two_largest),
    (check_canonical_codes, codes_longest_first),
])
def test_a_failing_check_prints_its_report_then_raises(capsys, monkeypatch, check, mutant):
    monkeypatch.delenv("DEEPCOMPRESS_CHECKS_RAISE", raising=False)
    with pytest.raises(CheckFailed, match="check_") as failure:
        check(mutant)
    assert isinstance(failure.value, AssertionError) and not failure.value.result
    assert "\u2718" in capsys.readouterr().out


def test_a_passing_check_prints_one_line_and_leaves_no_value(capsys):
    assert check_huffman_code_lengths(huffman_code_lengths) is None
    assert capsys.readouterr().out.strip() == "\u2714 check_huffman_code_lengths: all 8 cases pass"


@pytest.mark.parametrize("answer", [library_code_lengths, lambda counts: library_code_lengths(counts),
                                    lambda counts: np.asarray(library_code_lengths(counts)).tolist()])
def test_the_librarys_own_function_or_a_wrapper_of_it_fails(answer):
    result = check_huffman_code_lengths.evaluate(answer)
    assert not result and "library's own" in result.report, result.report


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_random_cases_pass_the_reference_and_catch_a_mutant(seed):
    assert check_huffman_code_lengths.evaluate(huffman_code_lengths, seed=seed)
    assert check_canonical_codes.evaluate(canonical_codes, seed=seed)
    assert not check_huffman_code_lengths.evaluate(lengths_merging_two_largest, seed=seed)
