"""Trained quantization: k-means weight sharing (paper §3).

After pruning (paper §2) a layer still stores every surviving weight as a
32-bit float. Deep Compression lets many weights *share* one value: the
surviving weights of a layer are grouped into ``k = 2**bits`` clusters, each
cluster keeps one 32-bit value (its *centroid*), and each weight keeps only a
``bits``-bit *cluster index* into that small table (the *codebook*). With 6 bits
a LeNet-300-100 weight costs 6 bits instead of 32, plus a 64-entry codebook per
layer.

Read the modules in this order:

1. ``centroid_init.py``: **where the centroids start** (paper §3.2,
   Figure 4): :func:`linear_init` (the default, and the paper's best),
   :func:`forgy_init` and :func:`density_init`.
2. ``kmeans.py``: **weight sharing** (paper §3.1, eq. 2): per layer, 1-D
   k-means over the surviving weights only (:func:`kmeans_1d`).
3. ``layer.py``: **how many bits** each layer gets (paper Tables 2 and 3,
   :func:`default_bits`) and **the result**: a :class:`QuantizedLayer` holds
   the codebook, the cluster index of every surviving weight and the pruning
   mask (:func:`quantize_layer`, :func:`quantize_model_params`).
4. ``trained.py``: **fine-tuning the centroids** (paper §3.3, eq. 3,
   Figure 3): :class:`SharedWeightUpdate`, :func:`install_shared_weights`.

``_checks.py`` holds the weight check the first two share. Every public name
is re-exported here, so ``from deepcompress_np.quantize import kmeans_1d``
works whichever module the function lives in.
"""

from deepcompress_np.quantize.centroid_init import INITS, density_init, forgy_init, linear_init
from deepcompress_np.quantize.kmeans import KMeansResult, kmeans_1d
from deepcompress_np.quantize.layer import (
    DEFAULT_BITS,
    MAX_BITS,
    MIN_BITS,
    QuantizedLayer,
    default_bits,
    index_dtype,
    quantize_layer,
    quantize_model_params,
)
from deepcompress_np.quantize.trained import SharedWeightUpdate, install_shared_weights

__all__ = [
    "linear_init", "forgy_init", "density_init", "INITS",
    "KMeansResult", "kmeans_1d",
    "MIN_BITS", "MAX_BITS", "DEFAULT_BITS", "default_bits", "index_dtype",
    "QuantizedLayer", "quantize_layer", "quantize_model_params",
    "SharedWeightUpdate", "install_shared_weights",
]
