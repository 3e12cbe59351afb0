"""Checks for tutorial 04, Huffman coding (paper §4): code lengths and canonical codes.

The last stage of Deep Compression codes the two streams of a pruned and
quantized layer -- the cluster index of every stored weight and the gap of
every relative index -- with a Huffman code (paper §4, Figure 5). Tutorial 04
has the student write the two pieces a compressed file needs:

* ``huffman_code_lengths(counts)``: the length of every symbol's code word,
  by Huffman's algorithm (merge the two lightest nodes until one is left);
* ``canonical_codes(lengths)``: the canonical code words, which follow from
  the lengths alone, so a file only has to store the lengths.

The references are :func:`deepcompress_np.huffman.huffman_code_lengths` and
:func:`deepcompress_np.huffman.canonical_codes`. When an answer is wrong the
hint names the likely mistake: merging the two heaviest nodes, depths counted
from 1 at the root, a lone symbol given no bits, code words assigned in
symbol order or longest first, a missing shift, bit strings instead of ints.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.checks._core import Case, exercise_check, random_or_fixed, run_check
from deepcompress_np.huffman import canonical_codes as _library_canonical_codes
from deepcompress_np.huffman import huffman_code_lengths as _library_code_lengths

__all__ = ["check_huffman_code_lengths", "check_canonical_codes"]

_LONGEST_SENSIBLE = 64  # no answer to these small cases needs a longer code word


# ---------------------------------------------------------------------------
# Shared helpers: read the student's answer as integers, never raising
# ---------------------------------------------------------------------------

def _holds_strings(got):
    """True if ``got`` is a string, or a list/array whose items are strings."""
    if isinstance(got, (str, bytes)):
        return True
    if isinstance(got, np.ndarray):
        return got.dtype.kind in "USO" and any(isinstance(x, (str, bytes, np.str_)) for x in got.ravel()[:50])
    if isinstance(got, (list, tuple)):
        return any(isinstance(x, (str, bytes)) for x in got)
    return False


def _as_int_vector(got, n, what):
    """``(array of int64, None)`` if ``got`` is ``n`` non-negative integers, else ``(None, problem)``."""
    if got is None:
        return None, f"{what} came back as None: did you forget the `return` statement?"
    if isinstance(got, dict):
        return None, f"{what} came back as a dict; return a list or a 1-D array with one entry per symbol"
    try:
        arr = np.asarray(got)
    except (TypeError, ValueError) as e:
        return None, f"{what} could not be read as an array ({type(e).__name__}: {e})"
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            return None, f"{what} must be integers, got items of type {type(arr.ravel()[0]).__name__}"
    if arr.ndim != 1 or arr.size != n:
        return None, f"{what} should be {n} numbers (one per symbol, shape ({n},)), got shape {arr.shape}"
    if arr.dtype.kind == "b" or arr.dtype.kind not in "uif":
        return None, f"{what} must be integers, got dtype {arr.dtype}"
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            return None, f"{what} must be whole numbers, got {arr}"
    if arr.size and arr.min() < 0:
        return None, f"{what} must not be negative, found {arr.min():g}"
    if arr.size and arr.max() >= 2.0 ** 62:
        return None, f"{what} hold a number far too large ({arr.max():g})"
    return arr.astype(np.int64), None


def _kraft(lengths):
    """Kraft sum ``sum 2**-l`` over the non-zero lengths, as an exact (numerator, denominator)."""
    used = [int(length) for length in lengths if length > 0]
    if not used:
        return 0, 1
    top = max(used)
    return sum(1 << (top - length) for length in used), 1 << top


def _bits(code, length):
    """A code word as a bit string, e.g. (5, 4) -> '0101'."""
    return format(int(code), f"0{int(length)}b") if length > 0 else ""


# ---------------------------------------------------------------------------
# Exercise 1: Huffman code lengths
# ---------------------------------------------------------------------------

def _lengths_merging_heaviest(counts):
    """A wrong Huffman: always merge the two *heaviest* nodes (for the hint)."""
    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.zeros(counts.size, dtype=np.int64)
    nodes = [(int(counts[s]), [s]) for s in np.flatnonzero(counts)]
    if len(nodes) == 1:
        lengths[nodes[0][1]] = 1
    while len(nodes) > 1:
        nodes.sort(key=lambda node: node[0])
        (w2, s2), (w1, s1) = nodes.pop(), nodes.pop()
        lengths[s1 + s2] += 1
        nodes.append((w1 + w2, s1 + s2))
    return lengths


def _compare_code_lengths(got, expected, case):
    counts = np.asarray(case.args[0], dtype=np.int64)
    lengths, problem = _as_int_vector(got, counts.size, "the code lengths")
    if problem:
        return problem
    for s in range(counts.size):
        if counts[s] == 0 and lengths[s] != 0:
            return (f"symbol {s} never occurs (count 0) but got length {lengths[s]}; it should get no code "
                    "word: length 0")
        if counts[s] > 0 and lengths[s] == 0:
            return (f"symbol {s} occurs {counts[s]} times but got length 0; every symbol that occurs "
                    "needs a code word of at least 1 bit")
    if lengths.size and lengths.max() > _LONGEST_SENSIBLE:
        return f"a code length of {lengths.max()} bits is far longer than any optimal code for these counts"
    num, den = _kraft(lengths)
    if num > den:
        return (f"these lengths cannot be a prefix code: their Kraft sum (sum of 2**-length) is "
                f"{num / den:.4g}, more than 1")
    total, best = int((counts * lengths).sum()), int((counts * np.asarray(expected, dtype=np.int64)).sum())
    if total != best:
        return (f"the code takes {total} bits for these counts (sum of count * length), an optimal "
                f"code takes {best} (any lengths with that total are accepted; 'expected' shows one)")
    return None


def _diagnose_code_lengths(got, expected, case):
    counts = np.asarray(case.args[0], dtype=np.int64)
    lengths, problem = _as_int_vector(got, counts.size, "the code lengths")
    if problem:
        return None
    if lengths.size and lengths.max() > _LONGEST_SENSIBLE:
        return None
    used = counts > 0
    expected = np.asarray(expected, dtype=np.int64)
    if used.sum() == 1 and lengths[used][0] == 0:
        return ("with a single symbol the tree is one leaf at depth 0, but a code word needs at least one "
                "bit: give a lone symbol length 1 (its code word is '0')")
    if np.any(lengths[~used] != 0):
        return "leave symbols with count 0 out of the heap altogether; their length stays 0"
    if np.any(lengths[used] == 0):
        return ("a symbol that occurs ended up with length 0: every symbol under a merged node must "
                "move one level deeper at each merge")
    shifted = np.where(used, lengths - 1, 0)
    num, den = _kraft(lengths)
    if np.all(lengths[used] >= 2) and not _compare_code_lengths(shifted, expected, case):
        return ("every length is one too long: the root is at depth 0 and a symbol's code length is the "
                "number of edges from the root to its leaf (depth counted from 0, not 1)")
    if np.array_equal(lengths, _lengths_merging_heaviest(counts)) and not np.array_equal(lengths, expected):
        return ("you merged the two heaviest nodes; Huffman merges the two *smallest* counts (heapq is a "
                "min-heap: heappop gives the smallest) and pushes their sum back")
    if num > den:
        if not _compare_code_lengths(np.where(used, lengths + 1, 0), expected, case):
            return "every length is one too short: count one bit per edge from the root to the leaf"
        return ("at each merge, add one to the length of *every* symbol below both merged nodes (not only "
                "the two nodes taken out of the heap)")
    return ("these lengths are a valid prefix code but not an optimal one: at every step take out the two "
            "nodes with the *smallest* counts, merge them, and push their sum back into the heap")


def _explain_code_lengths_exception(error, case):
    text = str(error)
    if isinstance(error, IndexError) and np.count_nonzero(case.args[0]) < 2:
        return ("the heap ran out of nodes: when fewer than two symbols occur, there is nothing to merge; "
                "handle that case before the loop (no symbol: all lengths 0; one symbol: length 1)")
    if isinstance(error, TypeError) and "not supported between instances" in text:
        return ("heapq compares whole entries, so two nodes of equal weight are compared on what comes next; "
                "put a unique number second, e.g. (weight, counter, symbols)")
    return None


def _code_lengths_cases():
    return [
        Case("the textbook example of Cormen et al.", (np.array([45, 13, 12, 16, 9, 5]),)),
        Case("two symbols", (np.array([3, 1]),)),
        Case("a single symbol occurs, the others never", (np.array([0, 7, 0]),)),
        Case("some symbols never occur", (np.array([3, 0, 1, 0, 2, 5]),)),
        Case("equal counts (ties)", (np.array([4, 4, 4, 4, 4]),)),
        Case("a very skewed distribution", (np.array([1, 2, 4, 8, 16, 32, 64, 128]),)),
        Case("a peaked distribution, like quantized weights",
             (np.array([1, 3, 9, 30, 80, 160, 80, 30, 9, 3, 1]),)),
        Case("no symbol occurs at all", (np.array([0, 0, 0]),)),
    ]


def _random_counts(rng, i):
    n = int(rng.integers(1, 25))
    if i % 3 == 0:  # geometric-like, as cluster indices after quantization
        counts = np.floor(rng.exponential(50.0, n)).astype(np.int64)
    else:
        counts = rng.integers(0, 20, n)
    counts[rng.random(n) < 0.2] = 0
    return counts


def _code_lengths_random_cases(rng, n_cases):
    """Hidden cases: 1 to 24 symbols, random counts with ties and zeros."""
    return [Case(f"random counts of {len(c)} symbols", (c,))
            for c in (_random_counts(rng, i) for i in range(n_cases))]


@exercise_check
def check_huffman_code_lengths(fn, seed=None):
    """Check ``huffman_code_lengths(counts) -> lengths``, the code length of every symbol.

    The exercise asks for Huffman's algorithm: put every symbol that occurs in
    a min-heap keyed by its count, repeatedly merge the two lightest nodes, and
    give each symbol its depth in the final tree; a symbol with count 0 gets
    length 0 and a lone symbol that occurs gets length 1. Ties between equal
    counts can legitimately give different lengths, so **any optimal code is
    accepted**: the answer passes if it has one integer per symbol, 0 exactly
    for the symbols that never occur, Kraft sum ``sum 2**-l <= 1`` (so a
    prefix code with these lengths exists) and the same total number of bits
    ``sum(counts * lengths)`` as the library's
    :func:`~deepcompress_np.huffman.huffman_code_lengths`. A list or an array
    of any integer dtype is fine. With ``seed`` (hidden tests), random cases
    drawn from that seed are run instead. The answer may not call the
    library's ``huffman_code_lengths``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("huffman_code_lengths", fn, _library_code_lengths,
                     random_or_fixed(_code_lengths_cases, _code_lengths_random_cases, seed),
                     _compare_code_lengths, _diagnose_code_lengths, on_exception=_explain_code_lengths_exception,
                     forbidden=(_library_code_lengths,), hidden=seed is not None)


# ---------------------------------------------------------------------------
# Exercise 2: canonical code words
# ---------------------------------------------------------------------------

def _codes_in_order(lengths, order, right_shift=False):
    """Wrong canonical codes for the hints: the usual rule, but in another symbol order.

    ``right_shift`` handles orders where lengths shrink (longest first). Any
    length jump the rule cannot follow gives ``None``.
    """
    codes = np.zeros(len(lengths), dtype=np.int64)
    code, previous = None, None
    for s in order:
        length = int(lengths[s])
        if code is None:
            code = 0
        elif right_shift:
            code = (code + 1) >> (previous - length)
        else:
            code = (code + 1) << max(length - previous, 0)
        codes[s], previous = code, length
    return codes


def _codes_without_shift(lengths):
    """Wrong: sorted by (length, symbol) but each code is the previous plus one, never shifted."""
    used = [s for s in np.lexsort((np.arange(len(lengths)), lengths)) if lengths[s] > 0]
    codes = np.zeros(len(lengths), dtype=np.int64)
    codes[used] = np.arange(len(used))
    return codes


def _reverse_bits(code, length):
    return int(_bits(code, length)[::-1], 2) if length > 0 else 0


def _prefix_clash(codes, lengths):
    """A pair (a, b) where a's code word is a prefix of (or equal to) b's, else None."""
    words = {s: _bits(codes[s], lengths[s]) for s in range(len(lengths)) if lengths[s] > 0}
    for a, word_a in words.items():
        for b, word_b in words.items():
            if a != b and len(word_a) <= len(word_b) and word_b.startswith(word_a):
                return a, b
    return None


def _compare_canonical_codes(got, expected, case):
    lengths = np.asarray(case.args[0], dtype=np.int64)
    if _holds_strings(got):
        return ("the codes came back as strings; return integers, one per symbol: the code word '101' is "
                "the integer 5 (int('101', 2)), and its length says how many leading zeros it has")
    codes, problem = _as_int_vector(got, lengths.size, "the codes")
    if problem:
        return problem
    for s in range(lengths.size):
        if lengths[s] == 0 and codes[s] != 0:
            return f"symbol {s} has no code word (length 0), so its entry should be 0, got {codes[s]}"
        if lengths[s] > 0 and codes[s] >= 1 << int(lengths[s]):
            return (f"symbol {s} has a {lengths[s]}-bit code word, but its code {codes[s]} needs "
                    f"{int(codes[s]).bit_length()} bits")
    if np.array_equal(codes, expected):
        return None
    clash = _prefix_clash(codes, lengths)
    if clash:
        a, b = clash
        word_a, word_b = _bits(codes[a], lengths[a]), _bits(codes[b], lengths[b])
        return (f"not a prefix code: symbol {a} gets '{word_a}' and symbol {b} gets '{word_b}', which "
                f"{'is the same word' if word_a == word_b else 'starts with it'}")
    wrong = int(np.flatnonzero(codes != expected)[0])
    return (f"a prefix code, but not the canonical one: symbol {wrong} should get "
            f"'{_bits(expected[wrong], lengths[wrong])}', got '{_bits(codes[wrong], lengths[wrong])}'")


def _diagnose_canonical_codes(got, expected, case):
    lengths = np.asarray(case.args[0], dtype=np.int64)
    if _holds_strings(got):
        return "convert each bit string with int(word, 2) before returning"
    codes, problem = _as_int_vector(got, lengths.size, "the codes")
    if problem:
        return None
    n = lengths.size
    used = [s for s in range(n) if lengths[s] > 0]
    by_symbol = _codes_in_order(lengths, used)
    longest_first = _codes_in_order(lengths, sorted(used, key=lambda s: (-lengths[s], s)), right_shift=True)
    if np.array_equal(codes, by_symbol):
        return ("you gave out code words in symbol order, ignoring the lengths: first sort the symbols by "
                "(length, symbol), so all shorter code words come before longer ones")
    if np.array_equal(codes, longest_first):
        return ("you started from the longest code words; the canonical order starts from the *shortest*: "
                "sort by (length, symbol), the first gets all zeros, and each next one is the previous plus one, "
                "shifted left when the length grows")
    if np.array_equal(codes, _codes_without_shift(lengths)):
        return ("when the length grows from l to l', shift the next code word left by l' - l bits: "
                "next = (previous + 1) << (l' - l)")
    if all(codes[s] == _reverse_bits(expected[s], lengths[s]) for s in used):
        return ("your code words are bit-reversed: write them most significant bit first (the first bit "
                "of the code word is the highest bit of the integer)")
    same_length_groups = {}
    for s in used:
        same_length_groups.setdefault(int(lengths[s]), []).append(int(codes[s]))
    if any(group != sorted(group) for group in same_length_groups.values()):
        return "among symbols of equal length, the smaller symbol number gets the smaller code word"
    return ("list the symbols in (length, symbol) order next to `expected`: where does your sequence of "
            "code words first differ?")


def _explain_canonical_codes_exception(error, case):
    if isinstance(error, ValueError) and "negative shift" in str(error):
        return ("the length went down from one symbol to the next: sort the symbols by (length, symbol) "
                "first, so lengths only grow and every shift is >= 0")
    return None


def _canonical_cases():
    return [
        Case("lengths of the textbook example", (np.array([1, 3, 3, 3, 4, 4]),)),
        Case("lengths not sorted by symbol", (np.array([3, 2, 3, 1]),)),
        Case("ties: several symbols of one length", (np.array([3, 3, 2, 2, 2]),)),
        Case("symbols without a code word (length 0)", (np.array([2, 0, 2, 0, 1]),)),
        Case("a single symbol", (np.array([0, 1, 0]),)),
        Case("all lengths equal", (np.array([2, 2, 2, 2]),)),
        Case("a long, skewed code", (np.array([7, 7, 6, 5, 4, 3, 2, 1]),)),
        Case("an incomplete code (Kraft sum below 1)", (np.array([2, 3]),)),
    ]


def _canonical_random_cases(rng, n_cases):
    """Hidden cases: the Huffman code lengths of random counts (1 to 24 symbols)."""
    return [Case(f"random Huffman lengths of {len(c)} symbols", (_library_code_lengths(c),))
            for c in (_random_counts(rng, i) for i in range(n_cases))]


@exercise_check
def check_canonical_codes(fn, seed=None):
    """Check ``canonical_codes(lengths) -> codes``, the canonical code word of every symbol.

    The exercise asks for the canonical Huffman code: sort the symbols that
    have a code word (length > 0) by (length, symbol); the first gets the
    all-zero word of its length, and each next one gets the previous code
    word plus one, shifted left by the difference in length. Code word ``s``
    is returned as an **integer** whose low ``lengths[s]`` bits are the code
    word, most significant bit first (``'0110'`` is 6), with 0 for symbols of
    length 0. The canonical code is unique, so the answer must equal the
    library's :func:`~deepcompress_np.huffman.canonical_codes` exactly. Bit
    strings such as ``'101'`` are *not* accepted (the integer and the length
    together carry the same information, and the library packs integers);
    the report says how to convert them. A list or any integer dtype is fine.
    With ``seed`` (hidden tests), random cases drawn from that seed are run
    instead. The answer may not call the library's ``canonical_codes``.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("canonical_codes", fn, _library_canonical_codes,
                     random_or_fixed(_canonical_cases, _canonical_random_cases, seed),
                     _compare_canonical_codes, _diagnose_canonical_codes,
                     on_exception=_explain_canonical_codes_exception, forbidden=(_library_canonical_codes,),
                     hidden=seed is not None)
