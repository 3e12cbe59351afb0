"""Progress bars, borrowed from ``tqdm`` when it is installed (it is not part of the lesson).

Without tqdm, the bar is simply left out; the per-epoch lines the training
loop prints carry the same information.
"""

from __future__ import annotations

import sys


def progress(iterable, total=None, desc=None, enabled=True):
    """Wrap ``iterable`` in a text progress bar on stderr if ``enabled`` and tqdm is available."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5)
