"""``bench --scale --quick``: a narrow VGG-16 through every stage and the file (structure only, never timing)."""

import io
import json
import math
from contextlib import redirect_stdout

import pytest

from deepcompress_np.bench.scale import VGG16_LAYERS, vgg16_spec
from deepcompress_np.cli import main


def test_the_vgg16_description_has_the_papers_layers_and_size():
    from deepcompress_np.architecture import validate, weight_shapes

    spec, keep, bits = vgg16_spec()
    validate(spec)
    shapes = weight_shapes(spec)
    assert list(shapes) == [entry[0] for entry in VGG16_LAYERS if entry != "pool"]
    assert shapes["fc6"] == (4096, 25088) and shapes["conv5_3"] == (512, 512, 3, 3)
    n_weights = sum(math.prod(shape) for shape in shapes.values())
    biases = sum(s[0] for s in shapes.values())
    assert n_weights + biases == 138_357_544  # VGG-16's parameter count
    assert keep["fc6"] == 0.04 and keep["fc7"] == 0.04 and keep["fc8"] == 0.23 and keep["conv1_1"] == 0.58
    assert bits["conv3_1.W"] == 8 and bits["fc6.W"] == 5


@pytest.mark.slow
def test_quick_scale_run_goes_through_every_stage(tmp_path):
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["bench", "--scale", "--quick", "--json"]) == 0
    result = json.loads(out.getvalue())["scale"]
    assert [s["stage"] for s in result["stages"]] == ["build", "prune", "quantize", "store", "write", "load", "run"]
    assert all(s["seconds"] >= 0 and s["cpu_seconds"] >= 0 and s["peak_mb"] > 0 for s in result["stages"])
    assert result["quick"] is True and result["file_bytes"] > 0
    assert result["compressed_agrees_with_dense"] is True
    assert result["compress_seconds"] == pytest.approx(sum(
        s["seconds"] for s in result["stages"] if s["stage"] in ("prune", "quantize", "store", "write")))
