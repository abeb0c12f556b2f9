"""Convolution and pooling from scratch, written to be read (and fast enough to use).

Every function here is vectorised the same way: instead of looping over output
pixels, it loops over the (few) positions *inside the kernel window* and, for each,
takes one slice of the whole input. A 3x3 kernel therefore costs nine slices, whatever
the image size; `conv2d` then multiplies all of them by the kernel in one matrix product. The functions use `keras.ops`, so
they accept NumPy arrays or tensors of any Keras backend and are differentiable.

Layout is channels-last, as in Keras: images are (height, width) for one channel,
(height, width, channels) for one image and (batch, height, width, channels) for a
batch. Kernels are (k_h, k_w, c_in, c_out), exactly like the `kernel` weight of
`keras.layers.Conv2D`.

Padding is either explicit -- an int ``p`` or a pair ``(p_h, p_w)`` of zeros added on
*each* side, as in the book's formulas -- or Keras' strings ``"valid"`` (no padding) and
``"same"`` (pad so that the output has ``ceil(n / s)`` rows and columns).
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Union

import keras
import numpy as np
from keras import ops

# conv2d builds the im2col matrix (k_h k_w copies of the input) when it has at most this
# many entries (256 MiB of float32); beyond that it accumulates one product per kernel tap.
_IM2COL_MAX_ELEMENTS = 1 << 26

IntPair = Union[int, "tuple[int, int]"]
Padding = Union[int, "tuple[int, int]", str]

__all__ = [
    "conv2d",
    "conv_output_shape",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "pool2d",
    "same_padding",
]


# --------------------------------------------------------------------------- checks


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _pair(value, name: str, *, minimum: int) -> tuple[int, int]:
    """Turn an int or an (h, w) pair into a pair of ints, each >= `minimum`."""
    if _is_int(value):
        pair = (int(value), int(value))
    elif (not isinstance(value, (str, bytes)) and hasattr(value, "__len__") and len(value) == 2
          and all(_is_int(v) for v in value)):  # a tuple, list, NumPy or TensorShape pair
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum} in both directions, got {value!r}")
    return pair


def _as_float_tensor(x, name: str, rank: int, layout: str):
    """Convert to a floating tensor of the given rank or raise a ValueError."""
    try:
        x = ops.convert_to_tensor(x)
    except Exception as err:  # noqa: BLE001 - re-raised with the argument's name
        raise TypeError(f"{name} must be an array or tensor, got {type(x).__name__}") from err
    if len(x.shape) != rank:
        raise ValueError(f"{name} must have rank {rank}, shape {layout}; got shape {tuple(x.shape)}")
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    return x


def same_padding(size: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Zeros Keras' ``padding="same"`` adds before and after one spatial axis.

    The output has ``ceil(size / stride)`` entries; the padding needed for that is
    split as evenly as possible, with the odd one at the end (bottom or right).

    Returns:
        ``(before, after)``, two non-negative ints.
    """
    for name, value, minimum in (("size", size, 1), ("kernel_size", kernel_size, 1),
                                 ("stride", stride, 1), ("dilation", dilation, 1)):
        if not _is_int(value):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    span = dilation * (kernel_size - 1) + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def _resolve_padding(padding: Padding, in_hw, k_hw, stride, dilation):
    """Explicit ((top, bottom), (left, right)) padding for any accepted `padding`."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(in_hw, k_hw, stride, dilation))
        raise ValueError(f'padding must be an int, a pair of ints, "valid" or "same"; got {padding!r}')
    p_h, p_w = _pair(padding, "padding", minimum=0)
    return (p_h, p_h), (p_w, p_w)


def _output_size(in_hw, k_hw, pads, stride, dilation, argument: str = "kernel"):
    """Output (o_h, o_w); raises if the (dilated) window does not fit the padded input."""
    out = []
    for axis, n, k, (before, after), s, d in zip(("height", "width"), in_hw, k_hw, pads, stride, dilation):
        span = d * (k - 1) + 1
        padded = n + before + after
        if span > padded:
            raise ValueError(
                f"{argument} {axis} ({k}, spanning {span} with dilation {d}) is larger than the "
                f"padded input {axis} ({n} + {before + after} padding = {padded})"
            )
        out.append((padded - span) // s + 1)
    return tuple(out)


def conv_output_shape(
    input_size: IntPair,
    kernel_size: IntPair,
    padding: Padding = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """Spatial output shape of a 2-D convolution or pooling window.

    With explicit padding ``p`` on each side, for each axis

        o = floor((n + 2p - d (k - 1) - 1) / s) + 1,

    which is ``floor((n + 2p - k) / s) + 1`` without dilation (d = 1).

    Args:
        input_size: ``n`` or ``(n_h, n_w)``, positive.
        kernel_size: ``k`` or ``(k_h, k_w)``, positive.
        padding: ``p`` or ``(p_h, p_w)`` zeros on each side, or ``"valid"`` / ``"same"``.
        stride: ``s`` or ``(s_h, s_w)``, positive.
        dilation: ``d`` or ``(d_h, d_w)``, positive.

    Returns:
        ``(o_h, o_w)``.

    Raises:
        ValueError: if an argument is out of range or the window is larger than the
            padded input.
        TypeError: if an argument is not an int, a pair of ints or a padding string.
    """
    in_hw = _pair(input_size, "input_size", minimum=1)
    k_hw = _pair(kernel_size, "kernel_size", minimum=1)
    stride = _pair(stride, "stride", minimum=1)
    dilation = _pair(dilation, "dilation", minimum=1)
    pads = _resolve_padding(padding, in_hw, k_hw, stride, dilation)
    return _output_size(in_hw, k_hw, pads, stride, dilation, argument="kernel_size")


def _phase_view(x, stride):
    """View (N, H, W, C) as (N, H/s_h, s_h, W/s_w, s_w, C): row r is [r // s_h, r % s_h].

    Taking every s-th row starting at row t is then a plain slice with unit steps,
    ``view[:, t // s : t // s + o, t % s]``, which is several times cheaper than a
    strided slice. H and W are zero-padded at the end up to multiples of the stride
    (those rows are never read).
    """
    s_h, s_w = stride
    n_h, n_w = x.shape[1], x.shape[2]
    extra_h, extra_w = (-n_h) % s_h, (-n_w) % s_w
    if extra_h or extra_w:
        x = ops.pad(x, [(0, 0), (0, extra_h), (0, extra_w), (0, 0)])
    return ops.reshape(x, (-1, (n_h + extra_h) // s_h, s_h, (n_w + extra_w) // s_w, s_w, x.shape[-1]))


def _window_slices(x, k_hw, out_hw, stride, dilation):
    """Yield (i, j, slice) for each kernel position; slice has shape (N, o_h, o_w, C).

    The slice for kernel position (i, j) holds, for every output pixel, the input
    value that kernel entry (i, j) is multiplied with: rows i*d_h + r*s_h and columns
    j*d_w + c*s_w of x for r < o_h, c < o_w.
    """
    (o_h, o_w), (s_h, s_w), (d_h, d_w) = out_hw, stride, dilation
    phases = _phase_view(x, stride) if (s_h, s_w) != (1, 1) else None
    for i in range(k_hw[0]):
        for j in range(k_hw[1]):
            top, left = i * d_h, j * d_w
            if phases is None:
                yield i, j, x[:, top: top + o_h, left: left + o_w, :]
            else:
                (q_h, r_h), (q_w, r_w) = divmod(top, s_h), divmod(left, s_w)
                yield i, j, phases[:, q_h: q_h + o_h, r_h, q_w: q_w + o_w, r_w, :]


def _pad_spatial(x, pads):
    """Zero-pad the spatial axes of x (N, H, W, C) by ((top, bottom), (left, right))."""
    if any(p for pair in pads for p in pair):
        x = ops.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])
    return x


def _matmul(a, b):
    """``a @ b`` for a of shape (..., k) and b of shape (k, c), in the dtype of both.

    Written as an einsum because ``ops.matmul`` computes float64 inputs in float32 on
    PyTorch (Keras' type promotion, keras-team/keras#23223); einsum keeps float64 on
    every backend, which the float64 gradient checks of the chapters need.
    """
    return ops.einsum("...k,kc->...c", a, b)


def _im2col(x_padded, k_hw, out_hw, stride, dilation):
    """Every window of an already padded x (N, H, W, C) as one row: (N, o_h, o_w, k_h k_w C).

    Rows are ordered like a flattened (k_h, k_w, C, c_out) kernel: kernel row, then column,
    then channel, so ``_im2col(...) @ reshape(kernel, (-1, c_out))`` is the convolution.
    """
    windows = [window for _, _, window in _window_slices(x_padded, k_hw, out_hw, stride, dilation)]
    return ops.concatenate(windows, axis=-1)


# ------------------------------------------------------------------- convolution


@functools.cache
def _compiled(fn, static_argnums):
    """``fn`` compiled as one XLA computation per input shapes on JAX; ``fn`` elsewhere.

    JAX runs ``keras.ops`` one operation at a time and compiles each operation anew for
    every new shape and every new slice: a loop over the 25 positions of a 5x5 kernel
    then costs about a second per new input shape. Compiled whole (``jax.jit``; the
    arguments at ``static_argnums``, hashable Python values such as tuples of ints, are
    fixed at compile time) it costs one compilation per shape, and nothing after that. TensorFlow and PyTorch run the same
    operations eagerly without compiling.
    """
    if keras.backend.backend() != "jax":
        return fn
    import jax

    # jax.jit keeps its compiled versions per function, shared by every jax.jit of that
    # function: a fresh wrapper (partial) makes `_compiled.cache_clear()` trace anew.
    return jax.jit(functools.partial(fn), static_argnums=static_argnums)


def _conv2d_windows(x, kernel, config):
    """The convolution of `conv2d` after validation; config = (pads, out_hw, stride, dilation)."""
    pads, out_hw, stride, dilation = config
    k_hw = tuple(kernel.shape[:2])
    x = _pad_spatial(x, pads)
    c_in, c_out = kernel.shape[2], kernel.shape[3]
    taps = k_hw[0] * k_hw[1]
    patch_size = None if x.shape[0] is None else x.shape[0] * out_hw[0] * out_hw[1] * c_in * taps
    if c_in > 1 and patch_size is not None and patch_size <= _IM2COL_MAX_ELEMENTS:
        # All windows as rows of one matrix ("im2col"), times the kernel as a matrix.
        return _matmul(_im2col(x, k_hw, out_hw, stride, dilation), ops.reshape(kernel, (-1, c_out)))
    y = None  # one product per kernel position, accumulated (no k_h k_w-fold copy of x)
    for i, j, window in _window_slices(x, k_hw, out_hw, stride, dilation):
        if c_in == 1:  # a broadcast product is cheaper than a matmul with inner size 1
            term = window * kernel[i, j, 0]  # (N, o_h, o_w, 1) * (c_out,)
        else:
            term = _matmul(window, kernel[i, j])  # (N, o_h, o_w, c_in) @ (c_in, c_out)
        y = term if y is None else y + term
    return y


def conv2d(x, kernel, bias=None, *, stride: IntPair = 1, padding: Padding = 0, dilation: IntPair = 1):
    """Batched multi-channel 2-D cross-correlation, what `keras.layers.Conv2D` computes.

    ``y[b, r, c, o] = bias[o] + sum_{i, j, q} x_pad[b, r s_h + i d_h, c s_w + j d_w, q] kernel[i, j, q, o]``

    Args:
        x: input of shape (batch, height, width, c_in).
        kernel: weights of shape (k_h, k_w, c_in, c_out).
        bias: optional, shape (c_out,).
        stride: positive int or (s_h, s_w).
        padding: int or (p_h, p_w) zeros on each side, or "valid" / "same".
        dilation: positive int or (d_h, d_w); gaps between kernel taps.

    Returns:
        Tensor of shape (batch, o_h, o_w, c_out), see `conv_output_shape`.

    Raises:
        ValueError: wrong rank, channel mismatch, bad stride/padding/dilation, or a
            kernel larger than the padded input -- the message names the argument.
    """
    x = _as_float_tensor(x, "x", 4, "(batch, height, width, c_in)")
    kernel = ops.cast(_as_float_tensor(kernel, "kernel", 4, "(k_h, k_w, c_in, c_out)"), x.dtype)
    if x.shape[-1] is not None and kernel.shape[2] != x.shape[-1]:
        raise ValueError(
            f"kernel has c_in={kernel.shape[2]} input channels but x has {x.shape[-1]} "
            f"(kernel shape {tuple(kernel.shape)}, x shape {tuple(x.shape)})"
        )
    stride = _pair(stride, "stride", minimum=1)
    dilation = _pair(dilation, "dilation", minimum=1)
    in_hw, k_hw = tuple(x.shape[1:3]), tuple(kernel.shape[:2])
    pads = _resolve_padding(padding, in_hw, k_hw, stride, dilation)
    out_hw = _output_size(in_hw, k_hw, pads, stride, dilation)
    y = _compiled(_conv2d_windows, 2)(x, kernel, (pads, out_hw, stride, dilation))
    if bias is not None:
        bias = ops.cast(_as_float_tensor(bias, "bias", 1, "(c_out,)"), x.dtype)
        if bias.shape[0] != kernel.shape[3]:
            raise ValueError(f"bias must have shape ({kernel.shape[3]},) to match kernel c_out, got {tuple(bias.shape)}")
        y = y + bias
    return y


def corr2d(x, kernel, *, stride: IntPair = 1, padding: Padding = 0):
    """Two-dimensional cross-correlation of one channel.

    Args:
        x: array of shape (height, width).
        kernel: array of shape (k_h, k_w), no larger than the padded input.
        stride: positive int or (s_h, s_w).
        padding: int or (p_h, p_w) zeros on each side, or "valid" / "same".

    Returns:
        Tensor of shape (o_h, o_w), see `conv_output_shape`.
    """
    x = _as_float_tensor(x, "x", 2, "(height, width)")
    kernel = _as_float_tensor(kernel, "kernel", 2, "(k_h, k_w)")
    y = conv2d(x[None, :, :, None], kernel[:, :, None, None], stride=stride, padding=padding)
    return y[0, :, :, 0]


def corr2d_multi_in(x, kernel, *, stride: IntPair = 1, padding: Padding = 0):
    """Cross-correlation of a multi-channel input with one multi-channel kernel.

    Each input channel is cross-correlated with its own kernel slice and the results
    are summed, giving one output channel.

    Args:
        x: array of shape (height, width, c_in).
        kernel: array of shape (k_h, k_w, c_in).

    Returns:
        Tensor of shape (o_h, o_w).
    """
    x = _as_float_tensor(x, "x", 3, "(height, width, c_in)")
    kernel = _as_float_tensor(kernel, "kernel", 3, "(k_h, k_w, c_in)")
    y = conv2d(x[None], kernel[..., None], stride=stride, padding=padding)
    return y[0, :, :, 0]


def corr2d_multi_in_out(x, kernel, *, stride: IntPair = 1, padding: Padding = 0):
    """Cross-correlation with several multi-channel kernels, one per output channel.

    Args:
        x: array of shape (height, width, c_in).
        kernel: array of shape (k_h, k_w, c_in, c_out).

    Returns:
        Tensor of shape (o_h, o_w, c_out).
    """
    x = _as_float_tensor(x, "x", 3, "(height, width, c_in)")
    return conv2d(x[None], kernel, stride=stride, padding=padding)[0]


# ---------------------------------------------------------------------- pooling


def _real_cells(size: int, window: int, stride: int, before: int, out: int):
    """For each of `out` windows along one axis, how many of its cells are real (not padding)."""
    starts = np.arange(out) * stride - before
    return np.minimum(starts + window, size) - np.maximum(starts, 0)


def _max64(a, b):
    """The elementwise maximum of two float64 tensors, in float64.

    ``ops.maximum`` computes float64 inputs in float32 on PyTorch (Keras' type promotion,
    keras-team/keras#23223); a max over a stacked axis keeps float64 on every backend.
    """
    return ops.max(ops.stack([a, b]), axis=0)


def _reduce_windows(x, k_hw, out_hw, stride, combine):
    """Combine (max or add) each k_h x k_w window of x (N, H, W, C) -> (N, o_h, o_w, C).

    Max and sum are *separable*: reducing each window's rows first and then its
    columns gives the same result with k_h + k_w slices instead of k_h * k_w. All
    slices are contiguous (stride 1), which is much cheaper than strided slicing;
    the stride is applied once, at the end, by subsampling (see `_phase_view`).
    """
    (k_h, k_w), (o_h, o_w), (s_h, s_w) = k_hw, out_hw, stride
    rows, cols = (o_h - 1) * s_h + 1, (o_w - 1) * s_w + 1  # stride-1 positions needed
    y = x[:, 0:rows]
    for i in range(1, k_h):
        y = combine(y, x[:, i: i + rows])
    z = y[:, :, 0:cols]
    for j in range(1, k_w):
        z = combine(z, y[:, :, j: j + cols])
    if (s_h, s_w) == (1, 1):
        return z
    return _phase_view(z, stride)[:, :o_h, 0, :o_w, 0, :]  # every s-th row and column



def pool2d(x, pool_size: IntPair, *, stride: IntPair | None = None, padding: Padding = 0, mode: str = "max"):
    """Max or average pooling over the two spatial axes, each channel on its own.

    Padding semantics:
        * explicit ``padding=p``: max pooling never picks a padded cell (it pads with
          -inf); average pooling counts the padded zeros in the mean (divides by
          ``k_h * k_w`` everywhere), as ``ZeroPadding2D`` followed by a pooling layer does.
        * ``"same"``: Keras' rule -- windows are clipped to the image, so padded cells
          count for neither max nor mean.

    Args:
        x: array of shape (height, width), (height, width, channels) or
            (batch, height, width, channels).
        pool_size: positive int or (k_h, k_w).
        stride: positive int or (s_h, s_w); defaults to `pool_size`, as in Keras.
        padding: int or (p_h, p_w) on each side, or "valid" / "same".
        mode: "max" or "avg".

    Returns:
        Tensor with the same rank as `x`, spatial axes (o_h, o_w).
    """
    if mode not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {mode!r}')
    try:
        rank = len(ops.shape(x))
    except Exception as err:  # noqa: BLE001
        raise TypeError(f"x must be an array or tensor, got {type(x).__name__}") from err
    layouts = {2: "(height, width)", 3: "(height, width, channels)", 4: "(batch, height, width, channels)"}
    if rank not in layouts:
        raise ValueError(f"x must have rank 2, 3 or 4 ({', '.join(layouts.values())}); got rank {rank}")
    x = _as_float_tensor(x, "x", rank, layouts[rank])
    batched = {2: x[None, :, :, None], 3: x[None], 4: x}[rank]

    k_hw = _pair(pool_size, "pool_size", minimum=1)
    stride = k_hw if stride is None else _pair(stride, "stride", minimum=1)
    dilation = (1, 1)
    in_hw = tuple(batched.shape[1:3])
    pads = _resolve_padding(padding, in_hw, k_hw, stride, dilation)
    out_hw = _output_size(in_hw, k_hw, pads, stride, dilation, argument="pool_size")
    keras_same = isinstance(padding, str) and padding.lower() == "same"
    padded = any(p for pair in pads for p in pair)
    widths = [(0, 0), pads[0], pads[1], (0, 0)]

    if mode == "max":
        if padded:  # -inf never wins a max, so padded cells are never picked
            batched = ops.pad(batched, widths, constant_values=-math.inf)
        bigger = _max64 if keras.backend.standardize_dtype(batched.dtype) == "float64" else ops.maximum
        y = _compiled(_reduce_windows, (1, 2, 3, 4))(batched, k_hw, out_hw, stride, bigger)
    else:
        if padded:
            batched = ops.pad(batched, widths)
        total = _compiled(_reduce_windows, (1, 2, 3, 4))(batched, k_hw, out_hw, stride, ops.add)
        if keras_same and padded:
            # Keras divides by the number of real (unpadded) cells under each window, which
            # is (real rows under it) x (real columns under it).
            rows, cols = (_real_cells(n, k, s, pad[0], o)
                          for n, k, s, pad, o in zip(in_hw, k_hw, stride, pads, out_hw))
            y = total / ops.convert_to_tensor(np.outer(rows, cols)[None, :, :, None], dtype=x.dtype)
        else:
            y = total / float(k_hw[0] * k_hw[1])
    return {2: lambda t: t[0, :, :, 0], 3: lambda t: t[0], 4: lambda t: t}[rank](y)
