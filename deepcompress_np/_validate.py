"""Checks of single arguments, shared by every module (private).

Python counts ``True`` and ``False`` as the integers 1 and 0, so "is this an
integer?" takes two tests. They are written once, here, with the first check
of an ``.npz`` file that models and data files share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def is_integer(value):
    """True for a Python or NumPy integer; False for anything else, bools included."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(value, what, low, high=None, note=""):
    """``value`` as a Python int in ``[low, high]`` (no upper bound when ``high`` is None).

    Raises TypeError if ``value`` is not an integer and ValueError if it is out
    of range; both messages name ``what``, and ``note`` is appended to the
    range (e.g. what the bound means).
    """
    if not is_integer(value):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    if high is None and value < low:
        raise ValueError(f"{what} must be >= {low}, got {value}")
    if high is not None and not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}{note}, got {value}")
    return int(value)


NPZ_MAGIC = b"PK\x03\x04"  # an .npz is a zip archive


def check_npz_file(path, kind, not_npz):
    """``path`` as a Path to an existing file that starts like an ``.npz`` (zip) archive.

    Raises FileNotFoundError naming the ``kind`` of file when there is none,
    and ValueError with the message ``not_npz`` (the fix for that kind of
    file) when the file is something else, before NumPy is asked to read it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {kind} file at {str(path)!r}")
    with open(path, "rb") as f:
        if f.read(len(NPZ_MAGIC)) != NPZ_MAGIC:
            raise ValueError(not_npz)
    return path
