"""``bench --inference --quick``: the structure of the figures and the agreement of the kernels (never timing)."""

import json

import numpy as np
import pytest

from deepcompress_np.bench.inference import PAPER_CPU_US, PAPER_LAYERS, build_forms
from deepcompress_np.compressed import stored_layer
from deepcompress_np.cli import main
from deepcompress_np.quantize import quantize_layer
from deepcompress_np.sparse.kernels import RowSparse


@pytest.fixture(scope="module")
def quick_results():
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["bench", "--inference", "--quick", "--json"])
    assert code == 0
    return json.loads(out.getvalue())["inference"]


def test_every_layer_and_form_is_timed_and_agrees_with_dense(quick_results):
    layers = quick_results["layers"]
    assert [(r["net"], r["layer"]) for r in layers[:6]] == [(net, name) for net, name, *_ in PAPER_LAYERS]
    assert [(r["net"], r["layer"]) for r in layers[6:]] == [
        ("LeNet-300-100", "ip1"), ("LeNet-300-100", "ip2"), ("LeNet-300-100", "ip3"),
        ("LeNet-5", "ip1"), ("LeNet-5", "ip2")]
    for r in layers:
        forms = {"dense", "naive", "csr", "compressed", "scipy"}
        assert set(r["b1_ms"]) == forms and set(r["b64_ms"]) == forms - {"naive"}
        assert all(t > 0 for t in r["b1_ms"].values()) and set(r["b1_cpu_ms"]) == forms
        assert r["agree"] and all(r["agree"].values()), (r["net"], r["layer"], r["max_rel_error"])
        assert r["nnz"] == round(r["kept_fraction"] * r["shape"][0] * r["shape"][1])
        assert r["run_time_bytes"]["compressed"] < r["run_time_bytes"]["csr"] < r["run_time_bytes"]["dense"]
    for s in quick_results["sequences"]:
        # our kernels run a second time on as many threads as there are cores (when more than one)
        threaded = {"csr_threads", "compressed_threads"} if s["threads"] > 1 else set()
        assert set(s["b1_ms"]) == {"dense", "csr", "compressed", "scipy"} | threaded and all(s["agree"].values())
        assert s["threads"] >= 1
    assert quick_results["lenet300_predict_batch_1"]["same_prediction"] is True
    assert quick_results["lenet300_predict_batch_1"]["logits_rel_error"] < 1e-4


def test_the_paper_figures_and_the_machine_are_reported(quick_results):
    by_layer = {(r["net"], r["layer"]): r["paper_cpu_us"] for r in quick_results["layers"]}
    assert by_layer[("VGG-16", "fc6")] == {"dense_b1": 35022.8, "sparse_b1": 3774.3, "dense_b64": 1056.0,
                                           "sparse_b64": 1780.3}
    assert by_layer[("AlexNet", "fc8")]["dense_b1"] == 1134.9 and by_layer[("AlexNet", "fc8")]["sparse_b1"] == 890.5
    assert by_layer[("LeNet-5", "ip1")] is None
    assert quick_results["settings"]["quick"] is True
    machine = quick_results["machine"]
    assert {"cpu", "cores", "caches", "numpy", "load_average"} <= set(machine)
    summary = quick_results["summary"]
    for key in ("csr_over_scipy_b1", "compressed_over_csr_b1", "csr_over_scipy_b1_cpu", "compressed_over_csr_b1_cpu",
                "vgg16_sequence_dense_over_compressed",
                "alexnet_sequence_dense_over_compressed", "paper_dense_over_sparse_b1"):
        assert summary[key] > 0
    if quick_results["sequences"][0]["threads"] > 1:
        assert summary["vgg16_sequence_dense_over_compressed_threads"] > 0
    # the paper's CPU speed-up at batch 1, geometric mean over its six layers
    ratios = [v["dense_b1"] / v["sparse_b1"] for v in PAPER_CPU_US.values()]
    assert summary["paper_dense_over_sparse_b1"] == pytest.approx(float(np.exp(np.mean(np.log(ratios)))))
    energy = quick_results["energy"]
    assert set(energy) == {"AlexNet", "VGG-16", "LeNet-300-100", "LeNet-5"}
    assert all(e["dense_over_compressed"] > 1 for e in energy.values())


def test_the_printed_report_shows_the_tables(capsys):
    from deepcompress_np.bench.inference import print_report, run

    print_report(run(quick=True, repeats=1))
    out = capsys.readouterr().out
    for text in ("Batch 1, warm", "Batch 64", "As a network runs", "paper i7-5930K", "Geometric means",
                 "Every form agrees", "dense/compr."):
        assert text in out, text


def test_stored_layer_is_the_layer_the_kernel_and_the_file_agree_on():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((40, 300)).astype(np.float32)
    forms = build_forms(W, 0.05, 5, 3, "fc")
    stored = forms["stored"]
    assert stored.n_fillers > 0
    np.testing.assert_array_equal(stored.to_dense(), forms["dense"])
    np.testing.assert_array_equal(forms["compressed"].to_dense(), forms["dense"])
    q = quantize_layer(W, forms["dense"] != 0, bits=5)
    again = RowSparse.from_compressed_layer(stored_layer("fc", q, np.zeros(q.shape[0], np.float32), 3))
    np.testing.assert_array_equal(again.to_dense(), q.to_dense())


def test_bad_repeats_are_refused():
    from deepcompress_np.bench.inference import run

    with pytest.raises(ValueError, match="repeats"):
        run(quick=True, repeats=0)


def test_forms_take_turns_and_each_keeps_its_fastest_block(monkeypatch):
    from deepcompress_np.bench import inference

    order, scripted = [], {"dense": [3.0, 1.0, 2.0], "csr": [5.0, 6.0, 4.0]}  # seconds per block, made up

    def fake_median_times(function, repeats):
        name = function()
        order.append((name, repeats))
        wall = scripted[name][sum(1 for n, _ in order if n == name) - 1]
        return wall, wall / 2

    monkeypatch.setattr(inference, "median_times", fake_median_times)
    monkeypatch.setattr(inference.time, "sleep", lambda s: order.append(("sleep", s)))
    got = inference.interleaved_times({"dense": lambda: "dense", "csr": lambda: "csr"}, repeats=30, rest=0.2)
    assert got == {"dense": (1.0, 0.5), "csr": (4.0, 2.0)}  # the fastest block, its CPU time with it
    assert order == [("dense", 10), ("sleep", 0.2), ("csr", 10)] * 3  # taking turns, BLAS rests after dense
