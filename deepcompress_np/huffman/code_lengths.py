"""Code lengths: how good a code can be, and the Huffman lengths (paper §4).

**How good can a code be?** :func:`entropy_bits` is the empirical entropy
of a symbol stream: no prefix code uses fewer bits per symbol on average, and
a Huffman code uses less than one bit more.

**Code lengths (Huffman, then package-merge if a limit binds).**
:func:`huffman_code_lengths` runs the classic Huffman algorithm with a
priority queue (:func:`_huffman_depths`) and gives every symbol a code
length. An optional length limit (a file stores lengths in a fixed field, and
a decoder likes a bounded length) is met with the *package-merge* algorithm
(:func:`_package_merge_lengths`).

Only the lengths are computed here; the code words follow from them alone
(``canonical.py``).
"""

from __future__ import annotations

import heapq

import numpy as np

from deepcompress_np._validate import check_int
from deepcompress_np.huffman._checks import _as_counts

MAX_SYMBOLS = 2**16
"""Largest alphabet a :class:`~deepcompress_np.huffman.HuffmanCode` accepts (symbols 0 to 65535)."""

MAX_CODE_LENGTH = 32
"""Longest code word this package can handle (code words are ``uint32``)."""


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
        max_length = check_int(max_length, "max_length", 1, MAX_CODE_LENGTH)
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
