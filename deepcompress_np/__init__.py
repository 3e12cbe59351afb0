"""deepcompress_np: Deep Compression (Han, Mao and Dally, ICLR 2016) from scratch in NumPy.

The main API, at the top level::

    import deepcompress_np as dc

    model = dc.load_model("my_model.npz")                 # any saved Sequential (or dc.load_pretrained("lenet300"))
    recipe = dc.CompressionRecipe(keep_fraction=0.1, bits=5)
    result = dc.compress(model, recipe, train=(X, y), val=(X_val, y_val), test=(X_test, y_test))
    result.compressed.save("my_model.dcnp")
    dc.CompressedModel.load("my_model.dcnp").predict(X_test)
    recipe = dc.auto_recipe(model, (X, y), (X_val, y_val), budget=0.003)   # the smallest file within 0.3 points

Everything else lives in the submodules named after the paper's stages
(``prune``, ``quantize``, ``huffman``, ``sparse``, ``fileformat``).
"""

from deepcompress_np.compressed import CompressedModel
from deepcompress_np.data import load_mnist
from deepcompress_np.models import load_model, load_pretrained, save_model
from deepcompress_np.nn import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential
from deepcompress_np.pipeline import CompressionResult, compress
from deepcompress_np.recipes import CompressionRecipe, auto_recipe

__version__ = "0.1.0"

__all__ = [
    "compress", "auto_recipe", "CompressionRecipe", "CompressionResult", "CompressedModel", "save_model", "load_model",
    "load_pretrained", "load_mnist", "Sequential", "Linear", "Conv2D", "MaxPool2D", "ReLU", "Dropout", "Flatten",
]
