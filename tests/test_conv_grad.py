"""Tests of d2lite.conv_grad: hand-written convolution gradients against the backend's autodiff."""

import d2lite  # noqa: F401  (first: quiets TensorFlow)
import keras
import numpy as np
import pytest
from keras import ops

from d2lite.conv import _resolve_padding
from d2lite.conv_grad import conv2d_backward, im2col, insert_zeros


# On JAX every new shape is compiled anew, a few seconds per random case; the formulas do not
# depend on the backend, so JAX checks a quarter of the cases the other backends check.
N_CASES = 10 if keras.backend.backend() == "jax" else 40


def _random_case(rng, dtype="float64"):
    """A random convolution: shapes, stride 1-3, every kind of padding."""
    batch, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    k_h, k_w = (int(v) for v in rng.integers(1, 5, size=2))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = [int(rng.integers(0, 3)), (int(rng.integers(0, 3)), int(rng.integers(0, 3))), "valid", "same"][
        int(rng.integers(0, 4))]
    n_h, n_w = int(rng.integers(k_h, 12)), int(rng.integers(k_w, 12))
    x = rng.normal(size=(batch, n_h, n_w, c_in)).astype(dtype)
    kernel = rng.normal(size=(k_h, k_w, c_in, c_out)).astype(dtype)
    return x, kernel, stride, padding


def _autodiff_gradients(x, kernel, grad_y, stride, padding):
    """y and dL/dx, dL/dkernel, dL/dbias of L = sum(grad_y * (conv(x) + bias)), by the
    backend's autodiff (`d2lite.grad`) through keras.ops.conv, not through d2lite."""
    pads = _resolve_padding(padding, x.shape[1:3], kernel.shape[:2], stride, (1, 1))
    dtype = str(x.dtype)
    bias = np.zeros(kernel.shape[-1], dtype)

    # PyTorch's float64 convolution (its slow_conv2d kernel) cannot differentiate a
    # channels-last kernel with one output channel and several input channels ("grad_weight
    # must be contiguous"); Keras hands it such kernels. On PyTorch a one-channel kernel
    # therefore gets a second, all-zero output channel that is dropped again: the same
    # y, and the gradient with respect to `kernel` is the first channel's.
    widen = keras.backend.backend() == "torch" and kernel.shape[-1] == 1

    def forward(x, kernel, bias):
        x = ops.pad(x, [(0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)])
        if widen:
            wide = ops.concatenate([kernel, ops.zeros_like(kernel)], axis=-1)
            return ops.conv(x, wide, strides=stride, padding="valid")[..., :1] + bias
        return ops.conv(x, kernel, strides=stride, padding="valid") + bias

    y = forward(*(ops.convert_to_tensor(a, dtype=dtype) for a in (x, kernel, bias)))
    grads = d2lite.grad(lambda x, k, b: ops.sum(forward(x, k, b) * ops.convert_to_tensor(grad_y, dtype=dtype)),
                        x, kernel, bias, dtype=dtype)
    return ops.convert_to_numpy(y), grads


def _dtype(t) -> str:
    return keras.backend.standardize_dtype(t.dtype)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_backward_matches_autodiff_float64(seed, float64):
    rng = np.random.default_rng(seed)
    x, kernel, stride, padding = _random_case(rng)
    y = d2lite.conv2d(x, kernel, stride=stride, padding=padding)
    grad_y = rng.normal(size=tuple(y.shape))
    y_ref, expected = _autodiff_gradients(x, kernel, grad_y, stride, padding)
    np.testing.assert_allclose(y, y_ref, atol=1e-10)  # same forward pass
    got = conv2d_backward(x, kernel, grad_y, stride=stride, padding=padding)
    for name, g, e in zip(("grad_x", "grad_kernel", "grad_bias"), got, expected):
        assert tuple(g.shape) == tuple(e.shape), name
        assert _dtype(g) == "float64", name
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("seed", range(5))
def test_backward_matches_autodiff_float32(seed):
    rng = np.random.default_rng(100 + seed)
    x, kernel, stride, padding = _random_case(rng, "float32")
    y = d2lite.conv2d(x, kernel, stride=stride, padding=padding)
    grad_y = rng.normal(size=tuple(y.shape)).astype("float32")
    _, expected = _autodiff_gradients(x, kernel, grad_y, stride, padding)
    got = conv2d_backward(x, kernel, grad_y, stride=stride, padding=padding)
    for g, e in zip(got, expected):
        assert _dtype(g) == "float32"
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride,padding", [(1, "same"), (2, "same"), (3, "valid"), ((2, 1), "same")])
def test_backward_matches_keras_conv2d_layer(stride, padding):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 9, 8, 3)).astype("float32")
    layer = keras.layers.Conv2D(4, (3, 2), strides=stride, padding=padding)
    layer.build(x.shape)
    layer.bias.assign(rng.normal(size=(4,)).astype("float32"))

    def loss(x, kernel, bias):
        y, _ = layer.stateless_call([kernel, bias], [], x)
        return ops.sum(ops.tanh(y))

    grad_x, grad_kernel, grad_bias = d2lite.grad(loss, x, layer.kernel, layer.bias)
    grad_y = 1.0 - ops.tanh(ops.convert_to_numpy(layer(x))) ** 2  # a NumPy array: no autodiff graph
    got = conv2d_backward(x, layer.kernel, grad_y, stride=stride, padding=padding)
    for g, e in zip(got, (grad_x, grad_kernel, grad_bias)):  # (on PyTorch g is in the kernel's autodiff graph)
        np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=1e-4, atol=1e-4)


def test_one_by_one_kernel_is_a_dense_layer(float64):
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(1, 1, 5, 6))
    g = rng.normal(size=(2, 3, 4, 6))
    grad_x, grad_w, grad_b = conv2d_backward(x, w, g)
    np.testing.assert_allclose(grad_x, g @ w[0, 0].T, atol=1e-12)
    np.testing.assert_allclose(grad_w[0, 0], x.reshape(-1, 5).T @ g.reshape(-1, 6), atol=1e-12)
    np.testing.assert_allclose(grad_b, g.sum(axis=(0, 1, 2)), atol=1e-12)


def test_rows_no_window_reaches_get_zero_gradient():
    # 8 rows, kernel 3, stride 3: windows cover rows 0-5, rows 6 and 7 are never used.
    rng = np.random.default_rng(2)
    x, kernel = rng.normal(size=(1, 8, 8, 1)), rng.normal(size=(3, 3, 1, 1))
    grad_x, _, _ = conv2d_backward(x, kernel, np.ones((1, 2, 2, 1)), stride=3)
    assert np.all(np.asarray(grad_x)[0, 6:, :, 0] == 0) and np.all(np.asarray(grad_x)[0, :, 6:, 0] == 0)
    assert np.all(np.asarray(grad_x)[0, :6, :6, 0] != 0)


def test_integer_inputs_are_cast_to_float():
    grad_x, grad_kernel, grad_bias = conv2d_backward(np.ones((1, 4, 4, 1), int), np.ones((2, 2, 1, 1), int),
                                                     np.ones((1, 3, 3, 1), int))
    assert _dtype(grad_x) == _dtype(grad_kernel) == _dtype(grad_bias) == "float32"
    # A centre pixel is covered by all four windows positions of a 2x2 kernel; a corner by one.
    assert float(grad_x[0, 1, 1, 0]) == 4.0 and float(grad_x[0, 0, 0, 0]) == 1.0
    np.testing.assert_array_equal(grad_bias, [9.0])


@pytest.mark.parametrize("seed", range(N_CASES * 3 // 8))
def test_im2col_matmul_equals_conv2d(seed, float64):
    rng = np.random.default_rng(200 + seed)
    x, kernel, stride, padding = _random_case(rng)
    dilation = (1, 1) if seed % 3 else (2, 1)
    k_h, k_w, c_in, c_out = kernel.shape
    if (k_h - 1) * dilation[0] + 1 > x.shape[1]:
        dilation = (1, 1)
    cols = im2col(x, (k_h, k_w), stride=stride, padding=padding, dilation=dilation)
    y = d2lite.conv2d(x, kernel, stride=stride, padding=padding, dilation=dilation)
    assert tuple(cols.shape) == (*y.shape[:3], k_h * k_w * c_in)
    np.testing.assert_allclose(cols @ kernel.reshape(-1, c_out), y, atol=1e-10)


def test_im2col_rows_are_the_windows():
    x = np.arange(2 * 4 * 5 * 3, dtype="float64").reshape(2, 4, 5, 3)
    cols = np.asarray(im2col(x, (2, 3), stride=(2, 1)))
    assert cols.shape == (2, 2, 3, 18)
    np.testing.assert_array_equal(cols[1, 1, 2], x[1, 2:4, 2:5, :].reshape(-1))
    np.testing.assert_array_equal(cols[0, 0, 0], x[0, 0:2, 0:3, :].reshape(-1))


def test_im2col_matches_keras_conv2d():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 10, 9, 3)).astype("float32")
    layer = keras.layers.Conv2D(5, 3, strides=2, padding="same", use_bias=False)
    y = ops.convert_to_numpy(layer(x))
    cols = ops.convert_to_numpy(im2col(x, 3, stride=2, padding="same"))
    np.testing.assert_allclose(cols @ ops.convert_to_numpy(layer.kernel).reshape(-1, 5), y, atol=1e-4)


def test_insert_zeros():
    x = np.arange(1, 7, dtype="float32").reshape(1, 2, 3, 1)
    z = np.asarray(insert_zeros(x, (2, 3)))[0, :, :, 0]
    assert z.shape == (3, 7)
    np.testing.assert_array_equal(z, [[1, 0, 0, 2, 0, 0, 3], [0] * 7, [4, 0, 0, 5, 0, 0, 6]])
    np.testing.assert_array_equal(insert_zeros(x, 1), x)


@pytest.mark.parametrize(
    "x_shape,kernel_shape,grad_y_shape,kwargs,error,match",
    [
        ((4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 1), {}, ValueError, r"x must have rank 4"),
        ((1, 4, 4, 1), (2, 2, 1), (1, 3, 3, 1), {}, ValueError, r"kernel must have rank 4"),
        ((1, 4, 4, 1), (2, 2, 1, 1), (3, 3, 1), {}, ValueError, r"grad_y must have rank 4"),
        ((1, 4, 4, 2), (2, 2, 3, 1), (1, 3, 3, 1), {}, ValueError, r"kernel has c_in=3 .* x has 2"),
        ((1, 4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 2), {}, ValueError, r"grad_y must have the forward output's shape"),
        ((1, 4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 1), {"stride": 2}, ValueError, r"\(1, 2, 2, 1\).*got \(1, 3, 3, 1\)"),
        ((2, 4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 1), {}, ValueError, r"grad_y must have the forward output's shape"),
        ((1, 4, 4, 1), (5, 2, 1, 1), (1, 1, 3, 1), {}, ValueError, r"kernel height .* larger than the padded input"),
        ((1, 4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 1), {"stride": 0}, ValueError, r"stride must be >= 1"),
        ((1, 4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 1), {"stride": 1.5}, TypeError, r"stride must be an int"),
        ((1, 4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 1), {"padding": "full"}, ValueError, r'"valid" or "same"'),
        ((1, 4, 4, 1), (2, 2, 1, 1), (1, 3, 3, 1), {"padding": -1}, ValueError, r"padding must be >= 0"),
    ],
)
def test_conv2d_backward_errors(x_shape, kernel_shape, grad_y_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        conv2d_backward(np.zeros(x_shape), np.zeros(kernel_shape), np.zeros(grad_y_shape), **kwargs)


def test_im2col_and_insert_zeros_errors():
    with pytest.raises(ValueError, match=r"x must have rank 4"):
        im2col(np.zeros((4, 4, 1)), 2)
    with pytest.raises(ValueError, match=r"kernel_size must be >= 1"):
        im2col(np.zeros((1, 4, 4, 1)), 0)
    with pytest.raises(ValueError, match=r"kernel_size height .* larger than the padded input"):
        im2col(np.zeros((1, 4, 4, 1)), (7, 1), padding=1)
    with pytest.raises(TypeError, match=r"x must be an array or tensor"):
        im2col(object(), 2)
    with pytest.raises(ValueError, match=r"x must have rank 4"):
        insert_zeros(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match=r"stride must be >= 1"):
        insert_zeros(np.zeros((1, 3, 3, 1)), (1, 0))
