"""Checks for tutorial 05, Deep Compression end to end: the compression-rate accounting of one layer.

The paper's Tables 2 and 3 give, for every layer, a "compress rate": the
layer's stored size over its dense float32 size. Tutorial 05 asks the
student to do that accounting for one layer:

* ``layer_compression(n_weights, n_kept, n_fillers, weight_bits, index_bits,
  codebook_size) -> (compressed_bits, rate)``.

After pruning (§2) a layer keeps ``n_kept`` weights and stores them in
relative-index form, which adds ``n_fillers`` filler zeros; every one of the
``m = n_kept + n_fillers`` stored entries holds a weight symbol of
``weight_bits`` bits (a cluster index, §3) and a relative index of
``index_bits`` bits. The codebook holds ``codebook_size`` shared weights as
32-bit floats. So, as :mod:`deepcompress_np.report` defines it::

    compressed_bits = m * (weight_bits + index_bits) + 32 * codebook_size
    rate            = compressed_bits / (32 * n_weights)

The same formula gives both compress-rate columns of Table 2: with the fixed
widths for P+Q, and with the average Huffman-coded bits per entry (which need
not be whole numbers) for P+Q+H. The reference below is that formula;
``tests/test_checks_ratio.py`` shows it reproduces
:func:`deepcompress_np.report.layer_table` on a real compressed layer. When an
answer is wrong the hint names the likely mistake: the codebook forgotten or
counted in bytes, only the kept weights counted (fillers left out), bytes
instead of bits, the rate inverted (dense / compressed is the "40x" ratio),
8 instead of 32 bits per dense weight, a percentage instead of a fraction.
"""

from __future__ import annotations

import math

import numpy as np

from deepcompress_np.checks._core import (Case, compare_numbers, exercise_check, random_or_fixed, read_numbers,
                                          run_check)

__all__ = ["check_layer_compression"]

NAMES = ("compressed_bits", "rate")

FLOAT_BITS = 32  # a dense weight and a codebook entry are float32


def _reference_layer_compression(n_weights, n_kept, n_fillers, weight_bits, index_bits, codebook_size):
    """The accounting of ``deepcompress_np.report.layer_table`` for one layer, from its counts."""
    stored_entries = n_kept + n_fillers
    compressed_bits = stored_entries * (weight_bits + index_bits) + FLOAT_BITS * codebook_size
    return compressed_bits, compressed_bits / (FLOAT_BITS * n_weights)


# ---------------------------------------------------------------------------
# Reading the student's answer without ever raising
# ---------------------------------------------------------------------------

def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


_compare = compare_numbers(NAMES, abs_tol=1e-12)


# ---------------------------------------------------------------------------
# What common mistakes would have returned
# ---------------------------------------------------------------------------

def _wrong_bits(n_weights, n_kept, n_fillers, weight_bits, index_bits, codebook_size):
    """(compressed_bits of a plausible mistake, hint), most likely first."""
    m, k = n_kept + n_fillers, codebook_size
    entries = m * (weight_bits + index_bits)
    book = FLOAT_BITS * k
    return [
        (entries, "the codebook is missing: the k shared weights are stored too, as 32-bit floats "
                  "(add 32 * codebook_size bits)"),
        (n_kept * (weight_bits + index_bits) + book,
         "you counted only the kept weights; the filler zeros are stored entries too, each with a weight "
         "symbol and an index field, so use m = n_kept + n_fillers entries"),
        (n_kept * (weight_bits + index_bits) + n_fillers * index_bits + book,
         "a filler zero carries a weight symbol as well as its index field (the symbol that says 'filler'), "
         "so every one of the n_kept + n_fillers entries costs weight_bits + index_bits"),
        (entries / 8 + book / 8, "compressed_bits is in bytes (you divided by 8); the table counts bits"),
        (entries / 8 + book, "you divided the stored entries' bits by 8; the table counts bits throughout"),
        (entries + 8 * k, "a codebook entry is a float32: 32 bits, not 8"),
        (entries + k * weight_bits,
         "the codebook stores the k shared *values* (32-bit floats), not k symbols of weight_bits each"),
        (entries + k, "each codebook entry costs 32 bits (a float32), not 1"),
        (m * weight_bits + book, "the index bits are missing: every stored entry also has a relative-index field"),
        (m * index_bits + book, "the weight bits are missing: every stored entry also has a weight symbol"),
        (m * (math.log2(k) + index_bits) + book if k > 0 else None,
         "use the weight_bits argument rather than log2(codebook_size): with filler zeros the alphabet has "
         "k + 1 symbols, and after Huffman coding weight_bits is an average that need not be a whole number"),
        (m * weight_bits * index_bits + book, "the weight bits and index bits of an entry add up; don't multiply them"),
        ((n_weights - n_kept) * (weight_bits + index_bits) + book,
         "n_kept is the number of weights that survived pruning, not the number removed"),
    ]


def _wrong_rates(bits, n_weights, n_kept, n_fillers):
    """(rate of a plausible mistake given the right compressed_bits, hint)."""
    dense = FLOAT_BITS * n_weights
    return [
        (dense / bits if bits else None,
         "that is the compression *ratio* dense / compressed (the paper's '40x'); Table 2's compress rate is "
         "the other way round: compressed_bits / dense bits, a small fraction"),
        (100 * bits / dense, "return the rate as a fraction (0.025), not as a percentage (2.5)"),
        (1 - bits / dense, "that is the fraction of bits *saved*; the rate is compressed_bits / dense bits"),
        (bits / (8 * n_weights), "a dense weight is a float32: 32 bits, not 8"),
        (bits / n_weights, "the dense layer takes 32 bits per weight (float32): divide by 32 * n_weights"),
        (bits / (4 * n_weights), "mixed units: n_weights * 4 is the dense size in *bytes*, but compressed_bits "
                                 "is in bits; divide by 32 * n_weights"),
        (bits / 8 / dense, "mixed units: the rate divides bits by bits; no factor 8 is needed"),
        (bits / (FLOAT_BITS * n_kept) if n_kept else None,
         "the dense layer holds all n_weights weights, not only the kept ones"),
        (bits / (FLOAT_BITS * (n_kept + n_fillers)) if n_kept + n_fillers else None,
         "the rate compares with the whole dense layer: 32 * n_weights bits, not the stored entries"),
    ]


def _diagnose(got, expected, case):
    answer, problem = read_numbers(got, NAMES)
    if problem:
        return None
    bits, rate = answer
    exp_bits, exp_rate = expected
    if _close(bits, exp_rate) and _close(rate, exp_bits):
        return "the two results are swapped: return (compressed_bits, rate) in that order"
    if not _close(bits, exp_bits):
        for candidate, hint in _wrong_bits(*case.args):
            if candidate is not None and _close(bits, candidate):
                return hint
        return ("recount the parts: which stored entries did you include, what does each one cost, and "
                "did you count the codebook?")
    if not math.isfinite(rate):
        return "the rate is not finite: did you divide by a count that can be 0 (n_kept, n_fillers)?"
    for candidate, hint in _wrong_rates(bits, case.args[0], case.args[1], case.args[2]):
        if candidate is not None and _close(rate, candidate):
            return hint
    return "rate = compressed_bits / (32 * n_weights): the stored bits over the dense float32 bits"


def _explain_exception(error, case):
    if isinstance(error, ZeroDivisionError):
        return ("a division by zero: in this case n_kept or n_fillers is 0; the rate divides by the dense size, "
                "32 * n_weights, which is never 0")
    if isinstance(error, (TypeError, ValueError)) and not float(case.args[3]).is_integer():
        return ("after Huffman coding weight_bits and index_bits are averages (floats); the formula works "
                "for them unchanged")
    return None


def _cases():
    return [
        Case("a small layer: 160 weights, 12 kept, 2 fillers, 2-bit symbols, 3-bit indices, 4 shared weights",
             (160, 12, 2, 2, 3, 4)),
        Case("no filler zeros (dense enough that every gap fits the index field)", (1000, 250, 0, 6, 4, 64)),
        Case("a LeNet-300-100 ip1-sized layer: 5% kept, 6-bit codebook plus the filler symbol",
             (235200, 11760, 152, 7, 9, 64)),
        Case("after Huffman coding: average bits per entry are not whole numbers", (30000, 2400, 48, 5.37, 4.58, 64)),
        Case("a conv-like layer with 8-bit symbols and 8-bit indices", (25000, 3000, 250, 8, 8, 256)),
        Case("every weight pruned: only the codebook is left", (500, 0, 0, 1, 5, 1)),
        Case("a tiny layer kept whole: the codebook costs more than the layer saves (rate > 1)",
             (64, 64, 0, 8, 1, 256)),
    ]


def _random_cases(rng, n_cases):
    """Hidden cases: random layer sizes, kept fractions, fillers, whole or Huffman-average bit widths."""
    cases = []
    for i in range(n_cases):
        n_weights = int(rng.integers(10, 500_000))
        n_kept = int(rng.integers(0, n_weights + 1) * float(rng.choice([0.05, 0.3, 1.0])))
        n_fillers = int(rng.integers(0, n_kept // 10 + 2)) if n_kept else 0
        if i % 2:
            weight_bits, index_bits = (float(np.round(rng.uniform(1.0, 8.0), 3)) for _ in range(2))
        else:
            weight_bits, index_bits = (int(rng.integers(1, 9)) for _ in range(2))
        codebook_size = int(2 ** rng.integers(1, 9))
        cases.append(Case(f"random layer of {n_weights} weights, {n_kept} kept",
                          (n_weights, n_kept, n_fillers, weight_bits, index_bits, codebook_size)))
    return cases


@exercise_check
def check_layer_compression(fn, seed=None):
    """Check ``layer_compression(n_weights, n_kept, n_fillers, weight_bits, index_bits, codebook_size)``.

    The exercise asks for the compression accounting of one layer, as in the
    paper's Table 2: a layer of ``n_weights`` weights keeps ``n_kept`` after
    pruning and stores them with ``n_fillers`` filler zeros; each of those
    ``n_kept + n_fillers`` stored entries costs ``weight_bits`` (its cluster
    index) plus ``index_bits`` (its relative index), and the codebook of
    ``codebook_size`` shared weights costs 32 bits per entry. The function
    returns ``(compressed_bits, rate)`` with ``rate = compressed_bits / (32 *
    n_weights)``, a fraction of the dense float32 layer. The bits may be
    fractional (average Huffman-coded bits per entry), so ``compressed_bits``
    may be a float; any real-number type is accepted, and results must match
    to 9 significant digits. With ``seed`` (hidden tests), random cases
    drawn from that seed are run instead.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("layer_compression", fn, _reference_layer_compression,
                     random_or_fixed(_cases, _random_cases, seed), _compare, _diagnose,
                     on_exception=_explain_exception, hidden=seed is not None)
