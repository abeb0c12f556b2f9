"""Time d2lite's from-scratch operations against the matching Keras layers.

Run: `make bench` (or `.venv/bin/python bench/bench_conv.py`). Prints, for each
operation, the median time of both on the same realistic input and their ratio
(from-scratch / Keras), all measured in this one run. Target: every ratio <= 10.
This is a script, not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import statistics
import time

import d2lite
import keras
import numpy as np


def median_seconds(fn, repeats: int = 15) -> float:
    """Median wall time of fn() after two warm-up calls (tracing, allocation)."""
    for _ in range(2):
        np.asarray(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(fn())  # force evaluation and the copy back, same for both sides
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def conv_layer(kernel, **kwargs):
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], use_bias=False, **kwargs)
    layer.build((None, None, None, kernel.shape[2]))
    layer.kernel.assign(kernel)
    return layer


def main() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(size=(1, 256, 256, 16)).astype("float32")
    gray = image[0, :, :, 0]
    k3 = rng.normal(size=(3, 3, 16, 32)).astype("float32")
    k5 = rng.normal(size=(5, 5, 16, 32)).astype("float32")
    k1 = rng.normal(size=(3, 3, 1, 1)).astype("float32")

    # Keras layers are built once, outside the timed calls, as a model would hold them.
    conv1, conv3 = conv_layer(k1), conv_layer(k3)
    conv3_s2, conv5 = conv_layer(k3, padding="same", strides=2), conv_layer(k5, padding="same")
    max2 = keras.layers.MaxPooling2D(2)
    max3 = keras.layers.MaxPooling2D(3, strides=2, padding="same")
    avg3 = keras.layers.AveragePooling2D(3, strides=2, padding="same")
    cases = [
        ("corr2d 256x256, 3x3", lambda: d2lite.corr2d(gray, k1[:, :, 0, 0]), lambda: conv1(image[..., :1])),
        ("conv2d 256x256x16 -> 32, 3x3", lambda: d2lite.conv2d(image, k3), lambda: conv3(image)),
        ("conv2d 256x256x16 -> 32, 3x3, same, stride 2",
         lambda: d2lite.conv2d(image, k3, padding="same", stride=2), lambda: conv3_s2(image)),
        ("conv2d 256x256x16 -> 32, 5x5, same", lambda: d2lite.conv2d(image, k5, padding="same"),
         lambda: conv5(image)),
        ("corr2d_multi_in_out 256x256x16 -> 32, 3x3", lambda: d2lite.corr2d_multi_in_out(image[0], k3),
         lambda: conv3(image)),
        ("max pool 2x2 on 256x256x16", lambda: d2lite.pool2d(image, 2), lambda: max2(image)),
        ("max pool 3x3 stride 2 same", lambda: d2lite.pool2d(image, 3, stride=2, padding="same"),
         lambda: max3(image)),
        ("avg pool 3x3 stride 2 same", lambda: d2lite.pool2d(image, 3, stride=2, padding="same", mode="avg"),
         lambda: avg3(image)),
    ]
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}; median of 15 runs\n")
    print(f"{'operation':48s} {'d2lite ms':>10s} {'Keras ms':>10s} {'ratio':>7s}")
    worst = 0.0
    for name, ours, theirs in cases:
        np.testing.assert_allclose(np.asarray(ours()), np.asarray(theirs()).reshape(np.shape(ours())),
                                   rtol=1e-3, atol=1e-3)
        t_ours, t_keras = median_seconds(ours), median_seconds(theirs)
        ratio = t_ours / t_keras
        worst = max(worst, ratio)
        print(f"{name:48s} {t_ours * 1e3:10.2f} {t_keras * 1e3:10.2f} {ratio:6.1f}x")
    print(f"\nworst ratio {worst:.1f}x (target <= 10x)")


if __name__ == "__main__":
    main()
