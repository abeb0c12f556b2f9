"""Argument checks shared by d2lite's modules (private: the error messages are the API)."""

from __future__ import annotations

import numpy as np


def _shape(x) -> tuple:
    """The shape of a tensor or array as a plain tuple."""
    return tuple(x.shape)


def _positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer; else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
