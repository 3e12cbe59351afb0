"""The recipes: every number that decides how the reference nets are trained and compressed.

Keeping them in one file lets a reader see, and change, the whole experiment
without hunting through the code. Hyper-parameters were chosen on the ``val``
split (the last 10,000 training images); the test set is only ever used to
report the final error.

Reference training (:data:`TRAINING`) differs from the paper's Caffe nets in
two ways, both stated wherever results are reported: a cosine learning-rate
schedule instead of Caffe's "inv" policy, and random shifts of up to one pixel
as data augmentation. The nets are trained on the 50,000 ``fit`` images.

:class:`CompressionRecipe` holds every knob of the compression pipeline, for
any model: a kept fraction and a bit width for every weight layer (one number
for all layers, or one per layer), and the retraining schedule. Recipes are
plain data and round-trip through JSON (:meth:`CompressionRecipe.to_json`,
:meth:`CompressionRecipe.from_json`).

The bundled nets' compression recipes (:data:`COMPRESSION`) follow the paper: iterative pruning with
retraining at a tenth of the training learning rate, 6-bit codebooks for
LeNet-300-100 and 8-bit (conv) / 5-bit (fc) for LeNet-5, linear centroid
initialisation. The kept fractions were chosen as follows: several candidates
per net were compressed, and we kept the most compressed one whose error on
``val`` stays at or below the paper's *uncompressed* reference error (1.64%
for LeNet-300-100, 0.80% for LeNet-5), i.e. the compressed net must be at
least as accurate on held-out data as the paper's starting point. The index
widths are chosen per layer by measuring the encoded size (``"auto"``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, fields

from deepcompress_np._validate import is_integer
from deepcompress_np.data import load_mnist
from deepcompress_np.models import build
from deepcompress_np.nn import SGD
from deepcompress_np.train import cosine_schedule, evaluate, random_shift, train


@dataclass(frozen=True)
class TrainingRecipe:
    """How a reference net is trained from scratch."""

    epochs: int
    lr: float
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64
    max_shift: int = 1  # data augmentation: random shifts of up to this many pixels

    def to_dict(self):
        return asdict(self)


TRAINING = {
    "lenet300": TrainingRecipe(epochs=40, lr=0.05),
    "lenet5": TrainingRecipe(epochs=20, lr=0.05),
}

INITS = ("linear", "forgy", "density")


@dataclass(frozen=True)
class CompressionRecipe:
    """Every knob of the pipeline (paper Figure 1), for any model.

    ``keep_fraction``, ``bits`` and ``index_bits`` take one value for every
    weight layer or a dict from layer name to value (every weight layer
    named, no other name): ``CompressionRecipe(keep_fraction=0.1, bits=5)``
    or ``CompressionRecipe(keep_fraction={"fc1": 0.05, "fc2": 0.2}, bits=5)``.

    Attributes
    ----------
    keep_fraction : float or dict[layer name, float]
        Fraction of each layer's weights that survive pruning (§2), in (0, 1].
    bits : int or dict[layer name, int]
        Bits per cluster index (§3): the codebook has ``2**bits`` shared weights.
    index_bits : "auto", int or dict[layer name, "auto" or int]
        Width b of a relative-index field (§2, Figure 2). The paper uses 5
        bits for LeNet's layers (Tables 2 and 3); ``"auto"`` measures the
        Huffman-coded size of every width from 2 to 12 and keeps the smallest.
    prune_rounds : int
        Iterative pruning rounds (Han et al. 2015 §3.4); round r of R keeps ``f ** (r / R)``.
    prune_epochs : int
        Retraining epochs after each pruning round.
    prune_lr : float
        Retraining learning rate (Han et al. 2015: a tenth of the original).
    weight_decay : float
        L2 regularisation during both retraining stages.
    init : {"linear", "forgy", "density"}
        Centroid initialisation (§3.2); linear is the paper's choice.
    quant_epochs : int
        Epochs of centroid fine-tuning (§3.3).
    quant_lr : float
        Learning rate of the centroids (their gradients are sums over clusters).
    max_shift : int
        Data augmentation during retraining: random shifts of up to this many
        pixels. Only for image data (N, C, H, W); 0 (the default) turns it off.
    batch_size : int
    """

    keep_fraction: object = 0.1
    bits: object = 5
    index_bits: object = "auto"
    prune_rounds: int = 3
    prune_epochs: int = 4
    prune_lr: float = 0.005
    weight_decay: float = 5e-4
    init: str = "linear"
    quant_epochs: int = 3
    quant_lr: float = 1e-4
    max_shift: int = 0
    batch_size: int = 64

    def __post_init__(self):
        self._check_per_layer("keep_fraction", _check_fraction)
        self._check_per_layer("bits", _check_bits)
        self._check_per_layer("index_bits", _check_index_bits)
        for name in ("prune_rounds", "batch_size"):
            _check_count(getattr(self, name), name, 1)
        for name in ("prune_epochs", "quant_epochs", "max_shift"):
            _check_count(getattr(self, name), name, 0)
        for name in ("prune_lr", "quant_lr"):
            _check_number(getattr(self, name), name, positive=True)
        _check_number(self.weight_decay, "weight_decay", positive=False)
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")

    def _check_per_layer(self, what, check):
        value = getattr(self, what)
        if isinstance(value, dict):
            if not value:
                raise ValueError(f"{what} is an empty dict; give one value for every layer, or a dict with every weight layer")
            for name, v in value.items():
                if not isinstance(name, str):
                    raise TypeError(f"{what}: layer names are strings, got {name!r}")
                check(v, f"{what}[{name!r}]")
        else:
            check(value, what)

    def per_layer(self, what, names):
        """``{layer name: value}`` of ``keep_fraction``, ``bits`` or ``index_bits`` for the weight layers ``names``.

        Raises ValueError if a per-layer dict misses a layer or names one the model does not have.
        """
        value = getattr(self, what)
        if not isinstance(value, dict):
            return {name: value for name in names}
        missing, unknown = [n for n in names if n not in value], sorted(set(value) - set(names))
        if missing or unknown:
            raise ValueError(f"recipe.{what} does not fit the model: missing layers {missing}, unknown layers "
                             f"{unknown}; the model's weight layers are {list(names)}")
        return {name: value[name] for name in names}

    def for_model(self, model):
        """Check the recipe against ``model``'s weight layers; returns ``self``."""
        names = [layer.name for layer in model.weight_layers()]
        if not names:
            raise ValueError("the model has no weight layers (Linear or Conv2D): there is nothing to compress")
        for what in ("keep_fraction", "bits", "index_bits"):
            self.per_layer(what, names)
        return self

    def to_dict(self):
        return asdict(self)

    def to_json(self):
        """The recipe as JSON text (every field, sorted keys)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data):
        """A recipe from a dict such as :meth:`to_dict` gives; unknown keys are an error (a typo would be ignored)."""
        if not isinstance(data, dict):
            raise TypeError(f"a recipe is a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown recipe fields {unknown}; a recipe has {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text):
        """A recipe from JSON text (see :meth:`to_json`)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"the recipe is not valid JSON ({e})") from None
        return cls.from_dict(data)


def _check_fraction(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise ValueError(f"{what} must be a fraction in (0, 1], got {value!r}")


def _check_bits(value, what):
    if not is_integer(value) or not 1 <= value <= 16:
        raise ValueError(f"{what} must be an integer from 1 to 16 (2**bits shared weights), got {value!r}")


def _check_index_bits(value, what):
    if value != "auto" and (not is_integer(value) or not 1 <= value <= 16):
        raise ValueError(f"{what} must be \"auto\" or an integer from 1 to 16, got {value!r}")


def _check_count(value, what, low):
    if not is_integer(value) or value < low:
        raise ValueError(f"{what} must be an integer >= {low}, got {value!r}")


def _check_number(value, what, positive):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
            value < 0 or (positive and value == 0):
        raise ValueError(f"{what} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


def train_reference(arch, seed=0, epochs=None, data_dir=None, progress_bar=False, verbose=True):
    """Train a reference net from scratch with the recipe in :data:`TRAINING`.

    Trains on the ``fit`` split, reports the ``val`` error after every epoch
    and the ``test`` error at the end.

    Returns
    -------
    model : Sequential
    metadata : dict
        The recipe, seed, epochs, training time and the errors, ready for ``save_model``.
    """
    if arch not in TRAINING:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(TRAINING)}")
    recipe = TRAINING[arch]
    epochs = recipe.epochs if epochs is None else epochs
    X, y = load_mnist("fit", data_dir=data_dir)
    X_val, y_val = load_mnist("val", data_dir=data_dir)
    X_test, y_test = load_mnist("test", data_dir=data_dir)
    model = build(arch, seed=seed)
    optimizer = SGD(lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    start = time.perf_counter()
    history = train(model, X, y, epochs=epochs, batch_size=recipe.batch_size, optimizer=optimizer,
                    lr_schedule=cosine_schedule(recipe.lr, epochs), seed=seed, X_val=X_val, y_val=y_val,
                    augment=random_shift(recipe.max_shift) if recipe.max_shift else None,
                    progress_bar=progress_bar, verbose=verbose, desc=arch)
    seconds = time.perf_counter() - start
    metadata = {
        "arch": arch,
        "seed": seed,
        "epochs": epochs,
        "recipe": recipe.to_dict(),
        "train_split": "fit",
        "train_seconds": round(seconds, 1),
        "val_error": history["val_error"][-1] if history["val_error"] else None,
        "test_error": evaluate(model, X_test, y_test),
        "loss": history["loss"],
    }
    return model, metadata


COMPRESSION = {
    "lenet300": CompressionRecipe(
        keep_fraction={"ip1": 0.04, "ip2": 0.07, "ip3": 0.25},
        prune_epochs=8,
        bits={"ip1": 6, "ip2": 6, "ip3": 6},
        index_bits={"ip1": "auto", "ip2": "auto", "ip3": "auto"},
        max_shift=1,
    ),
    "lenet5": CompressionRecipe(
        keep_fraction={"conv1": 0.66, "conv2": 0.10, "ip1": 0.03, "ip2": 0.15},
        prune_epochs=8,
        bits={"conv1": 8, "conv2": 8, "ip1": 5, "ip2": 5},
        index_bits={"conv1": "auto", "conv2": "auto", "ip1": "auto", "ip2": "auto"},
        max_shift=1,
    ),
}


def auto_recipe(model, train=None, val=None, budget=0.003, *, seed=0, return_search=False, **options):
    """The recipe of the smallest file whose validation error stays within ``budget`` of the reference's.

    A thin wrapper around :func:`deepcompress_np.recipe_search.search_recipe`,
    which explains the method (sensitivity thresholds, one knob weighted by
    the layers' bytes, bits from the error of weight sharing, a search with
    short retraining, a verified final run). The import is inside the
    function because ``recipe_search`` imports ``pipeline``, which imports
    this module: a module-level import would be a circle.

    Parameters
    ----------
    model : Sequential
    train, val : tuple (X, y), optional
        As for ``compress`` (MNIST by default for a 28x28 model).
    budget : float
        Allowed validation-error increase, a fraction in (0, 1): 0.003 = 0.3 percentage points.
    seed : int
    return_search : bool
        Return the whole :class:`~deepcompress_np.recipe_search.RecipeSearch`
        (candidates, chosen one, the final run's result) instead of the recipe alone.
    **options
        Passed to ``search_recipe`` (``test=``, ``base=``, ``search_epochs=``, ``steps=``, ...).

    Returns
    -------
    CompressionRecipe, or RecipeSearch if ``return_search``
    """
    from deepcompress_np.recipe_search import search_recipe  # not at module level: see the docstring

    search = search_recipe(model, train, val, budget, seed=seed, **options)
    return search if return_search else search.recipe


def bundled_recipe(model):
    """The bundled compression recipe of ``model`` (a LeNet), or a ValueError saying how to write one."""
    if model.arch in COMPRESSION:
        return COMPRESSION[model.arch]
    names = [layer.name for layer in model.weight_layers()]
    example = ", ".join(f'"{n}": 0.1' for n in names[:3])
    raise ValueError(
        f"there is no bundled compression recipe for this model (arch {model.arch!r}); write one, e.g. "
        f"CompressionRecipe(keep_fraction=0.1, bits=5) for every weight layer, or per layer "
        f"CompressionRecipe(keep_fraction={{{example}}}, bits=5) -- its weight layers are {names}")
