"""Attention over the locations of a CNN feature map, from scratch with ``keras.ops``.

A feature map of shape (batch, h, w, c) is a set of ``m = h w`` region vectors, one per
location (`regions`). Attention pooling replaces global average pooling's uniform weights
``1/m`` by weights that depend on the content:

1. a *score* ``e_i = a(q, k_i)`` for each location ``i`` against a query ``q``
   (`dot_scores`, `general_scores`, `additive_scores`);
2. weights ``alpha = softmax(e)`` over the locations (`masked_softmax`), which are
   non-negative and sum to 1 over the locations a mask keeps;
3. the *context* ``c = sum_i alpha_i v_i``, a weighted average of the value vectors
   (`weighted_sum`).

`AttentionPooling` packs the three steps into a serialisable Keras layer, with a learned
query or a query computed from the global (mean) feature, as in *Learn to Pay Attention*
(Jetley et al., 2018). `upsample_attention` and `mass_in_boxes` map the weights back onto
the image, to measure where the attention went.

Every function works on all Keras backends. Shapes: ``n_q`` queries of size ``d_q``, ``m``
keys of size ``d_k`` and values of size ``d_v``, per example. Scores and weights have
shape (batch, n_q, m): one row per query, one column per location.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from d2lite._validate import _numpy, _shape

__all__ = [
    "AttentionPooling",
    "additive_scores",
    "dot_scores",
    "general_scores",
    "mass_in_boxes",
    "masked_softmax",
    "regions",
    "upsample_attention",
    "weighted_sum",
]


def _check_rank(name: str, x, rank: int, expected: str) -> None:
    if len(_shape(x)) != rank:
        raise ValueError(f"{name} must have shape {expected}, got {_shape(x)}")


def _check_qk(queries, keys) -> None:
    _check_rank("queries", queries, 3, "(batch, n_q, d_q)")
    _check_rank("keys", keys, 3, "(batch, m, d_k)")
    bq, bk = _shape(queries)[0], _shape(keys)[0]
    if bq is not None and bk is not None and bq != bk:
        raise ValueError(f"queries and keys must have the same batch size, got {bq} and {bk}")


def regions(feature_map):
    """The locations of a feature map as a set of vectors.

    Args:
        feature_map: tensor of shape (batch, h, w, c).

    Returns:
        Tensor of shape (batch, h * w, c); location (i, j) is row ``i * w + j``
        (row-major, as ``reshape`` reads it).

    Raises:
        ValueError: if `feature_map` does not have rank 4.
    """
    _check_rank("feature_map", feature_map, 4, "(batch, h, w, c)")
    _, h, w, c = _shape(feature_map)
    if h is None or w is None:  # a model built for any image size
        return ops.reshape(feature_map, (ops.shape(feature_map)[0], -1, c))
    return ops.reshape(feature_map, (-1, h * w, c))


def dot_scores(queries, keys, *, scaled: bool = False):
    """Dot-product scores ``e_ij = q_i . k_j`` (divided by sqrt(d) if `scaled`).

    Args:
        queries: (batch, n_q, d); keys: (batch, m, d), the same size d.
        scaled: divide by ``sqrt(d)``, as the Transformer does.

    Returns:
        Scores of shape (batch, n_q, m).

    Raises:
        ValueError: on ranks other than 3, different batch sizes or d_q != d_k.
    """
    _check_qk(queries, keys)
    d_q, d_k = _shape(queries)[-1], _shape(keys)[-1]
    if d_q != d_k:
        raise ValueError(f"dot scores need queries and keys of the same size, got d_q={d_q} "
                         f"and d_k={d_k}; use general_scores or additive_scores for different sizes")
    scores = ops.matmul(queries, ops.transpose(keys, (0, 2, 1)))
    if scaled:
        scores = scores / ops.cast(np.sqrt(d_k), scores.dtype)
    return scores


def general_scores(queries, keys, weight):
    """General (bilinear) scores ``e_ij = q_i^T W k_j`` (Luong et al., 2015).

    Args:
        queries: (batch, n_q, d_q); keys: (batch, m, d_k); weight: (d_q, d_k).

    Returns:
        Scores of shape (batch, n_q, m).

    Raises:
        ValueError: on bad ranks or a weight that is not (d_q, d_k).
    """
    _check_qk(queries, keys)
    expected = (_shape(queries)[-1], _shape(keys)[-1])
    if _shape(weight) != expected:
        raise ValueError(f"weight must have shape (d_q, d_k) = {expected}, got {_shape(weight)}")
    return ops.matmul(ops.matmul(queries, weight), ops.transpose(keys, (0, 2, 1)))


def additive_scores(queries, keys, w_query, w_key, v):
    """Additive scores ``e_ij = v^T tanh(W_q q_i + W_k k_j)`` (Bahdanau et al., 2015).

    Args:
        queries: (batch, n_q, d_q); keys: (batch, m, d_k).
        w_query: (d_q, u); w_key: (d_k, u); v: (u,), with u the hidden size.

    Returns:
        Scores of shape (batch, n_q, m). The tanh sees every (query, key) pair:
        an intermediate tensor of shape (batch, n_q, m, u).

    Raises:
        ValueError: on bad ranks or weights whose shapes do not fit d_q, d_k and u.
    """
    _check_qk(queries, keys)
    d_q, d_k = _shape(queries)[-1], _shape(keys)[-1]
    if len(_shape(v)) != 1:
        raise ValueError(f"v must have shape (u,), got {_shape(v)}")
    u = _shape(v)[0]
    for name, weight, rows in (("w_query", w_query, d_q), ("w_key", w_key, d_k)):
        if _shape(weight) != (rows, u):
            raise ValueError(f"{name} must have shape ({rows}, {u}), got {_shape(weight)}")
    q = ops.matmul(queries, w_query)[:, :, None, :]  # (batch, n_q, 1, u)
    k = ops.matmul(keys, w_key)[:, None, :, :]  # (batch, 1, m, u)
    return ops.sum(ops.multiply(ops.tanh(q + k), v), axis=-1)


def masked_softmax(scores, mask=None):
    """Softmax over the last axis that gives masked-out positions exactly zero weight.

    Args:
        scores: (..., m).
        mask: optional boolean tensor broadcastable to `scores`; True = keep. A row with
            every position masked gets all-zero weights (not NaN).

    Returns:
        Weights of the same shape as `scores`; each row sums to 1 over its kept positions.

    Raises:
        ValueError: if `mask` does not broadcast to the shape of `scores`.
    """
    if mask is None:
        return ops.softmax(scores, axis=-1)
    mask = ops.cast(mask, "bool")
    try:
        np.broadcast_shapes(tuple(d or 1 for d in _shape(mask)), tuple(d or 1 for d in _shape(scores)))
    except ValueError:
        raise ValueError(f"mask of shape {_shape(mask)} does not broadcast to scores of shape "
                         f"{_shape(scores)}") from None
    # A large negative number rather than -inf: exp underflows to exactly 0, and a row with
    # nothing kept stays finite (uniform), so its gradient is not NaN; it is zeroed below.
    big_negative = ops.cast(-65504.0 if scores.dtype == "float16" else -1e9, scores.dtype)
    weights = ops.softmax(ops.where(mask, scores, big_negative), axis=-1)
    return ops.where(mask, weights, ops.zeros_like(weights))


def weighted_sum(weights, values):
    """Context vectors ``c_i = sum_j alpha_ij v_j``.

    Args:
        weights: (batch, n_q, m); values: (batch, m, d_v).

    Returns:
        Contexts of shape (batch, n_q, d_v).

    Raises:
        ValueError: on bad ranks or if the weights and values disagree on m.
    """
    _check_rank("weights", weights, 3, "(batch, n_q, m)")
    _check_rank("values", values, 3, "(batch, m, d_v)")
    if _shape(weights)[-1] != _shape(values)[1]:
        raise ValueError(f"weights cover {_shape(weights)[-1]} locations but values has "
                         f"{_shape(values)[1]}: shapes {_shape(weights)} and {_shape(values)}")
    return ops.matmul(weights, values)


@keras.saving.register_keras_serializable(package="d2lite")
class AttentionPooling(keras.layers.Layer):
    """Pool a feature map (batch, h, w, c) to one vector (batch, c) with learned attention.

    The keys and values are the region vectors of the feature map. The query is either a
    learned vector (``query="learned"``: "which locations look like the thing to find?")
    or computed from the mean feature, ``q = W_g mean_i k_i`` (``query="global"``: "which
    locations agree with the gist of the whole image?").

    Args:
        score: ``"additive"`` (default), ``"dot"`` (scaled by 1/sqrt(c)) or ``"general"``.
        query: ``"learned"`` (default) or ``"global"``.
        units: hidden size u of the additive score (ignored otherwise).

    Weights (c channels): the query ``q`` (c,) or ``w_global`` (c, c); for the additive
    score ``w_query`` (c, u), ``w_key`` (c, u) and ``v`` (u,); for the general score
    ``w`` (c, c).

    Call arguments:
        inputs: (batch, h, w, c).
        mask: optional boolean (batch, h, w); False locations get zero weight.
        return_attention: also return the weights, shape (batch, h, w), summing to 1
            over each image's locations.

    Returns:
        Context (batch, c), or ``(context, weights)``.

    Raises:
        ValueError: for an unknown `score` or `query`, a non-positive `units`, inputs that
            are not (batch, h, w, c) or a mask that is not (batch, h, w).
    """

    SCORES = ("additive", "dot", "general")
    QUERIES = ("learned", "global")

    def __init__(self, score: str = "additive", query: str = "learned", units: int = 32, **kwargs):
        super().__init__(**kwargs)
        if score not in self.SCORES:
            raise ValueError(f"score must be one of {self.SCORES}, got {score!r}")
        if query not in self.QUERIES:
            raise ValueError(f"query must be one of {self.QUERIES}, got {query!r}")
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"units must be a positive int, got {units!r}")
        self.score, self.query, self.units = score, query, int(units)
        self.supports_masking = True  # the mask is consumed here, not passed on

    def compute_mask(self, inputs, mask=None):
        return None

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"AttentionPooling expects inputs of shape (batch, h, w, c) with a "
                             f"known c, got {tuple(input_shape)}")
        c = int(input_shape[-1])
        if self.query == "learned":
            self.q = self.add_weight(shape=(c,), initializer="random_normal", name="query")
        else:
            self.w_global = self.add_weight(shape=(c, c), initializer="glorot_uniform", name="w_global")
        if self.score == "additive":
            self.w_query = self.add_weight(shape=(c, self.units), initializer="glorot_uniform",
                                           name="w_query")
            self.w_key = self.add_weight(shape=(c, self.units), initializer="glorot_uniform",
                                         name="w_key")
            self.v = self.add_weight(shape=(self.units,), initializer="random_normal", name="v")
        elif self.score == "general":
            self.w = self.add_weight(shape=(c, c), initializer="glorot_uniform", name="w")

    def queries(self, keys):
        """The query of each example, (batch, 1, c), from its region vectors (batch, m, c)."""
        if self.query == "learned":
            return ops.zeros_like(keys[:, :1, :]) + self.q
        return ops.matmul(ops.mean(keys, axis=1, keepdims=True), self.w_global)

    def call(self, inputs, mask=None, return_attention: bool = False):
        if len(_shape(inputs)) != 4:
            raise ValueError(f"AttentionPooling expects inputs of shape (batch, h, w, c), "
                             f"got {_shape(inputs)}")
        h, w = ops.shape(inputs)[1], ops.shape(inputs)[2]
        keys = regions(inputs)  # (batch, m, c): keys and values
        queries = self.queries(keys)
        if self.score == "additive":
            scores = additive_scores(queries, keys, self.w_query, self.w_key, self.v)
        elif self.score == "dot":
            scores = dot_scores(queries, keys, scaled=True)
        else:
            scores = general_scores(queries, keys, self.w)
        if mask is not None:
            if len(_shape(mask)) != 3 or _shape(mask)[1:] != _shape(inputs)[1:3]:
                raise ValueError(f"mask must have shape (batch, h, w) = (batch, "
                                 f"{_shape(inputs)[1]}, {_shape(inputs)[2]}), got {_shape(mask)}")
            mask = ops.reshape(ops.cast(mask, "bool"), (ops.shape(mask)[0], 1, -1))
        weights = masked_softmax(scores, mask)  # (batch, 1, m)
        context = weighted_sum(weights, keys)[:, 0, :]
        if return_attention:
            return context, ops.reshape(weights, (ops.shape(inputs)[0], h, w))
        return context

    def compute_output_spec(self, inputs, mask=None, return_attention: bool = False):
        batch, h, w, c = _shape(inputs)
        context = keras.KerasTensor((batch, c), dtype=self.compute_dtype)
        if return_attention:
            return context, keras.KerasTensor((batch, h, w), dtype=self.compute_dtype)
        return context

    def get_config(self):
        return {**super().get_config(), "score": self.score, "query": self.query, "units": self.units}


def upsample_attention(weights, size: tuple[int, int]) -> np.ndarray:
    """Attention weights over a feature map, resized to the image and renormalised.

    Bilinear resizing (with pixel centres at half-integers, as ``keras.ops.image.resize``
    does) puts the weight of location (i, j) of an h x w map at pixel
    ``(s (i + 1/2) - 1/2, ...)`` of the image, ``s = height / h``, and spreads it linearly
    towards its neighbours. When ``s`` is the jump of the network's layers and their
    windows are centred that way, this is the centre of the location's receptive field.
    The result is rescaled to sum to 1 per image, so it can be read as "the share of
    attention on each pixel".

    Args:
        weights: (batch, h, w), non-negative.
        size: (height, width) of the image.

    Returns:
        NumPy float32 array of shape (batch, height, width), each map summing to 1.

    Raises:
        ValueError: if `weights` is not (batch, h, w) or `size` is not two positive ints.
    """
    _check_rank("weights", weights, 3, "(batch, h, w)")
    if len(size) != 2 or any(int(s) < 1 for s in size):
        raise ValueError(f"size must be (height, width) of positive ints, got {size!r}")
    maps = ops.image.resize(ops.cast(weights, "float32")[..., None], tuple(int(s) for s in size),
                            interpolation="bilinear")
    maps = np.maximum(ops.convert_to_numpy(maps)[..., 0], 0.0)
    return maps / np.maximum(maps.sum(axis=(1, 2), keepdims=True), 1e-12)


def mass_in_boxes(maps, boxes) -> np.ndarray:
    """Share of each map's total mass that lies inside a box.

    Args:
        maps: (batch, height, width), non-negative (e.g. from `upsample_attention`).
        boxes: int (batch, 4) as (top, left, bottom, right), bottom/right exclusive.

    Returns:
        NumPy array (batch,) of values in [0, 1].

    Raises:
        ValueError: if `maps` is not 3-D or `boxes` is not (batch, 4).
    """
    maps, boxes = _numpy(maps, np.float64), _numpy(boxes)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (batch, height, width), got {maps.shape}")
    if boxes.shape != (len(maps), 4):
        raise ValueError(f"boxes must have shape ({len(maps)}, 4), got {boxes.shape}")
    rows, cols = np.arange(maps.shape[1]), np.arange(maps.shape[2])
    inside = ((rows[None, :, None] >= boxes[:, 0, None, None])
              & (rows[None, :, None] < boxes[:, 2, None, None])
              & (cols[None, None, :] >= boxes[:, 1, None, None])
              & (cols[None, None, :] < boxes[:, 3, None, None]))
    return (maps * inside).sum(axis=(1, 2)) / np.maximum(maps.sum(axis=(1, 2)), 1e-12)
