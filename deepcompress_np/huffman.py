"""Huffman coding: the third stage of Deep Compression (paper §4).

After pruning (§2) and trained quantization (§3) a layer is stored as two
streams of small integers: the cluster index of every surviving weight, and
the gap between consecutive surviving weights (the relative index). Neither
stream is uniform. Most weights sit near zero, so a few clusters are used far
more often than the rest, and short gaps are far more common than long ones.
The paper (§4, Figure 5) codes both streams with a Huffman code, which gives
frequent symbols short code words, and saves another 20% to 30% of storage.

This module is that stage, in four parts.

1. **Code lengths.** :func:`huffman_code_lengths` runs the classic Huffman
   algorithm with a priority queue and gives every symbol a code length.
   An optional length limit (a file stores lengths in a fixed field, and a
   decoder likes a bounded length) is met with the *package-merge* algorithm.
2. **Canonical codes.** :func:`canonical_codes` turns lengths into code
   words in a fixed way, so a file needs to store only the lengths.
3. **Encoding.** :class:`HuffmanCode` keeps the table and packs symbols into
   bits with a few NumPy operations, without a Python loop per symbol.
4. **Decoding.** Reading variable-length code words is sequential by nature
   (where a code word starts depends on all the ones before it). The decoder
   still avoids a Python loop per symbol: it works out, for *every* bit
   position at once, the code word that would start there, and then finds
   the real code word starts block by block, many blocks in parallel. The
   trick is explained in :meth:`HuffmanCode.decode`; the machinery has a
   module of its own, ``huffman_decode.py``.

Bits are written most significant bit first, as in
:mod:`deepcompress_np.bitpack`, and the last byte is padded with zero bits.

Example: counts ``[45, 13, 12, 16, 9, 5]`` (the textbook example of Cormen
et al.) give lengths ``[1, 3, 3, 3, 4, 4]`` and the canonical code words
``0, 100, 101, 110, 1110, 1111``.
"""

from __future__ import annotations

import heapq

import numpy as np

from deepcompress_np.bitpack import as_byte_array
from deepcompress_np.huffman_decode import DecodeTables, HuffmanDecodeError, decode_stream

MAX_SYMBOLS = 2**16
"""Largest alphabet a :class:`HuffmanCode` accepts (symbols 0 to 65535)."""

MAX_CODE_LENGTH = 32
"""Longest code word this module can handle (code words are ``uint32``)."""

DEFAULT_MAX_LENGTH = 24
"""Length limit used by the compressed file format (and :meth:`HuffmanCode.from_counts`)."""


# ---------------------------------------------------------------------------
# Input checks shared by the functions below
# ---------------------------------------------------------------------------


def _as_int_array(values, what):
    """A 1-D integer ndarray from ``values``, or a clear TypeError/ValueError."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "ui":
        raise TypeError(
            f"{what} must be integers, got dtype {arr.dtype}; convert with .astype(int) "
            "(or np.bincount for counts)"
        )
    return arr


def _as_counts(counts):
    """Validated symbol counts as int64, shape (n_symbols,)."""
    counts = _as_int_array(counts, "counts")
    if counts.size and counts.min() < 0:
        raise ValueError(f"counts must be non-negative, found {counts.min()}")
    return counts.astype(np.int64)


def _check_count(value, what):
    """A non-negative Python int (any size: a corrupt huge count is caught later)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value}")
    return int(value)


def _check_int(value, what, low, high):
    """An int in ``[low, high]``, or a clear TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, got {value}")
    return int(value)


# ---------------------------------------------------------------------------
# How good can a code be? The empirical entropy
# ---------------------------------------------------------------------------


def entropy_bits(counts):
    """Empirical entropy of a symbol stream, in bits per symbol.

    ``H = -sum_i p_i log2 p_i`` with ``p_i = counts[i] / sum(counts)``. No
    prefix code can use fewer than ``H`` bits per symbol on average, and a
    Huffman code uses fewer than ``H + 1``.

    Parameters
    ----------
    counts : array_like of int, shape (n_symbols,)
        How often each symbol occurs.

    Returns
    -------
    float
    """
    counts = _as_counts(counts)
    total = int(counts.sum())
    if total == 0:
        raise ValueError("entropy of an empty stream is undefined: counts sum to zero")
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


# ---------------------------------------------------------------------------
# Part 1: code lengths (Huffman, then package-merge if a limit binds)
# ---------------------------------------------------------------------------


def huffman_code_lengths(counts, max_length=None):
    """Optimal prefix-code lengths for the given symbol counts.

    Huffman's algorithm: put every symbol that occurs into a priority queue
    keyed by its count; repeatedly take out the two lightest nodes, join them
    under a new node whose weight is their sum, and put that back. When one
    node is left, the depth of each symbol in the tree is its code length.

    **Tie-breaking rule** (so the same counts always give the same code):
    each node carries a number -- symbol ``s`` is node ``s``, and the ``k``-th
    joined node is node ``n_symbols + k``. Among nodes of equal weight the
    one with the smaller number comes out of the queue first. So leaves go
    before joined nodes of the same weight (this keeps the tree shallow), and
    among equal counts the *smaller* symbol index is joined first and gets a
    code at least as long as a larger index with the same count. Permuting
    symbols that have equal counts can therefore move those lengths around,
    but never changes the total number of bits.

    **Length limit.** If ``max_length`` is given and the Huffman tree is
    deeper than that, the lengths are recomputed with the *package-merge*
    algorithm (Larmore and Hirschberg, 1990), which gives the best code
    among those with no code word longer than ``max_length``. We use it
    rather than the zlib/JPEG heuristic (shorten the long codes, then repair
    the Kraft sum) because it is optimal, short to write with NumPy, and easy
    to test: its result can be compared with the unlimited code. When the
    limit does not bind, the Huffman lengths are returned unchanged.

    Parameters
    ----------
    counts : array_like of int, shape (n_symbols,)
        How often each symbol occurs; ``n_symbols <= 2**16``.
    max_length : int, optional
        Longest allowed code word, 1 to 32; must leave room for every
        symbol that occurs (``2**max_length >= number of used symbols``).

    Returns
    -------
    lengths : ndarray of uint8, shape (n_symbols,)
        Code length of each symbol; 0 for symbols with count 0 (they get no
        code word). A lone symbol that occurs still gets a 1-bit code.
    """
    counts = _as_counts(counts)
    if counts.size > MAX_SYMBOLS:
        raise ValueError(f"at most {MAX_SYMBOLS} symbols are supported, got {counts.size}")
    if max_length is not None:
        max_length = _check_int(max_length, "max_length", 1, MAX_CODE_LENGTH)
    lengths = np.zeros(counts.size, dtype=np.uint8)
    used = np.flatnonzero(counts)  # (m,) symbols that occur, ascending
    if used.size == 0:
        return lengths
    if used.size == 1:
        lengths[used] = 1  # a 1-bit code "0": a code word must have at least one bit
        return lengths
    if max_length is not None and 2**max_length < used.size:
        raise ValueError(
            f"max_length={max_length} leaves room for only {2**max_length} code words, "
            f"but {used.size} symbols occur; raise max_length to at least "
            f"{int(np.ceil(np.log2(used.size)))}"
        )
    depths = _huffman_depths(counts[used].tolist())
    if max_length is not None and depths.max() > max_length:
        depths = _package_merge_lengths(counts[used], max_length)
    lengths[used] = depths
    return lengths


def _huffman_depths(weights):
    """Depth of every leaf in a Huffman tree, with the tie-breaking rule above.

    Parameters
    ----------
    weights : list of int, length m >= 2
        Positive weights of the leaves, in symbol order.

    Returns
    -------
    ndarray of int64, shape (m,)
    """
    m = len(weights)
    # A queue entry is (weight, node number); the node number breaks ties.
    queue = [(w, node) for node, w in enumerate(weights)]
    heapq.heapify(queue)
    parent = [0] * (2 * m - 1)
    new_node = m
    while len(queue) > 1:
        w1, a = heapq.heappop(queue)
        w2, b = heapq.heappop(queue)
        parent[a] = parent[b] = new_node
        heapq.heappush(queue, (w1 + w2, new_node))
        new_node += 1
    # Every parent is numbered after its children, so one pass from the root
    # (the last node) downwards gives all depths.
    depth = [0] * (2 * m - 1)
    for node in range(2 * m - 3, -1, -1):
        depth[node] = depth[parent[node]] + 1
    return np.array(depth[:m], dtype=np.int64)


def _package_merge_lengths(weights, max_length):
    """Optimal code lengths of at most ``max_length`` bits (package-merge).

    The "coin collector" view: a code length ``l`` for a symbol is made of
    ``l`` coins, one of each width ``2**-1, ..., 2**-l``, each coin worth the
    symbol's weight. A prefix code with lengths <= L exists exactly when the
    coins can be chosen so the widths add up to ``n - 1``; the cheapest
    choice is the optimal code. Package-merge finds it level by level:

    - level ``L`` holds one coin per symbol, sorted by weight;
    - level ``l - 1`` holds the coins of level ``l`` *packaged* in pairs
      (two neighbours, weight summed; an odd last one is dropped), merged
      with a fresh coin per symbol, sorted by weight;
    - take the ``2n - 2`` cheapest items of level 1.

    A symbol's length is the number of its coins among the chosen items,
    counting coins inside chosen packages. Because each level's list is
    sorted and packages are built from neighbours, the chosen items at every
    level are a *prefix* of that level's list: the first ``k`` symbol coins
    (the ``k`` lightest symbols) and the first ``p`` packages, which are made
    of the first ``2p`` items of the level below. So we only count.

    Parameters
    ----------
    weights : ndarray of int64, shape (m,)
        Positive weights in symbol order, ``2 <= m <= 2**max_length``.
    max_length : int

    Returns
    -------
    ndarray of int64, shape (m,)
    """
    m = weights.size
    by_weight = np.argsort(weights, kind="stable")  # ties: smaller symbol first
    leaves = weights[by_weight]  # (m,) ascending
    is_leaf_at_level = {max_length: np.ones(m, dtype=bool)}
    items = leaves
    for level in range(max_length - 1, 0, -1):
        n_pairs = items.size // 2
        packages = items[0 : 2 * n_pairs : 2] + items[1 : 2 * n_pairs : 2]
        merged = np.concatenate([leaves, packages])
        order = np.argsort(merged, kind="stable")  # ties: leaves before packages
        items = merged[order]
        is_leaf_at_level[level] = order < m
    lengths_by_weight = np.zeros(m, dtype=np.int64)
    n_chosen = 2 * m - 2
    for level in range(1, max_length + 1):
        n_leaves = int(np.count_nonzero(is_leaf_at_level[level][:n_chosen]))
        lengths_by_weight[:n_leaves] += 1  # the n_leaves lightest symbols get one more bit
        n_chosen = 2 * (n_chosen - n_leaves)  # chosen packages -> their items one level down
    lengths = np.empty(m, dtype=np.int64)
    lengths[by_weight] = lengths_by_weight
    return lengths


# ---------------------------------------------------------------------------
# Part 2: canonical code words, from lengths alone
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Part 3: the code table, encoding
# ---------------------------------------------------------------------------


_ENCODE_PIECE = 1 << 15  # encode works through the symbols this many at a time


class HuffmanCode:
    """A canonical Huffman code: build it once, then encode and decode with it.

    The code is defined by its code lengths alone (:attr:`lengths`, one byte
    per symbol), which is all a file needs to store; the code words follow
    from :func:`canonical_codes`. Build one with :meth:`from_counts`,
    :meth:`from_symbols` or :meth:`from_lengths`.

    Incomplete codes (Kraft sum below 1, e.g. the single-symbol code, whose
    one code word ``0`` leaves ``1`` unused) are accepted; decoding a bit
    pattern that is no code word raises :class:`HuffmanDecodeError`.

    Attributes
    ----------
    lengths : ndarray of uint8, shape (n_symbols,)
        Code length of each symbol, 0 if it has no code word.
    codes : ndarray of uint32, shape (n_symbols,)
        Canonical code word of each symbol (its low ``lengths[s]`` bits).
    n_symbols : int
        Alphabet size; symbols are ``0 .. n_symbols - 1``.
    """

    def __init__(self, lengths):
        self.lengths = _check_lengths(lengths)
        self.codes = canonical_codes(self.lengths)
        self._codes64 = self.codes.astype(np.uint64)  # for encode
        self.n_symbols = int(self.lengths.size)
        self.lengths.setflags(write=False)
        self.codes.setflags(write=False)
        self._decode_tables = None  # built on first decode

    @classmethod
    def from_lengths(cls, lengths):
        """The code with these code lengths (e.g. as read from a file).

        Parameters
        ----------
        lengths : array_like of int, shape (n_symbols,)
            0 to 32 each; Kraft sum must be at most 1, else ValueError
            ("not a valid prefix code").
        """
        return cls(lengths)

    @classmethod
    def from_counts(cls, counts, max_length=DEFAULT_MAX_LENGTH):
        """The optimal code (with code words of at most ``max_length`` bits) for these counts.

        Parameters
        ----------
        counts : array_like of int, shape (n_symbols,)
        max_length : int or None
            Length limit, see :func:`huffman_code_lengths`.
        """
        return cls(huffman_code_lengths(counts, max_length))

    @classmethod
    def from_symbols(cls, symbols, n_symbols=None, max_length=DEFAULT_MAX_LENGTH):
        """The optimal code for a stream of symbols.

        Parameters
        ----------
        symbols : array_like of int, shape (n,)
            Non-negative symbols.
        n_symbols : int, optional
            Alphabet size (default ``max(symbols) + 1``); symbols that do not
            occur get no code word.
        max_length : int or None
        """
        symbols = _as_int_array(symbols, "symbols")
        if symbols.size and symbols.min() < 0:
            raise ValueError(f"symbols must be non-negative, found {symbols.min()}")
        top = int(symbols.max()) + 1 if symbols.size else 0
        if n_symbols is None:
            n_symbols = top
        n_symbols = _check_int(n_symbols, "n_symbols", 0, MAX_SYMBOLS)
        if top > n_symbols:
            raise ValueError(
                f"symbol {top - 1} is outside the alphabet of {n_symbols} symbols; "
                "pass a larger n_symbols"
            )
        return cls.from_counts(np.bincount(symbols, minlength=n_symbols), max_length)

    def __repr__(self):
        n_codes = int(np.count_nonzero(self.lengths))
        longest = int(self.lengths.max()) if self.n_symbols else 0
        return f"HuffmanCode(n_symbols={self.n_symbols}, n_codes={n_codes}, longest={longest})"

    def __eq__(self, other):
        if not isinstance(other, HuffmanCode):
            return NotImplemented
        return np.array_equal(self.lengths, other.lengths)

    __hash__ = None

    # -- sizes --------------------------------------------------------------

    def bits_for(self, counts):
        """Total encoded size, in bits, of a stream with these symbol counts.

        Parameters
        ----------
        counts : array_like of int, shape (n_symbols,)

        Returns
        -------
        int
            ``sum(counts * lengths)``.
        """
        counts = _as_counts(counts)
        if counts.size != self.n_symbols:
            raise ValueError(f"expected {self.n_symbols} counts, got {counts.size}")
        uncoded = np.flatnonzero((counts > 0) & (self.lengths == 0))
        if uncoded.size:
            raise ValueError(
                f"symbol {uncoded[0]} occurs but has no code word; build the code from these counts"
            )
        return int((counts * self.lengths.astype(np.int64)).sum())

    def average_length(self, counts):
        """Average code length, in bits per symbol, for these counts.

        Parameters
        ----------
        counts : array_like of int, shape (n_symbols,)

        Returns
        -------
        float
            ``bits_for(counts) / sum(counts)``; for the code built from the
            same counts it lies in ``[entropy_bits(counts), entropy + 1)``.
        """
        total = int(_as_counts(counts).sum())
        if total == 0:
            raise ValueError("average length of an empty stream is undefined: counts sum to zero")
        return self.bits_for(counts) / total

    # -- encoding -----------------------------------------------------------

    def encode(self, symbols):
        """Encode symbols into a bit stream.

        Vectorised: look up every symbol's code word and length, compute
        where each code word starts (a cumulative sum of lengths), and drop
        it into the output viewed as 32-bit words. A code word of at most 32
        bits that starts inside word ``w`` ends in ``w`` or ``w + 1``, so it is
        placed in a 64-bit field covering both; the fields of all code words
        starting in the same word are OR-ed together (one ``reduceat``) and
        the field's two halves go to words ``w`` and ``w + 1``. The symbols
        are processed in pieces of ``_ENCODE_PIECE``, which keeps the
        temporary arrays small enough to stay in the CPU cache.

        Parameters
        ----------
        symbols : array_like of int, shape (n,)
            Each in ``0 .. n_symbols - 1`` and with a code word.

        Returns
        -------
        data : bytes
            ``ceil(n_bits / 8)`` bytes, last byte zero-padded.
        n_bits : int
            Number of meaningful bits.
        """
        symbols = _as_int_array(symbols, "symbols")
        if symbols.size == 0:
            return b"", 0
        low, high = symbols.min(), symbols.max()
        if low < 0 or high >= self.n_symbols:
            bad = low if low < 0 else high
            raise ValueError(
                f"symbol {int(bad)} (at position {int(np.flatnonzero(symbols == bad)[0])}) is "
                f"outside the alphabet 0..{self.n_symbols - 1} of this code"
            )
        lengths = self.lengths[symbols]  # (n,)
        if not lengths.all():
            where = int(np.flatnonzero(lengths == 0)[0])
            raise ValueError(
                f"symbol {int(symbols[where])} (at position {where}) has no code word: it did not "
                "occur in the data the code was built from; rebuild the code including it"
            )
        n_bits = int(lengths.sum(dtype=np.uint64))
        out = np.zeros(n_bits // 32 + 2, dtype=np.uint64)  # the stream as 32-bit words
        bits_before = 0  # bits written by earlier pieces
        for lo in range(0, symbols.size, _ENCODE_PIECE):
            piece = slice(lo, lo + _ENCODE_PIECE)
            ends = np.cumsum(lengths[piece], dtype=np.uint64) + np.uint64(bits_before)  # (m,)
            starts = ends - lengths[piece]  # (m,) first bit of each code word
            bits_before = int(ends[-1])
            word = starts >> np.uint64(5)  # (m,) the 32-bit word where it starts
            # Place each code word in a 64-bit field whose top half is word
            # `word` and bottom half is word `word + 1`.
            shift = np.uint64(64) - (starts & np.uint64(31)) - lengths[piece]
            placed = self._codes64[symbols[piece]] << shift  # (m,)
            # OR together the fields of the code words starting in one word.
            first_in_word = np.concatenate([[0], np.flatnonzero(word[1:] != word[:-1]) + 1])
            field = np.bitwise_or.reduceat(placed, first_in_word)
            w = word[first_in_word].astype(np.intp)
            out[w] |= field >> np.uint64(32)
            out[w + 1] |= field & np.uint64(0xFFFFFFFF)
        return out.astype(">u4").tobytes()[: (n_bits + 7) // 8], n_bits

    # -- decoding -----------------------------------------------------------

    def decode(self, data, n_symbols, n_bits=None):
        """Decode ``n_symbols`` symbols from a bit stream.

        How it works (no Python loop per symbol):

        1. *A code word at every bit.* For every bit position ``p`` of the
           stream, look at the next bits and find which code word would
           start there and how long it is (``huffman_decode._length_at_every_bit``):
           a table indexed by the next ``k <= 16`` bits answers for short
           code words, and a binary search over the canonical code words
           answers for the rare longer ones. Canonical code words, read as
           left-aligned numbers, sit in consecutive intervals, so "which code
           word starts here" is a search for an interval.
        2. *Which bits really start a code word.* Position 0 does; after
           position ``p`` comes ``p + length[p]``. A short stream simply
           follows that chain one step at a time. For a long one that is the
           slow part, so the stream is cut into blocks that are walked in
           parallel (``huffman_decode._code_word_starts``). A block
           cannot know where its first code word starts, but the offset is
           less than the longest code length, so every possible start is
           walked at once. Huffman codes resynchronise quickly, so most of
           those walks soon land on a bit already visited from the block's
           first bit and can stop. A short loop over the blocks (not the
           symbols) then links them, and each block's walk is repaired up to
           the point where it met the true chain.
        3. Read the symbol at each code word start.

        Memory use is a few bytes per bit of the stream (about 40 bytes per
        byte), all proportional to ``len(data)``; the symbol count is checked
        against the stream length before anything is allocated.

        Parameters
        ----------
        data : bytes-like
            The stream, as from :meth:`encode`.
        n_symbols : int
            How many symbols to decode.
        n_bits : int, optional
            If given, the symbols must use exactly ``n_bits`` bits.

        Returns
        -------
        symbols : ndarray of uint32, shape (n_symbols,)
            ``uint32`` like :func:`deepcompress_np.bitpack.unpack_fixed`
            (every symbol fits, and arithmetic on them does not wrap early).

        Raises
        ------
        HuffmanDecodeError
            If the stream runs out of bits before ``n_symbols`` symbols, holds
            a bit pattern that is no code word, has ``n_symbols`` too large
            for its length, or has bits left over after the last symbol other
            than fewer than 8 zero padding bits (and, with ``n_bits``, if the
            symbols do not end exactly at ``n_bits``).
        """
        buf = as_byte_array(data)
        n_symbols = _check_count(n_symbols, "n_symbols")
        total_bits = 8 * buf.size
        if n_bits is None:
            stream_bits = total_bits
        else:
            n_bits = _check_count(n_bits, "n_bits")
            if n_bits > total_bits:
                raise HuffmanDecodeError(
                    f"truncated stream: n_bits={n_bits} but the data holds only {total_bits} bits"
                )
            if total_bits - n_bits > 7:
                raise HuffmanDecodeError(
                    f"{total_bits - n_bits} bits follow the last of the n_bits={n_bits} bits; "
                    "only the final byte may hold padding"
                )
            stream_bits = n_bits
        # Check n_symbols against the stream length before allocating anything.
        coded = self.lengths[self.lengths > 0]
        if n_symbols and coded.size == 0:
            raise HuffmanDecodeError("this code has no code words, so it cannot decode any symbols")
        if n_symbols and n_symbols > stream_bits // int(coded.min()):
            raise HuffmanDecodeError(
                f"n_symbols={n_symbols} cannot fit in {stream_bits} bits (the shortest code word "
                f"has {int(coded.min())} bits): truncated stream or corrupt symbol count"
            )
        if coded.size and n_symbols * int(coded.max()) < stream_bits - (7 if n_bits is None else 0):
            raise HuffmanDecodeError(
                f"n_symbols={n_symbols} code words of at most {int(coded.max())} bits cannot fill "
                f"the {stream_bits}-bit stream: wrong n_symbols or trailing data"
            )
        if n_symbols and self._decode_tables is None:
            self._decode_tables = DecodeTables(self.lengths)
        return decode_stream(buf, self._decode_tables, n_symbols, stream_bits, n_bits)


__all__ = [
    "DEFAULT_MAX_LENGTH", "MAX_CODE_LENGTH", "MAX_SYMBOLS", "HuffmanCode", "HuffmanDecodeError",
    "canonical_codes", "entropy_bits", "huffman_code_lengths",
]
