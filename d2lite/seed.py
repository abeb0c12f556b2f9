"""Reproducibility: one call seeds Python, NumPy and the Keras backend."""

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
    keras.utils.set_random_seed(seed)  # Python's random, NumPy and the backend
    if not deterministic_ops:
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)
