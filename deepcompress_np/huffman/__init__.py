"""Huffman coding: the third stage of Deep Compression (paper §4).

After pruning (§2) and trained quantization (§3) a layer is stored as two
streams of small integers: the cluster index of every surviving weight, and
the gap between consecutive surviving weights (the relative index). Neither
stream is uniform. Most weights sit near zero, so a few clusters are used far
more often than the rest, and short gaps are far more common than long ones.
The paper (§4, Figure 5) codes both streams with a Huffman code, which gives
frequent symbols short code words, and saves another 20% to 30% of storage.

Read the modules in this order. *Building* the code table (chapters 1 and 2:
lengths from symbol counts, then code words from lengths) is kept apart from
*applying* it (chapters 3 and 4: encoding and decoding a stream of symbols);
:class:`HuffmanCode` joins the two.

1. ``code_lengths.py``: **code lengths.** :func:`entropy_bits` says how
   good a code can be; :func:`huffman_code_lengths` runs the classic Huffman
   algorithm with a priority queue and gives every symbol a code length.
   An optional length limit (a file stores lengths in a fixed field, and a
   decoder likes a bounded length) is met with the *package-merge* algorithm.
2. ``canonical.py``: **canonical codes.** :func:`canonical_codes` turns
   lengths into code words in a fixed way, so a file needs to store only the
   lengths.
3. ``table.py``: **the code table, encoding.** :class:`HuffmanCode` keeps the
   table and packs symbols into bits with a few NumPy operations, without a
   Python loop per symbol.
4. ``decoder.py``: **decoding**, again without a Python loop per symbol,
   although reading variable-length code words is sequential by nature.
   :meth:`HuffmanCode.decode` checks its arguments, explains the trick and
   hands the stream to :func:`decode_stream`.

``_checks.py`` holds the input checks the modules share. Every public name is
re-exported here, so ``from deepcompress_np.huffman import HuffmanCode`` works
whichever module the name lives in.

Example: counts ``[45, 13, 12, 16, 9, 5]`` (the textbook example of Cormen
et al.) give lengths ``[1, 3, 3, 3, 4, 4]`` and the canonical code words
``0, 100, 101, 110, 1110, 1111``.
"""

from deepcompress_np.huffman.canonical import canonical_codes
from deepcompress_np.huffman.code_lengths import (
    MAX_CODE_LENGTH,
    MAX_SYMBOLS,
    entropy_bits,
    huffman_code_lengths,
)
from deepcompress_np.huffman.decoder import DecodeTables, HuffmanDecodeError, decode_stream
from deepcompress_np.huffman.table import DEFAULT_MAX_LENGTH, HuffmanCode

__all__ = [
    "DEFAULT_MAX_LENGTH", "MAX_CODE_LENGTH", "MAX_SYMBOLS", "HuffmanCode", "HuffmanDecodeError",
    "canonical_codes", "entropy_bits", "huffman_code_lengths",
    "DecodeTables", "decode_stream",  # the decoder's building blocks, as importable before the split
]
