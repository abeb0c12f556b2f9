"""The mathematics of convolution: true convolution, the FFT route, the matrix view.

Part I of the book computes *cross-correlations* (``d2lite.corr2d`` and
``d2lite.conv2d``, like ``keras.layers.Conv2D``). This module adds what Part II needs
to connect them with convolution as mathematicians define it, all built on those
functions rather than re-implementing them:

* `conv2d_true` -- convolution with the kernel flipped, in ``"full"`` or ``"valid"`` mode;
* `fft_conv2d` -- the same result through the convolution theorem and the FFT, plus the
  ``"circular"`` convolution that the discrete Fourier transform computes natively;
* `conv_matrix` -- the matrix ``C`` with ``vec(corr2d(x, k)) = C @ vec(x)``, whose
  transpose is the transposed convolution;
* `conv_transpose_output_shape` and `receptive_field` -- shape and receptive-field
  arithmetic through transposed convolutions and stacks of layers.

Single-channel images are (height, width) arrays; kernels are (k_h, k_w). Everything
uses ``keras.ops``, so it accepts NumPy arrays or tensors of any Keras backend.
"""

from __future__ import annotations

from typing import Sequence, Union

from keras import ops

from d2lite.conv import _as_float_tensor, _is_int, _pair, conv2d, conv_output_shape, corr2d

IntPair = Union[int, "tuple[int, int]"]

__all__ = [
    "conv2d_true",
    "conv_matrix",
    "conv_transpose_output_shape",
    "fft_conv2d",
    "receptive_field",
]


def _check_mode(mode: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(mode, str) or mode.lower() not in allowed:
        raise ValueError(f"mode must be one of {', '.join(repr(m) for m in allowed)}; got {mode!r}")
    return mode.lower()


def _check_image_and_kernel(x, kernel, mode: str):
    x = _as_float_tensor(x, "x", 2, "(height, width)")
    kernel = ops.cast(_as_float_tensor(kernel, "kernel", 2, "(k_h, k_w)"), x.dtype)
    if min(x.shape) < 1 or min(kernel.shape) < 1:
        raise ValueError(f"x and kernel must not be empty; got shapes {tuple(x.shape)} and {tuple(kernel.shape)}")
    if mode in ("valid", "circular") and (kernel.shape[0] > x.shape[0] or kernel.shape[1] > x.shape[1]):
        raise ValueError(
            f'kernel of shape {tuple(kernel.shape)} must fit inside x of shape {tuple(x.shape)} '
            f'for mode="{mode}"'
        )
    return x, kernel


# ------------------------------------------------------------------ true convolution


def conv2d_true(x, kernel, *, mode: str = "full"):
    """Two-dimensional convolution as defined in mathematics (the kernel is flipped).

    ``y[i, j] = sum_{a, b} x[i - a, j - b] kernel[a, b]``, computed as the
    cross-correlation (`d2lite.corr2d`) of `x` with the kernel flipped in both axes.

    Args:
        x: array of shape (n_h, n_w).
        kernel: array of shape (k_h, k_w).
        mode: ``"full"`` -- every shift where the two overlap, output
            (n_h + k_h - 1, n_w + k_w - 1); here ``conv2d_true(x, k)`` equals
            ``conv2d_true(k, x)``. ``"valid"`` -- only the shifts where the kernel lies
            inside `x`, output (n_h - k_h + 1, n_w - k_w + 1).

    Returns:
        Tensor of the shape given above.

    Raises:
        ValueError: wrong rank, an unknown mode, or (for ``"valid"``) a kernel larger
            than `x`.
    """
    mode = _check_mode(mode, ("full", "valid"))
    x, kernel = _check_image_and_kernel(x, kernel, mode)
    k_h, k_w = kernel.shape
    padding = (k_h - 1, k_w - 1) if mode == "full" else 0
    return corr2d(x, ops.flip(kernel, axis=(0, 1)), padding=padding)


# ----------------------------------------------------------------------------- FFT


def _next_fast_len(n: int) -> int:
    """Smallest m >= n whose only prime factors are 2, 3 and 5 (FFTs are fastest there)."""
    m = n
    while True:
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def _complex_mul(a, b):
    """(a_re + i a_im)(b_re + i b_im) for pairs of real tensors."""
    return a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]


def fft_conv2d(x, kernel, *, mode: str = "full"):
    """Two-dimensional convolution through the convolution theorem: FFT, multiply, inverse FFT.

    The discrete Fourier transform turns *circular* convolution into a pointwise
    product. For ``"full"`` and ``"valid"`` both arrays are zero-padded to at least
    (n_h + k_h - 1, n_w + k_w - 1) (rounded up to a size whose prime factors are 2, 3
    and 5, where FFTs are fastest), so that the circular result has no wrap-around
    and equals `conv2d_true`. ``"circular"`` skips the padding and returns the
    circular (periodic) convolution of size (n_h, n_w).

    Args:
        x: array of shape (n_h, n_w).
        kernel: array of shape (k_h, k_w); for ``"valid"`` and ``"circular"`` no
            larger than `x`.
        mode: ``"full"`` (output (n_h + k_h - 1, n_w + k_w - 1)), ``"valid"``
            (output (n_h - k_h + 1, n_w - k_w + 1)) or ``"circular"`` (output (n_h, n_w)).

    Returns:
        Real tensor of the shape given above (float32 round-off, about 1e-6 relative).

    Raises:
        ValueError: wrong rank, an unknown mode, or a kernel larger than `x` where
            the mode needs it to fit.
    """
    mode = _check_mode(mode, ("full", "valid", "circular"))
    x, kernel = _check_image_and_kernel(x, kernel, mode)
    (n_h, n_w), (k_h, k_w) = x.shape, kernel.shape
    if mode == "circular":
        size = (n_h, n_w)
    else:
        size = (_next_fast_len(n_h + k_h - 1), _next_fast_len(n_w + k_w - 1))

    def spectrum(a):
        a = ops.pad(a, [(0, size[0] - a.shape[0]), (0, size[1] - a.shape[1])])
        return ops.fft2((a, ops.zeros_like(a)))

    real, _ = ops.ifft2(_complex_mul(spectrum(x), spectrum(kernel)))
    if mode == "circular":
        return real
    if mode == "full":
        return real[: n_h + k_h - 1, : n_w + k_w - 1]
    return real[k_h - 1: n_h, k_w - 1: n_w]


# -------------------------------------------------------------------- matrix view


def conv_matrix(input_shape: IntPair, kernel, *, stride: IntPair = 1, padding=0, dilation: IntPair = 1):
    """The matrix of a single-channel cross-correlation (what `d2lite.corr2d` computes).

    A cross-correlation is linear in its input, so ``vec(y) = C @ vec(x)`` with
    row-major ``vec``. Column ``m`` of ``C`` is the output for the unit input that is
    one at pixel ``m`` and zero elsewhere; all unit inputs are convolved at once, as
    one batch.

    Args:
        input_shape: ``n`` or ``(n_h, n_w)``.
        kernel: array of shape (k_h, k_w).
        stride, padding, dilation: as for `d2lite.conv2d`.

    Returns:
        Tensor of shape (o_h * o_w, n_h * n_w) with (o_h, o_w) from
        `d2lite.conv_output_shape`; ``C.T`` is the matrix of the transposed convolution.

    Raises:
        ValueError: bad shapes or arguments (the message names the argument).
    """
    n_h, n_w = _pair(input_shape, "input_shape", minimum=1)
    kernel = _as_float_tensor(kernel, "kernel", 2, "(k_h, k_w)")
    o_h, o_w = conv_output_shape((n_h, n_w), tuple(kernel.shape), padding, stride, dilation)
    units = ops.reshape(ops.eye(n_h * n_w, dtype=kernel.dtype), (n_h * n_w, n_h, n_w, 1))
    y = conv2d(units, kernel[:, :, None, None], stride=stride, padding=padding, dilation=dilation)
    return ops.transpose(ops.reshape(y, (n_h * n_w, o_h * o_w)))


def conv_transpose_output_shape(
    input_size: IntPair,
    kernel_size: IntPair,
    padding: IntPair = 0,
    stride: IntPair = 1,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """Spatial output shape of a transposed convolution, for each axis

        n = (o - 1) s + d (k - 1) + 1 - 2 p + a.

    The letters are those of the convolution (kernel k, padding p, stride s, dilation
    d) whose transpose this is: its output size o is the transposed convolution's input
    size, and the result n is its input size. That convolution maps several input sizes
    to the same output size when s > 1; the output padding ``a`` (0 <= a < s) picks one.

    Args:
        input_size: ``o`` or ``(o_h, o_w)``, positive.
        kernel_size: ``k`` or ``(k_h, k_w)``, positive.
        padding: ``p`` or ``(p_h, p_w)``: the forward convolution's zeros on each side,
            removed (cropped) from the transposed output.
        stride: ``s`` or ``(s_h, s_w)``, positive.
        output_padding: ``a`` or ``(a_h, a_w)``, with 0 <= a < s.
        dilation: ``d`` or ``(d_h, d_w)``, positive.

    Returns:
        ``(n_h, n_w)``.

    Raises:
        ValueError: an argument out of range, or an output that would be empty.
        TypeError: an argument that is not an int or a pair of ints.
    """
    o = _pair(input_size, "input_size", minimum=1)
    k = _pair(kernel_size, "kernel_size", minimum=1)
    p = _pair(padding, "padding", minimum=0)
    s = _pair(stride, "stride", minimum=1)
    a = _pair(output_padding, "output_padding", minimum=0)
    d = _pair(dilation, "dilation", minimum=1)
    if any(a_i >= s_i for a_i, s_i in zip(a, s)):
        raise ValueError(f"output_padding must be smaller than stride in both directions, got {output_padding!r} "
                         f"with stride {stride!r}")
    out = tuple((o_i - 1) * s_i + d_i * (k_i - 1) + 1 - 2 * p_i + a_i
                for o_i, k_i, p_i, s_i, a_i, d_i in zip(o, k, p, s, a, d))
    if min(out) < 1:
        raise ValueError(f"padding {padding!r} crops more than the transposed convolution produces "
                         f"(output would be {out})")
    return out


# ----------------------------------------------------------------- receptive field


def receptive_field(layers: Sequence) -> list[tuple[int, int]]:
    """Receptive field size and jump after each layer of a stack (one spatial axis).

    With ``r_0 = 1`` and ``j_0 = 1`` (one input pixel, adjacent pixels one apart),
    a layer with kernel ``k``, stride ``s`` and dilation ``d`` gives

        r_l = r_{l-1} + d (k - 1) j_{l-1},    j_l = j_{l-1} s.

    ``r_l`` is how many input pixels one output of layer ``l`` sees, ``j_l`` how far
    apart (in input pixels) the windows of neighbouring outputs are. Padding changes
    neither. Pooling layers count as layers with their pool size and stride.

    Args:
        layers: a sequence of layers, each an int ``k`` or a tuple ``(k,)``, ``(k, s)``
            or ``(k, s, d)`` of positive ints.

    Returns:
        A list with one ``(r_l, j_l)`` pair per layer.

    Raises:
        TypeError: if `layers` or one of its entries has the wrong type.
        ValueError: if a kernel size, stride or dilation is not positive.
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a sequence of (kernel, stride, dilation) tuples, got {layers!r}")
    size, jump, out = 1, 1, []
    for index, layer in enumerate(layers):
        spec = (layer,) if _is_int(layer) else layer
        if not isinstance(spec, (tuple, list)) or not 1 <= len(spec) <= 3 or not all(_is_int(v) for v in spec):
            raise TypeError(f"layers[{index}] must be an int k or a tuple (k,), (k, s) or (k, s, d) of ints, "
                            f"got {layer!r}")
        k, s, d = (*spec, 1, 1)[:3]
        if min(k, s, d) < 1:
            raise ValueError(f"layers[{index}] = {layer!r}: kernel, stride and dilation must be >= 1")
        size, jump = size + d * (k - 1) * jump, jump * s
        out.append((size, jump))
    return out
