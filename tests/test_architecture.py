"""Architectures as plain data: describe, validate (before any allocation), build; state_dict; saving any model."""

import copy
import json
import os
import tracemalloc

import numpy as np
import pytest

from deepcompress_np import architecture as A
from deepcompress_np.models import lenet5, lenet_300_100, load_model, save_model
from deepcompress_np.nn import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential


def small_cnn(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2D(1, 4, 3, stride=2, padding=1, rng=rng, name="c1"), ReLU(name="r1"),
        MaxPool2D(2, name="p1"), Dropout(0.25, rng=rng, name="d1"), Flatten(name="f"),
        Linear(4 * 3 * 3, 16, rng=rng, name="fc1"), ReLU(name="r2"), Linear(16, 5, rng=rng, name="fc2"),
        input_shape=(1, 12, 12))


def test_describe_round_trips_every_layer_kind():
    model = small_cnn()
    spec = model.architecture()
    assert [c["kind"] for c in spec["layers"]] == ["Conv2D", "ReLU", "MaxPool2D", "Dropout", "Flatten", "Linear",
                                                   "ReLU", "Linear"]
    assert spec["layers"][0] == {"kind": "Conv2D", "name": "c1", "in_channels": 1, "out_channels": 4,
                                 "kernel_size": 3, "stride": 2, "padding": 1}
    assert A.validate(spec)[-1] == (5,)
    text = A.to_json(spec)
    assert A.from_json(text) == spec == json.loads(text)
    rebuilt = A.build(spec, seed=1)
    assert rebuilt.architecture() == spec and rebuilt.input_shape == (1, 12, 12)
    rebuilt.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).random((3, 1, 12, 12), dtype=np.float32)
    np.testing.assert_array_equal(rebuilt.forward(x), model.forward(x))


def test_lenets_describe_themselves():
    assert A.validate(lenet5().architecture())[-1] == (10,)
    assert A.weight_shapes(lenet_300_100().architecture()) == {"ip1": (300, 784), "ip2": (100, 300), "ip3": (10, 100)}


def test_input_shape_inferred_for_mlps_and_required_for_convnets():
    mlp = Sequential(Linear(64, 8, name="a"), ReLU(), Linear(8, 3, name="b"))
    assert mlp.architecture()["input_shape"] == [64]
    conv = Sequential(Conv2D(1, 2, 3, name="c"), Flatten(), Linear(2 * 4 * 4, 2, name="l"))
    with pytest.raises(ValueError, match="input shape is unknown"):
        conv.architecture()
    conv.input_shape = (1, 6, 6)
    assert conv.architecture()["input_shape"] == [1, 6, 6]


def test_describe_refuses_layers_it_cannot_store():
    class Custom(ReLU):
        pass

    with pytest.raises(TypeError, match="can hold only"):
        Sequential(Linear(2, 2, name="a"), Custom(name="x")).architecture()


def _spec():
    return copy.deepcopy(small_cnn().architecture())


def _edit(path_and_value):
    spec = _spec()
    *path, value = path_and_value
    target = spec
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return spec


# Each entry breaks exactly one rule of validate(); the message names it.
BAD = {
    "not an object": ([], "JSON object"),
    "extra top-level key": (("extra", 1), "exactly the keys"),
    "wrong format": (("format", "keras"), "format is"),
    "wrong version": (("version", 2), "not supported"),
    "bool version": (("version", True), "not supported"),
    "input_shape 2-D": (("input_shape", [12, 12]), r"\[D\] or \[C, H, W\]"),
    "input_shape zero": (("input_shape", [1, 0, 12]), "between 1 and"),
    "input_shape float": (("input_shape", [1, 12.0, 12]), "must be an integer"),
    "input too large": (("input_shape", [65536, 65536, 1]), "more than"),
    "no layers": (("layers", []), "1 to 256 layers"),
    "layers not a list": (("layers", {"a": 1}), "1 to 256 layers"),
    "layer not an object": (("layers", 0, "x"), "must be an object"),
    "unknown kind": (("layers", 1, "kind", "GELU"), "unknown layer kind"),
    "missing hyper-parameter": (("layers", 0, "stride", KeyError), "expected"),
    "extra hyper-parameter": (("layers", 1, "alpha", 0.1), "expected"),
    "bad name": (("layers", 1, "name", "r 1"), "not 1-64 ASCII"),
    "duplicate name": (("layers", 2, "name", "c1"), "two layers are named"),
    "bool as int": (("layers", 0, "stride", True), "must be an integer"),
    "negative padding": (("layers", 0, "padding", -1), "between 0 and"),
    "zero stride": (("layers", 0, "stride", 0), "between 1 and"),
    "huge channels": (("layers", 0, "out_channels", 10 ** 9), "between 1 and"),
    "dropout p = 1": (("layers", 3, "p", 1.0), r"dropout p must be a number in \[0, 1\)"),
    "channels do not chain": (("layers", 0, "in_channels", 3), "takes 3 channels but receives 1"),
    "features do not chain": (("layers", 5, "in_features", 37), "takes 37 features"),
    "kernel larger than input": (("layers", 0, "kernel_size", 20), "does not fit"),
    "linear on images": (("layers", 4, "kind", "ReLU"), "takes 36 features but receives shape"),
}


@pytest.mark.parametrize("case", sorted(BAD), ids=str)
def test_validate_names_each_problem(case):
    edit, message = BAD[case]
    spec = edit if isinstance(edit, list) else _edit(edit)
    with pytest.raises(A.ArchitectureError, match=message):
        A.validate(spec)


def test_hostile_sizes_are_refused_before_any_allocation():
    spec = {"format": A.FORMAT, "version": 1, "input_shape": [40000],
            "layers": [{"kind": "Linear", "name": "huge", "in_features": 40000, "out_features": 40000}]}
    many = {"format": A.FORMAT, "version": 1, "input_shape": [4],
            "layers": [{"kind": "ReLU", "name": f"r{i}"} for i in range(10 ** 5)]}
    tracemalloc.start()
    for bad, message in ((spec, "more than 268,435,456 weights"), (many, "1 to 256 layers")):
        with pytest.raises(A.ArchitectureError, match=message):
            A.build(bad)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000, peak  # 1.6e9 weights would be 6.4 GB


def test_from_json_refuses_text_that_is_not_json():
    with pytest.raises(A.ArchitectureError, match="not valid JSON"):
        A.from_json("{layers: [}")
    with pytest.raises(A.ArchitectureError, match="not valid JSON"):
        A.from_json(b"\xff\xfe")


# ----------------------------------------------------------------------------
# Weights in and out
# ----------------------------------------------------------------------------

def test_state_dict_is_a_copy_and_load_state_dict_accepts_torch_keys():
    model = small_cnn(0)
    state = model.state_dict()
    state["fc1.W"][...] = 7
    assert not np.any(model.params()["fc1.W"] == 7)
    other = small_cnn(1)
    torch_style = {k.replace(".W", ".weight").replace(".b", ".bias"): v for k, v in small_cnn(0).state_dict().items()}
    other.load_state_dict(torch_style)
    for key, value in small_cnn(0).params().items():
        np.testing.assert_array_equal(other.params()[key], value)


@pytest.mark.parametrize("change, error, message", [
    (lambda s: s.pop("fc2.b"), ValueError, r"missing parameters \['fc2.b'\]"),
    (lambda s: s.__setitem__("fc3.weight", np.zeros(2)), ValueError, "unknown key 'fc3.weight'"),
    (lambda s: s.__setitem__("c1.running_mean", np.zeros(4)), ValueError, "unknown key 'c1.running_mean'"),
    (lambda s: s.__setitem__("fc1.weight", s["fc1.W"]), ValueError, "given twice"),
    (lambda s: s.__setitem__("fc1.W", s["fc1.W"].T), ValueError, r"shape \(36, 16\)"),
    (lambda s: s.__setitem__("fc1.b", np.array(["a"] * 16)), TypeError, "expected numbers"),
    (lambda s: s["fc2.W"].__setitem__((0, 0), np.nan), ValueError, "NaN"),
])
def test_load_state_dict_names_every_problem_and_changes_nothing(change, error, message):
    model = small_cnn(0)
    before = model.state_dict()
    state = small_cnn(1).state_dict()
    change(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    for key, value in before.items():
        np.testing.assert_array_equal(model.params()[key], value)


def test_load_state_dict_takes_a_mapping():
    with pytest.raises(TypeError, match="mapping"):
        small_cnn().load_state_dict([("fc1.W", 0)])


def test_params_cannot_be_rebound_silently_but_can_be_written_in_place():
    model = small_cnn()
    params = model.params()
    with pytest.raises(TypeError, match="read-only view"):
        params["fc1.W"] = np.zeros((16, 36), np.float32)
    params["fc1.W"][...] = 0
    assert not model.layer("fc1").params["W"].any()
    assert len(params) == 6 and "c1.b" in params and dict(params).keys() == params.keys()


# ----------------------------------------------------------------------------
# Saving and loading any model
# ----------------------------------------------------------------------------

def test_any_model_saves_and_loads_without_a_registry(tmp_path):
    model = small_cnn(3)
    masks = {"fc1.W": np.random.default_rng(0).random((16, 36)) > 0.5}
    save_model(tmp_path / "m.npz", model, masks=masks, metadata={"note": "mine"})
    back = load_model(tmp_path / "m.npz")
    assert back.arch is None and back.architecture() == model.architecture() and back.metadata == {"note": "mine"}
    x = np.random.default_rng(1).random((2, 1, 12, 12), dtype=np.float32)
    np.testing.assert_array_equal(back.forward(x), model.forward(x))
    np.testing.assert_array_equal(back.masks["fc1.W"], masks["fc1.W"])
    assert back.layer("d1").p == 0.25


def test_saved_files_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        save_model(tmp_path / "m.npz", small_cnn())
    finally:
        os.umask(old)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


def test_save_needs_an_input_shape_for_a_convnet(tmp_path):
    model = Sequential(Conv2D(1, 2, 3, name="c"), Flatten(), Linear(8, 2, name="l"))
    with pytest.raises(ValueError, match="input_shape"):
        save_model(tmp_path / "m.npz", model)
    assert not (tmp_path / "m.npz").exists()


def test_files_without_an_architecture_still_load_for_the_lenets(tmp_path):
    """Files written before the architecture was stored name the net in __arch__ only."""
    model = lenet_300_100(2)
    arrays = {k: v for k, v in model.params().items()}
    np.savez(tmp_path / "old.npz", __arch__=np.array("lenet300"), __metadata__=np.array("{}"), **arrays)
    back = load_model(tmp_path / "old.npz")
    assert back.arch == "lenet300"
    np.testing.assert_array_equal(back.params()["ip2.W"], model.params()["ip2.W"])


@pytest.mark.parametrize("content, message", [
    (b"root:x:0:0:root:/root:/bin/bash\n", "a model is an .npz archive"),
    (None, "pickled"),
])
def test_non_model_files_get_no_advice_to_unpickle(tmp_path, content, message):
    path = tmp_path / "x.npz"
    if content is None:
        np.savez(path, a=np.array([{"x": 1}], dtype=object))  # an .npz whose array needs pickle
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        load_model(path)
    assert "allow_pickle" not in str(info.value)


def test_a_hostile_architecture_in_a_model_file_is_a_clear_error(tmp_path):
    spec = small_cnn().architecture()
    spec["layers"][5]["in_features"] = 10 ** 6
    np.savez(tmp_path / "m.npz", __architecture__=np.array(json.dumps(spec)))
    with pytest.raises(ValueError, match="between 1 and 65536"):
        load_model(tmp_path / "m.npz")
    np.savez(tmp_path / "n.npz", __architecture__=np.array([1, 2]))
    with pytest.raises(ValueError, match="not a text string"):
        load_model(tmp_path / "n.npz")
