"""The figures every CNN textbook has, drawn by code so that they are reproducible.

Five conceptual diagrams for the convolution sections:

* `sliding_window`: a kernel on a zero-padded input, with stride; the window of one
  output cell, the cell, and the sum of products that makes it.
* `multi_channel_correlation`: each input channel cross-correlated with its kernel
  slice, and the per-channel results summed into one output channel.
* `pointwise_conv`: a 1x1 convolution as one dense layer applied at every pixel.
* `pooling_window`: a max or average pooling window and the output cell it makes.
* `network_flow`: a network's layers as a chain of boxes, with the shape after each.

The numbers in the drawings are computed by `d2lite.conv` (`corr2d`, `corr2d_multi_in`,
`corr2d_multi_in_out`, `pool2d`), never by a second implementation. Layouts are
channels-last as everywhere in the book: an image is (n_h, n_w, c), a kernel
(k_h, k_w, c_i[, c_o]); a multi-channel tensor is drawn as a stack of its channel grids.

Each function returns the Matplotlib figure; in a notebook, end the call with ``;`` so
that it is shown once. Every number drawn in a grid is a Text artist labelled
``"<grid>[r,c]"`` (``Text.get_label()``; grids are named ``input``, ``kernel``,
``output`` and so on, see each docstring); the shaded window is a patch labelled
``"window"`` and the output cell it makes one labelled ``"highlight"``, so that the
tests -- and curious readers -- can read a figure back. Colours are from the Okabe-Ito
palette, which stays distinct under the common forms of colour blindness: blue for the
window and the weights that act on it, orange for the output cell it makes.
"""

from __future__ import annotations

import functools
import numbers
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import numpy as np
from keras import ops

from d2lite import conv

if TYPE_CHECKING:
    import keras
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

IntPair = Union[int, "tuple[int, int]"]

__all__ = [
    "multi_channel_correlation",
    "network_flow",
    "pointwise_conv",
    "pooling_window",
    "sliding_window",
]

# ----------------------------------------------------------------------------- style

# Okabe-Ito colours (colour-blind safe) and the greys of the grids.
_BLUE, _SKY, _ORANGE, _VERMILION = "#0072B2", "#56B4E9", "#E69F00", "#D55E00"
_GREEN, _PURPLE = "#009E73", "#CC79A7"
_INK, _EDGE, _PAD_FILL, _PAD_INK = "#222222", "#8C8C8C", "#E3E3E3", "#6E6E6E"

_CELL_IN = 0.42  # side of one grid cell, in inches, when the figure is narrow enough
_MAX_WIDTH_IN = 6.8  # the book's text column is about 700 px wide (dpi 100)
_MAX_CELLS = 12  # larger grids are unreadable at the book's width
_MAX_CHANNELS = 4


def _tint(color: str, amount: float) -> tuple:
    """`color` mixed with white: amount 1 is the colour, 0 is white."""
    from matplotlib.colors import to_rgb

    return tuple(1 - amount * (1 - v) for v in to_rgb(color))


# --------------------------------------------------------------------------- checks


def _array(x, name: str, ndim: int, layout: str) -> np.ndarray:
    """`x` (array or tensor) as a finite float NumPy array of rank `ndim`, or raise."""
    try:
        a = np.asarray(ops.convert_to_numpy(x))
    except Exception as err:
        raise TypeError(
            f"{name} must be an array or tensor {layout}, got {type(x).__name__}"
        ) from err
    if a.dtype == bool or not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must have shape {layout}, got shape {a.shape}")
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be non-empty and finite, got shape {a.shape}")
    return a.astype("float64")


def _drawable(name: str, shape: tuple, limit: int = _MAX_CELLS) -> None:
    if max(shape) > limit:
        raise ValueError(
            f"{name} ({_by(shape)}) is too large to draw; at most {limit} rows and columns fit "
            "the book's width"
        )


def _at(at, out_shape: tuple[int, int], what: str = "output") -> tuple[int, int]:
    """Check that `at` is an (r, c) pair of ints inside an array of shape `out_shape`."""
    if (isinstance(at, (str, bytes)) or not hasattr(at, "__len__") or len(at) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in at)):
        raise TypeError(f"at must be a pair of ints (row, column), got {at!r}")
    r, c = int(at[0]), int(at[1])
    if not (0 <= r < out_shape[0] and 0 <= c < out_shape[1]):
        raise ValueError(
            f"at={tuple(at)!r} is outside the {what}, whose shape is {_by(out_shape)}: "
            f"rows 0..{out_shape[0] - 1}, columns 0..{out_shape[1] - 1}"
        )
    return r, c


def _fits(kernel_name: str, k_hw, n_hw, pads) -> None:
    """Raise if a k_h x k_w window does not fit the padded n_h x n_w input."""
    padded = (n_hw[0] + 2 * pads[0], n_hw[1] + 2 * pads[1])
    if k_hw[0] > padded[0] or k_hw[1] > padded[1]:
        where = (f"the padded input ({_by(padded)}: {_by(n_hw)} plus padding {tuple(pads)} "
                 "on each side)" if any(pads) else f"the input ({_by(n_hw)})")
        raise ValueError(f"{kernel_name} ({_by(k_hw)}) is larger than {where}")


# ------------------------------------------------------------------------ formatting


def _by(shape) -> str:
    """(3, 4) -> '3×4'."""
    return "×".join(str(int(v)) for v in shape)


def _fmt(v: float) -> str:
    """A number as the drawings write it: integers without '.0', a true minus sign."""
    v = float(v)
    if abs(v - round(v)) < 1e-9:
        s = str(round(v))
    else:
        s = f"{v:.2f}".rstrip("0").rstrip(".")
    return s.replace("-", "\u2212")


def _count(n: int, noun: str) -> str:
    """3, 'channel' -> '3 channels'; 1 -> '1 channel'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _factor(v: float) -> str:
    """A number as a factor in a product: negative ones in parentheses."""
    s = _fmt(v)
    return f"({s})" if s.startswith("\u2212") else s


def _products(a, b) -> str:
    """'a0·b0 + a1·b1 + ...' for two equally long sequences."""
    return " + ".join(f"{_factor(x)}·{_factor(y)}" for x, y in zip(a, b))


# -------------------------------------------------------------------------- drawing


def _text_width(text: str, fontsize: float) -> float:
    """Width in points of `text` (mathtext between $ signs allowed) at `fontsize`.

    The larger of the widths in a PNG at 100 dpi (hinted glyphs, a little wider) and in
    an SVG (glyph outlines), the two ways the book renders figures. Math and plain parts
    are measured apart: parsing long mixed strings as mathtext is slow.
    """
    return sum(_part_width(part, fontsize) for part in re.split(r"(\$[^$]*\$)", text) if part)


@functools.lru_cache(maxsize=4096)
def _part_width(text: str, fontsize: float) -> float:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop, ismath = FontProperties(size=fontsize), text.startswith("$")
    outline, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=ismath)
    hinted, _, _ = RendererAgg(1, 1, 100).get_text_width_height_descent(text, prop, ismath)
    return max(float(outline), float(hinted) * 72 / 100)


def _wrap(text: str, fontsize: float, room: float) -> list[str]:
    """Greedy word wrap of `text` into lines at most `room` points wide (measured)."""
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and _text_width(trial, fontsize) > room:
                lines.append(line)
                line = "    " + word  # continuation lines are indented
            else:
                line = trial
        lines.append(line)
    return lines


class _Canvas:
    """One Axes in grid units (one cell = 1), y pointing down, sized to the content.

    The figure is `width` x `height` cells of `_CELL_IN` inches (narrower cells when that
    would be wider than the book's column), plus the caption underneath, wrapped to the
    column; a caption wider than the drawing widens the figure, keeping it centred.
    """

    def __init__(self, width: float, height: float, caption: str = "", ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            unit_in = min(_CELL_IN, _MAX_WIDTH_IN / width)
        else:
            bbox = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
            unit_in = min(bbox.width / width, bbox.height / height)
        self.pt = unit_in * 72  # points per grid unit
        self.fs_title = float(np.clip(0.31 * self.pt, 8.0, 10.5))
        self.fs_caption = float(np.clip(0.33 * self.pt, 8.5, 11.0))
        room = (_MAX_WIDTH_IN if ax is None else max(width * unit_in, 1.0)) * 72 - 12
        lines = _wrap(caption, self.fs_caption, room) if caption else []
        caption_w = max((_text_width(line, self.fs_caption) for line in lines), default=0)
        extra = max(0.0, (caption_w + 12) / self.pt - width) if ax is None else 0.0
        line_h = 1.4 * self.fs_caption / self.pt
        self.caption_top = height + 0.45
        height = height + (0.6 + len(lines) * line_h if lines else 0.15)
        if ax is None:
            self.fig = plt.figure(figsize=((width + extra) * unit_in, height * unit_in))
            ax = self.fig.add_axes((0, 0, 1, 1))
        else:
            self.fig = ax.figure
        self.ax = ax
        ax.set_xlim(-extra / 2, width + extra / 2)
        ax.set_ylim(height, 0)
        ax.set_aspect("equal")
        ax.axis("off")
        if lines:
            t = ax.text(width / 2, self.caption_top, "\n".join(lines), ha="center", va="top",
                        multialignment="left", fontsize=self.fs_caption, color=_INK,
                        linespacing=1.3)
            t.set_label("caption")

    def number_size(self, values) -> float:
        longest = max(len(_fmt(v)) for v in np.ravel(values))
        return float(min(0.4 * self.pt, 12.0, 0.74 * self.pt / (0.62 * max(longest, 1))))

    def grid(self, values, x0: float, y0: float, name: str, *, fills=None, inks=None,
             weights=None, fontsize: float | None = None) -> None:
        """Draw a 2-D array as a grid of numbers with its top-left corner at (x0, y0)."""
        from matplotlib.patches import Rectangle

        values = np.asarray(values)
        fs = fontsize or self.number_size(values)
        for (r, c), v in np.ndenumerate(values):
            face = "white" if fills is None else fills[r][c]
            self.ax.add_artist(Rectangle((x0 + c, y0 + r), 1, 1, facecolor=face, edgecolor=_EDGE,
                                        linewidth=0.8, zorder=1))
            t = self.ax.text(x0 + c + 0.5, y0 + r + 0.5, _fmt(v), ha="center",
                             va="center_baseline", fontsize=fs, zorder=5,
                             color=_INK if inks is None else inks[r][c],
                             fontweight="normal" if weights is None else weights[r][c])
            t.set_label(f"{name}[{r},{c}]")

    def box(self, x: float, y: float, w: float, h: float, *, edge=None, face=None,
            alpha: float = 1.0, lw: float = 2.2, ls: str = "-", label: str = "",
            zorder: float = 3) -> None:
        from matplotlib.patches import Rectangle

        patch = Rectangle((x, y), w, h, facecolor=face or "none", edgecolor=edge or "none",
                          alpha=alpha, linewidth=lw, linestyle=ls, zorder=zorder)
        patch.set_label(label)
        self.ax.add_artist(patch)
        if face and edge and alpha < 1:  # keep the outline opaque
            self.box(x, y, w, h, edge=edge, lw=lw, ls=ls, label=f"_{label}_edge", zorder=zorder)

    def title(self, x: float, y: float, text: str) -> None:
        """Text centred at x whose bottom sits just above y."""
        t = self.ax.text(x, y - 0.18, text, ha="center", va="bottom", fontsize=self.fs_title,
                         color=_INK, linespacing=1.2)
        t.set_label("title")

    def symbol(self, x: float, y: float, text: str, scale: float = 0.6) -> None:
        t = self.ax.text(x, y, text, ha="center", va="center", fontsize=scale * self.pt,
                         color=_INK)
        t.set_label("symbol")


def _window_fills(shape, pads, fill="white"):
    """Cell colours of a padded grid: grey for padding, `fill` inside."""
    h, w = shape
    fills = [[fill] * w for _ in range(h)]
    inks = [[_INK] * w for _ in range(h)]
    for r in range(h):
        for c in range(w):
            if not (pads[0] <= r < h - pads[0] and pads[1] <= c < w - pads[1]):
                fills[r][c], inks[r][c] = _PAD_FILL, _PAD_INK
    return fills, inks


def _neighbour(at, out_shape):
    """An output position next to `at` (right, left, below or above), or None."""
    r, c = at
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        if 0 <= r + dr < out_shape[0] and 0 <= c + dc < out_shape[1]:
            return r + dr, c + dc
    return None


def _highlight_output(cv: _Canvas, x0: float, y0: float, at, *, strong: bool = True) -> None:
    r, c = at
    cv.box(x0 + c, y0 + r, 1, 1, face=_ORANGE, edge=_VERMILION if strong else None,
           alpha=0.45 if strong else 0.25, lw=2.2, label="highlight" if strong else "_cell",
           zorder=2)


def _draw_window(cv: _Canvas, x0: float, y0: float, at, k_hw, stride, out_shape,
                 *, show_stride: bool = True) -> None:
    """The window of output cell `at` on a grid at (x0, y0); a dashed next position."""
    r, c = at
    top, left = r * stride[0], c * stride[1]
    if show_stride:
        other = _neighbour(at, out_shape)
        if other is not None:
            cv.box(x0 + other[1] * stride[1], y0 + other[0] * stride[0], k_hw[1], k_hw[0],
                   edge=_BLUE, lw=1.3, ls=(0, (3, 2)), label="next window", zorder=3)
    cv.box(x0 + left, y0 + top, k_hw[1], k_hw[0], face=_SKY, edge=_BLUE, alpha=0.35,
           label="window", zorder=2)


def _pad_text(pads, stride) -> str:
    p = str(pads[0]) if pads[0] == pads[1] else f"({pads[0]}, {pads[1]})"
    s = str(stride[0]) if stride[0] == stride[1] else f"({stride[0]}, {stride[1]})"
    return f"padding {p}, stride {s}"


# ------------------------------------------------------------------ sliding window


def sliding_window(X: ArrayLike, K: ArrayLike, *, padding: IntPair = 0, stride: IntPair = 1,
                   at: tuple[int, int] = (0, 0), ax: Axes | None = None) -> Figure:
    """A kernel sliding over a zero-padded input with stride, and the cell it makes.

    Draws the padded input (padding cells grey), the window of output cell `at`
    (shaded, with the next window position dashed to show the stride), the kernel, and
    the output with cell `at` highlighted; under them, the sum of products for that cell.
    The output is computed by `d2lite.corr2d`.

    Args:
        X: input of shape (n_h, n_w), small numbers (integers read best).
        K: kernel of shape (k_h, k_w), no larger than the padded input.
        padding: int or (p_h, p_w) zeros added on each side.
        stride: positive int or (s_h, s_w).
        at: (row, column) of the output cell to explain.
        ax: optional Matplotlib axes to draw in; a new figure by default.

    Returns:
        The Matplotlib figure. Its grids are labelled ``input`` (padded coordinates),
        ``kernel`` and ``output``.

    Raises:
        ValueError: wrong rank, a kernel larger than the padded input, `at` outside the
            output, or grids too large to draw.
        TypeError: non-numeric arrays, or padding / stride / at of the wrong type.
    """
    X = _array(X, "X", 2, "(n_h, n_w)")
    K = _array(K, "K", 2, "(k_h, k_w)")
    pads = conv._pair(padding, "padding", minimum=0)
    stride = conv._pair(stride, "stride", minimum=1)
    _fits("K", K.shape, X.shape, pads)
    Xp = np.pad(X, [(pads[0], pads[0]), (pads[1], pads[1])])
    _drawable("the padded input", Xp.shape)
    Y = ops.convert_to_numpy(conv.corr2d(X, K, stride=stride, padding=pads))
    r, c = _at(at, Y.shape)

    top, left = r * stride[0], c * stride[1]
    window = Xp[top: top + K.shape[0], left: left + K.shape[1]]
    caption = (f"$[\\mathbf{{Y}}]_{{{r},{c}}}$ = {_products(window.ravel(), K.ravel())} "
               f"= {_fmt(Y[r, c])}")

    gap = 1.7
    heights = (Xp.shape[0], K.shape[0], Y.shape[0])
    width = Xp.shape[1] + K.shape[1] + Y.shape[1] + 2 * gap
    head = 1.5  # room for two-line titles
    cv = _Canvas(width + 0.2, head + max(heights), caption, ax)
    xs = (0.1, 0.1 + Xp.shape[1] + gap, 0.1 + Xp.shape[1] + K.shape[1] + 2 * gap)
    mid = head + max(heights) / 2
    ys = [mid - h / 2 for h in heights]

    fills, inks = _window_fills(Xp.shape, pads)
    cv.grid(Xp, xs[0], ys[0], "input", fills=fills, inks=inks)
    _draw_window(cv, xs[0], ys[0], (r, c), K.shape, stride, Y.shape)
    cv.grid(K, xs[1], ys[1], "kernel", fills=[[_tint(_SKY, 0.35)] * K.shape[1]] * K.shape[0])
    cv.grid(Y, xs[2], ys[2], "output")
    _highlight_output(cv, xs[2], ys[2], (r, c))

    padded = f"padded by {pads[0]}" if pads[0] == pads[1] else f"padded by {pads}"
    cv.title(xs[0] + Xp.shape[1] / 2, ys[0],
             f"input {_by(X.shape)}, {padded}" if any(pads) else f"input {_by(X.shape)}")
    cv.title(xs[1] + K.shape[1] / 2, ys[1], f"kernel\n{_by(K.shape)}")
    s_text = str(stride[0]) if stride[0] == stride[1] else str(stride)
    cv.title(xs[2] + Y.shape[1] / 2, ys[2], f"output {_by(Y.shape)}\nstride {s_text}")
    cv.symbol(xs[1] - gap / 2, mid, r"$\star$", scale=0.9)
    cv.symbol(xs[2] - gap / 2, mid, "=")
    return cv.fig


# ------------------------------------------------------- multi-channel correlation


def multi_channel_correlation(X: ArrayLike, K: ArrayLike, *, at: tuple[int, int] = (0, 0),
                              padding: IntPair = 0, stride: IntPair = 1,
                              ax: Axes | None = None) -> Figure:
    """Cross-correlation of a multi-channel input: one row per channel, then the sum.

    Row ``q`` shows input channel ``X[:, :, q]``, kernel slice ``K[:, :, q]`` and their
    cross-correlation (`d2lite.corr2d`); the last column is the sum over channels, the
    output (`d2lite.corr2d_multi_in`). The window of output cell `at` is shaded in
    every channel and its arithmetic is written underneath.

    Args:
        X: input of shape (n_h, n_w, c_i), channels-last, at most 4 channels.
        K: one kernel of shape (k_h, k_w, c_i): one slice per input channel (for a
            Keras kernel (k_h, k_w, c_i, c_o) pass ``K[..., o]``).
        at: (row, column) of the output cell to explain.
        padding: int or (p_h, p_w) zeros added on each side.
        stride: positive int or (s_h, s_w).
        ax: optional Matplotlib axes to draw in.

    Returns:
        The Matplotlib figure; grids labelled ``input{q}``, ``kernel{q}``, ``partial{q}``
        (channel q's result) and ``output``.

    Raises:
        ValueError: wrong ranks, channel counts that differ, a kernel larger than the
            padded input, `at` outside the output, or too much to draw.
        TypeError: non-numeric arrays, or padding / stride / at of the wrong type.
    """
    X = _array(X, "X", 3, "(n_h, n_w, c_i)")
    K = _array(K, "K", 3, "(k_h, k_w, c_i)")
    if K.shape[2] != X.shape[2]:
        raise ValueError(
            f"K must have one slice per input channel: X has c_i={X.shape[2]} channels but "
            f"K has shape {K.shape}, expected ({K.shape[0]}, {K.shape[1]}, {X.shape[2]})"
        )
    c_i = X.shape[2]
    if c_i > _MAX_CHANNELS:
        raise ValueError(f"X has {c_i} channels; at most {_MAX_CHANNELS} can be drawn")
    pads = conv._pair(padding, "padding", minimum=0)
    stride = conv._pair(stride, "stride", minimum=1)
    _fits("K", K.shape[:2], X.shape[:2], pads)
    Xp = np.pad(X, [(pads[0], pads[0]), (pads[1], pads[1]), (0, 0)])
    _drawable("the padded input", Xp.shape[:2], 8)
    partials = [ops.convert_to_numpy(conv.corr2d(X[:, :, q], K[:, :, q], stride=stride,
                                                 padding=pads)) for q in range(c_i)]
    Y = ops.convert_to_numpy(conv.corr2d_multi_in(X, K, stride=stride, padding=pads))
    r, c = _at(at, Y.shape)

    top, left = r * stride[0], c * stride[1]
    k_h, k_w = K.shape[:2]
    groups = [f"({_products(Xp[top: top + k_h, left: left + k_w, q].ravel(), K[:, :, q].ravel())})"
              for q in range(c_i)]
    sums = " + ".join(_factor(p[r, c]) for p in partials)
    caption = (f"$[\\mathbf{{Y}}]_{{{r},{c}}}$ = {' + '.join(groups)} = {sums} "
               f"= {_fmt(Y[r, c])}")

    gap, row_gap, head = 1.6, 0.9, 1.5
    row_h = max(Xp.shape[0], k_h, Y.shape[0])
    height = head + c_i * row_h + (c_i - 1) * row_gap
    widths = (Xp.shape[1], k_w, Y.shape[1], Y.shape[1])
    xs, x = [], 1.2  # room on the left for the row labels
    for w in widths:
        xs.append(x)
        x += w + gap
    cv = _Canvas(x - gap + 0.2, height, caption, ax)

    fills, inks = _window_fills(Xp.shape[:2], pads)
    slice_fill = [[_tint(_SKY, 0.35)] * k_w] * k_h
    for q in range(c_i):
        y_row = head + q * (row_h + row_gap)
        mid = y_row + row_h / 2
        ys = [mid - h / 2 for h in (Xp.shape[0], k_h, Y.shape[0])]
        cv.grid(Xp[:, :, q], xs[0], ys[0], f"input{q}", fills=fills, inks=inks)
        _draw_window(cv, xs[0], ys[0], (r, c), (k_h, k_w), stride, Y.shape, show_stride=False)
        cv.grid(K[:, :, q], xs[1], ys[1], f"kernel{q}", fills=slice_fill)
        cv.grid(partials[q], xs[2], ys[2], f"partial{q}")
        _highlight_output(cv, xs[2], ys[2], (r, c), strong=False)
        t = cv.ax.text(xs[0] - 0.35, mid, f"q = {q}", ha="right", va="center",
                       fontsize=cv.fs_title, color=_INK, rotation=90)
        t.set_label("title")
        cv.symbol(xs[1] - gap / 2, mid, r"$\star$", scale=0.9)
        cv.symbol(xs[2] - gap / 2, mid, "=")
        if q < c_i - 1:
            cv.symbol(xs[2] + Y.shape[1] / 2, y_row + row_h + row_gap / 2, "+", scale=0.55)
    mid = head + (height - head) / 2
    y_out = mid - Y.shape[0] / 2
    cv.grid(Y, xs[3], y_out, "output")
    _highlight_output(cv, xs[3], y_out, (r, c))
    cv.symbol(xs[3] - gap / 2, mid, "=")

    y_first = head + (row_h - max(Xp.shape[0], k_h, Y.shape[0])) / 2
    cv.title(xs[0] + Xp.shape[1] / 2, y_first + (row_h - Xp.shape[0]) / 2,
             "input\nchannels")
    cv.title(xs[1] + k_w / 2, y_first + (row_h - k_h) / 2, "kernel\nslices")
    cv.title(xs[2] + Y.shape[1] / 2, y_first + (row_h - Y.shape[0]) / 2, "per\nchannel")
    cv.title(xs[3] + Y.shape[1] / 2, y_out, "sum =\noutput")
    return cv.fig


# ------------------------------------------------------------- 1x1 convolution


def pointwise_conv(c_i: int = 3, c_o: int = 2, *, size: IntPair = (3, 3),
                   at: tuple[int, int] = (1, 1), seed: int = 0,
                   ax: Axes | None = None) -> Figure:
    """A 1x1 convolution as a dense layer applied at every pixel.

    Left, the input's ``c_i`` channel grids (random integers from a generator seeded
    with `seed`), with pixel `at` highlighted in each; middle, that pixel's vector of
    ``c_i`` values times the ``c_i × c_o`` weight matrix ``W`` (the book's
    ``[K]_{0,0,:,:}``, the same at every pixel) gives the pixel's ``c_o`` output values;
    right, the ``c_o`` output channels (`d2lite.corr2d_multi_in_out` with the kernel
    ``W`` reshaped to (1, 1, c_i, c_o)), the same pixel highlighted.

    Args:
        c_i, c_o: numbers of input and output channels, 1 to 4.
        size: (n_h, n_w) of the image, each 1 to 6 (or one int).
        at: (row, column) of the pixel to explain.
        seed: seed of the NumPy generator that draws the numbers.
        ax: optional Matplotlib axes to draw in.

    Returns:
        The Matplotlib figure; grids labelled ``input{q}``, ``output{o}``, ``pixel``
        (1, c_i), ``weights`` (c_i, c_o) and ``result`` (1, c_o).

    Raises:
        ValueError: channel counts or size out of range, or `at` outside the image.
        TypeError: arguments of the wrong type.
    """
    for name, value in (("c_i", c_i), ("c_o", c_o)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if not 1 <= value <= _MAX_CHANNELS:
            raise ValueError(f"{name} must be between 1 and {_MAX_CHANNELS}, got {value!r}")
    n_h, n_w = conv._pair(size, "size", minimum=1)
    _drawable("size", (n_h, n_w), 6)
    r, c = _at(at, (n_h, n_w), "image")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    X = rng.integers(0, 5, size=(n_h, n_w, c_i)).astype("float64")
    W = rng.integers(-2, 3, size=(c_i, c_o)).astype("float64")
    Y = ops.convert_to_numpy(conv.corr2d_multi_in_out(X, W.reshape(1, 1, c_i, c_o)))
    x, y = X[r, c], Y[r, c]
    caption = "\n".join(
        f"$[\\mathsf{{Y}}]_{{{r},{c},{o}}}$ = {_products(x, W[:, o])} = {_fmt(y[o])}"
        for o in range(c_o))

    gap, stack_gap, head = 1.7, 0.6, 1.5
    stack = max(c_i * n_h + (c_i - 1) * stack_gap, c_o * n_h + (c_o - 1) * stack_gap, c_i + 1)
    widths = (n_w, c_i, c_o, c_o, n_w)
    gaps = (gap, 1.3, 1.3, gap + 0.6)  # room for the output stack's labels
    xs, pos = [], 1.1
    for i, w in enumerate(widths):
        xs.append(pos)
        pos += w + (gaps[i] if i < len(gaps) else 0)
    cv = _Canvas(pos + 0.2, head + stack, caption, ax)
    mid = head + stack / 2

    def channel_stack(count, grids, prefix, highlight_strong):
        y0 = mid - (count * n_h + (count - 1) * stack_gap) / 2
        for k in range(count):
            yk = y0 + k * (n_h + stack_gap)
            cv.grid(grids[:, :, k], xs[0] if prefix == "input" else xs[4], yk, f"{prefix}{k}")
            x0 = xs[0] if prefix == "input" else xs[4]
            cv.box(x0 + c, yk + r, 1, 1, face=highlight_strong[0], edge=highlight_strong[1],
                   alpha=0.4, label=f"highlight-{prefix}{k}", zorder=2)
            index = "q" if prefix == "input" else "o"
            label = cv.ax.text(x0 - 0.3, yk + n_h / 2, f"{index} = {k}", ha="right",
                               va="center", fontsize=cv.fs_title, color=_INK, rotation=90)
            label.set_label("title")
        return y0

    y_in = channel_stack(c_i, X, "input", (_SKY, _BLUE))
    y_out = channel_stack(c_o, Y, "output", (_ORANGE, _VERMILION))
    cv.title(xs[0] + n_w / 2, y_in, f"input\n{_count(c_i, 'channel')}")
    cv.title(xs[4] + n_w / 2, y_out, f"output\n{_count(c_o, 'channel')}")

    y_vec = mid - 0.5
    y_w = mid - c_i / 2
    cv.grid(x[None, :], xs[1], y_vec, "pixel", fills=[[_tint(_SKY, 0.4)] * c_i])
    cv.grid(W, xs[2], y_w, "weights", fills=[[_tint(_GREEN, 0.25)] * c_o] * c_i)
    cv.grid(y[None, :], xs[3], y_vec, "result", fills=[[_tint(_ORANGE, 0.45)] * c_o])
    cv.title(xs[1] + c_i / 2, y_vec, f"pixel {(r, c)}\n$\\mathbf{{x}}$: {_count(c_i, 'value')}")
    cv.title(xs[2] + c_o / 2, y_w, f"$\\mathbf{{W}}$: {c_i}×{c_o}\nsame at all pixels")
    cv.title(xs[3] + c_o / 2, y_vec, f"$\\mathbf{{x}}\\mathbf{{W}}$\n{_count(c_o, 'value')}")
    cv.symbol(xs[1] - gap / 2, mid, "→")
    cv.symbol(xs[2] - 0.65, mid, "·")
    cv.symbol(xs[3] - 0.65, mid, "=")
    cv.symbol(xs[3] + c_o + gap / 2, mid, "→")
    return cv.fig


# ----------------------------------------------------------------------- pooling


def pooling_window(X: ArrayLike, *, pool: IntPair = 2, stride: IntPair | None = None,
                   at: tuple[int, int] = (0, 0), mode: str = "max",
                   ax: Axes | None = None) -> Figure:
    """A pooling window on the input and the output cell it makes.

    The output is `d2lite.pool2d` of `X`; the window of output cell `at` is shaded
    (the next window position dashed), and for max pooling the winning input cell is
    written in bold. Underneath: the max or the mean of the window's values.

    Args:
        X: input of shape (n_h, n_w).
        pool: window size, positive int or (k_h, k_w), no larger than the input.
        stride: positive int or (s_h, s_w); defaults to `pool`, as in Keras.
        at: (row, column) of the output cell to explain.
        mode: "max" or "avg".
        ax: optional Matplotlib axes to draw in.

    Returns:
        The Matplotlib figure; grids labelled ``input`` and ``output``.

    Raises:
        ValueError: wrong rank, unknown mode, a window larger than the input, `at`
            outside the output, or a grid too large to draw.
        TypeError: non-numeric input, or pool / stride / at of the wrong type.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {mode!r}')
    X = _array(X, "X", 2, "(n_h, n_w)")
    _drawable("X", X.shape)
    k_hw = conv._pair(pool, "pool", minimum=1)
    stride = k_hw if stride is None else conv._pair(stride, "stride", minimum=1)
    _fits("pool", k_hw, X.shape, (0, 0))
    Y = ops.convert_to_numpy(conv.pool2d(X, k_hw, stride=stride, mode=mode))
    r, c = _at(at, Y.shape)

    top, left = r * stride[0], c * stride[1]
    window = X[top: top + k_hw[0], left: left + k_hw[1]]
    values = ", ".join(_fmt(v) for v in window.ravel())
    if mode == "max":
        caption = f"$[\\mathbf{{Y}}]_{{{r},{c}}}$ = max({values}) = {_fmt(Y[r, c])}"
    else:
        total = " + ".join(_fmt(v) for v in window.ravel())
        caption = (f"$[\\mathbf{{Y}}]_{{{r},{c}}}$ = ({total}) / {window.size} "
                   f"= {_fmt(Y[r, c])}")

    gap, head = 2.6, 1.5
    width = X.shape[1] + gap + Y.shape[1]
    cv = _Canvas(width + 0.2, head + max(X.shape[0], Y.shape[0]), caption, ax)
    mid = head + max(X.shape[0], Y.shape[0]) / 2
    xs = (0.1, 0.1 + X.shape[1] + gap)
    ys = (mid - X.shape[0] / 2, mid - Y.shape[0] / 2)

    weights = inks = None
    if mode == "max":  # the first cell holding the maximum, as np.argmax picks it
        i, j = np.unravel_index(np.argmax(window), window.shape)
        weights = [["normal"] * X.shape[1] for _ in range(X.shape[0])]
        inks = [[_INK] * X.shape[1] for _ in range(X.shape[0])]
        weights[top + i][left + j], inks[top + i][left + j] = "bold", _VERMILION
    cv.grid(X, xs[0], ys[0], "input", weights=weights, inks=inks)
    _draw_window(cv, xs[0], ys[0], (r, c), k_hw, stride, Y.shape)
    cv.grid(Y, xs[1], ys[1], "output")
    _highlight_output(cv, xs[1], ys[1], (r, c))

    kind = "max pooling" if mode == "max" else "average pooling"
    s_text = str(stride[0]) if stride[0] == stride[1] else str(stride)
    cv.title(xs[0] + X.shape[1] / 2, ys[0], f"input {_by(X.shape)}\nwindow {_by(k_hw)}")
    cv.title(xs[1] + Y.shape[1] / 2, ys[1], f"output {_by(Y.shape)}\nstride {s_text}")
    cv.symbol(xs[1] - gap / 2, mid - 0.35, "→")
    t = cv.ax.text(xs[1] - gap / 2, mid + 0.3, kind.replace(" ", "\n"), ha="center",
                   va="top", fontsize=cv.fs_title, color=_INK, linespacing=1.2)
    t.set_label("title")
    return cv.fig


# ------------------------------------------------------------------ network flow

_KIND_COLOURS = {"conv": _SKY, "pool": _ORANGE, "dense": _GREEN, "other": "#BBBBBB"}
_FOLDED = ("Activation", "BatchNormalization", "Dropout", "ReLU")


def _pair_text(value) -> str:
    """5 or (5, 5) -> '5×5'."""
    value = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return _by(value)


def _stride_text(value) -> str:
    """2 or (2, 2) -> '2'; (1, 2) -> '(1, 2)'."""
    value = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return str(value[0]) if value[0] == value[1] else f"({value[0]}, {value[1]})"


def _layer_kind(layer) -> str:
    name = type(layer).__name__
    if "Conv" in name:
        return "conv"
    if "Pool" in name:
        return "pool"
    if name == "Dense":
        return "dense"
    return "other"


def _activation_name(layer) -> str | None:
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None) if act is not None else None
    return None if name in (None, "linear") else name


_DESCRIBED = ("kernel_size", "filters", "strides", "padding", "pool_size", "units", "rate")


def _describe(layer) -> str:
    """'Conv2D 5×5, 6 channels, padding same', 'AveragePooling2D 2×2', 'Dense 120', ..."""
    name = type(layer).__name__
    # The layer's attributes, not get_config(): on JAX and PyTorch, Keras's serialisation
    # imports TensorFlow when it is installed, and with it TensorFlow's start-up logs.
    cfg = {key: getattr(layer, key) for key in _DESCRIBED if hasattr(layer, key)}
    if "Conv" in name and "kernel_size" in cfg:
        text = f"{name} {_pair_text(cfg['kernel_size'])}, {cfg['filters']} channels"
        if tuple(cfg.get("strides", (1, 1))) != (1, 1):
            text += f", stride {_stride_text(cfg['strides'])}"
        if cfg.get("padding") == "same":
            text += ", padding same"
    elif "Pool" in name and "pool_size" in cfg:
        strides = cfg.get("strides") or cfg["pool_size"]
        text = f"{name} {_pair_text(cfg['pool_size'])}, stride {_stride_text(strides)}"
    elif name == "Dense":
        text = f"Dense {cfg['units']}"
    elif name == "Activation":
        text = getattr(layer.activation, "__name__", str(layer.activation))
    elif name == "BatchNormalization":
        text = "batch norm"
    elif name == "Dropout":
        text = f"dropout {cfg.get('rate')}"
    else:
        text = name
    act = _activation_name(layer) if name != "Activation" else None
    return f"{text}, {act}" if act else text


def _shape_text(shape) -> str:
    dims = [int(d) for d in shape if d is not None]
    return " × ".join(str(d) for d in dims)


def _flow_rows(model, input_shape):
    """(name, description, kind, shape) for the input and each (folded) layer."""
    import keras

    if input_shape is None:
        try:
            input_shape = tuple(model.inputs[0].shape[1:])
        except (AttributeError, IndexError, ValueError) as err:
            raise ValueError(
                "model has no input shape yet; pass input_shape=(n_h, n_w, c) or build it "
                "with keras.Input"
            ) from err
    elif (not isinstance(input_shape, (tuple, list))
          or not all(isinstance(v, numbers.Integral) and v > 0 for v in input_shape)):
        raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}")
    shape = (None, *input_shape)
    rows = [["input", "", "other", shape]]
    sequential = isinstance(model, keras.Sequential)
    for layer in model.layers:
        if sequential:
            shape = tuple(layer.compute_output_shape(shape))
        else:
            shape = tuple(layer.output.shape)
        if type(layer).__name__ == "InputLayer":
            continue
        if type(layer).__name__ in _FOLDED and len(rows) > 1:
            rows[-1][1] += f", {_describe(layer)}"
            rows[-1][3] = shape
            continue
        rows.append([layer.name, _describe(layer), _layer_kind(layer), shape])
    return [tuple(row) for row in rows]


def network_flow(model: keras.Model | Sequence[tuple[str, tuple]], *,
                 input_shape: tuple[int, ...] | None = None,
                 ax: Axes | None = None) -> Figure:
    """A network's layers as a vertical chain of boxes, with the shape after each.

    Each box names a layer, says what it is ("Conv2D 5×5, 6 channels, same, sigmoid")
    and gives the shape of one example after it, without the batch axis
    ("28 × 28 × 6"). Activation, batch-normalisation and dropout layers, which keep
    the shape, are folded into the box of the layer before them. Convolutions are
    blue, pooling layers orange, dense layers green.

    Args:
        model: a `keras.Model` whose input shape is known (built with `keras.Input`, as
            `d2lite.models.lenet` is), or a sequence of ``(label, shape)`` pairs, the
            first one being the input.
        input_shape: (n_h, n_w, c) of one example, for a Sequential model built
            without `keras.Input`.
        ax: optional Matplotlib axes to draw in.

    Returns:
        The Matplotlib figure; box texts are labelled ``name{i}``, ``layer{i}`` and
        ``shape{i}``, i = 0 for the input.

    Raises:
        TypeError: if `model` is neither a Keras model nor a sequence of pairs.
        ValueError: if the input shape is unknown or a pair is malformed.
    """
    import keras

    if isinstance(model, keras.Model):
        rows = _flow_rows(model, input_shape)
    elif isinstance(model, Sequence) and not isinstance(model, (str, bytes)):
        rows = []
        for i, item in enumerate(model):
            if (not isinstance(item, (tuple, list)) or len(item) != 2
                    or not isinstance(item[0], str)):
                raise ValueError(f"model[{i}] must be a (label, shape) pair, got {item!r}")
            rows.append(("", item[0], "other", (None, *tuple(item[1]))))
        if not rows:
            raise ValueError("model must hold at least one (label, shape) pair")
    else:
        raise TypeError(f"model must be a keras.Model or a list of (label, shape) pairs, "
                        f"got {type(model).__name__}")

    texts = [(name, text or ("image" if i == 0 else ""), _shape_text(shape))
             for i, (name, text, _, shape) in enumerate(rows)]
    fs0, pad, sep = 10.0, 8.0, 16.0  # font size and spacing (points) before fitting
    name_pt, text_pt, shape_pt = (max(_text_width(row[k], fs0) for row in texts) * bold
                                  for k, bold in ((0, 1.12), (1, 1.0), (2, 1.12)))
    needed = 2 * pad + name_pt + text_pt + shape_pt + 2 * sep
    box_h, gap, head = 0.78, 0.5, 0.8
    height = head + len(rows) * (box_h + gap) - gap + 0.15
    if ax is None:  # shrink the font (not below 8 pt) rather than go past the column
        fs = max(8.0, min(fs0, fs0 * (_MAX_WIDTH_IN * 72 - 10) / needed))
        width = max(14.0, (needed * fs / fs0 + 10) / (_CELL_IN * 72))
        cv = _Canvas(width, height, "", ax)
    else:
        width = 15.0
        cv = _Canvas(width, height, "", ax)
        fs = max(6.0, min(fs0, fs0 * (width * cv.pt - 10) / needed))
    unit = fs / fs0 / cv.pt  # grid units per point of the layout at fs0
    x_name = 0.1 + pad * unit
    x_text = x_name + (name_pt + sep) * unit
    x_shape = width - 0.1 - pad * unit
    for xpos, ha, content in ((x_name, "left", "layer"),
                              (x_shape, "right", "shape after it (one example)")):
        t = cv.ax.text(xpos, head - 0.2, content, ha=ha, va="baseline", fontsize=cv.fs_title,
                       color=_INK, fontstyle="italic")
        t.set_label("title")
    for i, ((name, text, shape), (_, _, kind, _)) in enumerate(zip(texts, rows)):
        y = head + i * (box_h + gap)
        cv.box(0.1, y, width - 0.2, box_h, face=_tint(_KIND_COLOURS[kind], 0.3),
               edge=_KIND_COLOURS[kind] if kind != "other" else "#888888", lw=1.2,
               label=f"box{i}", zorder=1)
        for label, xpos, ha, content, weight in (
                (f"name{i}", x_name, "left", name, "bold"),
                (f"layer{i}", x_text, "left", text, "normal"),
                (f"shape{i}", x_shape, "right", shape, "bold")):
            t = cv.ax.text(xpos, y + box_h / 2, content, ha=ha, va="center_baseline",
                           fontsize=fs, fontweight=weight, color=_INK, zorder=5)
            t.set_label(label)
        if i:
            cv.ax.annotate("", xy=(width / 2, y), xytext=(width / 2, y - gap),
                           arrowprops={"arrowstyle": "-|>", "color": _INK, "lw": 1.0,
                                       "shrinkA": 0, "shrinkB": 0})
    return cv.fig
