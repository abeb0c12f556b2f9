"""Tests of d2lite.conv_math: true convolution, FFT convolution, the conv matrix and
receptive-field / transposed-convolution arithmetic, against NumPy, Keras and TensorFlow."""

import d2lite  # noqa: F401  (first: quiets TensorFlow)
import keras
import numpy as np
import pytest
from keras import ops

from d2lite.conv_math import (
    _next_fast_len,
    conv2d_true,
    conv_matrix,
    conv_transpose_output_shape,
    fft_conv2d,
    receptive_field,
)

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.normal(size=shape).astype("float32")


def conv_full_reference(x, k):
    """Full 2-D convolution straight from the definition y[i, j] = sum K[a, b] X[i - a, j - b]."""
    (n_h, n_w), (k_h, k_w) = x.shape, k.shape
    y = np.zeros((n_h + k_h - 1, n_w + k_w - 1), dtype="float64")
    for a in range(k_h):
        for b in range(k_w):
            y[a: a + n_h, b: b + n_w] += k[a, b] * x
    return y


def keras_conv2d(x, k, strides=1, padding="valid", dilation=1):
    layer = keras.layers.Conv2D(1, k.shape, strides=strides, dilation_rate=dilation, use_bias=False,
                                padding=padding)
    layer.build((1, *x.shape, 1))
    layer.kernel.assign(k[:, :, None, None])
    return ops.convert_to_numpy(layer(x[None, :, :, None]))[0, :, :, 0]


# ------------------------------------------------------------------ conv2d_true


@pytest.mark.parametrize("x_shape,k_shape", [((5, 6), (3, 3)), ((7, 4), (2, 4)), ((3, 3), (1, 1)),
                                             ((2, 3), (4, 5)), ((1, 1), (1, 1))])
def test_conv2d_true_full_matches_definition_and_commutes(x_shape, k_shape):
    x, k = rand(*x_shape), rand(*k_shape)
    y = np.asarray(conv2d_true(x, k, mode="full"))
    np.testing.assert_allclose(y, conv_full_reference(x, k), atol=1e-5)
    np.testing.assert_allclose(conv2d_true(k, x, mode="full"), y, atol=1e-5)
    assert y.shape == (x_shape[0] + k_shape[0] - 1, x_shape[1] + k_shape[1] - 1)


def test_conv2d_true_valid_is_keras_with_flipped_kernel():
    for x_shape, k_shape in [((9, 11), (3, 4)), ((6, 6), (6, 6)), ((8, 5), (1, 5))]:
        x, k = rand(*x_shape), rand(*k_shape)
        y = np.asarray(conv2d_true(x, k, mode="valid"))
        np.testing.assert_allclose(y, keras_conv2d(x, k[::-1, ::-1].copy()), atol=1e-5)
        full = conv_full_reference(x, k)
        np.testing.assert_allclose(y, full[k_shape[0] - 1: x_shape[0], k_shape[1] - 1: x_shape[1]], atol=1e-5)


def test_conv2d_true_1d_rows_match_numpy_convolve():
    u, v = rand(1, 10), rand(1, 4)
    np.testing.assert_allclose(conv2d_true(u, v)[0], np.convolve(u[0], v[0]), atol=1e-5)
    np.testing.assert_allclose(conv2d_true(u, v, mode="valid")[0], np.convolve(u[0], v[0], "valid"), atol=1e-5)


def test_conv2d_true_accepts_ints_and_keeps_float64(float64):
    y = conv2d_true(np.arange(9).reshape(3, 3), np.ones((2, 2), dtype=int))
    assert "float" in str(y.dtype)
    y64 = conv2d_true(np.ones((4, 4)), np.ones((2, 2)))
    assert "float64" in str(y64.dtype)


def test_conv2d_true_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        conv2d_true(rand(4, 4), rand(2, 2), mode="same")
    with pytest.raises(ValueError, match=r"x must have rank 2, shape \(height, width\)"):
        conv2d_true(rand(1, 4, 4, 1), rand(2, 2))
    with pytest.raises(ValueError, match=r"kernel must have rank 2, shape \(k_h, k_w\)"):
        conv2d_true(rand(4, 4), rand(2, 2, 1))
    with pytest.raises(ValueError, match='must fit inside x .* mode="valid"'):
        conv2d_true(rand(4, 4), rand(5, 2), mode="valid")
    with pytest.raises(TypeError, match="x must be an array or tensor"):
        conv2d_true(object(), rand(2, 2))


# ------------------------------------------------------------------- fft_conv2d


@pytest.mark.parametrize("x_shape,k_shape", [((8, 8), (3, 3)), ((13, 7), (5, 2)), ((11, 17), (11, 1)),
                                             ((4, 4), (4, 4)), ((5, 6), (1, 1))])
def test_fft_conv2d_equals_direct(x_shape, k_shape):
    x, k = rand(*x_shape), rand(*k_shape)
    np.testing.assert_allclose(fft_conv2d(x, k, mode="full"), conv_full_reference(x, k), atol=1e-4)
    np.testing.assert_allclose(fft_conv2d(x, k, mode="valid"), conv2d_true(x, k, mode="valid"), atol=1e-4)


def test_fft_conv2d_full_allows_kernel_larger_than_image():
    x, k = rand(3, 2), rand(6, 7)
    np.testing.assert_allclose(fft_conv2d(x, k), conv_full_reference(x, k), atol=1e-4)


def test_fft_conv2d_circular_matches_numpy_and_is_equivariant():
    x, k = rand(10, 12), rand(3, 5)
    expected = np.fft.ifft2(np.fft.fft2(x) * np.fft.fft2(k, x.shape)).real
    y = np.asarray(fft_conv2d(x, k, mode="circular"))
    np.testing.assert_allclose(y, expected, atol=1e-4)
    shifted = np.asarray(fft_conv2d(np.roll(x, (3, -4), axis=(0, 1)), k, mode="circular"))
    np.testing.assert_allclose(shifted, np.roll(y, (3, -4), axis=(0, 1)), atol=1e-4)
    # wrap-around only affects the first k - 1 rows and columns
    np.testing.assert_allclose(y[2:, 4:], conv2d_true(x, k, mode="valid"), atol=1e-4)


def test_fft_conv2d_cross_correlation_is_keras_conv2d():
    x, k = rand(16, 16), rand(5, 5)
    np.testing.assert_allclose(fft_conv2d(x, k[::-1, ::-1].copy(), mode="valid"), keras_conv2d(x, k), atol=1e-4)


def test_next_fast_len():
    assert [_next_fast_len(n) for n in (1, 7, 11, 13, 17, 318, 1000, 1001)] == [1, 8, 12, 15, 18, 320, 1000, 1024]


def test_fft_conv2d_errors():
    with pytest.raises(ValueError, match="mode must be one of 'full', 'valid', 'circular'"):
        fft_conv2d(rand(4, 4), rand(2, 2), mode="same")
    with pytest.raises(ValueError, match='mode="circular"'):
        fft_conv2d(rand(4, 4), rand(2, 5), mode="circular")
    with pytest.raises(ValueError, match="x must have rank 2"):
        fft_conv2d(rand(4), rand(2, 2))
    with pytest.raises(ValueError, match="must not be empty"):
        fft_conv2d(np.zeros((0, 3), "float32"), rand(2, 2))


# ------------------------------------------------------------------ conv_matrix


@pytest.mark.parametrize("n,k_shape,stride,padding,dilation", [
    ((5, 6), (3, 3), 1, 0, 1), ((7, 7), (3, 2), 2, 1, 1), ((6, 8), (2, 3), (1, 2), (2, 0), 2),
    ((4, 4), (4, 4), 1, 0, 1), ((5, 5), (3, 3), 2, "same", 1)])
def test_conv_matrix_times_vec_is_corr2d(n, k_shape, stride, padding, dilation):
    x, k = rand(*n), rand(*k_shape)
    c = np.asarray(conv_matrix(n, k, stride=stride, padding=padding, dilation=dilation))
    y = np.asarray(d2lite.conv2d(x[None, :, :, None], k[:, :, None, None], stride=stride, padding=padding,
                                 dilation=dilation))[0, :, :, 0]
    assert c.shape == (y.size, x.size)
    np.testing.assert_allclose(c @ x.reshape(-1), y.reshape(-1), atol=1e-5)


@pytest.mark.parametrize("n,k,stride", [(4, 3, 1), (5, 3, 2), (6, 2, 2), (7, 3, 3)])
def test_conv_matrix_transpose_is_keras_conv2d_transpose(n, k, stride):
    kernel = rand(k, k)
    c = np.asarray(conv_matrix(n, kernel, stride=stride))
    o = d2lite.conv_output_shape(n, k, 0, stride)
    y = rand(*o)
    layer = keras.layers.Conv2DTranspose(1, k, strides=stride, use_bias=False)
    layer.build((1, *o, 1))
    layer.kernel.assign(kernel[:, :, None, None])
    out = ops.convert_to_numpy(layer(y[None, :, :, None]))[0, :, :, 0]
    expected = (c.T @ y.reshape(-1)).reshape(n, n)
    # With stride > 1, Keras' "valid" output size n' may differ from n (rows the forward
    # convolution never read); there C^T gives zeros, and Keras' extra rows are zero too.
    m = min(n, out.shape[0])
    np.testing.assert_allclose(out[:m, :m], expected[:m, :m], atol=1e-5)
    for a in (out, expected):
        np.testing.assert_allclose(a[m:, :], 0, atol=1e-6)
        np.testing.assert_allclose(a[:, m:], 0, atol=1e-6)
    x = rand(n, n)
    np.testing.assert_allclose(np.dot(c @ x.reshape(-1), y.reshape(-1)), np.dot(x.reshape(-1), expected.reshape(-1)),
                               rtol=1e-4, atol=1e-4)


def test_conv_matrix_errors():
    with pytest.raises(ValueError, match="kernel_size height"):
        conv_matrix((2, 5), rand(3, 3))
    with pytest.raises(ValueError, match="input_shape must be >= 1"):
        conv_matrix((0, 5), rand(1, 1))
    with pytest.raises(ValueError, match="kernel must have rank 2"):
        conv_matrix(5, rand(3, 3, 1))


# ---------------------------------------------------- conv_transpose_output_shape


def test_conv_transpose_output_shape_matches_keras():
    checked = 0
    for n in (1, 3, 6):
        for k in (1, 2, 3, 5):
            for s in (1, 2, 3):
                for a in range(s):
                    layer = keras.layers.Conv2DTranspose(1, k, strides=s, output_padding=a if s > 1 else None)
                    shape = layer.compute_output_shape((1, n, n, 1))[1:3]
                    assert conv_transpose_output_shape(n, k, 0, s, a) == tuple(shape), (n, k, s, a)
                    checked += 1
    assert checked > 50


def test_conv_transpose_output_shape_inverts_conv_output_shape():
    for n in range(3, 12):
        for k, p, s, d in [(3, 1, 2, 1), (4, 0, 2, 1), (3, 2, 3, 2), (5, 2, 1, 1)]:
            if d * (k - 1) + 1 > n + 2 * p:
                continue
            o = d2lite.conv_output_shape(n, k, p, s, d)[0]
            a = (n + 2 * p - d * (k - 1) - 1) % s          # rows the forward stride never reached
            assert conv_transpose_output_shape(o, k, p, s, a, d) == (n, n)


def test_conv_transpose_output_shape_errors():
    with pytest.raises(ValueError, match="output_padding must be smaller than stride"):
        conv_transpose_output_shape(4, 3, 0, 2, 2)
    with pytest.raises(ValueError, match="crops more than"):
        conv_transpose_output_shape(1, 1, 1)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        conv_transpose_output_shape(4, 2.5)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv_transpose_output_shape(4, 3, stride=0)


# ---------------------------------------------------------------- receptive_field


def test_receptive_field_known_values():
    assert receptive_field([3, 3, 3]) == [(3, 1), (5, 1), (7, 1)]
    assert receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8)]) == [(3, 1), (7, 1), (15, 1), (31, 1)]
    assert receptive_field([(2, 2), (3, 1)]) == [(2, 2), (6, 2)]
    vgg16 = [3, 3, (2, 2)] * 2 + [3, 3, 3, (2, 2)] * 3
    assert receptive_field(vgg16)[-1] == (212, 32)
    assert receptive_field([]) == []


def test_receptive_field_matches_gradient_support():
    layers = [(3, 1, 1), (3, 2, 1), (2, 1, 2), (3, 2, 1), (3, 1, 3)]
    size, jump = receptive_field(layers)[-1]
    n = size + 3 * jump
    model = keras.Sequential([keras.Input((n, n, 1))] + [
        keras.layers.Conv2D(1, k, strides=s, dilation_rate=d, kernel_initializer="ones") for k, s, d in layers])
    x = np.zeros((1, n, n, 1), "float32")
    for col in (0, 1):
        g = d2lite.grad(lambda x: model(x)[0, 0, col, 0], x)[0, :, :, 0]
        rows, cols = np.nonzero(g)
        assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size
        assert cols.min() == col * jump


def test_receptive_field_errors():
    with pytest.raises(TypeError, match="layers must be a sequence"):
        receptive_field(3)
    with pytest.raises(TypeError, match=r"layers\[1\] must be an int k or a tuple"):
        receptive_field([3, (3, 1, 1, 1)])
    with pytest.raises(TypeError, match=r"layers\[0\]"):
        receptive_field([(3.0, 1)])
    with pytest.raises(ValueError, match=r"layers\[0\] = \(3, 0\): kernel, stride and dilation must be >= 1"):
        receptive_field([(3, 0)])
