"""Compression recipes for any model, and the pipeline on the caller's own arrays."""

import warnings

import numpy as np
import pytest

from deepcompress_np.datasets import check_xy, split_train_val
from deepcompress_np.models import lenet_300_100
from deepcompress_np.nn import ReLU, Sequential
from deepcompress_np.pipeline import compress, quantize_stage, resolve_data
from deepcompress_np.prune import prune_model
from deepcompress_np.recipes import COMPRESSION, CompressionRecipe, bundled_recipe


def test_scalar_and_per_layer_values():
    model = lenet_300_100()
    names = ["ip1", "ip2", "ip3"]
    r = CompressionRecipe(keep_fraction=0.1, bits=5)
    assert r.per_layer("keep_fraction", names) == {"ip1": 0.1, "ip2": 0.1, "ip3": 0.1}
    assert r.per_layer("index_bits", names) == dict.fromkeys(names, "auto")
    assert r.for_model(model) is r
    per = CompressionRecipe(keep_fraction={"ip1": 0.05, "ip2": 0.1, "ip3": 0.3}, bits={"ip1": 4, "ip2": 5, "ip3": 6})
    assert per.per_layer("bits", names)["ip3"] == 6


def test_recipes_round_trip_through_json():
    for recipe in (CompressionRecipe(keep_fraction=0.2, bits=4, index_bits=7), *COMPRESSION.values()):
        assert CompressionRecipe.from_json(recipe.to_json()) == recipe


@pytest.mark.parametrize("kwargs, message", [
    ({"keep_fraction": 0.0}, r"fraction in \(0, 1\]"),
    ({"keep_fraction": 1.5}, r"fraction in \(0, 1\]"),
    ({"keep_fraction": True}, r"fraction in \(0, 1\]"),
    ({"keep_fraction": {}}, "empty dict"),
    ({"keep_fraction": {1: 0.5}}, "layer names are strings"),
    ({"bits": 0}, "from 1 to 16"),
    ({"bits": 5.0}, "from 1 to 16"),
    ({"bits": {"ip1": 17}}, r"bits\['ip1'\]"),
    ({"index_bits": "fixed"}, '"auto" or an integer'),
    ({"prune_rounds": 0}, "prune_rounds must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"quant_epochs": -1}, "quant_epochs must be an integer >= 0"),
    ({"max_shift": 1.5}, "max_shift must be an integer >= 0"),
    ({"prune_lr": 0}, "prune_lr must be a finite number > 0"),
    ({"quant_lr": float("nan")}, "quant_lr must be a finite number > 0"),
    ({"weight_decay": -1e-4}, "weight_decay must be a finite number >= 0"),
    ({"init": "kmeans++"}, "init must be one of"),
])
def test_bad_recipes_are_refused(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        CompressionRecipe(**kwargs)


def test_recipe_from_json_errors():
    with pytest.raises(ValueError, match="not valid JSON"):
        CompressionRecipe.from_json("{bits: 5")
    with pytest.raises(ValueError, match=r"unknown recipe fields \['bitz'\]"):
        CompressionRecipe.from_json('{"bitz": 5}')
    with pytest.raises(TypeError, match="JSON object"):
        CompressionRecipe.from_json("[5]")


def test_a_per_layer_recipe_must_fit_the_model():
    model = lenet_300_100()
    with pytest.raises(ValueError, match=r"missing layers \['ip3'\], unknown layers \['fc9'\]"):
        CompressionRecipe(keep_fraction={"ip1": 0.1, "ip2": 0.1, "fc9": 0.1}).for_model(model)


def test_no_bundled_recipe_says_how_to_write_one():
    from deepcompress_np.nn import Linear

    model = Sequential(Linear(4, 3, name="fc1"), ReLU(), Linear(3, 2, name="fc2"))
    with pytest.raises(ValueError, match=r"CompressionRecipe\(keep_fraction=0.1, bits=5\)"):
        bundled_recipe(model)
    with pytest.raises(ValueError, match="no bundled compression recipe"):
        compress(model, train=(np.zeros((6, 4), np.float32), np.zeros(6, int)))
    assert bundled_recipe(lenet_300_100()) is COMPRESSION["lenet300"]


def test_a_model_without_weight_layers_has_nothing_to_compress():
    with pytest.raises(ValueError, match="no weight layers"):
        CompressionRecipe().for_model(Sequential(ReLU(name="r")))


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("data, error, message", [
    ((np.zeros((4, 3), np.float32),), TypeError, r"pair \(X, y\)"),
    ((np.zeros((4, 3), np.uint8), np.zeros(4, int)), TypeError, r"astype\(np.float32\) / 255"),
    ((np.zeros((4, 3), np.float32), np.zeros(4)), TypeError, "integer labels"),
    ((np.zeros((4, 3), np.float32), np.zeros((4, 1), int)), TypeError, "1-D array"),
    ((np.zeros((4, 3), np.float32), np.zeros(5, int)), ValueError, "4 examples but y has 5"),
    ((np.zeros((0, 3), np.float32), np.zeros(0, int)), ValueError, "no examples"),
    ((np.zeros((4, 2), np.float32), np.zeros(4, int)), ValueError, r"shape \(2,\) but the model takes \(3,\)"),
    ((np.full((4, 3), np.inf, np.float32), np.zeros(4, int)), ValueError, "NaN or infinite"),
    ((np.zeros((4, 3), np.float32), np.array([0, 1, 2, 3])), ValueError, r"labels must be 0 \.\. 2"),
    ((np.zeros((4, 3), np.float32), np.array([0, -1, 0, 0])), ValueError, "labels must be"),
])
def test_check_xy_names_the_problem(data, error, message):
    with pytest.raises(error, match=message):
        check_xy(data, "train", input_shape=(3,), n_classes=3)


def test_check_xy_returns_float32_and_int64():
    X, y = check_xy((np.ones((2, 3)), np.array([1, 0], np.uint8)), "val", (3,), 2)
    assert X.dtype == np.float32 and y.dtype == np.int64


def test_split_train_val_is_seeded_and_disjoint():
    X, y = np.arange(60, dtype=np.float32).reshape(60, 1), np.arange(60) % 3
    (Xf, yf), (Xv, yv) = split_train_val(X, y, seed=4)
    assert len(yf) == 50 and len(yv) == 10
    assert set(Xf[:, 0]).isdisjoint(Xv[:, 0]) and len(set(Xf[:, 0]) | set(Xv[:, 0])) == 60
    again = split_train_val(X, y, seed=4)[1][0]
    np.testing.assert_array_equal(again, Xv)
    assert not np.array_equal(split_train_val(X, y, seed=5)[1][0], Xv)
    for bad in (0, 1, True, 2.0):
        with pytest.raises(ValueError, match="val_fraction"):
            split_train_val(X, y, val_fraction=bad)
    with pytest.raises(ValueError, match="cannot hold out"):
        split_train_val(X[:2], y[:2], val_fraction=0.1)
    with pytest.raises(TypeError, match="seed"):
        split_train_val(X, y, seed=None)


def test_resolve_data_rules():
    model = lenet_300_100()
    X, y = np.zeros((12, 1, 28, 28), np.float32), np.arange(12) % 10
    train, val, test = resolve_data(model, (X, y))
    assert len(train[1]) == 10 and len(val[1]) == 2 and test is None
    with pytest.raises(ValueError, match="without train="):
        resolve_data(model, val=(X, y))
    from deepcompress_np.nn import Linear

    mlp = Sequential(Linear(64, 10, name="fc"))
    with pytest.raises(ValueError, match="not MNIST's 28x28 images"):
        resolve_data(mlp)


# ----------------------------------------------------------------------------
# The pipeline on the caller's arrays
# ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_subset():
    from deepcompress_np.data import load_mnist

    X, y = load_mnist("fit")
    Xt, yt = load_mnist("test")
    return (X[:2000], y[:2000]), (X[2000:2500], y[2000:2500]), (Xt[:500], yt[:500])


FAST = dict(prune_rounds=1, prune_epochs=1, quant_epochs=1)


def test_compress_runs_on_the_arrays_given_and_leaves_the_model_alone(pretrained, mnist_subset):
    model = pretrained("lenet300")
    before = model.state_dict()
    train, val, test = mnist_subset
    result = compress(model, CompressionRecipe(keep_fraction=0.1, bits=5, **FAST), train=train, val=val,
                      test=test, verbose=False)
    assert [s["stage"] for s in result.stages][0] == "reference"
    assert all(s["test_error"] is not None for s in result.stages)
    assert result.val_error < 0.2 and result.test_error < 0.2
    for key, value in before.items():
        np.testing.assert_array_equal(model.params()[key], value)
    no_test = compress(model, CompressionRecipe(keep_fraction=0.1, bits=5, **FAST), train=train, val=val,
                       verbose=False)
    assert all(s["test_error"] is None for s in no_test.stages) and no_test.reference_error is None
    assert no_test.data == result.data  # the test split is only reported, never used


def test_shifts_need_image_batches(pretrained):
    from deepcompress_np.nn import Linear

    mlp = Sequential(Linear(16, 4, name="fc1"), ReLU(), Linear(4, 3, name="fc2"))
    X, y = np.random.default_rng(0).random((30, 16), dtype=np.float32), np.arange(30) % 3
    with pytest.raises(ValueError, match="max_shift=1 shifts images"):
        compress(mlp, CompressionRecipe(max_shift=1, **FAST), train=(X, y), verbose=False)


def test_too_many_clusters_for_the_kept_weights_warns():
    model = lenet_300_100()
    masks = prune_model(model, keep_fraction={"ip1": 0.01, "ip2": 0.01, "ip3": 0.05})  # ip3 keeps 50 weights
    X, y = np.zeros((8, 1, 28, 28), np.float32), np.zeros(8, int)
    recipe = CompressionRecipe(bits={"ip1": 5, "ip2": 5, "ip3": 6}, quant_epochs=0)
    with pytest.warns(UserWarning, match=r"layer 'ip3': 64 shared weights \(bits=6\) for only 50 kept weights"):
        quantize_stage(model, masks, recipe, X, y, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quantize_stage(model, masks, CompressionRecipe(bits=5, quant_epochs=0), X, y, verbose=False)
