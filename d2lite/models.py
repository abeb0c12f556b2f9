"""Networks and optimisers built in one section and reused in later ones.

* `lenet` is the LeNet-5 of the LeNet section, with switches for the modern changes
  (ReLU, max pooling, batch normalisation); later sections compare against it.
* `adam_cosine` and `adamw_warmup_cosine` are the optimisers the book trains with: Adam
  with a cosine decay, and AdamW with a linear warm-up before the cosine
  (`warmup_cosine_schedule`, a `WarmupCosine`, for transformers).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from d2lite._validate import _positive_int

__all__ = ["WarmupCosine", "adam_cosine", "adamw_warmup_cosine", "lenet", "warmup_cosine_schedule"]

_POOLS = {"avg": layers.AveragePooling2D, "max": layers.MaxPooling2D}


def lenet(
    activation: str = "sigmoid",
    pooling: str = "avg",
    batch_norm: bool = False,
    *,
    input_shape: tuple = (28, 28, 1),
    num_classes: int = 10,
) -> keras.Sequential:
    """LeNet-5's layout; the arguments switch on the modern changes.

    C1 (6 channels, 5x5, "same"), S2 (2x2 pooling), C3 (16 channels, 5x5), S4, then dense
    layers C5 (120) and F6 (84) and the output layer (``num_classes`` logits). With
    ``batch_norm`` each convolution and hidden dense layer is followed by batch
    normalisation (and has no bias of its own) before its nonlinearity.

    Args:
        activation: the nonlinearity of the hidden layers, a Keras activation name.
        pooling: "avg" (LeNet-5) or "max".
        batch_norm: insert batch normalisation after C1, C3, C5 and F6.
        input_shape: (height, width, channels) of the images, (28, 28, 1) by default.
        num_classes: number of output logits.

    Returns:
        A Sequential model mapping (batch, *input_shape) to (batch, num_classes) logits.

    Raises:
        ValueError: for an unknown pooling, a bad input shape or class count.
    """
    if pooling not in _POOLS:
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a Keras activation name, got {activation!r}")
    if len(input_shape) != 3 or min(input_shape[:2]) < 16:
        raise ValueError(
            f"input_shape must be (height, width, channels) with height and width >= 16, "
            f"got {input_shape!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    Pool = _POOLS[pooling]

    def unit(layer):
        """A convolution or dense layer, (batch norm,) then the nonlinearity."""
        name = layer.name
        norm = [layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")]
        return [
            layer,
            *(norm if batch_norm else []),
            layers.Activation(activation, name=f"{name}_act"),
        ]

    bias = not batch_norm
    return keras.Sequential(
        [
            keras.Input(input_shape),
            *unit(layers.Conv2D(6, 5, padding="same", use_bias=bias, name="C1")),
            Pool(2, name="S2"),
            *unit(layers.Conv2D(16, 5, use_bias=bias, name="C3")),
            Pool(2, name="S4"),
            layers.Flatten(name="flatten"),
            *unit(layers.Dense(120, use_bias=bias, name="C5")),
            *unit(layers.Dense(84, use_bias=bias, name="F6")),
            layers.Dense(num_classes, name="output"),
        ],
        name=f"lenet_{activation}_{pooling}{'_bn' if batch_norm else ''}",
    )


def _steps(epochs: int, n: int, batch_size: int) -> int:
    epochs, n = _positive_int("epochs", epochs), _positive_int("n", n)
    batch_size = _positive_int("batch_size", batch_size)
    return epochs * -(-n // batch_size)  # ceil(n / batch_size) steps per epoch


def adam_cosine(epochs: int, batch_size: int, n: int, lr: float = 5e-3) -> keras.optimizers.Adam:
    """Adam whose learning rate falls along half a cosine from ``lr`` to 0.

    Args:
        epochs, batch_size, n: the training run (n training examples), which fixes the
            number of steps, ``epochs * ceil(n / batch_size)``.
        lr: the initial learning rate, > 0.
    """
    steps = _steps(epochs, n, batch_size)
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps))


def adamw_warmup_cosine(
    epochs: int,
    batch_size: int,
    n: int,
    peak: float = 3e-3,
    warmup: float = 0.1,
    weight_decay: float = 0.05,
) -> keras.optimizers.AdamW:
    """AdamW; the learning rate rises linearly to ``peak``, then falls along a cosine to 0.

    Args:
        epochs, batch_size, n: the training run, as for `adam_cosine`.
        peak: the largest learning rate, > 0.
        warmup: the fraction of all steps spent rising, in [0, 1).
        weight_decay: AdamW's decoupled weight decay, >= 0.
    """
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    schedule = warmup_cosine_schedule(_steps(epochs, n, batch_size), peak, warmup)
    return keras.optimizers.AdamW(schedule, weight_decay=weight_decay)


@keras.saving.register_keras_serializable(package="d2lite")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """A linear warm-up from 0 to ``peak`` over ``warmup_steps``, then a cosine to 0.

    The same rates as Keras's ``CosineDecay(0.0, steps - warmup_steps,
    warmup_target=peak, warmup_steps=warmup_steps)`` (the tests check it), computed
    without a conditional: ``min`` of the warm-up line and the cosine. Keras's version
    branches with ``ops.cond``, and an optimiser reads its learning rate once per variable
    (AdamW twice: for the decay and for the step), so that each traced training step
    holds one conditional graph per variable: tracing AdamW's step for the 40 weights of
    the book's ViT then took about 6 s longer (measured with cProfile).

    Args:
        steps: total number of steps, a positive int.
        peak: the largest rate, reached after ``warmup_steps``.
        warmup_steps: int in [0, steps).

    Call:
        step (a scalar or an array of steps) -> the rate, float32 of the same shape.
    """

    def __init__(self, steps: int, peak: float, warmup_steps: int):
        self.steps, self.peak, self.warmup_steps = int(steps), float(peak), int(warmup_steps)

    def __call__(self, step):
        step = ops.minimum(ops.cast(step, "float32"), float(self.steps))
        rise = self.peak * step / max(self.warmup_steps, 1)
        progress = (step - self.warmup_steps) / (self.steps - self.warmup_steps)
        fall = 0.5 * self.peak * (1.0 + ops.cos(np.pi * ops.maximum(progress, 0.0)))
        return ops.minimum(rise, fall) if self.warmup_steps else fall

    def get_config(self):
        return {"steps": self.steps, "peak": self.peak, "warmup_steps": self.warmup_steps}


def warmup_cosine_schedule(
    steps: int, peak: float = 3e-3, warmup: float = 0.1
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Learning rate rising linearly from 0 to ``peak``, then falling along a cosine to 0.

    Args:
        steps: the total number of training steps, a positive int.
        peak: the largest learning rate, > 0, reached after ``int(warmup * steps)`` steps.
        warmup: the fraction of all steps spent rising, in [0, 1).

    Returns:
        A `WarmupCosine` schedule (the rates of Keras's ``CosineDecay`` with its warm-up):
        call it with a step (or an array of steps) for the rate.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not peak > 0:
        raise ValueError(f"peak must be > 0, got {peak!r}")
    if not 0 <= warmup < 1:
        raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup!r}")
    return WarmupCosine(steps, peak, int(warmup * steps))
