"""d2lite.conv: equality with the matching Keras layers, and clear errors on bad input."""

import d2lite  # noqa: F401 - first, quiets TensorFlow
import keras
import numpy as np
import pytest
from keras import ops

from d2lite import conv

RNG = np.random.default_rng(20261123)


def _random_case(rng):
    """A random (x, kernel, stride, dilation) with the kernel fitting the input."""
    b, c_in, c_out = rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 4)
    n_h, n_w = rng.integers(5, 14, size=2)
    k_h, k_w = rng.integers(1, 5, size=2)
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    x = rng.normal(size=(b, n_h, n_w, c_in)).astype("float32")
    kernel = rng.normal(size=(k_h, k_w, c_in, c_out)).astype("float32")
    return x, kernel, stride


def _keras_conv(x, kernel, bias=None, **kwargs):
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], use_bias=bias is not None, **kwargs)
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    if bias is not None:
        layer.bias.assign(bias)
    return ops.convert_to_numpy(layer(x))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_equals_keras_conv2d(seed, padding):
    rng = np.random.default_rng(seed)
    x, kernel, stride = _random_case(rng)
    bias = rng.normal(size=kernel.shape[-1]).astype("float32")
    expected = _keras_conv(x, kernel, bias, strides=stride, padding=padding)
    got = d2lite.conv2d(x, kernel, bias, stride=stride, padding=padding)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("seed", range(8))
def test_conv2d_explicit_padding_equals_zeropadding_then_valid(seed):
    rng = np.random.default_rng(100 + seed)
    x, kernel, stride = _random_case(rng)
    pad = tuple(int(p) for p in rng.integers(0, 3, size=2))
    expected = _keras_conv(ops.convert_to_numpy(keras.layers.ZeroPadding2D(pad)(x)), kernel, strides=stride)
    got = d2lite.conv2d(x, kernel, stride=stride, padding=pad)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert tuple(got.shape[1:3]) == d2lite.conv_output_shape(x.shape[1:3], kernel.shape[:2], pad, stride)


@pytest.mark.parametrize("dilation", [2, (1, 3), (2, 2)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_dilation_equals_keras(dilation, padding):
    x = RNG.normal(size=(2, 13, 14, 2)).astype("float32")
    kernel = RNG.normal(size=(3, 3, 2, 3)).astype("float32")
    expected = _keras_conv(x, kernel, padding=padding, dilation_rate=dilation)
    np.testing.assert_allclose(d2lite.conv2d(x, kernel, dilation=dilation, padding=padding), expected,
                               atol=1e-4, rtol=1e-4)


def test_single_and_multi_channel_wrappers_agree_with_conv2d():
    x = RNG.normal(size=(9, 8, 3)).astype("float32")
    k4 = RNG.normal(size=(3, 2, 3, 5)).astype("float32")
    full = np.asarray(d2lite.conv2d(x[None], k4, stride=2, padding=1))[0]
    np.testing.assert_allclose(d2lite.corr2d_multi_in_out(x, k4, stride=2, padding=1), full, atol=1e-5)
    np.testing.assert_allclose(d2lite.corr2d_multi_in(x, k4[..., 0], stride=2, padding=1), full[..., 0], atol=1e-5)
    np.testing.assert_allclose(d2lite.corr2d(x[..., 0], k4[:, :, 0, 0], stride=2, padding=1),
                               d2lite.conv2d(x[None, :, :, :1], k4[:, :, :1, :1], stride=2, padding=1)[0, :, :, 0],
                               atol=1e-5)


def test_corr2d_worked_example():
    x = np.arange(9.0).reshape(3, 3)
    k = np.arange(4.0).reshape(2, 2)
    np.testing.assert_array_equal(d2lite.corr2d(x, k), [[19.0, 25.0], [37.0, 43.0]])


def test_kernel_as_large_as_padded_input_is_allowed():
    y = d2lite.corr2d(np.ones((3, 3)), np.ones((5, 5)), padding=1)
    np.testing.assert_array_equal(y, [[9.0]])


def test_integer_input_is_converted_to_float():
    y = d2lite.corr2d(np.ones((4, 4), dtype="int32"), np.ones((2, 2), dtype="int32"))
    assert "float" in str(y.dtype)
    np.testing.assert_array_equal(y, np.full((3, 3), 4.0))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool2d_equals_keras_pooling(seed, mode, padding):
    rng = np.random.default_rng(200 + seed)
    x = rng.normal(size=(2, rng.integers(4, 12), rng.integers(4, 12), 3)).astype("float32")
    pool = tuple(int(p) for p in rng.integers(1, 4, size=2))
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    layer = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}[mode]
    if mode == "avg" and padding == "same" and keras.backend.backend() == "torch":
        expected = _same_average_pooling_from_valid_layers(x, pool, stride)
    else:
        expected = ops.convert_to_numpy(layer(pool, strides=stride, padding=padding)(x))
    got = d2lite.pool2d(x, pool, stride=stride, padding=padding, mode=mode)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _same_average_pooling_from_valid_layers(x, pool, stride):
    """Keras' AveragePooling2D(padding="same"), built from layers that PyTorch gets right.

    Keras 3.15's PyTorch backend pads unevenly padded inputs ("same" with an odd number of
    padding rows or columns) with copies of the edge rows or columns and counts them in the
    mean (fixed after 3.15 by keras-team/keras#23233); TensorFlow and JAX divide by
    the real cells only. The same mean from "valid" layers: the window sums of the
    zero-padded input divided by the window sums of zero-padded ones.
    """
    pads = []
    for n, k, s in zip(x.shape[1:3], pool, stride):
        total = max((-(-n // s) - 1) * s + k - n, 0)  # the odd zero goes at the end
        pads.append((total // 2, total - total // 2))
    mean = keras.Sequential([keras.layers.ZeroPadding2D(tuple(pads)),
                             keras.layers.AveragePooling2D(pool, strides=stride, padding="valid")])
    return ops.convert_to_numpy(mean(x)) / ops.convert_to_numpy(mean(np.ones_like(x)))


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_explicit_padding_semantics(mode):
    x = RNG.normal(size=(1, 7, 6, 2)).astype("float32")
    got = ops.convert_to_numpy(d2lite.pool2d(x, 3, stride=2, padding=1, mode=mode))
    if mode == "avg":  # zeros are counted: ZeroPadding2D then average pooling
        padded = keras.layers.ZeroPadding2D(1)(x)
        expected = keras.layers.AveragePooling2D(3, strides=2)(padded)
    else:  # padding never wins: pad with -inf
        padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=-np.inf)
        expected = keras.layers.MaxPooling2D(3, strides=2)(padded)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_float64_input_gives_float64_output(float64):
    """No float32 rounding on any backend (Keras computes some float64 ops in float32)."""
    x = RNG.normal(size=(2, 6, 8, 3))
    kernel = RNG.normal(size=(3, 2, 3, 4))
    windows = x.reshape(2, 3, 2, 4, 2, 3)
    for y, expected in [
        (d2lite.pool2d(x, 2), windows.max(axis=(2, 4))),
        (d2lite.pool2d(x, 2, mode="avg"), windows.mean(axis=(2, 4))),
        (d2lite.conv2d(x, kernel, stride=(1, 2)), None),
        (d2lite.pool2d(x, 3, stride=2, padding=1), None),
    ]:
        assert keras.backend.standardize_dtype(y.dtype) == "float64"
        if expected is not None:
            np.testing.assert_allclose(ops.convert_to_numpy(y), expected, rtol=1e-15, atol=1e-15)


def test_pool2d_default_stride_is_pool_size_and_ranks():
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(d2lite.pool2d(x, 2), [[5.0, 7.0], [13.0, 15.0]])
    np.testing.assert_array_equal(d2lite.pool2d(x, 2, mode="avg"), [[2.5, 4.5], [10.5, 12.5]])
    assert tuple(d2lite.pool2d(np.zeros((6, 6, 3)), 2).shape) == (3, 3, 3)
    assert tuple(d2lite.pool2d(np.zeros((2, 6, 6, 3)), 3, stride=1).shape) == (2, 4, 4, 3)


@pytest.mark.parametrize("n,k,p,s,expected", [
    (8, 3, 0, 1, (6, 6)), (8, 3, 1, 1, (8, 8)), (8, 3, 1, 2, (4, 4)), (224, 7, 3, 2, (112, 112)),
    ((7, 9), (3, 5), (2, 1), (2, 3), (5, 3)), (5, 5, 0, 1, (1, 1)),
])
def test_conv_output_shape_formula(n, k, p, s, expected):
    assert d2lite.conv_output_shape(n, k, p, s) == expected


def test_conv_output_shape_same_and_dilation():
    assert d2lite.conv_output_shape(7, 3, "same", 2) == (4, 4)
    assert d2lite.conv_output_shape(10, 3, "valid", 1, dilation=2) == (6, 6)
    assert d2lite.same_padding(8, 4) == (1, 2)  # odd total: the extra zero goes at the end
    assert d2lite.same_padding(7, 3, 2) == (1, 1)


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,error,match", [
    (lambda: d2lite.corr2d(np.zeros((3, 3, 1)), np.zeros((2, 2))), ValueError, r"x must have rank 2"),
    (lambda: d2lite.corr2d(np.zeros((3, 3)), np.zeros((4, 2))), ValueError, r"kernel height .* larger than the padded input height"),
    (lambda: d2lite.corr2d(np.zeros((3, 3)), np.zeros((2, 2)), stride=0), ValueError, r"stride must be >= 1"),
    (lambda: d2lite.corr2d(np.zeros((3, 3)), np.zeros((2, 2)), stride=1.5), TypeError, r"stride must be an int"),
    (lambda: d2lite.corr2d(np.zeros((3, 3)), np.zeros((2, 2)), padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: d2lite.corr2d(np.zeros((3, 3)), np.zeros((2, 2)), padding="full"), ValueError, r'padding must be .*"valid" or "same"'),
    (lambda: d2lite.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 4))), ValueError, r"kernel has c_in=2 input channels but x has 3"),
    (lambda: d2lite.conv2d(np.zeros((5, 5, 3)), np.zeros((3, 3, 3, 4))), ValueError, r"x must have rank 4, shape \(batch, height, width, c_in\)"),
    (lambda: d2lite.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3))), ValueError, r"kernel must have rank 4"),
    (lambda: d2lite.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3, 4)), np.zeros(3)), ValueError, r"bias must have shape \(4,\)"),
    (lambda: d2lite.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), dilation=0), ValueError, r"dilation must be >= 1"),
    (lambda: d2lite.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), dilation=3), ValueError, r"spanning 7 with dilation 3"),
    (lambda: d2lite.corr2d_multi_in(np.zeros((3, 3)), np.zeros((2, 2, 1))), ValueError, r"x must have rank 3"),
    (lambda: d2lite.corr2d_multi_in_out(np.zeros((4, 4, 2)), np.zeros((2, 2, 3, 1))), ValueError, r"c_in=3"),
    (lambda: d2lite.pool2d(np.zeros((4, 4)), 2, mode="min"), ValueError, r'mode must be "max" or "avg"'),
    (lambda: d2lite.pool2d(np.zeros(4), 2), ValueError, r"x must have rank 2, 3 or 4"),
    (lambda: d2lite.pool2d(np.zeros((4, 4)), 5), ValueError, r"pool_size height .* larger than the padded input"),
    (lambda: d2lite.pool2d(np.zeros((4, 4)), (2, 2, 2)), TypeError, r"pool_size must be an int or a pair"),
    (lambda: d2lite.conv_output_shape(0, 3), ValueError, r"input_size must be >= 1"),
    (lambda: d2lite.conv_output_shape(4, 5), ValueError, r"kernel_size height \(5.*\) is larger than the padded input height \(4"),
    (lambda: d2lite.conv_output_shape(4, True), TypeError, r"kernel_size must be an int"),
    (lambda: d2lite.same_padding(4, 0), ValueError, r"kernel_size must be >= 1"),
    (lambda: d2lite.corr2d("not an image", np.zeros((2, 2))), (TypeError, ValueError), r"x must"),
])
def test_bad_input_raises_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_module_exports():
    for name in conv.__all__:
        assert getattr(d2lite, name) is getattr(conv, name)


@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", 2), (1, (2, 1))])
def test_conv2d_without_im2col_gives_the_same_result(monkeypatch, padding, stride):
    """Inputs too large for the im2col matrix take the per-tap path; force it here."""
    x = RNG.normal(size=(2, 9, 10, 3)).astype("float32")
    kernel = RNG.normal(size=(3, 2, 3, 4)).astype("float32")
    with_im2col = np.asarray(d2lite.conv2d(x, kernel, stride=stride, padding=padding))
    monkeypatch.setattr(conv, "_IM2COL_MAX_ELEMENTS", 0)
    np.testing.assert_allclose(d2lite.conv2d(x, kernel, stride=stride, padding=padding), with_im2col,
                               atol=1e-5, rtol=1e-5)


def test_compiled_cache_clear_runs_the_python_code_again(monkeypatch):
    """After `_compiled.cache_clear()` conv2d runs its Python code again: on JAX a new trace
    (jax.jit shares its traces between wrappers of one function), elsewhere a plain call."""
    x = RNG.normal(size=(1, 6, 6, 3)).astype("float32")
    kernel = RNG.normal(size=(3, 3, 3, 2)).astype("float32")
    expected = ops.convert_to_numpy(d2lite.conv2d(x, kernel))  # compiled once on JAX
    calls, original = [], conv._im2col
    monkeypatch.setattr(conv, "_im2col", lambda *args: calls.append(1) or original(*args))
    conv._compiled.cache_clear()
    np.testing.assert_allclose(d2lite.conv2d(x, kernel), expected, atol=1e-5)
    conv._compiled.cache_clear()
    assert len(calls) == 1
