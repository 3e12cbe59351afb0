"""Checks of single integer arguments, shared by every module (private).

Python counts ``True`` and ``False`` as the integers 1 and 0, so "is this an
integer?" takes two tests. They are written once, here.
"""

from __future__ import annotations

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
