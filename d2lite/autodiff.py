"""Gradients of a scalar function on any Keras backend: one call instead of three APIs.

Keras 3 trains models on TensorFlow, JAX and PyTorch, but has no backend-neutral way to
ask "what is the gradient of this number with respect to these tensors?" outside
``model.fit``. Chapters that check a gradient by hand use `grad`, which calls
``tf.GradientTape``, ``jax.grad`` or ``torch.autograd.grad`` underneath.

Gradient checks want float64. TensorFlow computes in float64 whenever it is given float64
tensors. JAX computes in float32 unless 64-bit mode is switched on, and Keras 3 itself turns
some float64 results into float32 on JAX and PyTorch; `enable_float64` stops both (and does
nothing on TensorFlow).
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
from keras import ops

__all__ = ["enable_float64", "grad"]


def enable_float64() -> None:
    """Let the backend compute in float64 where it is given float64 tensors.

    On JAX this switches on 64-bit mode (``jax_enable_x64``) for the rest of the process:
    without it JAX silently turns float64 arrays into float32.

    On JAX and PyTorch it also stops Keras from turning float64 results into float32.
    Keras 3 (3.15 at least) works out the result type of many ops with a promotion rule
    that maps float64 to float32 on every backend but TensorFlow (keras-team/keras#23223,
    #23704). So on PyTorch ``ops.matmul``, ``ops.maximum`` and a float64 ``Dense`` layer
    compute in float32, and on JAX ``ops.sin``, ``cos``, ``tan``, ``tanh``, ``sinh``,
    ``cosh`` and ``arctan`` of a float64 tensor return float32. Setting that rule's float64
    entry back to float64 (for the rest of the process) keeps float64 inputs in float64, as
    on TensorFlow; float32 inputs still give float32 results.

    On TensorFlow this does nothing. Keras' default float type stays float32 on every
    backend: layers keep float32 weights unless given ``dtype="float64"``.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    if backend in ("jax", "torch"):
        # Private to Keras, but looked up on every call of its result_type; a Keras that
        # keeps float64 by itself has no such entry, and then there is nothing to undo.
        from keras.src.backend.common import dtypes

        if "float64" in getattr(dtypes, "BIT64_TO_BIT32_DTYPE", {}):
            dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"


def grad(f: Callable, *args, dtype: str = "float32"):
    """The gradient of the scalar ``f(*args)`` with respect to each argument.

    Args:
        f: a function of tensors returning a scalar (shape () or (1,)), written with
            ``keras.ops`` so that it runs on every backend.
        *args: one or more arrays, tensors or Keras variables, converted to ``dtype``.
        dtype: "float32" (the default) or "float64", for gradient checks (on JAX after
            `enable_float64`).

    Returns:
        One NumPy array of ``dtype`` per argument, of the argument's shape; a single
        array if there is one argument. Where ``f`` does not depend on an argument at all, its
        gradient is zeros (TensorFlow and PyTorch themselves would say None).

    Raises:
        ValueError: if no argument is given, ``f`` does not return a scalar, ``dtype`` is
            neither float type, or float64 is asked for on JAX without `enable_float64`
            (JAX would quietly differentiate in float32).
    """
    if not args:
        raise ValueError("grad needs at least one argument to differentiate with respect to")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    backend = keras.backend.backend()
    if backend == "jax" and dtype == "float64":
        import jax

        if not jax.config.jax_enable_x64:
            raise ValueError("dtype='float64' on JAX needs d2lite.enable_float64() first; "
                             "without it JAX computes in float32")
    xs = [ops.convert_to_tensor(np.asarray(ops.convert_to_numpy(a), dtype=dtype), dtype=dtype)
          for a in args]

    def scalar(*ys):
        out = f(*ys)
        if int(np.prod(tuple(out.shape))) != 1:
            raise ValueError(f"f must return a scalar, got shape {tuple(out.shape)}")
        return ops.reshape(out, ())

    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            for x in xs:
                tape.watch(x)
            out = scalar(*xs)
        grads = tape.gradient(out, xs)
    elif backend == "jax":
        import jax

        grads = jax.grad(scalar, argnums=tuple(range(len(xs))))(*xs)
    elif backend == "torch":
        import torch

        xs = [x.detach().requires_grad_(True) for x in xs]
        out = scalar(*xs)
        grads = torch.autograd.grad(out, xs, allow_unused=True) if out.requires_grad else [None] * len(xs)
    else:  # pragma: no cover - numpy/openvino backends have no autodiff
        raise ValueError(f"the {backend!r} backend has no automatic differentiation")
    result = [np.zeros(tuple(x.shape), dtype) if g is None else ops.convert_to_numpy(g).astype(dtype)
              for x, g in zip(xs, grads)]
    return result[0] if len(result) == 1 else tuple(result)
