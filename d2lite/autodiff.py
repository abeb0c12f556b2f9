"""Gradients of a scalar function on any Keras backend: one call instead of three APIs.

Keras 3 trains models on TensorFlow, JAX and PyTorch, but has no backend-neutral way to
ask "what is the gradient of this number with respect to these tensors?" outside
``model.fit``. Chapters that check a gradient by hand use `grad`, which calls
``tf.GradientTape``, ``jax.grad`` or ``torch.autograd.grad`` underneath.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
from keras import ops

__all__ = ["grad"]


def grad(f: Callable, *args):
    """The gradient of the scalar ``f(*args)`` with respect to each argument.

    Args:
        f: a function of tensors returning a scalar (shape () or (1,)), written with
            ``keras.ops`` so that it runs on every backend.
        *args: one or more arrays or tensors (converted to float32 tensors).

    Returns:
        One NumPy float32 array per argument, of the argument's shape; a single array if
        there is one argument. Where ``f`` does not depend on an argument at all, its
        gradient is zeros (TensorFlow and PyTorch themselves would say None).

    Raises:
        ValueError: if no argument is given or ``f`` does not return a scalar.
    """
    if not args:
        raise ValueError("grad needs at least one argument to differentiate with respect to")
    xs = [ops.convert_to_tensor(np.asarray(ops.convert_to_numpy(a), dtype="float32")) for a in args]

    def scalar(*ys):
        out = f(*ys)
        if int(np.prod(tuple(out.shape))) != 1:
            raise ValueError(f"f must return a scalar, got shape {tuple(out.shape)}")
        return ops.reshape(out, ())

    backend = keras.backend.backend()
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
    result = [np.zeros(tuple(x.shape), "float32") if g is None else ops.convert_to_numpy(g).astype("float32")
              for x, g in zip(xs, grads)]
    return result[0] if len(result) == 1 else tuple(result)
