"""Shared fixtures: where the bundled data (MNIST, repository data/) and pretrained weights (in the package) are."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
PRETRAINED = REPO / "deepcompress_np" / "pretrained"


@pytest.fixture(scope="session")
def pretrained():
    """``pretrained(arch)`` loads the bundled reference weights ``deepcompress_np/pretrained/<arch>.npz`` afresh."""
    from deepcompress_np.models import load_model

    return lambda arch: load_model(PRETRAINED / f"{arch}.npz")
