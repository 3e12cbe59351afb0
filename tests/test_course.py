"""The course's shared network: built like the pipeline's stage 1, saved and loaded exactly, rebuilt when stale."""

import dataclasses

import numpy as np
import pytest

from deepcompress_np import course
from deepcompress_np.compressed import CompressedModel
from deepcompress_np.data import load_mnist
from deepcompress_np.models import load_pretrained
from deepcompress_np.pipeline import copy_model, prune_stage
from deepcompress_np.prune import prune_model
from deepcompress_np.quantize import quantize_model_params


@pytest.fixture(scope="module")
def small_data():
    X, y = load_mnist("fit")
    return X[:256], y[:256]


def test_prune_rounds_is_the_pipelines_stage_one_bit_for_bit(small_data):
    recipe = dataclasses.replace(course.course_recipe(), prune_epochs=1)
    a, b = load_pretrained("lenet300"), load_pretrained("lenet300")
    rounds = []
    masks_a = course.prune_rounds(a, *small_data, recipe, on_round=lambda r, m, k: rounds.append(r))
    masks_b = prune_stage(b, recipe, *small_data, seed=course.SEED, verbose=False)
    assert rounds == list(range(1, recipe.prune_rounds + 1))
    for key in masks_b:
        assert np.array_equal(masks_a[key], masks_b[key])
    for key, value in b.params().items():
        assert np.array_equal(a.params()[key], value), key


def _pruned_and_quantized():
    model = load_pretrained("lenet300")
    masks = prune_model(model, keep_fraction={"ip1": 0.04, "ip2": 0.07, "ip3": 0.25})
    quantized = quantize_model_params(model.params(), masks, bits=6)
    quantized_model = copy_model(model)
    for key, q in quantized.items():
        quantized_model.params()[key][...] = q.to_dense()
    return model, masks, quantized_model, quantized


def test_save_and_load_every_stage_exactly(tmp_path):
    model, masks, qmodel, quantized = _pruned_and_quantized()
    course.save_course_model("pruned", model, masks, cache_dir=tmp_path, test_error=0.0123)
    course.save_course_model("quantized", qmodel, masks, quantized, cache_dir=tmp_path)
    pruned = course.load_course_model("pruned", tmp_path)
    assert pruned.metadata["test_error"] == pytest.approx(0.0123)
    assert pruned.kept_fractions == pytest.approx({"ip1": 0.04, "ip2": 0.07, "ip3": 0.25}, abs=1e-4)
    for key, value in model.params().items():
        assert np.array_equal(pruned.model.params()[key], value)
    loaded = course.load_course_model("quantized", tmp_path)
    for key, q in quantized.items():
        assert np.array_equal(loaded.quantized[key].codebook, q.codebook)
        assert np.array_equal(loaded.quantized[key].index, q.index)
        assert np.array_equal(loaded.quantized[key].to_dense(), qmodel.params()[key])
    assert course.course_model("pruned", tmp_path).metadata["stage"] == "pruned"  # loaded, not rebuilt


def test_a_net_saved_with_other_settings_is_not_used(tmp_path, monkeypatch):
    model, masks, _, _ = _pruned_and_quantized()
    course.save_course_model("pruned", model, masks, cache_dir=tmp_path)
    assert course.load_course_model("pruned", tmp_path) is not None
    monkeypatch.setattr(course, "FORMAT", course.FORMAT + 1)
    assert course.load_course_model("pruned", tmp_path) is None
    assert course.load_course_model("quantized", tmp_path) is None  # never saved


def test_the_course_folder_comes_from_the_argument_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(course.COURSE_DIR_ENV, str(tmp_path / "env"))
    assert course.course_dir() == tmp_path / "env"
    assert course.course_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv(course.COURSE_DIR_ENV)
    assert str(course.course_dir()) == "course_models"


def test_bad_arguments_are_refused(tmp_path):
    model, masks, qmodel, quantized = _pruned_and_quantized()
    with pytest.raises(ValueError, match="unknown course stage"):
        course.course_model("trained", tmp_path)
    with pytest.raises(TypeError, match="cache_dir must be a path"):
        course.course_dir(3)
    with pytest.raises(ValueError, match="pass quantized="):
        course.save_course_model("quantized", qmodel, masks, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="pass quantized="):
        course.save_course_model("pruned", model, masks, quantized, cache_dir=tmp_path)


def test_follow_one_weight_reads_its_code_words_from_the_file(tmp_path):
    model, masks, qmodel, quantized = _pruned_and_quantized()
    course.save_course_model("pruned", model, masks, cache_dir=tmp_path)
    data = CompressedModel.from_quantized(qmodel, quantized).to_bytes()
    loaded = CompressedModel.from_bytes(data)
    steps = course.follow_one_weight(load_pretrained("lenet300"), course.load_course_model("pruned", tmp_path),
                                     loaded, data, layer="ip2")
    assert [s["stage"].split(":")[0] for s in steps][1:] == [
        "pruned + retrained", "quantized (6-bit codebook)", "relative index", "Huffman code words",
        "bytes in the file"]
    word_s, word_f = steps[4]["code_word"]
    assert steps[4]["bits"] == len(word_s) + len(word_f)
    with pytest.raises(ValueError, match="no layer 'conv1'"):
        course.follow_one_weight(model, course.load_course_model("pruned", tmp_path), loaded, data, layer="conv1")
    filler = int(np.flatnonzero(loaded.layers[0].symbols == 0)[0])
    with pytest.raises(ValueError, match="not a filler"):
        course.follow_one_weight(model, course.load_course_model("pruned", tmp_path), loaded, data, entry=filler)
    corrupted = bytearray(data)
    start = steps[5]["byte_offset"][0]
    corrupted[start] ^= 0xFF
    with pytest.raises(ValueError, match="not the expected code words"):
        course.follow_one_weight(model, course.load_course_model("pruned", tmp_path), loaded, bytes(corrupted),
                                 layer="ip2")
