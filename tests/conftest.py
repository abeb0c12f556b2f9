"""The Keras backend of a test run, and what depends on it.

The unit tests run on TensorFlow, JAX and PyTorch (`make unit BACKEND=jax`, ...). Two
decisions follow from that:

* Float64. TensorFlow and PyTorch compute in float64 whenever they are given float64
  tensors; JAX computes in float32 unless its 64-bit mode is on, and Keras demotes some
  float64 results to float32 on JAX and PyTorch. The chapters run in
  float32 and switch 64-bit mode on only where they check gradients at float64 rounding
  (`d2lite.enable_float64`), so the tests do the same: a test that needs float64 asks for
  the `float64` fixture, which turns the mode on for that test only, and every other test
  runs as the chapters do.
* The book's tooling (editions, the release, the lock file, the workflows, the chapters'
  code style) uses no Keras backend at all: those test modules run once, on TensorFlow,
  and are left out on the other two.
"""

from __future__ import annotations

import keras
import pytest

import d2lite

BACKEND = keras.backend.backend()

# Test modules that import no Keras backend (they read and build the book's files).
TOOLING = {
    "test_chapter_code.py",
    "test_constraints.py",
    "test_editions.py",
    "test_exercises.py",
    "test_github_files.py",
    "test_release.py",
}


def pytest_report_header(config):
    note = "" if BACKEND == "tensorflow" else f" (the book's tooling tests run on tensorflow only: {sorted(TOOLING)})"
    return f"Keras {keras.__version__}, backend: {BACKEND}{note}"


def pytest_collection_modifyitems(config, items):
    if BACKEND == "tensorflow":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.path.name in TOOLING and item.path.parent.name == "tests" else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def float64():
    """Float64 computation for one test: d2lite.enable_float64, then undone."""
    if BACKEND == "tensorflow":
        yield
        return
    from keras.src.backend.common import dtypes

    saved = dict(dtypes.BIT64_TO_BIT32_DTYPE)
    if BACKEND == "jax":
        import jax

        before = jax.config.jax_enable_x64
    d2lite.enable_float64()
    try:
        yield
    finally:
        dtypes.BIT64_TO_BIT32_DTYPE.clear()
        dtypes.BIT64_TO_BIT32_DTYPE.update(saved)
        if BACKEND == "jax":
            jax.config.update("jax_enable_x64", before)
