"""Benchmark of the Huffman coder (paper §4) against the ``dahuffman`` package.

The stream imitates quantized weights: 1,000,000 symbols from a normal
distribution rounded onto 64 cluster indices, so a few symbols near the middle
are frequent and the tails are rare (entropy about 4.6 bits per symbol). Both
coders build an optimal code for the same counts, so they must produce the
same number of bits; the figures compare speed.

``dahuffman`` is a test/bench-only dependency (``pip install dahuffman``). If it
is missing, only our own figures are reported and theirs are ``None``.

Run with ``python -m deepcompress_np.bench.huffman``.
"""

from __future__ import annotations

import time

import numpy as np

from deepcompress_np.huffman import HuffmanCode, entropy_bits


def peaked_symbols(n_symbols, seed=0):
    """A quantized normal over 64 symbols, shape (n_symbols,) int64."""
    rng = np.random.default_rng(seed)
    return np.clip(np.round(rng.normal(31.5, 6, n_symbols)), 0, 63).astype(np.int64)


def _best_time(function, repeats):
    """Smallest wall time of ``repeats`` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _dahuffman_figures(symbols, counts, repeats):
    """Encode/decode speed and bit count of dahuffman on the same stream, or None."""
    try:
        from dahuffman import HuffmanCodec
    except ImportError:  # bench-only dependency: pip install dahuffman
        return None
    as_list = symbols.tolist()
    codec = HuffmanCodec.from_data(as_list)
    encode_s, data = _best_time(lambda: codec.encode(as_list), repeats)
    decode_s, decoded = _best_time(lambda: codec.decode(data), repeats)
    if decoded != as_list:
        raise RuntimeError("dahuffman did not round-trip the benchmark stream")
    # dahuffman adds an end-of-file leaf (count 1) to its tree; count only the
    # real symbols' bits. That leaf can make a code word or two one bit
    # longer, so also build its code without it (its `eof` argument set to a
    # symbol that occurs adds no leaf): that one must match our optimal code.
    def real_bits(table):
        return sum(int(counts[s]) * table[s][0] for s in range(counts.size) if counts[s])

    frequencies = {s: int(c) for s, c in enumerate(counts) if c}
    no_eof = HuffmanCodec.from_frequencies(frequencies, eof=next(iter(frequencies)))
    return {
        "encode_s": encode_s,
        "decode_s": decode_s,
        "bits": real_bits(codec.get_code_table()),
        "bits_without_eof": real_bits(no_eof.get_code_table()),
    }


def run(n_symbols=1_000_000, seed=0, repeats=3):
    """Time our encoder and decoder side by side with dahuffman's.

    Parameters
    ----------
    n_symbols : int
        Length of the benchmark stream.
    seed : int
        Seed of the stream.
    repeats : int
        Each timing is the best of this many runs.

    Returns
    -------
    dict
        ``encode_msym_per_s``, ``decode_msym_per_s`` (millions of symbols per
        second), their ``dahuffman_*`` counterparts, ``encode_speedup``,
        ``decode_speedup``, ``bits`` and ``dahuffman_bits`` (total encoded
        bits of the real symbols; dahuffman's tree has an extra end-of-file
        leaf, which can cost a few bits), ``dahuffman_bits_without_eof`` (its
        code for exactly our counts: equal to ``bits``, both optimal),
        ``entropy_bits_per_symbol``, ``average_bits_per_symbol``,
        ``longest_code``. The dahuffman figures are ``None`` if it is not
        installed.
    """
    symbols = peaked_symbols(n_symbols, seed)
    counts = np.bincount(symbols, minlength=64)
    code = HuffmanCode.from_counts(counts)
    encode_s, (data, n_bits) = _best_time(lambda: code.encode(symbols), repeats)
    decode_s, decoded = _best_time(lambda: code.decode(data, n_symbols, n_bits), repeats)
    if not np.array_equal(decoded, symbols):
        raise RuntimeError("HuffmanCode did not round-trip the benchmark stream")
    figures = {
        "n_symbols": n_symbols,
        "encode_msym_per_s": n_symbols / encode_s / 1e6,
        "decode_msym_per_s": n_symbols / decode_s / 1e6,
        "bits": n_bits,
        "entropy_bits_per_symbol": entropy_bits(counts),
        "average_bits_per_symbol": code.average_length(counts),
        "longest_code": int(code.lengths.max()),
        "dahuffman_encode_msym_per_s": None,
        "dahuffman_decode_msym_per_s": None,
        "encode_speedup": None,
        "decode_speedup": None,
        "dahuffman_bits": None,
        "dahuffman_bits_without_eof": None,
    }
    theirs = _dahuffman_figures(symbols, counts, repeats)
    if theirs is not None:
        figures.update(
            dahuffman_encode_msym_per_s=n_symbols / theirs["encode_s"] / 1e6,
            dahuffman_decode_msym_per_s=n_symbols / theirs["decode_s"] / 1e6,
            encode_speedup=theirs["encode_s"] / encode_s,
            decode_speedup=theirs["decode_s"] / decode_s,
            dahuffman_bits=theirs["bits"],
            dahuffman_bits_without_eof=theirs["bits_without_eof"],
        )
    return figures


def main():
    figures = run()
    if figures["dahuffman_bits"] is None:
        print("dahuffman is not installed (pip install dahuffman): showing our figures only")
    for key, value in figures.items():
        print(f"{key:32s} {value:.3f}" if isinstance(value, float) else f"{key:32s} {value}")


if __name__ == "__main__":
    main()
