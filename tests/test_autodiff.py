"""d2lite.grad: gradients of scalar functions, checked against closed forms."""

import d2lite
import keras
import numpy as np
import pytest
from keras import ops


def test_gradient_of_a_quadratic_and_of_several_arguments():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(d2lite.grad(lambda v: ops.sum(v**2), x), 2 * x)
    a, b = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    ga, gb = d2lite.grad(lambda a, b: ops.sum(ops.matmul(a, b)), a, b)
    np.testing.assert_allclose(ga, np.ones((2, 2)) @ b.T)
    np.testing.assert_allclose(gb, a.T @ np.ones((2, 2)))
    assert ga.dtype == np.float32 and ga.shape == a.shape


def test_no_dependence_gives_zeros_not_none():
    g = d2lite.grad(lambda x, y: ops.sum(x), np.ones(3), np.ones((2, 2)))
    np.testing.assert_array_equal(g[1], np.zeros((2, 2)))
    # Through a stop_gradient too.
    np.testing.assert_array_equal(d2lite.grad(lambda x: ops.sum(ops.stop_gradient(x) * 2), np.ones(4)),
                                  np.zeros(4))


def test_errors():
    with pytest.raises(ValueError, match="at least one argument"):
        d2lite.grad(lambda: 1.0)
    with pytest.raises(ValueError, match=r"f must return a scalar, got shape \(3,\)"):
        d2lite.grad(lambda x: x * 2, np.ones(3))


def test_float64_gradient_is_float64_and_exact_to_float64_rounding(float64):
    x = np.linspace(-1.0, 1.0, 7)
    g = d2lite.grad(lambda v: ops.sum(ops.exp(v) * v), x, dtype="float64")
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, np.exp(x) * (1 + x), rtol=1e-14, atol=1e-15)
    # float32 stays the default, with float32 rounding
    g32 = d2lite.grad(lambda v: ops.sum(ops.exp(v) * v), x)
    assert g32.dtype == np.float32 and np.abs(g32 - g).max() > 1e-12


def test_float64_on_jax_needs_enable_float64():
    if keras.backend.backend() != "jax":
        pytest.skip("only JAX computes float64 tensors in float32 by default")
    with pytest.raises(ValueError, match=r"needs d2lite.enable_float64\(\) first"):
        d2lite.grad(lambda v: ops.sum(v), np.ones(2), dtype="float64")


def test_dtype_errors():
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got 'int32'"):
        d2lite.grad(lambda x: ops.sum(x), np.ones(3), dtype="int32")


def test_enable_float64_keeps_keras_ops_and_layers_in_float64(float64):
    # Keras 3 demotes these to float32 on JAX (tanh, sin) and PyTorch (matmul, maximum,
    # Dense) unless enable_float64 undoes its float64 -> float32 promotion rule.
    x = np.random.default_rng(0).normal(size=(4, 50))
    t = ops.convert_to_tensor(x, dtype="float64")
    dense = keras.layers.Dense(3, dtype="float64")
    results = {
        "tanh": (ops.tanh(t), np.tanh(x)),
        "sin": (ops.sin(t), np.sin(x)),
        "maximum": (ops.maximum(t, 0.0), np.maximum(x, 0.0)),
        "matmul": (ops.matmul(t, ops.transpose(t)), x @ x.T),
        "Dense": (dense(x), x @ ops.convert_to_numpy(dense.kernel)),
    }
    for name, (y, expected) in results.items():
        assert keras.backend.standardize_dtype(y.dtype) == "float64", name
        np.testing.assert_allclose(ops.convert_to_numpy(y), expected, rtol=1e-13, atol=1e-13, err_msg=name)
    t32 = ops.convert_to_tensor(x, dtype="float32")  # float32 stays float32
    assert keras.backend.standardize_dtype(ops.matmul(t32, ops.transpose(t32)).dtype) == "float32"
    assert keras.backend.standardize_dtype(ops.tanh(t32).dtype) == "float32"
