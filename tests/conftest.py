"""Shared fixtures: where the bundled data and pretrained weights are."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"


@pytest.fixture(scope="session")
def pretrained():
    """``pretrained(arch)`` loads the bundled reference weights ``data/<arch>.npz`` afresh."""
    from deepcompress_np.models import load_model

    return lambda arch: load_model(DATA / f"{arch}.npz")
