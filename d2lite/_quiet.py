"""Keep TensorFlow's start-up chatter out of notebooks and rendered pages.

TensorFlow writes log lines straight to file descriptor 2 while its shared library
loads (absl's "All log messages before absl::InitializeLog()", oneDNN and CUDA
notices). Jupyter kernels capture that descriptor into cell outputs, so the lines
would land in every rendered page. ``TF_CPP_MIN_LOG_LEVEL`` only helps if it is in the
environment when the *process* starts, which a notebook cannot arrange, so d2lite
imports TensorFlow itself with descriptor 2 pointed at /dev/null for that one import.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import warnings


@contextlib.contextmanager
def _stderr_fd_to_devnull():
    """Send whatever is written to file descriptor 2 to /dev/null for a moment."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable descriptor 2: nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_logs() -> None:
    """Import the TensorFlow backend silently (once) and lower TF's Python loggers.

    Set ``D2LITE_VERBOSE=1`` to see everything TensorFlow prints. Errors still raise
    exceptions as usual; only log records are dropped.
    """
    if os.environ.get("D2LITE_VERBOSE") == "1":
        return
    if (os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow"
            and "tensorflow" not in sys.modules
            and importlib.util.find_spec("tensorflow") is not None):
        with _stderr_fd_to_devnull():
            import tensorflow  # noqa: F401
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Keras warns when a layer gets `input_shape`; the book builds models with
    # `keras.Input`, but snippets readers paste into exercises may not.
    warnings.filterwarnings("ignore", message=".*input_shape.*input_dim.*", category=UserWarning)
