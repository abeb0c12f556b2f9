"""d2lite.grad: gradients of scalar functions, checked against closed forms."""

import d2lite
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
