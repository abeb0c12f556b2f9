"""d2lite on JAX and PyTorch never imports TensorFlow, and reports its device.

Each case runs in a fresh process, because Keras chooses its backend once per process. A
backend that is not installed is skipped (`make unit BACKEND=jax` installs JAX).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

SCRIPT = """
import sys
import d2lite, keras
d2lite.set_seed(0)
splits = d2lite.load_fashion_mnist()
data = (splits.x_train[:256], splits.y_train[:256], splits.x_test[:128], splits.y_test[:128])
hist = d2lite.train(d2lite.models.lenet(), data, epochs=2, batch_size=64, live=False,
                    optimizer="adam",
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
g = d2lite.grad(lambda x: keras.ops.sum(x ** 2), [1.0, 2.0])
d2lite.diagrams.network_flow(d2lite.models.lenet())  # describes every layer
print("BACKEND", keras.backend.backend())
print("DEVICE", hist.device)
print("GRAD", list(g))
print("TENSORFLOW", [m for m in sys.modules if m.split(".")[0] == "tensorflow"][:3])
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_d2lite_runs_without_importing_tensorflow(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (make unit BACKEND={backend} installs it)")
    env = {**os.environ, "KERAS_BACKEND": backend}
    env.pop("D2LITE_VERBOSE", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines["BACKEND"] == backend
    assert lines["DEVICE"].startswith(("CPU", "GPU"))
    assert lines["GRAD"] == "[np.float32(2.0), np.float32(4.0)]"
    assert lines["TENSORFLOW"] == "[]", "TensorFlow was imported on the " + backend + " backend"
    # and so none of its start-up log lines (cudart, absl) reached the output
    assert "cudart" not in out.stderr and "absl" not in out.stderr, out.stderr[-2000:]
