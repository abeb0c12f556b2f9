"""Plotting helpers, so that every chapter's figures look the same."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from d2lite._validate import _numpy

__all__ = ["plot", "show_attention", "show_images", "use_svg_display"]


def use_svg_display() -> None:
    """Render inline Matplotlib figures as SVG (sharp at any zoom) in Jupyter."""
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # not in a notebook environment
        return
    set_matplotlib_formats("svg")


def plot(x, ys, *, xlabel: str | None = None, ylabel: str | None = None,
         legend: Sequence[str] | None = None, title: str | None = None,
         xscale: str = "linear", yscale: str = "linear", fmts: Sequence[str] = ("-", "m--", "g-.", "r:", "c-", "k--"),
         figsize: tuple = (4.5, 3.0), ax=None):
    """Plot one or several curves against the same x values.

    Args:
        x: 1-D array of length n.
        ys: one 1-D array of length n, or a list of them.
        legend: one label per curve.

    Returns:
        The Matplotlib axes.
    """
    import matplotlib.pyplot as plt

    x = _numpy(x)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape}")
    curves = [ys] if _numpy(ys[0] if isinstance(ys, (list, tuple)) else ys).ndim == 0 else ys
    if not isinstance(curves, (list, tuple)):
        curves = [curves]
    curves = [_numpy(y) for y in curves]
    for i, y in enumerate(curves):
        if y.shape != x.shape:
            raise ValueError(f"ys[{i}] has shape {y.shape}, expected {x.shape} like x")
    if legend is not None and len(legend) != len(curves):
        raise ValueError(f"legend has {len(legend)} labels for {len(curves)} curves")
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    for i, y in enumerate(curves):
        ax.plot(x, y, fmts[i % len(fmts)])
    ax.set_xscale(xscale)
    ax.set_yscale(yscale)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(legend)
    ax.grid(True, alpha=0.3)
    return ax


def show_images(images, nrows: int, ncols: int, *, titles: Sequence[str] | None = None,
                scale: float = 1.6, cmap: str = "gray", annotate: bool = False, fmt: str = "{:g}",
                colorbar: bool = False, suptitle: str | None = None):
    """Show a grid of single-channel images or small matrices.

    Args:
        images: a sequence (or array) of 2-D arrays (height, width); (h, w, 1) is
            accepted too. They may have different sizes.
        nrows, ncols: grid size; ``nrows * ncols`` must be at least ``len(images)``.
        titles: optional title per image.
        annotate: write each cell's value on it (for small matrices such as kernels).
        colorbar: add a colour bar to each image.

    Returns:
        The array of Matplotlib axes, shape (nrows, ncols).
    """
    import matplotlib.pyplot as plt

    images = [_numpy(im) for im in images]
    if len(images) > nrows * ncols:
        raise ValueError(f"{len(images)} images do not fit a {nrows}x{ncols} grid")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    images = [im[..., 0] if im.ndim == 3 and im.shape[-1] == 1 else im for im in images]
    for i, im in enumerate(images):
        if im.ndim != 2:
            raise ValueError(f"images[{i}] must be 2-D (height, width), got shape {im.shape}")
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(images):
            ax.axis("off")
            continue
        im = images[k]
        shown = ax.imshow(im, cmap=cmap)
        if annotate:
            # Dark text on light cells and light text on dark ones, whatever the colormap.
            for (r, c), v in np.ndenumerate(im):
                red, green, blue, _ = shown.cmap(shown.norm(v))
                light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
                ax.text(c, r, fmt.format(float(v)), ha="center", va="center", fontsize=8,
                        color="black" if light else "white")
        if colorbar:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return axes


def show_attention(images, maps, nrows: int, ncols: int, *, titles: Sequence[str] | None = None,
                   boxes=None, scale: float = 1.6, alpha: float = 0.55, cmap: str = "jet",
                   suptitle: str | None = None):
    """Grey images with attention heatmaps laid over them (and, optionally, boxes).

    Args:
        images: (n, height, width) or (n, height, width, 1).
        maps: attention over each image, (n, h, w); a coarser map (a feature map's
            weights) is resized bilinearly to the image, see
            `d2lite.attention.upsample_attention`. Each map is drawn on its own colour
            scale, from 0 to its maximum. ``None`` draws the images (and boxes) only.
        nrows, ncols: grid size, at least n cells.
        titles: optional title per image.
        boxes: optional int (n, 4) or (n, k, 4) boxes (top, left, bottom, right), bottom
            and right exclusive; rows of -1 are skipped.
        alpha: opacity of the heatmap.

    Returns:
        The array of Matplotlib axes, shape (nrows, ncols).
    """
    import matplotlib.pyplot as plt

    from d2lite.attention import upsample_attention

    images = _numpy(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width[, 1]), got {images.shape}")
    if maps is not None:
        maps = _numpy(maps)
        if maps.ndim != 3 or len(maps) != len(images):
            raise ValueError(f"maps must have shape ({len(images)}, h, w), got {maps.shape}")
    if len(images) > nrows * ncols:
        raise ValueError(f"{len(images)} images do not fit a {nrows}x{ncols} grid")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    if boxes is not None:
        boxes = np.asarray(boxes).reshape(len(images), -1, 4)
    if maps is not None:
        maps = upsample_attention(maps, images.shape[1:3])
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[k], cmap="gray")
        if maps is not None:
            ax.imshow(maps[k] / max(maps[k].max(), 1e-12), cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        for top, left, bottom, right in (boxes[k] if boxes is not None else ()):
            if top >= 0:
                ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                                           fill=False, edgecolor="white", linewidth=1.2))
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return axes
