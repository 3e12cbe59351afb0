"""Benchmark: our 1-D k-means (paper §3) against scikit-learn's ``KMeans``.

One layer of LeNet-300-100 -- ip1, 300 x 784 = 235,200 weights -- is clustered
into k = 64 shared weights (6 bits, the paper's setting) from the same linear
initialisation, by ``deepcompress_np.quantize.kmeans_1d`` and by scikit-learn,
with the same stopping rule (at most 300 iterations, ``tol=1e-4`` relative to
the variance of the weights: scikit-learn's defaults). Both inertias (paper
eq. 1) are recomputed here in float64 from each result's own centroids and
labels, so they are compared on equal terms.

scikit-learn is needed only here (``pip install scikit-learn``); the library
itself never imports it.

Run: ``python -m deepcompress_np.bench.kmeans``
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.quantize import kmeans_1d, linear_init

N_WEIGHTS = 300 * 784
K = 64
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "pretrained" / "lenet300.npz"


def _load_ip1(path):
    """The ip1 weight matrix from a saved LeNet-300-100, or None if there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as saved:
        keys = list(saved.keys())
        preferred = [k for k in keys if k in ("ip1.W", "ip1/W", "ip1_W")]
        preferred += [k for k in keys if "ip1" in k and k.lower().endswith("w") and k not in preferred]
        preferred += [k for k in keys if saved[k].size == N_WEIGHTS and k not in preferred]
        for key in preferred:
            array = saved[key]
            if array.size == N_WEIGHTS and array.dtype.kind == "f":
                return array.astype(np.float32).ravel(), f"{path.name}[{key!r}]"
    return None


def _inertia(w, centroids, labels):
    w = w.astype(np.float64)
    return float(np.sum((w - np.asarray(centroids, np.float64)[labels]) ** 2))


def run(seed=0, repeats=3, weights=None, path=DEFAULT_MODEL):
    """Time both k-means implementations on one 235,200-weight layer.

    Parameters
    ----------
    seed : int
        Seed of the synthetic stand-in weights (used when no model is found)
        and of scikit-learn's ``random_state``.
    repeats : int
        Each implementation runs this many times; the fastest run is reported.
    weights : ndarray, optional
        The weights to cluster (any shape). Default: ip1 of ``path``, else a
        synthetic stand-in ``normal(0, 0.05)`` of 235,200 float32 weights.
    path : str or Path
        A saved LeNet-300-100 (``.npz``) to take ip1 from.

    Returns
    -------
    dict
        ``weights`` (where they came from), ``n``, ``k``, ``ours_ms``,
        ``sklearn_ms``, ``speedup`` (sklearn_ms / ours_ms), ``ours_inertia``,
        ``sklearn_inertia``, ``inertia_ratio`` (ours / sklearn),
        ``ours_n_iter``, ``sklearn_n_iter``.
    """
    try:
        from sklearn.cluster import KMeans
    except ImportError as err:
        raise ImportError(
            "the k-means benchmark compares against scikit-learn: pip install scikit-learn"
        ) from err
    if not is_integer(repeats) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")

    if weights is not None:
        w, source = np.asarray(weights, dtype=np.float32).ravel(), "given array"
    else:
        loaded = _load_ip1(path)
        if loaded is not None:
            w, source = loaded
        else:
            rng = np.random.default_rng(seed)
            w = rng.normal(0.0, 0.05, N_WEIGHTS).astype(np.float32)
            source = f"synthetic normal(0, 0.05), seed {seed} ({Path(path).name} not found)"

    init = linear_init(w, K)

    ours_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        ours = kmeans_1d(w, init, max_iter=300, tol=1e-4)
        ours_times.append(time.perf_counter() - start)

    X = w.reshape(-1, 1)
    sk_times = []
    for _ in range(repeats):
        km = KMeans(
            n_clusters=K, init=init.reshape(-1, 1), n_init=1, max_iter=300, tol=1e-4,
            algorithm="lloyd", random_state=seed,
        )
        start = time.perf_counter()
        km.fit(X)
        sk_times.append(time.perf_counter() - start)

    ours_ms = 1e3 * min(ours_times)
    sklearn_ms = 1e3 * min(sk_times)
    ours_inertia = _inertia(w, ours.centroids, ours.labels)
    sklearn_inertia = _inertia(w, km.cluster_centers_.ravel(), km.labels_)
    return {
        "weights": source,
        "n": int(w.size),
        "k": K,
        "ours_ms": ours_ms,
        "sklearn_ms": sklearn_ms,
        "speedup": sklearn_ms / ours_ms,
        "ours_inertia": ours_inertia,
        "sklearn_inertia": sklearn_inertia,
        "inertia_ratio": ours_inertia / sklearn_inertia,
        "ours_n_iter": int(ours.n_iter),
        "sklearn_n_iter": int(km.n_iter_),
    }


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:>16}: {value:.4g}" if isinstance(value, float) else f"{name:>16}: {value}")
