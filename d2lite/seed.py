"""Reproducibility: one call seeds Python, NumPy and the Keras backend."""

import keras


def set_seed(seed: int = 0, *, deterministic_ops: bool = True) -> None:
    """Seed every random number generator a chapter uses.

    Args:
        seed: a non-negative int.
        deterministic_ops: also ask TensorFlow for deterministic kernels, so that two
            runs on the same CPU give identical numbers (slightly slower on GPUs).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    keras.utils.set_random_seed(seed)  # Python's random, NumPy and the backend
    if deterministic_ops and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
