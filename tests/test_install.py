"""A real install: build the wheel, install it into a fresh virtual environment, run it from an empty folder.

The wheel must carry the pretrained nets (``deepcompress_np/pretrained/``) and not MNIST; installed that way,
``deepcompress evaluate lenet300`` works from any folder once ``$DEEPCOMPRESS_DATA`` points at the MNIST
files, and says what to do when they are nowhere. The venv shares this interpreter's site-packages for
NumPy and matplotlib (``--system-site-packages``, ``--no-deps``), so the test needs no network.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "deepcompress_np", src / "deepcompress_np",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)])
    assert done.returncode == 0, done.stdout + done.stderr
    wheels = list(out.glob("deepcompress_np-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_the_wheel_carries_the_pretrained_nets_and_not_mnist(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "deepcompress_np/pretrained/lenet300.npz" in names and "deepcompress_np/pretrained/lenet5.npz" in names
    assert not any(n.endswith("-ubyte.gz") for n in names), "MNIST must not be in the wheel"


@pytest.mark.slow
def test_installed_wheel_evaluates_the_bundled_net_from_an_empty_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    done = _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    assert done.returncode == 0, done.stderr
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    done = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)])
    assert done.returncode == 0, done.stdout + done.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEEPCOMPRESS_DATA")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "no-cache")  # no MNIST in the user cache
    where = _run([str(python), "-c", "import deepcompress_np; print(deepcompress_np.__file__)"], cwd=empty, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr  # the installed copy

    missing = _run([str(bin_dir / "deepcompress"), "evaluate", "lenet300"], cwd=empty, env=env)
    assert missing.returncode == 2
    assert "download-mnist" in missing.stderr and "DEEPCOMPRESS_DATA" in missing.stderr, missing.stderr

    env["DEEPCOMPRESS_DATA"] = str(REPO / "data")
    done = _run([str(bin_dir / "deepcompress"), "evaluate", "lenet300", "--json"], cwd=empty, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert Path(result["path"]).is_relative_to(venv) and result["arch"] == "lenet300"
    assert result["n_test"] == 10000 and result["test_error"] <= 0.0164
    assert list(empty.iterdir()) == []  # nothing written into the user's folder
