"""The code table, encoding (paper §4).

:class:`HuffmanCode` keeps the code table (the code lengths, from
``code_lengths.py``, and the canonical code words, from ``canonical.py``) and
packs symbols into bits with a few NumPy operations, without a Python loop
per symbol (:meth:`HuffmanCode.encode`). :meth:`HuffmanCode.decode` checks
its arguments and hands the stream to the decoder, ``decoder.py``.

Bits are written most significant bit first, as in
:mod:`deepcompress_np.bitpack`, and the last byte is padded with zero bits.
"""

from __future__ import annotations

import numpy as np

from deepcompress_np.bitpack import as_byte_array
from deepcompress_np._validate import check_int
from deepcompress_np.huffman._checks import _as_counts, _as_int_array
from deepcompress_np.huffman.canonical import _check_lengths, canonical_codes
from deepcompress_np.huffman.code_lengths import MAX_SYMBOLS, huffman_code_lengths
from deepcompress_np.huffman.decoder import DecodeTables, HuffmanDecodeError, decode_stream

DEFAULT_MAX_LENGTH = 24
"""Length limit used by the compressed file format (and :meth:`HuffmanCode.from_counts`)."""

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
        n_symbols = check_int(n_symbols, "n_symbols", 0, MAX_SYMBOLS)
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
           start there and how long it is (``decoder._length_at_every_bit``):
           a table indexed by the next ``k <= 16`` bits answers for short
           code words, and a binary search over the canonical code words
           answers for the rare longer ones. Canonical code words, read as
           left-aligned numbers, sit in consecutive intervals, so "which code
           word starts here" is a search for an interval.
        2. *Which bits really start a code word.* Position 0 does; after
           position ``p`` comes ``p + length[p]``. A short stream simply
           follows that chain one step at a time. For a long one that is the
           slow part, so the stream is cut into blocks that are walked in
           parallel (``decoder._code_word_starts``). A block
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
        n_symbols = check_int(n_symbols, "n_symbols", 0)
        total_bits = 8 * buf.size
        if n_bits is None:
            stream_bits = total_bits
        else:
            n_bits = check_int(n_bits, "n_bits", 0)
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
