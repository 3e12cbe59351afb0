"""The command line, run as a user would (in-process through ``main``, and once as a subprocess)."""

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from deepcompress_np.cli import main



def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_console_script_is_the_same_program():
    scripts = [e for e in entry_points(group="console_scripts") if e.name == "deepcompress"]
    assert scripts and scripts[0].value == "deepcompress_np.cli:main"
    done = subprocess.run([sys.executable, "-m", "deepcompress_np", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("train", "evaluate", "prune", "quantize", "compress", "demo", "reproduce", "bench",
                    "assignments"):
        assert command in done.stdout


def test_evaluate_json_on_the_bundled_model(capsys):
    from deepcompress_np.models import load_pretrained

    code, out, _ = run(capsys, "evaluate", "lenet300", "--json")  # the bundled net, by name
    assert code == 0
    result = json.loads(out)
    assert result["n_test"] == 10000 and result["compressed"] is False
    assert result["test_error"] == pytest.approx(load_pretrained("lenet300").metadata["test_error"])
    assert result["test_error"] <= 0.0164


def test_prune_quantize_compress_evaluate_chain(capsys, tmp_path):
    pruned, quantized, packed, report = (tmp_path / n for n in ("p.npz", "q.npz", "m.dcnp", "r.json"))
    code, out, _ = run(capsys, "prune", "--model", "lenet300", "--out", pruned, "--json", "--prune-epochs", "1")
    assert code == 0
    result = json.loads(out)
    assert {"test_error", "kept_fraction", "layers"} <= set(result)
    assert [l["layer"] for l in result["layers"]] == ["ip1", "ip2", "ip3"]
    from deepcompress_np.models import load_model

    model = load_model(pruned)
    assert set(model.masks) == {"ip1.W", "ip2.W", "ip3.W"}
    assert result["kept_fraction"] == pytest.approx(
        sum(m.sum() for m in model.masks.values()) / sum(m.size for m in model.masks.values()))

    code, out, _ = run(capsys, "quantize", "--weights", pruned, "--bits", "4", "--out", quantized, "--json",
                       "--quant-epochs", "1")
    assert code == 0
    result = json.loads(out)
    assert {"test_error", "layers"} <= set(result)
    q = load_model(quantized)
    for key, mask in q.masks.items():
        W = q.params()[key]
        assert np.all(W[~mask] == 0) and np.unique(W[mask]).size <= 16
        assert next(l for l in result["layers"] if f"{l['layer']}.W" == key)["distinct_values"] <= 16

    code, out, _ = run(capsys, "compress", "--model", "lenet300", "--out", packed, "--report", report,
                       "--prune-epochs", "1", "--quant-epochs", "1")
    assert code == 0 and "Table 1" in out
    r = json.loads(report.read_text())
    assert {"file_bytes", "dense_bytes", "ratio", "test_error_reference", "test_error", "layers"} <= set(r)
    assert r["file_bytes"] == packed.stat().st_size
    assert r["dense_bytes"] == 1_066_440 and r["ratio"] == pytest.approx(1_066_440 / r["file_bytes"])
    assert [l["layer"] for l in r["layers"]] == ["ip1", "ip2", "ip3", "Total"]

    code, out, _ = run(capsys, "evaluate", packed, "--json")
    assert code == 0
    evaluated = json.loads(out)
    assert evaluated["compressed"] is True and evaluated["test_error"] == pytest.approx(r["test_error"])


def test_outputs_are_never_overwritten_without_force(capsys, tmp_path):
    existing = tmp_path / "mine.npz"
    existing.write_bytes(b"precious")
    code, _, err = run(capsys, "prune", "--model", "lenet300", "--out", existing)
    assert code == 2 and "--force" in err
    assert existing.read_bytes() == b"precious"
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "demo", "--out-dir", folder)
    assert code == 2 and "did not write" in err


def test_bad_files_get_one_clear_line(capsys, tmp_path):
    bad = tmp_path / "bad.dcnp"
    bad.write_bytes(b"DCNP\x01garbage")
    code, _, err = run(capsys, "evaluate", bad)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "evaluate", tmp_path / "missing.npz")
    assert code == 2 and "no such file" in err


def test_demo_writes_the_file_the_report_and_the_figures(capsys, tmp_path):
    out = tmp_path / "demo"
    code, text, _ = run(capsys, "demo", "--out-dir", out, "--prune-epochs", "1", "--quant-epochs", "1")
    assert code == 0 and "Table 2/3" in text and "Table 1" in text
    names = {p.name for p in out.iterdir()}
    assert {"lenet300.dcnp", "report.json", "size_breakdown.png"} <= names
    assert len([n for n in names if n.endswith(".png")]) == 3
    report = json.loads((out / "report.json").read_text())
    assert report["file_bytes"] == (out / "lenet300.dcnp").stat().st_size
    # a second run may overwrite what the first wrote (the folder is marked as ours)
    code, _, _ = run(capsys, "demo", "--out-dir", out, "--prune-epochs", "1", "--quant-epochs", "1")
    assert code == 0


def test_evaluate_a_text_file_gives_no_pickle_advice(capsys, tmp_path):
    """Issue 11, point 10: a package that stores no pickles never suggests allow_pickle."""
    passwd = Path("/etc/passwd")
    target = passwd if passwd.is_file() else tmp_path / "passwd"
    if target != passwd:
        target.write_text("root:x:0:0:root:/root:/bin/bash\n")
    code, _, err = run(capsys, "evaluate", target)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert "not a model file" in err and "pickle" not in err.lower()


def test_evaluate_a_model_file_holding_pickles_gives_no_pickle_advice(capsys, tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, __arch__=np.array("lenet300"), w=np.array([{"a": 1}], dtype=object))
    code, _, err = run(capsys, "evaluate", path)
    assert code == 2 and err.startswith("error:") and "allow_pickle" not in err


def test_evaluate_a_damaged_zip_is_one_line(capsys, tmp_path):
    path = tmp_path / "damaged.npz"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    code, _, err = run(capsys, "evaluate", path)
    assert code == 2 and err.startswith("error:") and "not a model file" in err


def test_written_files_honour_the_umask(capsys, tmp_path):
    """Issue 11, point 10: files from the atomic save come out 0644 under umask 022, not the temporary 0600."""
    import os
    import stat

    from deepcompress_np.models import save_model
    from deepcompress_np.nn import Linear, ReLU, Sequential

    weights, data, pruned = tmp_path / "m.npz", tmp_path / "d.npz", tmp_path / "p.npz"
    rng = np.random.default_rng(0)
    save_model(weights, Sequential(Linear(6, 8, rng=rng, name="fc1"), ReLU(), Linear(8, 3, rng=rng, name="fc2")))
    np.savez(data, x_train=rng.normal(size=(30, 6)).astype(np.float32), y_train=rng.integers(0, 3, 30),
             x_test=rng.normal(size=(9, 6)).astype(np.float32), y_test=rng.integers(0, 3, 9))
    old = os.umask(0o022)
    try:
        code, _, err = run(capsys, "prune", "--weights", weights, "--data", data, "--keep", "0.5",
                           "--prune-epochs", "1", "--out", pruned, "--json")
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE(pruned.stat().st_mode) == 0o644


def test_layer_table_prints_a_layer_that_grows():
    """A tiny layer whose codebook outweighs its weights prints (0.26x), not (0x); the LeNet ratios as before."""
    from deepcompress_np.report import COLUMNS, format_layer_table, format_ratio

    assert format_ratio(3.8073) == "(0.26x)" and format_ratio(1 / 0.5) == "(0.5x)"
    assert format_ratio(0.0207) == "(48x)" and format_ratio(0.1345) == "(7x)" and format_ratio(0.7389) == "(1x)"
    row = dict.fromkeys(COLUMNS, 1.0)
    row.update(layer="tiny", n_weights=30, compress_rate_pq=2.5, compress_rate_pqh=3.8073)
    text = format_layer_table([row])
    assert "380.73% (0.26x)" in text and "250.00% (0.4x)" in text and "(0x)" not in text


def test_download_mnist_finds_files_already_there_without_downloading(capsys, monkeypatch, tmp_path):
    from deepcompress_np import data

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_download", lambda *a: pytest.fail("nothing should be downloaded"))
    code, out, _ = run(capsys, "download-mnist", "--data-dir", Path(__file__).resolve().parent.parent / "data")
    assert code == 0 and "MNIST is ready" in out and "t10k-images-idx3-ubyte" in out


def test_evaluate_prefers_a_file_named_like_a_bundled_net(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lenet300").write_bytes(b"not a model")
    code, _, err = run(capsys, "evaluate", "lenet300")
    assert code == 2 and "lenet300" in err  # the user's file is read (and refused), not the bundled net
