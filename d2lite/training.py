"""Train a Keras classifier with one call: ``model.fit`` plus a live plot and a tidy history.

`train` is a thin layer over ``model.fit``, not a second training loop: it checks the data
against the model (with errors that say what shape was expected), seeds everything,
compiles the model if asked to (and creates the optimiser's slot variables eagerly, which
is much faster than inside the first traced step), calls ``model.fit`` with the test set as validation data
and ``verbose=0``, and returns a `TrainHistory` of per-epoch numbers.

In Jupyter, the `LivePlot` callback draws the loss and the train/test accuracy after every
epoch into *one* figure that is updated in place (``display(..., display_id=True)`` then
``handle.update``), like the ``Animator`` of Dive into Deep Learning. An executed notebook
therefore keeps a single, final figure instead of pages of progress bars. Outside Jupyter
nothing is drawn or printed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import keras
import numpy as np

from d2lite._validate import _positive_int
from d2lite.seed import set_seed

__all__ = ["LivePlot", "TrainHistory", "train"]


@dataclass
class TrainHistory:
    """What `train` measured, one entry per epoch.

    Attributes:
        loss: mean training loss of each epoch (as ``model.fit`` reports it: averaged over
            the epoch's mini-batches while the weights change).
        accuracy: training accuracy of each epoch, averaged the same way.
        test_loss: loss on the test set after each epoch.
        test_accuracy: accuracy on the test set after each epoch.
        train_seconds: wall-clock seconds of each epoch's training pass (from the start of
            the epoch to the start of its test-set evaluation; the first one includes
            tracing and compiling the train step).
        examples_per_second: training examples per second of wall-clock time over epochs
            2, 3, ... (the first epoch is left out because it includes tracing and
            compiling); with a single epoch, that epoch's rate, compile time included.
            Only the training passes count: test-set evaluation and plotting are excluded.
        device: where the computation ran, e.g. ``"CPU (2 cores)"`` or
            ``"GPU:0 (NVIDIA H100 80GB HBM3)"``.
        num_examples: number of training examples per epoch.
        batch_size: the mini-batch size used.
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    train_seconds: list = field(default_factory=list)
    examples_per_second: float = float("nan")
    device: str = ""
    num_examples: int = 0
    batch_size: int = 0

    def __len__(self) -> int:
        return len(self.loss)

    def summary(self) -> str:
        """Two lines: the last epoch's loss and accuracies, then the measured speed."""
        return (f"epoch {len(self)}: loss {self.loss[-1]:.3f}, "
                f"train accuracy {self.accuracy[-1]:.3f}, test accuracy {self.test_accuracy[-1]:.3f}\n"
                f"{self.examples_per_second:,.0f} examples/s on {self.device}")


def _in_jupyter() -> bool:
    """True inside a Jupyter kernel (notebook, JupyterLab, Colab, nbclient), False elsewhere."""
    try:
        from IPython import get_ipython
        from ipykernel.zmqshell import ZMQInteractiveShell
    except ImportError:
        return False
    return isinstance(get_ipython(), ZMQInteractiveShell)  # Colab's shell is a subclass


class LivePlot(keras.callbacks.Callback):
    """Keras callback: one Matplotlib figure of loss and accuracy, redrawn after each epoch.

    The figure is displayed once, after the first epoch, with a display id; later epochs
    replace that output (``update_display_data``) rather than adding new ones. The figure is
    closed right after it is created so that the inline backend does not show it a second
    time at the end of the cell. Outside Jupyter the callback does nothing.

    Args:
        epochs: total number of epochs (fixes the x axis so the plot does not jump).
        title: optional figure title.
        enabled: draw only if True *and* running in a Jupyter kernel.
    """

    def __init__(self, epochs: int, *, title: str | None = None, enabled: bool = True):
        super().__init__()
        self.epochs = int(epochs)
        self.title = title
        self.enabled = bool(enabled) and _in_jupyter()
        self.logs: dict = {}
        self._fig = None
        self._handle = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(float(value))
        if self.enabled:
            self._draw()

    def _draw(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        if self._fig is None:
            self._fig, self._axes = plt.subplots(1, 2, figsize=(7.0, 2.8))
            plt.close(self._fig)  # shown through the display handle only
        panels = [(self._axes[0], "loss", ("loss", "val_loss")),
                  (self._axes[1], "accuracy", ("accuracy", "val_accuracy"))]
        for ax, ylabel, keys in panels:
            ax.clear()
            for key, fmt, label in zip(keys, ("-o", "--s"), ("train", "test")):
                if key in self.logs:
                    values = self.logs[key]
                    ax.plot(range(1, len(values) + 1), values, fmt, markersize=3, label=label)
            ax.set(xlabel="epoch", ylabel=ylabel, xlim=(0.5, max(self.epochs, 2) + 0.5))
            ax.grid(True, alpha=0.3)
            ax.legend(loc="best", fontsize=8)
        if self.title:
            self._fig.suptitle(self.title, fontsize=10)
        self._fig.tight_layout()
        if self._handle is None:
            self._handle = display(self._fig, display_id=True)
        else:
            self._handle.update(self._fig)


class _EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch's training pass (test-set evaluation excluded)."""

    def __init__(self):
        super().__init__()
        self.seconds: list = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        # Called by fit's validation right after the epoch's last train step.
        if self._start is not None:
            self.seconds.append(time.perf_counter() - self._start)
            self._start = None

    def on_epoch_end(self, epoch, logs=None):
        if self._start is not None:  # no validation ran this epoch
            self.seconds.append(time.perf_counter() - self._start)
            self._start = None


def device_name() -> str:
    """The device Keras places computations on by default: the first GPU if any, else the CPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return f"GPU:0 ({details.get('device_name', 'unknown')})"
    elif backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return f"{device.platform.upper()}:0 ({device.device_kind})"
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return f"GPU:0 ({torch.cuda.get_device_name(0)})"
    return f"CPU ({os.cpu_count()} cores)"


def _unpack(data) -> tuple:
    if all(hasattr(data, name) for name in ("x_train", "y_train", "x_test", "y_test")):
        arrays = (data.x_train, data.y_train, data.x_test, data.y_test)
    elif isinstance(data, (tuple, list)) and len(data) == 4:
        arrays = tuple(data)
    else:
        raise TypeError("data must be a d2lite.DataSplits or a tuple (x_train, y_train, x_test, y_test), "
                        f"got {type(data).__name__}")
    return tuple(np.asarray(a) for a in arrays)


def _model_input_shape(model: keras.Model) -> tuple | None:
    """The model's input shape without the batch axis, or None if it does not declare one."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    return tuple(shape[1:]) if isinstance(shape, tuple) else None


def _check_data(model: keras.Model, x_train, y_train, x_test, y_test) -> None:
    """Raise ValueError if the arrays do not fit each other or the model.

    Runs the model once on one training example (inference mode), which also builds the
    weights of a model that has no ``keras.Input``.
    """
    for x_name, y_name, x, y in (("x_train", "y_train", x_train, y_train),
                                 ("x_test", "y_test", x_test, y_test)):
        if x.ndim < 2:
            raise ValueError(f"{x_name} must have shape (examples, *input_shape), got {x.shape}")
        if y.ndim != 1:
            raise ValueError(f"{y_name} must have shape (examples,) of integer class labels, got {y.shape}")
        if len(x) != len(y):
            raise ValueError(f"{x_name} has {len(x)} examples but {y_name} has {len(y)}; "
                             "they must have the same length")
        if len(x) == 0:
            raise ValueError(f"{x_name} is empty: need at least one example")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{y_name} must hold integer class labels, got dtype {y.dtype}")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"x_test has examples of shape {x_test.shape[1:]}, "
                         f"expected {x_train.shape[1:]} like x_train")
    input_shape = _model_input_shape(model)
    if input_shape is not None and (
            len(input_shape) != x_train.ndim - 1
            or any(d is not None and d != n for d, n in zip(input_shape, x_train.shape[1:]))):
        expected = "(examples, " + ", ".join("?" if d is None else str(d) for d in input_shape) + ")"
        raise ValueError(f"x_train has shape {x_train.shape} but the model expects inputs of shape {expected}")
    scores = model(x_train[:1], training=False)
    if len(scores.shape) != 2:
        raise ValueError(f"the model must output class scores of shape (batch, classes), "
                         f"got shape {tuple(scores.shape)}")
    units = int(scores.shape[-1])
    for y_name, y in (("y_train", y_train), ("y_test", y_test)):
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= units:
            raise ValueError(f"{y_name} holds labels from {lo} to {hi}, but the model has {units} output units: "
                             f"labels must lie in 0..{units - 1}")


def _ends_in_softmax(model: keras.Model) -> bool:
    last = model.layers[-1] if model.layers else None
    return isinstance(last, keras.layers.Softmax) or (
        getattr(last, "activation", None) is keras.activations.softmax)


def _build_training_state(model: keras.Model, x, y) -> None:
    """Create the metrics', loss's and optimiser's variables before ``model.fit``.

    On TensorFlow, ``fit`` creates them while it traces the first training step, and a
    ``tf.function`` whose first trace creates variables is traced a second time: about
    5 s more per model for the book's ViT. Keras's JAX trainer builds this state up front
    with ``Trainer._symbolic_build`` (symbolic shapes, no computation); this does the same
    on every backend, and falls back to building the optimiser eagerly.
    """
    symbolic_build = getattr(model, "_symbolic_build", None)
    if symbolic_build is not None:
        symbolic_build(data_batch=(x, y, None))
    elif model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def train(model: keras.Model, data, *, epochs: int, batch_size: int = 256,
          optimizer: str | keras.optimizers.Optimizer | None = None,
          loss: str | keras.losses.Loss | None = None, seed: int = 0, live: bool = True,
          title: str | None = None, eval_batch_size: int | None = None,
          callbacks: Sequence[keras.callbacks.Callback] = ()) -> TrainHistory:
    """Train a classifier with ``model.fit``, evaluating on the test set after every epoch.

    Args:
        model: a Keras model mapping a batch of inputs (batch, *input_shape) to class scores
            (batch, classes). If it has no ``keras.Input`` yet it is built on one example.
        data: a `d2lite.DataSplits` or a tuple ``(x_train, y_train, x_test, y_test)`` with
            x of shape (examples, *input_shape) and y of shape (examples,), integer labels
            in ``0 .. classes - 1``.
        epochs: positive number of passes over the training set.
        batch_size: positive mini-batch size.
        optimizer: optimizer to compile with. If `optimizer` and `loss` are both None and
            the model is already compiled, its compilation is kept (it must track the
            ``"accuracy"`` metric); if it is not compiled, ``"adam"`` is used.
        loss: loss to compile with; by default sparse categorical cross-entropy, on logits
            unless the model's last layer applies a softmax.
        seed: seeds Python, NumPy and Keras (`d2lite.set_seed`) before training, which
            makes the shuffling (and dropout) repeatable. Keras draws the initial weights
            when the layers are created, so seed before building the model as well; then
            two runs on the CPU give identical numbers.
        live: in Jupyter, draw the curves live into one figure (see `LivePlot`).
        title: title of the live figure.
        eval_batch_size: batch size for the test-set evaluation after each epoch; by default
            ``max(batch_size, 1000)``: evaluation needs no gradients, and larger batches are
            faster. It does not change the results (beyond float rounding).
        callbacks: further Keras callbacks for ``model.fit``.

    Returns:
        A `TrainHistory` with ``epochs`` entries per list.

    Raises:
        ValueError: naming the argument and the shape or value expected, if `epochs` or
            `batch_size` is not a positive int, or the data do not fit each other or the model.
        TypeError: if `data` is neither a `DataSplits` nor a 4-tuple.
    """
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch_size", batch_size)
    eval_batch_size = (max(batch_size, 1000) if eval_batch_size is None
                       else _positive_int("eval_batch_size", eval_batch_size))
    x_train, y_train, x_test, y_test = _unpack(data)
    set_seed(seed)
    _check_data(model, x_train, y_train, x_test, y_test)

    if optimizer is None and loss is None and model.compiled:
        metrics = (model.get_compile_config() or {}).get("metrics") or []
        if "accuracy" not in (metrics if isinstance(metrics, (list, tuple)) else [metrics]):
            raise ValueError(f"the model is compiled with metrics={metrics!r}; compile it with "
                             "metrics=['accuracy'] or pass optimizer= so that train compiles it")
    else:
        if loss is None:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=not _ends_in_softmax(model))
        model.compile(optimizer=optimizer if optimizer is not None else "adam", loss=loss,
                      metrics=["accuracy"])

    _build_training_state(model, x_train[:batch_size], y_train[:batch_size])

    timer, plot = _EpochTimer(), LivePlot(epochs, title=title, enabled=live)
    fit = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                    validation_data=(x_test, y_test), validation_batch_size=eval_batch_size, verbose=0,
                    callbacks=[timer, plot, *callbacks])
    logs: dict[str, Any] = fit.history
    missing = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k not in logs]
    if missing:
        raise ValueError(f"model.fit did not report {missing}: compile the model with metrics=['accuracy'] "
                         "or pass optimizer= so that train compiles it")

    n = len(x_train)
    seconds = timer.seconds
    rate = (n * (len(seconds) - 1) / sum(seconds[1:])) if len(seconds) > 1 else n / seconds[0]
    return TrainHistory(
        loss=[float(v) for v in logs["loss"]], accuracy=[float(v) for v in logs["accuracy"]],
        test_loss=[float(v) for v in logs["val_loss"]],
        test_accuracy=[float(v) for v in logs["val_accuracy"]],
        train_seconds=list(seconds), examples_per_second=float(rate), device=device_name(),
        num_examples=n, batch_size=batch_size)
