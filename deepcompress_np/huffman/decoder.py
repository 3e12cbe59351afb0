"""Decoding a canonical Huffman stream without a Python loop per symbol (paper §4).

Reading variable-length code words is sequential by nature (where a code word
starts depends on all the ones before it). The decoder still avoids a Python
loop per symbol: it works out, for *every* bit position at once, the code word
that would start there, and then finds the real code word starts block by
block, many blocks in parallel.

:meth:`deepcompress_np.huffman.HuffmanCode.decode` checks its arguments and
calls :func:`decode_stream`, which works in three steps:

1. **A code word at every bit** (:func:`_length_at_every_bit`): for every bit
   position of the stream, the length of the code word that would start
   there, from a table indexed by the next (up to) 16 bits, with a binary
   search over the canonical code words for longer ones.
2. **Which bits really start a code word**: position 0 does, and after
   position ``p`` comes ``p + length[p]``. For a short stream
   (:func:`_follow_chain`) we simply hop along that chain; for a long one
   (:func:`_code_word_starts`) the stream is cut into blocks walked in
   parallel and stitched together.
3. **Read the symbol** at each code word start (:meth:`DecodeTables.symbols_at`).

Bits are read most significant bit first, as :mod:`deepcompress_np.bitpack`
writes them. Every failure is a :class:`HuffmanDecodeError` naming the
problem; nothing here loops without bound or allocates more than a few bytes
per bit of the stream.
"""

from __future__ import annotations

import numpy as np


class HuffmanDecodeError(ValueError):
    """The bit stream cannot be decoded: truncated, corrupted or inconsistent."""


def decode_stream(buf, tables, n_symbols, stream_bits, n_bits=None):
    """Decode ``n_symbols`` symbols from the first ``stream_bits`` bits of ``buf``.

    Parameters
    ----------
    buf : ndarray of uint8, shape (n_bytes,)
    tables : DecodeTables or None (only when ``n_symbols == 0``)
    n_symbols : int
        Already checked against the stream's length by the caller.
    stream_bits : int
        Bits that belong to the stream (``n_bits``, or all of ``buf``).
    n_bits : int or None
        As given to ``HuffmanCode.decode``: if set, the symbols must end exactly there.

    Returns
    -------
    symbols : ndarray of uint32, shape (n_symbols,)
    """
    if n_symbols == 0:
        symbols, end = np.zeros(0, dtype=np.uint32), 0
    else:
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


class DecodeTables:
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
    tables : DecodeTables

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
