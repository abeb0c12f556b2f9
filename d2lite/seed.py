"""Reproducibility: one call seeds Python, NumPy and the Keras backend."""

import sys
from unittest import mock

import keras


def set_seed(seed: int = 0, *, deterministic_ops: bool = True) -> None:
    """Seed every random number generator a chapter uses.

    Args:
        seed: a non-negative int.
        deterministic_ops: also ask the backend for deterministic kernels, so that two
            runs on the same machine give identical numbers (slightly slower on GPUs):
            TensorFlow's op determinism; PyTorch's deterministic algorithms (where an op
            has none, it warns instead of failing). JAX is deterministic on the CPU; on a
            GPU set ``XLA_FLAGS=--xla_gpu_deterministic_ops=true`` before JAX starts.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    backend = keras.backend.backend()
    if backend != "tensorflow" and "tensorflow" not in sys.modules:
        # Keras also seeds TensorFlow whenever it is installed, importing it (seconds, and
        # its CUDA log lines) into a JAX or PyTorch session that never uses it.
        from keras.src.utils import rng_utils

        with mock.patch.object(rng_utils, "tf", mock.Mock(available=False)):
            keras.utils.set_random_seed(seed)  # Python's random, NumPy and the backend
    else:
        keras.utils.set_random_seed(seed)
    if not deterministic_ops:
        return
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)
