"""Argument checks shared by d2lite's modules (private: the error messages are the API)."""

from __future__ import annotations

import numpy as np
from keras import ops


def _shape(x) -> tuple:
    """The shape of a tensor or array as a plain tuple."""
    return tuple(x.shape)


def _numpy(x, dtype=None) -> np.ndarray:
    """``x`` as a NumPy array: arrays, nested lists and tensors of every backend.

    Unlike ``np.asarray``, this accepts PyTorch tensors that are part of an autodiff
    graph (the outputs of a layer), which PyTorch refuses to turn into arrays directly.
    """
    if isinstance(x, np.ndarray):
        return x if dtype is None else x.astype(dtype, copy=False)
    return np.asarray(ops.convert_to_numpy(x), dtype=dtype)


def _positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer; else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
