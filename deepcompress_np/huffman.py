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
   trick is explained in :meth:`HuffmanCode.decode` and the helpers below it.

Bits are written most significant bit first, as in
:mod:`deepcompress_np.bitpack`, and the last byte is padded with zero bits.

Example: counts ``[45, 13, 12, 16, 9, 5]`` (the textbook example of Cormen
et al.) give lengths ``[1, 3, 3, 3, 4, 4]`` and the canonical code words
``0, 100, 101, 110, 1110, 1111``.
"""

from __future__ import annotations

import heapq

import numpy as np

MAX_SYMBOLS = 2**16
"""Largest alphabet a :class:`HuffmanCode` accepts (symbols 0 to 65535)."""

MAX_CODE_LENGTH = 32
"""Longest code word this module can handle (code words are ``uint32``)."""

DEFAULT_MAX_LENGTH = 24
"""Length limit used by the compressed file format (and :meth:`HuffmanCode.from_counts`)."""


class HuffmanDecodeError(ValueError):
    """The bit stream cannot be decoded: truncated, corrupted or inconsistent."""


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
           start there and how long it is (:func:`_length_at_every_bit`):
           a table indexed by the next ``k <= 16`` bits answers for short
           code words, and a binary search over the canonical code words
           answers for the rare longer ones. Canonical code words, read as
           left-aligned numbers, sit in consecutive intervals, so "which code
           word starts here" is a search for an interval.
        2. *Which bits really start a code word.* Position 0 does; after
           position ``p`` comes ``p + length[p]``. Following that chain one
           step at a time is the slow part, so the stream is cut into blocks
           that are walked in parallel (:func:`_code_word_starts`). A block
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
        buf = _as_bytes(data)
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
        if n_symbols == 0:
            symbols, end = np.zeros(0, dtype=np.uint32), 0
        else:
            if self._decode_tables is None:
                self._decode_tables = _DecodeTables(self.lengths)
            tables = self._decode_tables
            forty = _forty_bits_from_each_byte(buf)
            length_at = _length_at_every_bit(forty, stream_bits, tables)
            if n_symbols <= _SHORT_STREAM:
                starts, dead_bit = _follow_chain(length_at, stream_bits, n_symbols)
            else:
                starts, dead_bit = _code_word_starts(length_at, stream_bits, n_symbols, tables.longest)
            if starts.size < n_symbols:
                _raise_for_stream_end(forty, stream_bits, starts.size, dead_bit, n_symbols, tables)
            symbols = tables.symbols_at(forty, starts)
            end = int(starts[-1]) + int(length_at[starts[-1]])
        _check_padding(buf, end, n_bits)
        return symbols


# ---------------------------------------------------------------------------
# Part 4: decoding, step by step
# ---------------------------------------------------------------------------


def _as_bytes(data):
    """The stream as a 1-D uint8 array (bytes, bytearray, memoryview or uint8 array)."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError(
                f"data must be bytes or a 1-D uint8 array, got {data.dtype} of shape {data.shape}"
            )
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return np.frombuffer(data, dtype=np.uint8)


def _forty_bits_from_each_byte(buf):
    """The 40 bits that start at each byte of the stream (zeros past its end).

    Any window of up to 33 bits starting inside byte ``b`` lies within
    ``forty[b]``, so a window is one lookup and two shifts (:func:`_bits_at`).

    Parameters
    ----------
    buf : ndarray of uint8, shape (n_bytes,)

    Returns
    -------
    forty : ndarray of uint64, shape (n_bytes,)
    """
    n = buf.size
    padded = np.concatenate([buf, np.zeros(4, dtype=np.uint8)]).astype(np.uint64)
    forty = padded[:n] << np.uint64(32)
    for i in range(1, 5):
        forty |= padded[i : n + i] << np.uint64(32 - 8 * i)
    return forty


def _bits_at(forty, positions, width):
    """The ``width`` bits (<= 32) starting at each bit position, as integers.

    Parameters
    ----------
    forty : ndarray of uint64, shape (n_bytes,)
        From :func:`_forty_bits_from_each_byte`.
    positions : ndarray of int64, shape (m,)
        Bit positions, each below ``8 * n_bytes``.
    width : int

    Returns
    -------
    ndarray of uint64, shape (m,)
    """
    shift = (40 - width - (positions & 7)).astype(np.uint64)
    return (forty[positions >> 3] >> shift) & np.uint64((1 << width) - 1)


class _DecodeTables:
    """What the decoder needs to know about a code, built once per code.

    Read as ``longest``-bit numbers (padded on the right with zeros),
    canonical code words in (length, symbol) order occupy consecutive
    intervals ``[start_i, start_i + 2**(longest - length_i))`` that begin at 0
    and end at ``end`` (``end < 2**longest`` for an incomplete code). So the
    code word at the front of any bit window is found by a binary search over
    ``starts``; windows at or above ``end`` begin with no code word.

    For speed, ``table_length`` and ``table_symbol`` answer directly from
    only the first ``table_bits`` bits whenever those bits settle the
    answer (always for code words of at most ``table_bits`` bits). Entries
    that need more bits hold ``_NEEDS_MORE_BITS``.
    """

    def __init__(self, lengths):
        order = np.lexsort((np.arange(lengths.size), lengths))
        order = order[lengths[order] > 0]
        self.sorted_symbols = order.astype(np.uint32)  # (m,)
        self.sorted_lengths = lengths[order]  # (m,)
        self.longest = int(self.sorted_lengths[-1])
        widths = np.uint64(1) << (self.longest - self.sorted_lengths).astype(np.uint64)
        bounds = np.concatenate([[0], np.cumsum(widths, dtype=np.uint64)]).astype(np.uint64)
        self.starts, self.end = bounds[:-1], int(bounds[-1])  # (m,), int
        self.table_bits = min(self.longest, _TABLE_BITS)
        # For every table_bits-bit prefix v: the first and last window value
        # that begin with v, and the code words they fall into.
        spare = np.uint64(self.longest - self.table_bits)
        prefix = np.arange(2**self.table_bits, dtype=np.uint64)
        lowest = prefix << spare
        highest = ((prefix + np.uint64(1)) << spare) - np.uint64(1)
        first = np.searchsorted(self.starts, lowest, side="right") - 1
        last = np.searchsorted(self.starts, highest, side="right") - 1
        settled = (first == last) & (highest < np.uint64(self.end))
        table_length = np.where(settled, self.sorted_lengths[first], _NEEDS_MORE_BITS)
        table_length[lowest >= np.uint64(self.end)] = 0  # no code word begins like this
        self.table_length = table_length.astype(np.uint8)  # (2**table_bits,)
        self.table_symbol = self.sorted_symbols[first]  # (2**table_bits,)

    def search(self, windows):
        """Length and symbol of the code word at the front of ``longest``-bit windows.

        Parameters
        ----------
        windows : ndarray of uint64, shape (m,)

        Returns
        -------
        lengths : ndarray of uint8, shape (m,)
            0 where the window starts with no code word.
        symbols : ndarray of uint32, shape (m,)
        """
        index = np.searchsorted(self.starts, windows, side="right") - 1
        lengths = np.where(windows < np.uint64(self.end), self.sorted_lengths[index], 0)
        return lengths.astype(np.uint8), self.sorted_symbols[index]

    def symbols_at(self, forty, starts):
        """The symbols whose code words start at these bit positions, shape (m,) uint32."""
        prefix = _bits_at(forty, starts, self.table_bits)
        symbols = self.table_symbol[prefix]
        long = np.flatnonzero(self.table_length[prefix] == _NEEDS_MORE_BITS)
        if long.size:
            symbols[long] = self.search(_bits_at(forty, starts[long], self.longest))[1]
        return symbols


_TABLE_BITS = 16  # the decode table looks at this many bits (at most; k + 7 <= 32)
_NEEDS_MORE_BITS = 255  # table entry: the first table_bits bits do not settle the code word
_CHUNK_BYTES = 1 << 14  # step 1 works through the stream this many bytes at a time


def _length_at_every_bit(forty, stream_bits, tables):
    """Step 1: the length of the code word that would start at every bit position.

    Parameters
    ----------
    forty : ndarray of uint64, shape (n_bytes,)
        From :func:`_forty_bits_from_each_byte`.
    stream_bits : int
        Only the first ``stream_bits`` bits belong to the stream.
    tables : _DecodeTables

    Returns
    -------
    length_at : ndarray of uint8, shape (8 * ceil(stream_bits / 8),)
        ``length_at[p]`` is the length of the code word starting at bit
        ``p``, or 0 if the bits there are no code word or the code word would
        run past the end of the stream. Past ``stream_bits`` it is 0.
    """
    k = tables.table_bits
    n_bytes = (stream_bits + 7) // 8
    length_at = np.empty(8 * n_bytes, dtype=np.uint8)
    # The k-bit window at bit 8*b + r is (thirty_two[b] >> (32 - k - r)) & mask,
    # where thirty_two[b] holds the 32 bits from byte b on (k + 7 <= 32).
    thirty_two = (forty[:n_bytes] >> np.uint64(8)).astype(np.uint32)
    shifts = (32 - k - np.arange(8)).astype(np.uint32)  # (8,)
    mask = np.uint32((1 << k) - 1)
    for lo in range(0, n_bytes, _CHUNK_BYTES):
        hi = min(lo + _CHUNK_BYTES, n_bytes)
        windows = (thirty_two[lo:hi, None] >> shifts) & mask  # (hi - lo, 8)
        np.take(tables.table_length, windows.ravel(), out=length_at[8 * lo : 8 * hi])
    # Code words longer than the table: binary search on the full window.
    long = np.flatnonzero(length_at[:stream_bits] == _NEEDS_MORE_BITS)
    if long.size:
        length_at[long] = tables.search(_bits_at(forty, long, tables.longest))[0]
    # A code word may not run past the end of the stream.
    tail = np.arange(max(stream_bits - tables.longest, 0), stream_bits)
    length_at[tail[tail + length_at[tail] > stream_bits]] = 0
    length_at[stream_bits:] = 0
    return length_at


_SHORT_STREAM = 32768  # up to this many symbols, step 2 simply follows the chain (faster there, measured)


def _follow_chain(length_at, stream_bits, n_symbols):
    """Step 2, the plain way: from bit 0, hop from code word to code word.

    One Python step per code word: the clearest way to find the code word
    starts, and the fastest for short streams. :func:`_code_word_starts`
    does the same for long streams without a loop per symbol.

    Returns the same ``(starts, dead_bit)`` as :func:`_code_word_starts`.
    """
    lengths = length_at[:stream_bits].tolist()
    starts, p = [], 0
    while len(starts) < n_symbols and p < stream_bits:
        if lengths[p] == 0:  # no code word starts here
            return np.array(starts, dtype=np.int64), p
        starts.append(p)
        p += lengths[p]
    return np.array(starts, dtype=np.int64), None


def _walk(lengths, begin, stop_at=None, record=None):
    """Follow code words from many starting points at once until each stops.

    A walk at index ``p`` steps to ``p + lengths[p]``; it stops where
    ``lengths[p] == 0`` or, if ``stop_at`` is given, where ``stop_at[p] >= 0``.
    All walks take their ``t``-th step together: one NumPy operation moves
    every walk that is still going. Each step moves a walk forward by at
    least one, so the loop ends after at most ``lengths.size`` rounds.

    Parameters
    ----------
    lengths : ndarray of uint8, shape (n,)
        Step sizes; must be 0 within ``max(lengths)`` of the end.
    begin : ndarray of int64, shape (w,)
        Where each walk starts.
    stop_at : ndarray of int16, shape (n,), optional
        Walks stop on entries >= 0 (where another walk has been).
    record : ndarray of int16, shape (n,), optional
        Receives the step number ``t`` at every index a walk steps from.

    Returns
    -------
    end : ndarray of int64, shape (w,)
        Where each walk stopped.
    steps : ndarray of int64, shape (w,)
        Steps it took, i.e. code words it passed.
    """
    end = begin.copy()
    steps = np.zeros(begin.size, dtype=np.int64)
    walking = np.arange(begin.size)  # which walks are still going
    p = begin.copy()  # where they are
    t = 0
    while walking.size:
        step = lengths[p]
        if stop_at is not None:
            step[stop_at[p] >= 0] = 0
        moving = step > 0
        if not moving.all():
            end[walking[~moving]], steps[walking[~moving]] = p[~moving], t
            walking, p, step = walking[moving], p[moving], step[moving]
        if record is not None:
            record[p] = t
        p += step
        t += 1
    return end, steps


_ROW_CELLS = 4096  # step 2 lays the stream out in rows of this many cells (a power of 2)


def _code_word_starts(length_at, stream_bits, n_symbols, longest):
    """Step 2: the bit positions where the first ``n_symbols`` code words start.

    The stream is cut into blocks of ``B = _ROW_CELLS - longest`` bits, laid
    out as the rows of a table. Each row holds the block's ``length_at``
    values followed by ``longest`` zeros, so a walk that leaves its block
    stops there by itself, at a column ``>= B`` that tells where it entered
    the next block. The chain of code words enters block ``j`` at bit
    ``j*B + e`` with offset ``e < longest`` (a code word that starts in an
    earlier block ends at most ``longest - 1`` bits into this one). So:

    a. *Guess*: walk every block from its first bit (``e = 0``), all blocks
       in parallel, and write down at which step each bit was passed.
    b. *Other entries*: walk every block from every other offset
       ``e = 1 .. longest - 1``. A walk that lands on a bit of the guess walk
       stops there: from then on it *is* the guess walk, and its exit and
       code word count follow from the guess. Huffman codes resynchronise
       within a few code words, so these walks are short (for a code that
       never resynchronises, such as one with all lengths equal, they run to
       the block end: slower, still exact).
    c. *Link*: now, for every block and entry offset, we know where the
       chain leaves the block and how many code words it passes. A loop
       over the blocks (not the symbols) follows the chain from bit 0.
    d. *Repair*: in each block the chain entered at ``e > 0``, the guess's
       bits before the merge point are wrong: clear them, and walk from the
       true entry to the merge point instead. The bits now marked are
       exactly the code word starts.

    Parameters
    ----------
    length_at : ndarray of uint8, shape (>= stream_bits,)
        From :func:`_length_at_every_bit`.
    stream_bits : int
        Bits in the stream, at least 1.
    n_symbols : int
    longest : int
        Longest code length, at most 32.

    Returns
    -------
    starts : ndarray of int64, shape (m,)
        Start bits of the first ``m = min(n_symbols, code words in the
        stream)`` code words.
    dead_bit : int or None
        If ``m < n_symbols`` because the bits there are no code word, where.
    """
    width = _ROW_CELLS
    row_shift = width.bit_length() - 1  # cell c is in row c >> row_shift
    B = width - longest  # bits per block
    n_blocks = -(-stream_bits // B)
    in_blocks = np.zeros(n_blocks * B, dtype=np.uint8)
    in_blocks[:stream_bits] = length_at[:stream_bits]
    rows = np.zeros((n_blocks, width), dtype=np.uint8)
    rows[:, :B] = in_blocks.reshape(n_blocks, B)
    cells = rows.ravel()  # cell j * width + c is bit j * B + c

    def bit_of(cell):
        return (cell >> row_shift) * B + (cell & (width - 1))

    row_start = np.arange(n_blocks, dtype=np.int64) * width

    # (a) the guess walk of every block, from its first bit
    passed_at = np.full(cells.size, -1, dtype=np.int16)  # step at which the guess passed a cell
    guess_end, guess_steps = _walk(cells, row_start, record=passed_at)

    # (b) walks from every other entry offset, stopping where they join the guess
    offsets = np.arange(1, longest, dtype=np.int64)
    other_begin = (row_start[1:, None] + offsets).ravel()  # (n_blocks - 1) * (longest - 1)
    other_end, other_steps = _walk(cells, other_begin, stop_at=passed_at)

    # (c) for every block j and entry offset e: where the chain leaves, and
    # after how many code words; then follow the chain from bit 0.
    end = np.empty((n_blocks, longest), dtype=np.int64)
    steps = np.empty((n_blocks, longest), dtype=np.int64)
    end[:, 0], steps[:, 0] = guess_end, guess_steps
    end[0, 1:], steps[0, 1:] = width - 1, 0  # block 0 is entered at bit 0 only
    end[1:, 1:] = other_end.reshape(n_blocks - 1, longest - 1)
    steps[1:, 1:] = other_steps.reshape(n_blocks - 1, longest - 1)
    joined = passed_at[end] >= 0
    merge_column = np.where(joined, end & (width - 1), width)  # (n_blocks, longest)
    block = np.arange(n_blocks)[:, None]
    steps = np.where(joined, steps + guess_steps[block] - passed_at[end], steps)
    end = np.where(joined, guess_end[block], end)
    exit_bit = bit_of(end)
    dead = ((end & (width - 1)) < B) & (exit_bit < stream_bits)  # stopped inside the stream
    exit_bit, steps, dead = exit_bit.tolist(), steps.tolist(), dead.tolist()
    entry_offset = []  # for each block the chain passes through
    position, found, dead_bit = 0, 0, None
    while found < n_symbols and position < stream_bits:
        j, e = divmod(position, B)
        entry_offset.append(e)
        found += steps[j][e]
        if dead[j][e]:
            dead_bit = exit_bit[j][e]
            break
        position = exit_bit[j][e]

    # (d) repair the blocks entered at e > 0, then read off the marked cells
    entry_offset = np.array(entry_offset, dtype=np.int64)
    repair = np.flatnonzero(entry_offset)
    for j, e in zip(repair.tolist(), entry_offset[repair].tolist()):
        passed_at[j * width : j * width + merge_column[j, e]] = -1
    _walk(cells, row_start[repair] + entry_offset[repair], stop_at=passed_at, record=passed_at)
    marked = np.flatnonzero(passed_at[: entry_offset.size * width] >= 0)[:n_symbols]
    return bit_of(marked), (dead_bit if found < n_symbols else None)


def _raise_for_stream_end(forty, stream_bits, n_found, dead_bit, n_symbols, tables):
    """Explain why the chain of code words stopped before ``n_symbols``."""
    if dead_bit is not None:
        # Keep only the bits that belong to the stream. If they begin some
        # code word, the stream was cut short; if not, the bits are corrupt.
        # (Canonical code words fill [0, end) without gaps.)
        window = int(_bits_at(forty, np.array([dead_bit]), tables.longest)[0])
        cut = max(dead_bit + tables.longest - stream_bits, 0)
        if (window >> cut) << cut >= tables.end:
            raise HuffmanDecodeError(
                f"corrupt stream: the bits at position {dead_bit} (after {n_found} symbols) are "
                "not a code word of this code"
            )
    raise HuffmanDecodeError(
        f"truncated stream: {stream_bits} bits hold only {n_found} complete symbols, "
        f"but n_symbols={n_symbols}"
    )


def _check_padding(buf, end, n_bits):
    """After the last symbol, allow only the zero padding of the final byte."""
    if n_bits is not None and end != n_bits:
        raise HuffmanDecodeError(
            f"the decoded symbols end at bit {end}, not at n_bits={n_bits}: corrupt stream "
            "or wrong n_symbols"
        )
    left_over = 8 * buf.size - end
    if left_over > 7:
        raise HuffmanDecodeError(
            f"{left_over} bits are left after the last symbol, more than the padding of one "
            "byte: wrong n_symbols or trailing data"
        )
    if left_over and int(buf[-1]) & ((1 << left_over) - 1):
        raise HuffmanDecodeError(
            f"the {left_over} padding bits after the last symbol are not zero: corrupt stream "
            "or wrong n_symbols"
        )
