"""Checks for tutorial 07, why it matters: the bytes of weights one inference reads from a layer.

At batch size 1 a fully connected layer reads each weight it stores once per
input (paper §6.3), so memory traffic -- and with it time and energy -- is
set by the bytes of the form the layer is kept in. Tutorial 07 asks for:

* ``weight_traffic(n_out, n_in, n_kept, n_entries, weight_bits, index_bits,
  codebook_size) -> (dense_bytes, csr_bytes, compressed_bytes)``

with the definitions of :func:`deepcompress_np.energy.weight_bytes`::

    dense_bytes      = 4 * n_out * n_in                      (float32)
    csr_bytes        = 4 * (2 * n_kept + n_out + 1)          (paper §2: 2a + n + 1 numbers, 32 bits each)
    compressed_bytes = (n_entries * (weight_bits + index_bits) + 32 * codebook_size) / 8

``n_entries`` counts the stored entries of the relative-index form, filler
zeros included; the compressed bytes may be fractional (bits / 8). When an
answer is wrong the hint names the likely mistake: bits for bytes, 64-bit
CSR numbers, row pointers missing or counted per column, the fillers or the
codebook forgotten, bytes rounded, the three results in another order.
"""

from __future__ import annotations

import math

import numpy as np

from deepcompress_np.checks._core import (Case, compare_numbers, exercise_check, random_or_fixed, read_numbers,
                                          run_check)
from deepcompress_np.energy import LayerCounts, weight_bytes

__all__ = ["check_weight_traffic"]

NAMES = ("dense_bytes", "csr_bytes", "compressed_bytes")


def _reference_weight_traffic(n_out, n_in, n_kept, n_entries, weight_bits, index_bits, codebook_size):
    counts = LayerCounts("layer", n_out, n_in, n_kept, n_entries, weight_bits, index_bits, codebook_size)
    return tuple(weight_bytes(counts, form) for form in ("dense", "csr", "compressed"))


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


_compare = compare_numbers(NAMES, abs_tol=1e-9)


def _wrong(n_out, n_in, n_kept, n_entries, weight_bits, index_bits, codebook_size):
    """(which result, value of a plausible mistake, hint), most likely first."""
    n = n_out * n_in
    entry_bits = n_entries * (weight_bits + index_bits)
    book_bits = 32 * codebook_size
    return [
        ("dense_bytes", 32 * n, "dense_bytes is in bits; a float32 weight takes 4 bytes"),
        ("dense_bytes", 4 * n_kept, "the dense layer stores every weight, pruned ones included: 4 * n_out * n_in"),
        ("dense_bytes", n, "a float32 weight takes 4 bytes, not 1"),
        ("csr_bytes", 8 * n_kept, "CSR also stores n_out + 1 row pointers (the paper's 2a + n + 1 numbers)"),
        ("csr_bytes", 4 * (2 * n_kept + n_out), "there are n_out + 1 row pointers (row r ends where row r + 1 "
                                                 "starts, and the last row needs an end too)"),
        ("csr_bytes", 4 * (2 * n_kept + n_in + 1), "CSR has one pointer per *row* (n_out + 1 of them); one per "
                                                    "column (n_in + 1) is CSC"),
        ("csr_bytes", 8 * (2 * n_kept + n_out + 1), "the CSR numbers are 32-bit (4 bytes), as MKL's CSR reads them"),
        ("csr_bytes", 4 * n_kept + 8 * (n_kept + n_out + 1), "the CSR indices and pointers are 32-bit here "
                                                               "(4 bytes), not 64-bit"),
        ("csr_bytes", 32 * (2 * n_kept + n_out + 1), "csr_bytes is in bits; each of the 2a + n + 1 numbers takes "
                                                     "4 bytes"),
        ("csr_bytes", 4 * (2 * n_entries + n_out + 1), "CSR stores only the kept weights (n_kept); filler zeros "
                                                       "exist only in the relative-index form"),
        ("compressed_bytes", entry_bits + book_bits, "compressed_bytes is in bits: divide the bits by 8"),
        ("compressed_bytes", (n_kept * (weight_bits + index_bits) + book_bits) / 8,
         "count every stored entry, the filler zeros too: n_entries, not n_kept"),
        ("compressed_bytes", entry_bits / 8, "the codebook is read too: codebook_size float32 values, 32 bits each"),
        ("compressed_bytes", entry_bits / 8 + codebook_size, "a codebook entry is a float32: 4 bytes, not 1"),
        ("compressed_bytes", (n_entries * weight_bits + book_bits) / 8,
         "each stored entry also has its relative-index field: weight_bits + index_bits per entry"),
        ("compressed_bytes", (n_entries * index_bits + book_bits) / 8,
         "each stored entry also has its cluster index: weight_bits + index_bits per entry"),
        ("compressed_bytes", math.ceil(entry_bits / 8) + 4 * codebook_size,
         "do not round: the stream of entries is bits long, so the bytes can be fractional (bits / 8)"),
        ("compressed_bytes", (entry_bits + book_bits) // 8,
         "do not round: the stream of entries is bits long, so the bytes can be fractional (bits / 8)"),
    ]


def _diagnose(got, expected, case):
    answer, problem = read_numbers(got, NAMES)
    if problem:
        return None
    if sorted(answer) == sorted(expected) and answer != expected:
        return "the three results are in another order: return (dense_bytes, csr_bytes, compressed_bytes)"
    for label, g, e in zip(NAMES, answer, expected):
        if _close(g, e):
            continue
        for which, value, hint in _wrong(*case.args):
            if which == label and _close(g, value):
                return hint
        return {"dense_bytes": "dense: 4 bytes for every one of the n_out * n_in weights",
                "csr_bytes": "CSR: 2 * n_kept + n_out + 1 numbers of 4 bytes each",
                "compressed_bytes": "compressed: (n_entries * (weight_bits + index_bits) + 32 * codebook_size) / 8"
                }[label]
    return None


def _cases():
    return [
        Case("a small layer: 4 x 10, 6 kept, 2 fillers, 3-bit symbols, 2-bit gaps, 4 shared weights",
             (4, 10, 6, 8, 3, 2, 4)),
        Case("LeNet-300-100's ip1 at the paper's 8%: 18,816 kept, 6-bit symbols, 5-bit gaps, 64 shared weights",
             (300, 784, 18816, 19050, 6, 5, 64)),
        Case("entries whose bits do not fill whole bytes", (3, 7, 5, 5, 3, 2, 2)),
        Case("VGG-16's fc6 at the paper's 4%: 4,110,418 kept, 6-bit symbols, 5-bit gaps, 32 shared weights",
             (4096, 25088, 4110418, 5637361, 6, 5, 32)),
        Case("every weight pruned: only the row pointers and the codebook are left", (50, 20, 0, 0, 1, 5, 1)),
        Case("a layer kept whole, no fillers", (8, 8, 64, 64, 8, 1, 256)),
    ]


def _random_cases(rng, n_cases):
    """Hidden cases: random layer shapes, kept fractions, fillers and bit widths."""
    cases = []
    for _ in range(n_cases):
        n_out, n_in = (int(rng.integers(1, 5000)) for _ in range(2))
        n_kept = int(rng.integers(0, n_out * n_in + 1) * float(rng.choice([0.02, 0.1, 1.0])))
        n_entries = n_kept + (int(rng.integers(0, n_kept // 4 + 2)) if n_kept else 0)
        weight_bits, index_bits = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        codebook_size = int(2 ** rng.integers(1, 9))
        cases.append(Case(f"random {n_out} x {n_in} layer, {n_kept} kept",
                          (n_out, n_in, n_kept, n_entries, weight_bits, index_bits, codebook_size)))
    return cases


@exercise_check
def check_weight_traffic(fn, seed=None):
    """Check ``weight_traffic(n_out, n_in, n_kept, n_entries, weight_bits, index_bits, codebook_size)``.

    The exercise asks for the bytes one inference (batch 1) reads from a fully
    connected layer of ``n_out x n_in`` weights in each form:
    ``(dense_bytes, csr_bytes, compressed_bytes)`` as defined in this
    module's docstring. Any real-number types are accepted; the results must
    match to 9 significant digits. The answer may not call
    ``energy.weight_bytes``. With ``seed`` (hidden tests), random cases drawn
    from that seed are run instead.

    Returns
    -------
    None
        Prints the report; raises ``CheckFailed`` unless every case passes.
    """
    return run_check("weight_traffic", fn, _reference_weight_traffic, random_or_fixed(_cases, _random_cases, seed),
                     _compare, _diagnose, forbidden=(weight_bytes,), hidden=seed is not None)
