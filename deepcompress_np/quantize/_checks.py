"""The input check shared by the quantization modules (private).

``_as_weights`` turns weights (or centroids) into a flat float64 copy and
refuses values that are not real or not finite; both the initialisations
(``centroid_init.py``) and k-means (``kmeans.py``) start with it.
"""

from __future__ import annotations

import numpy as np


def _as_weights(weights, what="weights"):
    """A 1-D float64 copy of finite, real weights (for sums that do not drift)."""
    w = np.asarray(weights)
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{what} must be real numbers, got dtype {w.dtype}")
    w = w.astype(np.float64).ravel()
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{what} contain NaN or inf; fix the training run (or clip) before quantizing")
    return w
