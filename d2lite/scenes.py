"""Scenes built from real Fashion-MNIST (or MNIST) items: clutter for attention to cut through.

A 28x28 Fashion-MNIST image *is* the object: nothing in it is background. Attention only
matters when an image holds more than the object, so Part III places real items on a
larger canvas.

* `cluttered_scenes`: one item at a random position on a canvas (60x60 by default, as in
  the cluttered-MNIST benchmark of Mnih et al., 2014) plus ``distractors`` small patches
  cropped from *other* items of the same split. With ``distractors=0`` these are the
  "translated" scenes of the same paper. Returns the images, the item's label and its box.
* `caption_scenes`: two to four items in distinct cells of a grid; the caption names them
  in reading order (row by row, left to right). `CaptionVocab` turns captions into token
  ids with start, end and padding tokens, and back.

Scenes are made from one split at a time, so test scenes contain only test-set pixels:
`cluttered_splits` and `caption_splits` build train scenes from the train split and test
scenes from the test split. Everything is vectorised with NumPy fancy indexing; 60,000
scenes take seconds. Items are pasted with ``np.maximum`` (light strokes on a black
background, like the originals), so overlapping patches never cut holes into each other.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

__all__ = [
    "CaptionScenes",
    "CaptionVocab",
    "Scenes",
    "caption_scenes",
    "caption_splits",
    "cluttered_scenes",
    "cluttered_splits",
]


class Scenes(NamedTuple):
    """Classification scenes: one item per image.

    Attributes:
        images: float32 (n, canvas, canvas, 1), pixel values as in the source images.
        labels: int32 (n,), the item's class.
        boxes: int32 (n, 4), the item's box as (top, left, bottom, right) in pixels,
            bottom and right exclusive: ``images[i, top:bottom, left:right]`` is the item.
        sources: int64 (n,), the item's index in the source images.
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    sources: np.ndarray


class CaptionScenes(NamedTuple):
    """Caption scenes: two to four items per image, named in reading order.

    Attributes:
        images: float32 (n, rows * cell, cols * cell, 1).
        labels: int32 (n, max_items), the items' classes in reading order, padded with -1.
        boxes: int32 (n, max_items, 4), each item's (top, left, bottom, right), padded
            with -1, in the same order as `labels`.
        counts: int32 (n,), the number of items in each scene.
        sources: int64 (n, max_items), the items' indices in the source images (-1 pad).
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    counts: np.ndarray
    sources: np.ndarray


# ------------------------------------------------------------------------ validation


def _as_items(images, labels) -> tuple[np.ndarray, np.ndarray]:
    """(N, h, w) float32 items and (N,) int labels from (N, h, w[, 1]) images."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(f"images must have shape (N, height, width) or (N, height, width, 1), "
                         f"got {np.asarray(images).shape}")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"labels must have shape ({len(x)},) like the images, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class labels, got dtype {y.dtype}")
    if len(x) < 2:
        raise ValueError(f"need at least 2 source images (distractors come from other items), got {len(x)}")
    return np.ascontiguousarray(x, np.float32), y.astype(np.int32, copy=False)


def _count(name: str, value, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (list, tuple)):
        return np.random.default_rng([_count("seed", s) for s in seed])
    return np.random.default_rng(_count("seed", seed))


# ------------------------------------------------------------------------ pasting


def _window(shape: tuple, which: np.ndarray, top: np.ndarray, left: np.ndarray, h: int,
            w: int) -> np.ndarray:
    """Flat indices into an array of `shape` (num, H, W) of the h x w window at (top_i, left_i)
    of image which_i: int array (k, h, w). One flat index is much faster than three."""
    _, height, width = shape
    start = (which * height + top) * width + left
    offsets = np.arange(h)[:, None] * width + np.arange(w)[None, :]
    return start[:, None, None] + offsets[None]


def _paste_max(canvas: np.ndarray, which: np.ndarray, patches: np.ndarray, top: np.ndarray,
               left: np.ndarray) -> None:
    """canvas[which_i, top_i:top_i+h, left_i:left_i+w] = max(that, patches[i]), all i at once.

    `which` must not repeat an image (each call pastes at most one patch per image).
    """
    idx = _window(canvas.shape, which, top, left, *patches.shape[1:])
    flat = canvas.reshape(-1)  # a view: canvas is contiguous
    flat[idx] = np.maximum(flat[idx], patches)


# ------------------------------------------------------------------------ cluttered scenes


def cluttered_scenes(images, labels, n: int, *, canvas: int = 60, distractors: int = 8,
                     patch: int = 9, seed=0) -> Scenes:
    """Scenes of one item at a random position among patches cropped from other items.

    Args:
        images: the source items, shape (N, h, w) or (N, h, w, 1), e.g. one split of
            Fashion-MNIST. Scenes use only these images.
        labels: int array of shape (N,).
        n: number of scenes (non-negative int).
        canvas: side of the square scene, at least the item's height and width.
        distractors: number of clutter patches per scene (0 gives translated scenes).
        patch: side of each clutter patch, 1 to min(h, w); cropped at a random place from
            a random *other* item and pasted at a random place.
        seed: int or NumPy Generator; the same seed gives the same scenes.

    Returns:
        `Scenes` with images of shape (n, canvas, canvas, 1).

    Raises:
        ValueError / TypeError: naming the argument, for a canvas smaller than an item,
            a patch larger than an item, negative counts or badly shaped inputs.
    """
    items, y = _as_items(images, labels)
    n = _count("n", n)
    canvas = _count("canvas", canvas, minimum=1)
    distractors = _count("distractors", distractors)
    patch = _count("patch", patch, minimum=1)
    num, h, w = items.shape
    if canvas < max(h, w):
        raise ValueError(f"canvas ({canvas}) must be at least the item size {h}x{w}")
    if patch > min(h, w):
        raise ValueError(f"patch ({patch}) must be at most the item size {min(h, w)}")
    rng = _rng(seed)

    scenes = np.zeros((n, canvas, canvas), np.float32)
    everyone = np.arange(n)
    src = rng.integers(0, num, n)
    for _ in range(distractors):
        other = (src + rng.integers(1, num, n)) % num  # never the scene's own item
        r0, c0 = rng.integers(0, h - patch + 1, n), rng.integers(0, w - patch + 1, n)
        crops = items.reshape(-1)[_window(items.shape, other, r0, c0, patch, patch)]  # (n, patch, patch)
        _paste_max(scenes, everyone, crops, rng.integers(0, canvas - patch + 1, n),
                   rng.integers(0, canvas - patch + 1, n))
    top, left = rng.integers(0, canvas - h + 1, n), rng.integers(0, canvas - w + 1, n)
    _paste_max(scenes, everyone, items[src], top, left)
    boxes = np.stack([top, left, top + h, left + w], axis=1).astype(np.int32)
    return Scenes(scenes[..., None], y[src], boxes, src)


def cluttered_splits(data, n_train: int, n_test: int, *, seed: int = 0, **kwargs) -> tuple[Scenes, Scenes]:
    """Train scenes from the train split and test scenes from the test split.

    Args:
        data: a `d2lite.DataSplits` (or anything with x_train, y_train, x_test, y_test).
        n_train, n_test: numbers of scenes.
        seed: non-negative int; the two splits use independent streams derived from it.
        **kwargs: passed to `cluttered_scenes` (canvas, distractors, patch).

    Returns:
        (train, test), two `Scenes`.
    """
    seed = _count("seed", seed)
    return (cluttered_scenes(data.x_train, data.y_train, n_train, seed=(seed, 0), **kwargs),
            cluttered_scenes(data.x_test, data.y_test, n_test, seed=(seed, 1), **kwargs))


# ------------------------------------------------------------------------ caption scenes


def caption_scenes(images, labels, n: int, *, grid: tuple[int, int] = (2, 2), cell: int = 32,
                   min_items: int = 2, max_items: int = 4, seed=0) -> CaptionScenes:
    """Scenes of several items in distinct grid cells, listed in reading order.

    The canvas is a ``rows x cols`` grid of ``cell x cell`` cells. Each scene draws a number
    of items between `min_items` and `max_items`, puts them in that many distinct cells
    chosen at random, each at a random offset inside its cell (so positions vary by up to
    ``cell - item size`` pixels), and lists them in reading order: row by row, left to
    right within a row.

    Args:
        images, labels: the source items, (N, h, w) or (N, h, w, 1), and (N,).
        n: number of scenes.
        grid: (rows, cols) of the cell grid.
        cell: side of a cell in pixels, at least the item size.
        min_items, max_items: 1 <= min_items <= max_items <= rows * cols.
        seed: int or NumPy Generator.

    Returns:
        `CaptionScenes` with images of shape (n, rows * cell, cols * cell, 1).
    """
    items, y = _as_items(images, labels)
    n = _count("n", n)
    if (not isinstance(grid, (tuple, list)) or len(grid) != 2
            or any(isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g < 1 for g in grid)):
        raise ValueError(f"grid must be (rows, cols) of positive ints, got {grid!r}")
    rows, cols = (int(g) for g in grid)
    cell = _count("cell", cell, minimum=1)
    min_items = _count("min_items", min_items, minimum=1)
    max_items = _count("max_items", max_items, minimum=1)
    num, h, w = items.shape
    if cell < max(h, w):
        raise ValueError(f"cell ({cell}) must be at least the item size {h}x{w}")
    if min_items > max_items:
        raise ValueError(f"min_items ({min_items}) must not exceed max_items ({max_items})")
    if max_items > rows * cols:
        raise ValueError(f"max_items ({max_items}) items do not fit a {rows}x{cols} grid "
                         f"of {rows * cols} cells")
    rng = _rng(seed)

    counts = rng.integers(min_items, max_items + 1, n).astype(np.int32)
    # A random subset of cells per scene: the cells with the `count` smallest random keys,
    # then sorted, which is reading order because cells are numbered row by row.
    keys = rng.random((n, rows * cols))
    order = np.argsort(keys, axis=1)
    slots = np.where(np.arange(rows * cols)[None, :] < counts[:, None], order, rows * cols)
    slots = np.sort(slots, axis=1)[:, :max_items]  # used cells first, in reading order
    used = slots < rows * cols

    src = rng.integers(0, num, (n, max_items))
    top = (slots // cols) * cell + rng.integers(0, cell - h + 1, (n, max_items))
    left = (slots % cols) * cell + rng.integers(0, cell - w + 1, (n, max_items))
    scenes = np.zeros((n, rows * cell, cols * cell), np.float32)
    for j in range(max_items):
        k = np.flatnonzero(used[:, j])  # scenes with a j-th item
        _paste_max(scenes, k, items[src[k, j]], top[k, j], left[k, j])
    labels_out = np.where(used, y[src], -1).astype(np.int32)
    boxes = np.stack([top, left, top + h, left + w], axis=-1)
    boxes = np.where(used[..., None], boxes, -1).astype(np.int32)
    return CaptionScenes(scenes[..., None], labels_out, boxes, counts, np.where(used, src, -1))


def caption_splits(data, n_train: int, n_test: int, *, seed: int = 0,
                   **kwargs) -> tuple[CaptionScenes, CaptionScenes]:
    """Caption scenes: train from the train split, test from the test split (see `caption_scenes`)."""
    seed = _count("seed", seed)
    return (caption_scenes(data.x_train, data.y_train, n_train, seed=(seed, 0), **kwargs),
            caption_scenes(data.x_test, data.y_test, n_test, seed=(seed, 1), **kwargs))


# ------------------------------------------------------------------------ vocabulary


class CaptionVocab:
    """Words <-> token ids for captions that name items by class.

    Token 0 is ``<pad>``, 1 ``<start>``, 2 ``<end>``; class ``c`` is token ``3 + c``.
    A caption of k items is encoded as ``<start> w_1 ... w_k <end>`` padded to a fixed length.

    Args:
        class_names: one name per class. Each becomes one word: the part before a "/",
            its last word ("t-shirt/top" -> "t-shirt", "ankle boot" -> "boot"), unless
            `words` is given.
        words: optional explicit word per class (no spaces, distinct).
    """

    PAD, START, END = 0, 1, 2
    SPECIALS = ("<pad>", "<start>", "<end>")

    def __init__(self, class_names: Sequence[str], words: Sequence[str] | None = None):
        if words is None:
            words = [name.split("/")[0].split()[-1] for name in class_names]
        words = [str(word) for word in words]
        if len(words) != len(class_names):
            raise ValueError(f"words has {len(words)} entries for {len(class_names)} classes")
        if len(set(words)) != len(words) or any(not word or " " in word for word in words):
            raise ValueError(f"words must be distinct and contain no spaces, got {words}")
        self.words = tuple(words)
        self.itos = self.SPECIALS + self.words
        self.stoi = {word: i for i, word in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"CaptionVocab({len(self)} tokens: {' '.join(self.itos)})"

    @property
    def num_classes(self) -> int:
        return len(self.words)

    def captions(self, labels) -> list[str]:
        """Captions from padded label rows: (n, max_items) int, -1 = no item -> n strings."""
        labels = np.asarray(labels)
        if labels.ndim != 2:
            raise ValueError(f"labels must have shape (n, max_items), got {labels.shape}")
        return [" ".join(self.words[c] for c in row if c >= 0) for row in labels]

    def encode(self, labels, length: int | None = None) -> np.ndarray:
        """Token ids ``<start> w_1 .. w_k <end> <pad> ..`` from padded labels.

        Args:
            labels: int (n, max_items), -1 where there is no item (padding at the end).
            length: tokens per caption; default ``max_items + 2``.

        Returns:
            int32 (n, length).
        """
        labels = np.asarray(labels)
        if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be an int array of shape (n, max_items), got "
                             f"{labels.shape} {labels.dtype}")
        if labels.size and labels.max() >= self.num_classes:
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1} (or -1 for none), "
                             f"got {labels.max()}")
        n, m = labels.shape
        length = m + 2 if length is None else _count("length", length, minimum=m + 2)
        tokens = np.full((n, length), self.PAD, np.int32)
        tokens[:, 0] = self.START
        tokens[:, 1:m + 1] = np.where(labels >= 0, labels + 3, self.PAD)
        count = (labels >= 0).sum(axis=1)
        tokens[np.arange(n), count + 1] = self.END
        return tokens

    def decode(self, tokens) -> list[str]:
        """Captions from token ids (n, length): words up to the first ``<end>``, specials dropped."""
        tokens = np.asarray(tokens)
        if tokens.ndim == 1:
            tokens = tokens[None]
        if tokens.ndim != 2:
            raise ValueError(f"tokens must have shape (n, length), got {tokens.shape}")
        out = []
        for row in tokens:
            words = []
            for t in row:
                if t == self.END:
                    break
                if t >= 3:
                    words.append(self.itos[t])
            out.append(" ".join(words))
        return out
