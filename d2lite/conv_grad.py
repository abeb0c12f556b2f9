"""Backpropagation through a convolution layer, written out by hand.

A convolution layer computes (channels-last, as in Keras and `d2lite.conv2d`)

    y[b, r, c, o] = bias[o] + sum_{i, j, q} x_pad[b, r s_h + i, c s_w + j, q] kernel[i, j, q, o].

Given the gradient ``grad_y`` of a scalar loss with respect to ``y``, this module
returns the gradients with respect to ``x``, ``kernel`` and ``bias``:

* ``grad_x``: a *full* convolution of ``grad_y`` (with ``stride - 1`` zeros inserted
  between its entries) with the kernel rotated by 180 degrees and its two channel axes
  swapped, cropped by the forward padding;
* ``grad_kernel``: the cross-correlation of the padded input with ``grad_y``, summed
  over the batch; computed here as ``im2col(x)^T @ grad_y``;
* ``grad_bias``: ``grad_y`` summed over the batch and the spatial positions.

Everything is built from `d2lite.conv2d` and strided slices (no loops over pixels)
with `keras.ops`, so the functions accept NumPy arrays or tensors and keep float64
inputs in float64.
"""

from __future__ import annotations

from keras import ops

from d2lite.conv import (
    IntPair,
    Padding,
    _as_float_tensor,
    _im2col,
    _output_size,
    _pad_spatial,
    _pair,
    _resolve_padding,
    conv2d,
)

__all__ = ["conv2d_backward", "im2col", "insert_zeros"]


def insert_zeros(x, stride: IntPair):
    """Spread the spatial entries of `x` apart by inserting ``s - 1`` zeros between them.

    This is how a strided output is "un-strided" in backpropagation: entry ``(r, c)``
    of `x` lands at ``(r s_h, c s_w)`` of the result, and every other entry is zero.
    No zeros are added after the last row or column.

    Args:
        x: array of shape (batch, height, width, channels).
        stride: positive int or (s_h, s_w).

    Returns:
        Tensor of shape (batch, (height - 1) s_h + 1, (width - 1) s_w + 1, channels).

    Raises:
        ValueError: if `x` does not have rank 4 or `stride` is not positive.
        TypeError: if `stride` is not an int or a pair of ints.
    """
    x = _as_float_tensor(x, "x", 4, "(batch, height, width, channels)")
    s_h, s_w = _pair(stride, "stride", minimum=1)
    if (s_h, s_w) == (1, 1):
        return x
    b, h, w, c = ops.shape(x)
    # (b, h, 1, w, 1, c) -> pad the two unit axes to s_h and s_w -> merge -> drop the tail.
    spread = ops.pad(x[:, :, None, :, None, :], [(0, 0), (0, 0), (0, s_h - 1), (0, 0), (0, s_w - 1), (0, 0)])
    spread = ops.reshape(spread, (b, h * s_h, w * s_w, c))
    return spread[:, : (h - 1) * s_h + 1, : (w - 1) * s_w + 1, :]


def im2col(x, kernel_size: IntPair, *, stride: IntPair = 1, padding: Padding = 0, dilation: IntPair = 1):
    """Every window of `x` that a convolution sees, flattened into one row each.

    With ``cols = im2col(x, (k_h, k_w), ...)`` and a kernel of shape
    (k_h, k_w, c_in, c_out), the convolution is one matrix product:

        conv2d(x, kernel, ...) == cols @ reshape(kernel, (k_h * k_w * c_in, c_out)).

    The entries of a row are ordered like the flattened kernel: kernel row ``i``,
    then column ``j``, then input channel ``q``. Reshaped to
    (batch * o_h * o_w, k_h * k_w * c_in), `cols` is the matrix of the "im2col"
    algorithm (Chellapilla et al., 2006).

    Args:
        x: input of shape (batch, height, width, c_in).
        kernel_size: positive int or (k_h, k_w).
        stride: positive int or (s_h, s_w).
        padding: int or (p_h, p_w) zeros on each side, or "valid" / "same".
        dilation: positive int or (d_h, d_w).

    Returns:
        Tensor of shape (batch, o_h, o_w, k_h * k_w * c_in), see `conv_output_shape`.

    Raises:
        ValueError: wrong rank, bad stride/padding/dilation, or a window larger than the
            padded input -- the message names the argument.
    """
    x = _as_float_tensor(x, "x", 4, "(batch, height, width, c_in)")
    k_hw = _pair(kernel_size, "kernel_size", minimum=1)
    stride = _pair(stride, "stride", minimum=1)
    dilation = _pair(dilation, "dilation", minimum=1)
    in_hw = tuple(x.shape[1:3])
    pads = _resolve_padding(padding, in_hw, k_hw, stride, dilation)
    o_h, o_w = _output_size(in_hw, k_hw, pads, stride, dilation, argument="kernel_size")
    return _im2col(_pad_spatial(x, pads), k_hw, (o_h, o_w), stride, dilation)


def conv2d_backward(x, kernel, grad_y, *, stride: IntPair = 1, padding: Padding = 0) -> tuple:
    """Gradients of a loss through ``y = conv2d(x, kernel, bias, stride=..., padding=...)``.

    Args:
        x: the layer's input, shape (batch, n_h, n_w, c_in).
        kernel: its weights, shape (k_h, k_w, c_in, c_out).
        grad_y: dL/dy, the gradient of the loss with respect to the layer's output,
            shape (batch, o_h, o_w, c_out) -- the output shape of the forward pass.
        stride: positive int or (s_h, s_w), as in the forward pass.
        padding: int or (p_h, p_w) zeros on each side, or "valid" / "same" (Keras'
            rule: the odd zero goes to the bottom/right), as in the forward pass.

    Returns:
        ``(grad_x, grad_kernel, grad_bias)`` of shapes (batch, n_h, n_w, c_in),
        (k_h, k_w, c_in, c_out) and (c_out,), in the floating dtype of `x`.

    Raises:
        ValueError: wrong rank, channel mismatch, a kernel larger than the padded
            input, or a `grad_y` whose shape is not the forward output's shape.
        TypeError: stride or padding of the wrong type.
    """
    x = _as_float_tensor(x, "x", 4, "(batch, n_h, n_w, c_in)")
    kernel = ops.cast(_as_float_tensor(kernel, "kernel", 4, "(k_h, k_w, c_in, c_out)"), x.dtype)
    grad_y = ops.cast(_as_float_tensor(grad_y, "grad_y", 4, "(batch, o_h, o_w, c_out)"), x.dtype)
    b, n_h, n_w, c_in = x.shape
    k_h, k_w, k_in, c_out = kernel.shape
    if k_in != c_in:
        raise ValueError(
            f"kernel has c_in={k_in} input channels but x has {c_in} "
            f"(kernel shape {tuple(kernel.shape)}, x shape {tuple(x.shape)})"
        )
    stride = _pair(stride, "stride", minimum=1)
    pads = _resolve_padding(padding, (n_h, n_w), (k_h, k_w), stride, (1, 1))
    o_h, o_w = _output_size((n_h, n_w), (k_h, k_w), pads, stride, (1, 1))
    expected = (b, o_h, o_w, c_out)
    if tuple(grad_y.shape) != expected:
        raise ValueError(
            f"grad_y must have the forward output's shape (batch, o_h, o_w, c_out) = {expected} "
            f"for x {tuple(x.shape)}, kernel {tuple(kernel.shape)}, stride {stride}, "
            f"padding {padding!r}; got {tuple(grad_y.shape)}"
        )
    (top, bottom), (left, right) = pads

    # dL/dbias: every output position of channel o adds bias[o].
    grad_bias = ops.sum(grad_y, axis=(0, 1, 2))

    # dL/dkernel = im2col(x)^T @ grad_y, summed over every output position in the batch.
    cols = _im2col(_pad_spatial(x, pads), (k_h, k_w), (o_h, o_w), stride, (1, 1))
    rows = k_h * k_w * c_in
    # (einsum, not ops.matmul: the latter computes float64 in float32 on PyTorch, see conv._matmul)
    grad_kernel = ops.einsum("nk,nc->kc", ops.reshape(cols, (-1, rows)), ops.reshape(grad_y, (-1, c_out)))
    grad_kernel = ops.reshape(grad_kernel, (k_h, k_w, c_in, c_out))

    # dL/dx: undo the stride (insert zeros), pad by k - 1 for a *full* convolution (plus
    # the rows/columns the forward windows never reached), correlate with the rotated,
    # channel-transposed kernel, and crop the forward padding away.
    spread = insert_zeros(grad_y, stride)
    extra_h = n_h + top + bottom - ((o_h - 1) * stride[0] + k_h)
    extra_w = n_w + left + right - ((o_w - 1) * stride[1] + k_w)
    spread = ops.pad(spread, [(0, 0), (k_h - 1, k_h - 1 + extra_h), (k_w - 1, k_w - 1 + extra_w), (0, 0)])
    rotated = ops.transpose(ops.flip(kernel, axis=(0, 1)), (0, 1, 3, 2))  # (k_h, k_w, c_out, c_in)
    grad_x_padded = conv2d(spread, rotated)  # (batch, n_h + top + bottom, n_w + left + right, c_in)
    grad_x = grad_x_padded[:, top: top + n_h, left: left + n_w, :]
    return grad_x, grad_kernel, grad_bias
