"""Your own network and data: an MLP trained by scikit-learn, imported, compressed through the CLI, run from the file.

The MLP 64-128-10 is trained by scikit-learn's ``MLPClassifier`` on its 8x8
``load_digits`` (1,797 images), imported with ``load_state_dict``, saved with
``save_model``, compressed by ``compress --weights --data --keep --bits`` and
evaluated from the compressed file in a fresh Python process. scikit-learn is
in the ``dev`` extra, not a runtime dependency: the tests that need it skip
without it, the others (malformed data files, reshaping) do not.
"""

import json
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from deepcompress_np.cli import main
from deepcompress_np.datasets import fit_input_shape, load_data_file
from deepcompress_np.models import load_model, save_model
from deepcompress_np.nn import Linear, ReLU, Sequential

REPO = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def digits_mlp():
    return Sequential(Linear(64, 128, name="fc1"), ReLU(name="relu1"), Linear(128, 10, name="fc2"))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The scikit-learn MLP, the same net as our Sequential, and both files: model.npz and data.npz."""
    pytest.importorskip("sklearn", reason="scikit-learn (dev extra) trains the MLP to import")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    images, labels = load_digits(return_X_y=True)
    X = (images / 16.0).astype(np.float32)  # pixel values 0..16
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=0.25, random_state=0, stratify=labels)
    # a validation split scikit-learn does not train on, for the pipeline's choices
    X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=0.2, random_state=0,
                                                      stratify=y_train)
    with threadpool_limits(1), warnings.catch_warnings():  # one BLAS thread: fast on a busy machine
        warnings.simplefilter("ignore")  # ConvergenceWarning after max_iter: the net is good enough
        clf = MLPClassifier(hidden_layer_sizes=(128,), activation="relu", max_iter=200,
                            random_state=0).fit(X_train, y_train)
    model = digits_mlp()
    # scikit-learn's coefs_[i] are (in, out); ours, as PyTorch's, (out, in): transpose.
    model.load_state_dict({"fc1.weight": clf.coefs_[0].T, "fc1.bias": clf.intercepts_[0],
                           "fc2.weight": clf.coefs_[1].T, "fc2.bias": clf.intercepts_[1]})
    folder = tmp_path_factory.mktemp("digits")
    save_model(folder / "digits_mlp.npz", model, metadata={"trained_by": "sklearn MLPClassifier"})
    # The images as 8x8, the way load_digits gives them: the CLI flattens them for the (64,) model.
    np.savez(folder / "digits.npz", x_train=X_train.reshape(-1, 8, 8), y_train=y_train,
             x_val=X_val.reshape(-1, 8, 8), y_val=y_val, x_test=X_test.reshape(-1, 8, 8), y_test=y_test)
    return {"clf": clf, "model": model, "folder": folder, "weights": folder / "digits_mlp.npz",
            "data": folder / "digits.npz", "X_test": X_test, "y_test": y_test}


def test_sklearn_mlp_imports_with_identical_predictions(digits):
    model, clf = digits["model"], digits["clf"]
    np.testing.assert_array_equal(model.predict(digits["X_test"]), clf.predict(digits["X_test"]))
    loaded = load_model(digits["weights"])  # and the saved file rebuilds the same net
    np.testing.assert_array_equal(loaded.predict(digits["X_test"]), clf.predict(digits["X_test"]))
    assert [layer.name for layer in loaded.weight_layers()] == ["fc1", "fc2"]


@pytest.fixture(scope="module")
def compressed(digits):
    """``compress --weights --data --keep 0.1 --bits 4`` run once (in-process), with its report.

    The default retraining (4 epochs per pruning round at learning rate 0.005, the LeNets' tenth of their
    training rate) is far too short on 1,077 images (17 batches an epoch): 20 epochs at 0.05 recover.
    """
    folder = digits["folder"]
    out, report = folder / "digits_mlp.dcnp", folder / "report.json"
    old = os.umask(0o022)
    try:
        code = main(["compress", "--weights", str(digits["weights"]), "--data", str(digits["data"]),
                     "--keep", "0.1", "--bits", "4", "--prune-epochs", "20", "--prune-lr", "0.05",
                     "--out", str(out), "--report", str(report)])
    finally:
        os.umask(old)
    assert code == 0
    return out, json.loads(report.read_text())


def test_compressed_through_the_cli_and_evaluated_in_a_fresh_process(digits, compressed):
    out, report = compressed
    original = float(np.mean(digits["clf"].predict(digits["X_test"]) != digits["y_test"]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "deepcompress_np", "evaluate", str(out), "--data",
                           str(digits["data"]), "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    evaluated = json.loads(done.stdout)
    dense = 4 * (64 * 128 + 128 + 128 * 10 + 10)
    print(f"\ndigits MLP 64-128-10: test error {100 * original:.2f}% (scikit-learn) -> "
          f"{100 * evaluated['test_error']:.2f}% (compressed file, fresh process); "
          f"file {evaluated['file_bytes']:,} B, dense float32 {dense:,} B, ratio {dense / evaluated['file_bytes']:.1f}x")
    assert evaluated["compressed"] is True and evaluated["n_test"] == len(digits["y_test"])
    assert evaluated["file_bytes"] == out.stat().st_size == report["file_bytes"]
    assert evaluated["test_error"] == pytest.approx(report["test_error"])  # the file decodes to what was reported
    assert evaluated["test_error"] <= original + 0.02
    assert report["dense_bytes"] == dense
    assert dense / evaluated["file_bytes"] >= 10


def test_report_tables_name_the_models_own_layers(compressed):
    _, report = compressed
    assert [row["layer"] for row in report["layers"]] == ["fc1", "fc2", "Total"]
    assert [row["n_weights"] for row in report["layers"]] == [64 * 128, 128 * 10, 64 * 128 + 128 * 10]
    assert report["recipe"]["keep_fraction"] == 0.1 and report["recipe"]["bits"] == 4
    assert report["recipe"]["prune_epochs"] == 20 and report["recipe"]["prune_lr"] == 0.05
    assert report["arch"] == "digits_mlp"  # no name in the model: the weights file's name
    assert report["test_error_reference"] == pytest.approx(report["stages"][0]["test_error"])


def test_compressed_file_is_shared_as_any_file_and_figures_make_their_folder(compressed, tmp_path):
    from deepcompress_np.figures import save_demo_figures

    out, _ = compressed
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # written under umask 022, not the temporary file's 0600
    folder = tmp_path / "not" / "yet"
    paths = save_demo_figures(out, folder)
    assert len(paths) == 3 and all(p.is_file() and p.parent == folder for p in paths)


def test_prune_and_quantize_commands_take_your_model_and_data(digits, capsys, tmp_path):
    pruned, quantized = tmp_path / "pruned.npz", tmp_path / "quantized.npz"
    code, out, err = run(capsys, "prune", "--weights", digits["weights"], "--data", digits["data"], "--keep", "0.2",
                         "--prune-epochs", "1", "--out", pruned, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert [r["layer"] for r in result["layers"]] == ["fc1", "fc2"]
    assert result["kept_fraction"] == pytest.approx(0.2, abs=0.002) and result["data"] == str(digits["data"])
    code, out, err = run(capsys, "quantize", "--weights", pruned, "--data", digits["data"], "--bits", "3",
                         "--quant-epochs", "1", "--out", quantized, "--json")
    assert code == 0, err
    q = load_model(quantized)
    for key, mask in q.masks.items():
        W = q.params()[key]
        assert np.all(W[~mask] == 0) and np.unique(W[mask]).size <= 8


def test_evaluate_a_digits_model_without_data_asks_for_it(digits, capsys):
    code, _, err = run(capsys, "evaluate", digits["weights"])
    assert code == 2 and "--data" in err and "(64,)" in err


def test_compress_a_model_without_a_bundled_recipe_asks_for_one(digits, capsys, tmp_path):
    code, _, err = run(capsys, "compress", "--weights", digits["weights"], "--data", digits["data"],
                       "--out", tmp_path / "x.dcnp")
    assert code == 2 and "--keep" in err and "--recipe" in err and "fc1" in err
    assert not (tmp_path / "x.dcnp").exists()


def test_recipe_file_round_trip(digits, capsys, tmp_path):
    from deepcompress_np.recipes import CompressionRecipe

    recipe = CompressionRecipe(keep_fraction={"fc1": 0.08, "fc2": 0.3}, bits={"fc1": 4, "fc2": 3}, index_bits=4,
                               prune_rounds=1, prune_epochs=0, quant_epochs=0)
    path = tmp_path / "recipe.json"
    path.write_text(recipe.to_json())
    report = tmp_path / "report.json"
    code, _, err = run(capsys, "compress", "--weights", digits["weights"], "--data", digits["data"],
                       "--recipe", path, "--out", tmp_path / "r.dcnp", "--report", report)
    assert code == 0, err
    written = json.loads(report.read_text())
    assert CompressionRecipe.from_dict(written["recipe"]) == recipe
    rows = {row["layer"]: row for row in written["layers"]}
    assert rows["fc1"]["weights_pct"] == pytest.approx(0.08, abs=0.001)
    assert rows["fc2"]["weights_pct"] == pytest.approx(0.3, abs=0.001)
    assert rows["fc1"]["index_bits_pq"] == 4 and rows["fc2"]["index_bits_pq"] == 4


# --- recipe files the command line refuses (before any training) ----------------------------------

@pytest.fixture
def small_model(tmp_path):
    path = tmp_path / "small.npz"
    save_model(path, digits_mlp())
    return path


def _compress_with_recipe(capsys, tmp_path, small_model, *extra):
    out = tmp_path / "out.dcnp"
    code, _, err = run(capsys, "compress", "--weights", small_model, "--out", out, *extra)
    assert code == 2 and not out.exists()
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    return err


def test_recipe_file_missing(capsys, tmp_path, small_model):
    err = _compress_with_recipe(capsys, tmp_path, small_model, "--recipe", tmp_path / "nope.json")
    assert "no recipe file" in err


def test_recipe_file_not_json(capsys, tmp_path, small_model):
    bad = tmp_path / "bad.json"
    bad.write_text("keep_fraction = 0.1")
    err = _compress_with_recipe(capsys, tmp_path, small_model, "--recipe", bad)
    assert "not valid JSON" in err and "bad.json" in err


def test_recipe_file_not_text(capsys, tmp_path, small_model):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe\x00binary")
    err = _compress_with_recipe(capsys, tmp_path, small_model, "--recipe", bad)
    assert "not a text file" in err


def test_recipe_file_unknown_field(capsys, tmp_path, small_model):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"keep": 0.1}))
    err = _compress_with_recipe(capsys, tmp_path, small_model, "--recipe", bad)
    assert "unknown recipe fields ['keep']" in err


def test_recipe_file_for_other_layers(capsys, tmp_path, small_model):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"keep_fraction": {"ip1": 0.1, "ip2": 0.1}}))
    err = _compress_with_recipe(capsys, tmp_path, small_model, "--recipe", bad)
    assert "missing layers ['fc1', 'fc2']" in err and "unknown layers ['ip1', 'ip2']" in err


def test_recipe_file_and_keep_together(capsys, tmp_path, small_model):
    good = tmp_path / "good.json"
    good.write_text("{}")
    err = _compress_with_recipe(capsys, tmp_path, small_model, "--recipe", good, "--keep", "0.1")
    assert "either --recipe or --keep/--bits" in err


def test_bad_keep_value(capsys, tmp_path, small_model):
    err = _compress_with_recipe(capsys, tmp_path, small_model, "--keep", "1.5", "--bits", "4")
    assert "keep_fraction must be a fraction in (0, 1]" in err


def test_no_model_named(capsys, tmp_path):
    code, _, err = run(capsys, "compress", "--out", tmp_path / "x.dcnp")
    assert code == 2 and "--weights" in err and "--model" in err


# --- data files: one test per check --------------------------------------------------------------

def write(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def good_arrays(n=12, m=6):
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), "y_train": np.arange(n) % 10,
            "x_test": rng.integers(0, 256, (m, 28, 28), dtype=np.uint8), "y_test": np.arange(m) % 10}


def test_data_file_good_uint8_scaled(tmp_path):
    arrays = good_arrays()
    data = load_data_file(write(tmp_path, **arrays), n_classes=10)
    X, y = data["train"]
    assert X.dtype == np.float32 and y.dtype == np.int64 and data["val"] is None
    np.testing.assert_allclose(X, arrays["x_train"] / 255, rtol=1e-6)
    assert X.max() <= 1.0 and X.shape == (12, 28, 28)


def test_data_file_floats_taken_as_given_and_val_kept(tmp_path):
    arrays = {**good_arrays(), "x_val": np.full((3, 28, 28), 7.5), "y_val": np.array([1, 2, 3])}
    data = load_data_file(write(tmp_path, **arrays))
    np.testing.assert_array_equal(data["val"][0], 7.5)  # not scaled
    np.testing.assert_array_equal(data["val"][1], [1, 2, 3])


def test_data_file_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data file"):
        load_data_file(tmp_path / "nope.npz")


def test_data_file_not_an_npz(tmp_path):
    path = tmp_path / "data.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))  # an .npy file, whatever its name
    with pytest.raises(ValueError, match="not an .npz archive.*np.savez"):
        load_data_file(path)


def test_data_file_broken_zip(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(ValueError, match="not a readable .npz archive"):
        load_data_file(path)


def test_data_file_missing_key(tmp_path):
    arrays = good_arrays()
    del arrays["y_test"]
    with pytest.raises(ValueError, match=r"missing \['y_test'\]"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_unknown_key(tmp_path):
    arrays = good_arrays()
    arrays["X_val"] = arrays["x_test"]
    with pytest.raises(ValueError, match=r"unknown keys \['X_val'\]"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_val_without_labels(tmp_path):
    with pytest.raises(ValueError, match="x_val without its partner"):
        load_data_file(write(tmp_path, **good_arrays(), x_val=np.zeros((2, 28, 28), np.float32)))


def test_data_file_object_array(tmp_path):
    arrays = good_arrays()
    arrays["y_train"] = np.array([1, "two", 3.0] * 4, dtype=object)
    with pytest.raises(TypeError, match="'y_train' holds Python objects") as info:
        load_data_file(write(tmp_path, **arrays))
    assert "pickle" not in str(info.value)  # no advice to load it unsafely


def test_data_file_wrong_example_dtype(tmp_path):
    arrays = good_arrays()
    arrays["x_test"] = arrays["x_test"].astype(np.int64)
    with pytest.raises(TypeError, match=r"x_test has dtype int64.*astype\(np.float32\)"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_examples_not_stacked(tmp_path):
    arrays = good_arrays()
    arrays["x_train"], arrays["y_train"] = np.zeros(12, np.float32), np.zeros(12, np.int64)
    with pytest.raises(ValueError, match=r"x_train has shape \(12,\)"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_no_examples(tmp_path):
    arrays = good_arrays()
    arrays["x_test"], arrays["y_test"] = np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="x_test holds no examples"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_nan(tmp_path):
    arrays = good_arrays()
    arrays["x_train"] = arrays["x_train"].astype(np.float32)
    arrays["x_train"][3, 4, 5] = np.nan
    with pytest.raises(ValueError, match="x_train holds NaN"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_labels_not_integers(tmp_path):
    arrays = good_arrays()
    arrays["y_train"] = arrays["y_train"].astype(np.float64)
    with pytest.raises(TypeError, match=r"y_train has dtype float64.*astype\(np.int64\)"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_one_hot_labels(tmp_path):
    arrays = good_arrays()
    arrays["y_test"] = np.eye(10, dtype=np.int64)[arrays["y_test"]]
    with pytest.raises(ValueError, match=r"y_test has shape \(6, 10\).*argmax"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_lengths_differ(tmp_path):
    arrays = good_arrays()
    arrays["y_train"] = arrays["y_train"][:-1]
    with pytest.raises(ValueError, match="x_train has 12 examples but y_train has 11 labels"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_negative_label(tmp_path):
    arrays = good_arrays()
    arrays["y_test"][0] = -1
    with pytest.raises(ValueError, match=r"y_test: labels must lie in 0 \.\. n_classes - 1, got -1"):
        load_data_file(write(tmp_path, **arrays))


def test_data_file_label_beyond_the_models_classes(tmp_path):
    arrays = good_arrays()
    path = write(tmp_path, **arrays)
    load_data_file(path, n_classes=10)
    with pytest.raises(ValueError, match=r"y_train: labels must lie in 0 \.\. 7, got 0 \.\. 9"):
        load_data_file(path, n_classes=8)


def test_data_file_splits_of_different_shapes(tmp_path):
    arrays = good_arrays()
    arrays["x_test"] = arrays["x_test"][:, :20]
    with pytest.raises(ValueError, match=r"x_test examples have shape \(20, 28\) but x_train's have \(28, 28\)"):
        load_data_file(write(tmp_path, **arrays))


def test_bad_data_file_through_the_cli_is_one_line(capsys, tmp_path, small_model):
    arrays = good_arrays()
    del arrays["x_test"]
    code, _, err = run(capsys, "evaluate", small_model, "--data", write(tmp_path, **arrays))
    assert code == 2 and err.startswith("error:") and "missing ['x_test']" in err


# --- fitting examples to the model's input shape -------------------------------------------------

def test_fit_input_shape_adds_a_channel_axis():
    X = np.zeros((5, 28, 28), np.float32)
    fitted, note = fit_input_shape(X, (1, 28, 28), "x_train")
    assert fitted.shape == (5, 1, 28, 28) and "x_train: reshaped from (5, 28, 28) to (5, 1, 28, 28)" in note


def test_fit_input_shape_flattens_for_a_vector_model():
    X = np.arange(5 * 64, dtype=np.float32).reshape(5, 8, 8)
    fitted, note = fit_input_shape(X, (64,))
    np.testing.assert_array_equal(fitted, X.reshape(5, 64))
    assert "flattened" in note
    same, note = fit_input_shape(fitted, (64,))
    assert same is fitted and note is None


def test_fit_input_shape_refuses_channels_last_colour():
    with pytest.raises(ValueError, match=r"transpose\(0, 3, 1, 2\)"):
        fit_input_shape(np.zeros((2, 32, 32, 3), np.float32), (3, 32, 32))


# --- the size-of-codebook warning of the quantization stage --------------------------------------

def test_warning_when_a_layer_keeps_fewer_weights_than_shared_values():
    from deepcompress_np.pipeline import quantize_stage
    from deepcompress_np.recipes import CompressionRecipe

    rng = np.random.default_rng(0)
    model = Sequential(Linear(4, 8, rng=rng, name="a"), ReLU(), Linear(8, 3, rng=rng, name="b"))
    masks = {"a.W": np.ones((8, 4), bool), "b.W": np.ones((3, 8), bool)}  # 32 and 24 kept weights
    X, y = rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 3, 16)
    recipe = CompressionRecipe(bits=5, quant_epochs=0)
    with pytest.warns(UserWarning, match=r"layer 'b': 32 shared weights \(bits=5\) for only 24 kept weights"):
        quantize_stage(model, masks, recipe, X, y, verbose=False)
    model = Sequential(Linear(4, 8, rng=rng, name="a"), ReLU(), Linear(8, 3, rng=rng, name="b"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 2**4 = 16 <= 24: no warning
        quantize_stage(model, masks, CompressionRecipe(bits=4, quant_epochs=0), X, y, verbose=False)
