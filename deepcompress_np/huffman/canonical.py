"""Canonical code words, from code lengths alone (paper §4).

:func:`canonical_codes` turns code lengths into code words in a fixed way,
so a file needs to store only the lengths (as DEFLATE and JPEG do).
:func:`_check_lengths` refuses a length table that is no prefix code (Kraft's
inequality); :class:`~deepcompress_np.huffman.HuffmanCode` uses it too.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.huffman._checks import _as_int_array
from deepcompress_np.huffman.code_lengths import MAX_CODE_LENGTH, MAX_SYMBOLS


def _check_lengths(lengths):
    """Validate a code-length table; return it as uint8, shape (n_symbols,)."""
    arr = _as_int_array(lengths, "code lengths")
    if arr.size > MAX_SYMBOLS:
        raise ValueError(f"at most {MAX_SYMBOLS} symbols are supported, got {arr.size}")
    if arr.size and (arr.min() < 0 or arr.max() > MAX_CODE_LENGTH):
        bad = arr[(arr < 0) | (arr > MAX_CODE_LENGTH)][0]
        raise ValueError(
            f"code lengths must be between 0 (no code) and {MAX_CODE_LENGTH}, found {int(bad)}"
        )
    arr = arr.astype(np.uint8)
    # Kraft's inequality, in exact integer arithmetic: sum 2**-l <= 1.
    used = arr[arr > 0].astype(np.int64)
    kraft_scaled = int((np.int64(1) << (MAX_CODE_LENGTH - used)).sum())
    if kraft_scaled > 2**MAX_CODE_LENGTH:
        kraft = kraft_scaled / 2**MAX_CODE_LENGTH
        raise ValueError(
            f"code lengths are not a valid prefix code (Kraft sum {kraft:.6g} > 1): some code "
            "words would have to share prefixes; rebuild the lengths with huffman_code_lengths"
        )
    return arr


def canonical_codes(lengths):
    """Canonical Huffman code words for the given code lengths.

    Sort the symbols that have a code by (length, symbol). The first gets the
    all-zero word of its length; each next one gets the previous word plus
    one, shifted left by the length difference. Code words of one length are
    then consecutive integers, shorter words come first, and no word is a
    prefix of another. Because the rule is fixed, the lengths alone define
    the code: this is what DEFLATE (RFC 1951 §3.2.2) and JPEG store.

    Parameters
    ----------
    lengths : array_like of int, shape (n_symbols,)
        0 (no code) to 32 each, with Kraft sum ``sum 2**-l <= 1``.

    Returns
    -------
    codes : ndarray of uint32, shape (n_symbols,)
        The code word of symbol ``s`` is the low ``lengths[s]`` bits of
        ``codes[s]``; 0 where the length is 0.
    """
    lengths = _check_lengths(lengths)
    codes = np.zeros(lengths.size, dtype=np.uint32)
    order = np.lexsort((np.arange(lengths.size), lengths))  # by (length, symbol)
    order = order[lengths[order] > 0]
    if order.size == 0:
        return codes
    n_of_length = np.bincount(lengths[order], minlength=MAX_CODE_LENGTH + 1)  # (33,)
    # first[l]: code word of the first symbol of length l (DEFLATE's next_code).
    first = np.zeros(MAX_CODE_LENGTH + 1, dtype=np.int64)
    for length in range(2, MAX_CODE_LENGTH + 1):
        first[length] = (first[length - 1] + n_of_length[length - 1]) << 1
    sorted_lengths = lengths[order]
    group_start = np.concatenate([[0], np.cumsum(n_of_length)])  # where each length begins
    rank = np.arange(order.size) - group_start[sorted_lengths]
    codes[order] = (first[sorted_lengths] + rank).astype(np.uint32)
    return codes
