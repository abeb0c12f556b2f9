"""Time d2lite.train against plain model.fit, and LeNet's training speed on each device.

Run: `.venv/bin/python bench/bench_train.py` (options: --help). Prints, all measured in
this one run:

1. The overhead of the helper. The classic LeNet of the LeNet section is trained for the
   same epochs with the same compile settings, batch size and test-set validation, once by
   `d2lite.train` and once by a plain ``model.compile`` + ``model.fit(verbose=0)``,
   alternating, several times. Each call is timed by wall clock from start to return
   (compiling, the first epoch's tracing, every validation pass and the helper's checks
   included; both evaluate the test set in batches of max(batch_size, 1000), the helper's default), so the ratio of examples per second is the helper's whole cost.
   Target: ratio >= 0.95.
2. The steady-state training speed (examples/s as `TrainHistory.examples_per_second`
   measures it: training passes of epochs 2, 3, ... only) of the classic and the modern
   LeNet, on the CPU and, if TensorFlow sees one, on the GPU, with the device name.

This is a script, not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import d2lite
from d2lite.models import lenet
import keras
import tensorflow as tf


def sgd() -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(0.1, momentum=0.9)


def loss() -> keras.losses.Loss:
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def time_helper(data, epochs: int, batch_size: int) -> float:
    d2lite.set_seed(0)
    model = lenet()
    start = time.perf_counter()
    d2lite.train(model, data, epochs=epochs, batch_size=batch_size, optimizer=sgd(), loss=loss(), live=False)
    return time.perf_counter() - start


def time_plain_fit(data, epochs: int, batch_size: int) -> float:
    x_train, y_train, x_test, y_test = data
    d2lite.set_seed(0)
    model = lenet()
    start = time.perf_counter()
    model.compile(optimizer=sgd(), loss=loss(), metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
              validation_data=(x_test, y_test), validation_batch_size=max(batch_size, 1000), verbose=0)
    return time.perf_counter() - start


def overhead(data, epochs: int, batch_size: int, repeats: int) -> None:
    n = len(data[0])
    helper, plain = [], []
    time_plain_fit(data, 1, batch_size)  # warm up TensorFlow (thread pools, first kernels)
    for _ in range(repeats):  # alternate, so that a change in load hits both alike
        plain.append(time_plain_fit(data, epochs, batch_size))
        helper.append(time_helper(data, epochs, batch_size))
    rate_plain = n * epochs / statistics.median(plain)
    rate_helper = n * epochs / statistics.median(helper)
    print(f"1. d2lite.train vs model.fit: classic LeNet, {n:,} examples x {epochs} epochs, "
          f"batch {batch_size}, test-set validation, median of {repeats} alternating runs (wall clock)")
    print(f"   model.fit      {rate_plain:10,.0f} examples/s   runs (s): {[round(t, 2) for t in plain]}")
    print(f"   d2lite.train   {rate_helper:10,.0f} examples/s   runs (s): {[round(t, 2) for t in helper]}")
    print(f"   ratio helper / fit: {rate_helper / rate_plain:.3f}   (target >= 0.95)\n")


def speeds(data, epochs: int, batch_size: int, device: str | None, label: str) -> None:
    modern = dict(activation="relu", pooling="max", batch_norm=True)
    for name, kwargs, optimizer in [("classic LeNet", {}, sgd), ("modern LeNet", modern, keras.optimizers.Adam)]:
        d2lite.set_seed(0)
        with tf.device(device) if device else contextlib.nullcontext():
            model = lenet(**kwargs)
            hist = d2lite.train(model, data, epochs=epochs, batch_size=batch_size,
                                optimizer=optimizer(), loss=loss(), live=False)
        print(f"   {name:14s} on {label:32s} {hist.examples_per_second:10,.0f} examples/s "
              f"(epochs 2..{epochs}; epoch seconds {[round(s, 2) for s in hist.train_seconds]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30_000, help="training examples for part 1")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per side in part 1")
    args = parser.parse_args()

    splits = d2lite.load_fashion_mnist()
    full = (splits.x_train, splits.y_train, splits.x_test, splits.y_test)
    part = (splits.x_train[:args.examples], splits.y_train[:args.examples], splits.x_test, splits.y_test)
    gpus = tf.config.list_physical_devices("GPU")
    print(f"Keras {keras.__version__}, TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
          f"GPUs: {[tf.config.experimental.get_device_details(g).get('device_name', g.name) for g in gpus]}\n")

    overhead(part, args.epochs, args.batch_size, args.repeats)

    print(f"2. training speed, full Fashion-MNIST ({len(full[0]):,} examples), batch {args.batch_size}")
    speeds(full, args.epochs, args.batch_size, "/CPU:0", f"CPU ({os.cpu_count()} cores)")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "unknown")
        speeds(full, args.epochs, args.batch_size, "/GPU:0", f"GPU:0 ({name})")
    else:
        print("   no GPU visible to TensorFlow: GPU speeds not measured")


if __name__ == "__main__":
    main()
