"""Show, Attend and Tell (Xu et al., 2015), small enough to train on a laptop.

A (frozen) CNN turns an image into a grid of *annotation vectors* ``a_1 .. a_m``, shape
(batch, h, w, d) with ``m = h w``. An LSTM decoder writes the caption one word at a time.
Before word ``t`` it attends over the grid with additive scores (Bahdanau et al., 2015)
computed from its previous hidden state, gates the context with a scalar, and feeds the
context and the previous word to the LSTM:

    e_ti  = v^T tanh(W_h h_{t-1} + W_a a_i)          scores,         (b, m)
    alpha_t = softmax_i(e_t)                          attention,      (b, m)
    beta_t  = sigmoid(w_beta^T h_{t-1} + b_beta)      gating scalar,  (b, 1)
    z_t   = beta_t sum_i alpha_ti a_i                 context,        (b, d)
    h_t, c_t = LSTM([E y_{t-1}; z_t], h_{t-1}, c_{t-1})
    p(y_t) = softmax(L_o (E y_{t-1} + L_h h_t + L_z z_t))   deep output

Layers (serialisable, registered under the package name "d2lite"):

* `GridPositions`: appends each location's row and column (one-hot) to its feature, so
  that the decoder can tell *where* a vector comes from (a convolutional feature alone
  barely says it).
* `SoftAttentionCell`: one decoding step, the equations above. With ``attend=False`` the
  weights are uniform, ``1/m``: the context is the mean-pooled feature (the "Show and
  Tell" baseline of the same size).
* `AttentionDecoder`: embedding, initial state from the mean annotation, the cell unrolled
  over the caption with teacher forcing, the deep output, and the doubly stochastic
  regulariser added with ``add_loss``.

`captioner` builds the trainable ``keras.Model`` (features, tokens) -> logits.
`greedy_decode` and `beam_search` generate captions (`beam_step` is one step of the beam);
`caption_metrics` (exact and per-token accuracy), `bleu4` (sacrebleu's corpus BLEU),
`attention_on_items` and `attention_hits` (where each word's attention falls, measured
against the items' boxes) measure them. Everything runs on every Keras backend.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
from keras import layers, ops

from d2lite.attention import upsample_attention
from d2lite._validate import _numpy, _positive_int, _shape

__all__ = [
    "AttentionDecoder",
    "Decoded",
    "GridPositions",
    "SoftAttentionCell",
    "attention_hits",
    "attention_on_items",
    "beam_search",
    "beam_step",
    "bleu4",
    "caption_metrics",
    "captioner",
    "doubly_stochastic_penalty",
    "greedy_decode",
]

PAD, START, END = 0, 1, 2  # as in d2lite.CaptionVocab
_NEG = -1e9  # "impossible" log-probability; finite, so that sums never give NaN


# ------------------------------------------------------------------------ regulariser


def doubly_stochastic_penalty(alphas, step_mask=None):
    """The doubly stochastic regulariser of Xu et al.: ``sum_i (1 - sum_t alpha_ti)^2``.

    Each step's weights sum to 1 over the locations (softmax); the regulariser asks the
    weights of each *location*, summed over the steps, to be close to 1 as well.

    Args:
        alphas: attention weights of shape (batch, steps, m).
        step_mask: optional (batch, steps), 1 for the steps that count (real words and
            the end token), 0 for padding.

    Returns:
        Tensor of shape (batch,): the penalty of each caption.
    """
    alphas = ops.convert_to_tensor(alphas)  # NumPy inputs too, on every backend
    if len(_shape(alphas)) != 3:
        raise ValueError(f"alphas must have shape (batch, steps, m), got {_shape(alphas)}")
    if step_mask is not None:
        if len(_shape(step_mask)) != 2:
            raise ValueError(f"step_mask must have shape (batch, steps), got {_shape(step_mask)}")
        alphas = alphas * ops.cast(step_mask, alphas.dtype)[:, :, None]
    totals = ops.sum(alphas, axis=1)  # (batch, m): each location's attention over time
    return ops.sum(ops.square(1.0 - totals), axis=-1)


# ------------------------------------------------------------------------ layers


@keras.saving.register_keras_serializable(package="d2lite")
class GridPositions(layers.Layer):
    """Append each location's position to its feature vector, as one-hot row and column.

    A convolutional feature says *what* is at a location, hardly *where* it is: the same
    item gives the same features in every cell. Location (i, j) of an h x w grid gets
    the code ``[e_i; e_j]`` (h + w entries, two of them 1) appended.

    Call: grid (batch, h, w, d) -> (batch, h, w, d + h + w). No weights.
    """

    def build(self, input_shape):
        if len(input_shape) != 4 or any(s is None for s in input_shape[1:3]):
            raise ValueError(f"GridPositions expects a grid of shape (batch, h, w, d) with known h "
                             f"and w, got {tuple(input_shape)}")

    def call(self, grid):
        if len(_shape(grid)) != 4:
            raise ValueError(f"grid must have shape (batch, h, w, d), got {_shape(grid)}")
        _, h, w, _ = _shape(grid)
        rows = np.broadcast_to(np.eye(h, dtype="float32")[:, None, :], (h, w, h))
        cols = np.broadcast_to(np.eye(w, dtype="float32")[None, :, :], (h, w, w))
        codes = ops.convert_to_tensor(np.concatenate([rows, cols], axis=-1), dtype=grid.dtype)
        return ops.concatenate([grid, ops.zeros_like(grid[..., :1]) + codes], axis=-1)

    def compute_output_shape(self, input_shape):
        *batch, h, w, d = input_shape
        return (*batch, h, w, None if d is None else d + h + w)


@keras.saving.register_keras_serializable(package="d2lite")
class SoftAttentionCell(layers.Layer):
    """One step of the Show, Attend and Tell decoder: attend, gate, update an LSTM.

    Args:
        units: size n of the LSTM state.
        attention_units: hidden size u of the additive score.
        attend: if False, the weights are uniform (1/m): the context is the mean feature.
        gate: multiply the context by the gating scalar beta (else beta = 1).

    Call arguments:
        word: (batch, e), the embedded previous word.
        states: [h, c], each (batch, n).
        annotations: (batch, m, d).

    Returns:
        ``(h, [h, c], context, alpha, beta)`` with shapes (batch, n), two (batch, n),
        (batch, d), (batch, m) and (batch, 1). The context is already gated.
    """

    def __init__(self, units: int, attention_units: int = 32, attend: bool = True,
                 gate: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units = _positive_int("units", units)
        self.attention_units = _positive_int("attention_units", attention_units)
        self.attend, self.gate = bool(attend), bool(gate)
        self.lstm = layers.LSTMCell(self.units, name="lstm")

    def build(self, word_shape, states_shape, annotations_shape, keys_shape=None):
        if len(word_shape) != 2 or word_shape[-1] is None:
            raise ValueError(f"word must have shape (batch, embed_dim), got {tuple(word_shape)}")
        if len(annotations_shape) != 3 or annotations_shape[-1] is None:
            raise ValueError(f"annotations must have shape (batch, m, d), got {tuple(annotations_shape)}")
        if (len(states_shape) != 2
                or any(len(s) != 2 or s[-1] != self.units for s in states_shape)):
            raise ValueError(f"states must be [h, c], each of shape (batch, {self.units}), got "
                             f"{[tuple(s) for s in states_shape]}")
        e, d, n, u = word_shape[-1], annotations_shape[-1], self.units, self.attention_units
        if self.attend:
            self.w_query = self.add_weight(shape=(n, u), name="w_query", initializer="glorot_uniform")
            self.w_key = self.add_weight(shape=(d, u), name="w_key", initializer="glorot_uniform")
            self.v = self.add_weight(shape=(u,), name="v",
                                     initializer=keras.initializers.RandomNormal(stddev=0.1))
        if self.gate:
            self.w_beta = self.add_weight(shape=(n, 1), name="w_beta", initializer="zeros")
            self.b_beta = self.add_weight(shape=(1,), name="b_beta", initializer="ones")
        self.lstm.build((None, e + d))
        self._sizes = (e, d)

    def project_keys(self, annotations):
        """``W_a a_i`` for every location, (batch, m, d) -> (batch, m, u): the part of the
        score that does not change from step to step, computed once per caption."""
        return ops.matmul(annotations, self.w_key)

    def call(self, word, states, annotations, keys=None):
        h, c = states
        if (_shape(word)[-1], _shape(annotations)[-1]) != self._sizes or len(_shape(annotations)) != 3:
            raise ValueError(f"word {_shape(word)} and annotations {_shape(annotations)} do not fit "
                             f"this cell, built for (batch, {self._sizes[0]}) and "
                             f"(batch, m, {self._sizes[1]})")
        if self.attend:
            keys = self.project_keys(annotations) if keys is None else keys
            query = ops.matmul(h, self.w_query)[:, None, :]  # (batch, 1, u)
            scores = ops.sum(ops.tanh(query + keys) * self.v, axis=-1)  # (batch, m)
            alpha = ops.softmax(scores, axis=-1)
        else:
            alpha = ops.ones_like(annotations[:, :, 0]) / ops.cast(ops.shape(annotations)[1],
                                                                   annotations.dtype)
        context = ops.sum(alpha[:, :, None] * annotations, axis=1)  # (batch, d)
        if self.gate:
            beta = ops.sigmoid(ops.matmul(h, self.w_beta) + self.b_beta)  # (batch, 1)
        else:
            beta = ops.ones_like(context[:, :1])
        context = beta * context
        h, (h, c) = self.lstm(ops.concatenate([word, context], axis=-1), [h, c])
        return h, [h, c], context, alpha, beta

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "attention_units": self.attention_units, "attend": self.attend, "gate": self.gate}


@keras.saving.register_keras_serializable(package="d2lite")
class AttentionDecoder(layers.Layer):
    """The caption decoder of Show, Attend and Tell, reading the caption with teacher forcing.

    Args:
        vocab_size: number of tokens (``len(vocab)``).
        embed_dim: size e of the word embedding (and of the deep output layer).
        units: size n of the LSTM state.
        attention_units: hidden size u of the additive score.
        attend: False gives uniform weights: the mean-pooled baseline of the same size.
        gate: use the gating scalar beta.
        positions: append the locations' rows and columns (`GridPositions`) to the
            features: the annotation vectors then have ``d + h + w`` entries.
        ds_weight: weight lambda of the doubly stochastic regulariser (0 switches it off);
            the layer adds ``lambda * mean(doubly_stochastic_penalty)`` with ``add_loss``.

    Call arguments:
        grid: annotation vectors, (batch, h, w, d).
        tokens: int (batch, T), the caption without its last token: ``<start> w_1 ..``.
            Step t reads token t and predicts token t + 1.
        return_attention: also return the weights and the gates.

    Returns:
        Logits (batch, T, vocab_size); with `return_attention`, ``(logits, alphas, betas)``
        with alphas (batch, T, h * w) and betas (batch, T).

    The state and the deep output follow Xu et al.: ``h_0, c_0 = tanh(W mean_i a_i + b)``
    (two dense layers) and ``logits = L_o(E y_{t-1} + L_h h_t + L_z z_t)``.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 16, units: int = 64,
                 attention_units: int = 32, attend: bool = True, gate: bool = True,
                 positions: bool = True, ds_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = _positive_int("vocab_size", vocab_size)
        self.embed_dim = _positive_int("embed_dim", embed_dim)
        self.units = _positive_int("units", units)
        self.attention_units = _positive_int("attention_units", attention_units)
        self.attend, self.gate, self.positions = bool(attend), bool(gate), bool(positions)
        if float(ds_weight) < 0:
            raise ValueError(f"ds_weight must be non-negative, got {ds_weight!r}")
        self.ds_weight = float(ds_weight)
        self.embedding = layers.Embedding(self.vocab_size, self.embed_dim, name="embedding")
        self.grid_positions = GridPositions(name="positions") if self.positions else None
        self.init_h = layers.Dense(self.units, activation="tanh", name="init_h")
        self.init_c = layers.Dense(self.units, activation="tanh", name="init_c")
        self.cell = SoftAttentionCell(self.units, self.attention_units, attend=self.attend,
                                      gate=self.gate, name="cell")
        self.out_h = layers.Dense(self.embed_dim, use_bias=False, name="out_h")
        self.out_z = layers.Dense(self.embed_dim, use_bias=False, name="out_z")
        self.out = layers.Dense(self.vocab_size, name="out")

    def build(self, grid_shape, tokens_shape=None):
        if len(grid_shape) != 4 or any(s is None for s in grid_shape[1:]):
            raise ValueError(f"grid must have shape (batch, h, w, d) with known h, w, d, got "
                             f"{tuple(grid_shape)}")
        _, h, w, d = grid_shape
        self._grid = (h, w, d)
        e, n = self.embed_dim, self.units
        d = d + h + w if self.positions else d  # the annotation vectors' size
        self.embedding.build((None,))
        if self.positions:
            self.grid_positions.build(grid_shape)
        self.init_h.build((None, d))
        self.init_c.build((None, d))
        self.cell.build((None, e), [(None, n), (None, n)], (None, h * w, d))
        self.out_h.build((None, n))
        self.out_z.build((None, d))
        self.out.build((None, e))

    def _check_grid(self, grid):
        if len(_shape(grid)) != 4 or _shape(grid)[1:] != self._grid:
            raise ValueError(f"grid must have shape (batch, {', '.join(map(str, self._grid))}), "
                             f"got {_shape(grid)}")

    def annotations(self, grid):
        """The annotation vectors the decoder attends over: (batch, h, w, d) -> (batch, m, d'),
        with ``d' = d + h + w`` if `positions` (the rows and columns appended), else d."""
        self._check_grid(grid)
        if self.positions:
            grid = self.grid_positions(grid)
        h, w, _ = self._grid
        return ops.reshape(grid, (-1, h * w, _shape(grid)[-1]))

    def initial_state(self, annotations):
        """[h_0, c_0], each (batch, n), from the mean annotation vector."""
        mean = ops.mean(annotations, axis=1)
        return [self.init_h(mean), self.init_c(mean)]

    def keys(self, annotations):
        """The projected keys ``W_a a_i`` (batch, m, u), or None without attention."""
        return self.cell.project_keys(annotations) if self.attend else None

    def step(self, tokens, states, annotations, keys=None):
        """One step: previous tokens (batch,) int -> (logits (batch, V), states, alpha (batch, m),
        beta (batch, 1)). `keys` (from `keys`) saves recomputing them at every step."""
        word = self.embedding(tokens)
        h, states, context, alpha, beta = self.cell(word, states, annotations, keys)
        logits = self.out(word + self.out_h(h) + self.out_z(context))
        return logits, states, alpha, beta

    def call(self, grid, tokens, return_attention: bool = False):
        if len(_shape(tokens)) != 2 or _shape(tokens)[1] is None:
            raise ValueError(f"tokens must have shape (batch, T) with a known T, got {_shape(tokens)}")
        tokens = ops.cast(tokens, "int32")
        annotations = self.annotations(grid)
        states, keys = self.initial_state(annotations), self.keys(annotations)
        logits, alphas, betas = [], [], []
        for t in range(_shape(tokens)[1]):  # unrolled: captions are a few words long
            out, states, alpha, beta = self.step(tokens[:, t], states, annotations, keys)
            logits.append(out)
            alphas.append(alpha)
            betas.append(beta[:, 0])
        logits, alphas, betas = (ops.stack(x, axis=1) for x in (logits, alphas, betas))
        if self.ds_weight > 0:
            # Steps that read <start> or a word predict a word or <end>: those count.
            step_mask = ops.logical_and(ops.not_equal(tokens, PAD), ops.not_equal(tokens, END))
            penalty = doubly_stochastic_penalty(alphas, step_mask)
            self.add_loss(self.ds_weight * ops.mean(penalty))
        return (logits, alphas, betas) if return_attention else logits

    def compute_output_shape(self, grid_shape, tokens_shape):
        return (grid_shape[0], tokens_shape[1], self.vocab_size)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embed_dim": self.embed_dim, "units": self.units,
                "attention_units": self.attention_units, "attend": self.attend,
                "gate": self.gate, "positions": self.positions, "ds_weight": self.ds_weight}


def captioner(grid_shape, vocab_size: int, length: int, name: str = "captioner",
              **decoder_kwargs) -> keras.Model:
    """The trainable captioner: (features (b, h, w, d), tokens (b, length)) -> logits.

    Args:
        grid_shape: (h, w, d) of the annotation grid.
        vocab_size: number of tokens.
        length: tokens read per caption, ``T`` (the encoded caption's length minus one).
        name: the model's name.
        **decoder_kwargs: passed to `AttentionDecoder` (attend, positions, ds_weight, ...).

    Returns:
        A functional ``keras.Model`` with inputs ``[features, tokens]`` and output logits
        (b, length, vocab_size); its decoder is ``model.get_layer("decoder")``.
    """
    if len(grid_shape) != 3:
        raise ValueError(f"grid_shape must be (h, w, d), got {grid_shape!r}")
    features = keras.Input(tuple(grid_shape), name="features")
    tokens = keras.Input((_positive_int("length", length),), dtype="int32", name="tokens")
    logits = AttentionDecoder(vocab_size, name="decoder", **decoder_kwargs)(features, tokens)
    return keras.Model([features, tokens], logits, name=name)


# ------------------------------------------------------------------------ decoding


class Decoded(NamedTuple):
    """Generated captions.

    Attributes:
        tokens: int32 (n, max_len), the tokens after ``<start>``: words, ``<end>``, then
            ``<pad>``.
        log_likelihood: float64 (n,), the sum of the log-probabilities of the tokens up to
            and including ``<end>``.
        alphas: float32 (n, max_len, m), the attention of each step (zeros after ``<end>``).
        betas: float32 (n, max_len), the gates (zeros after ``<end>``).
    """

    tokens: np.ndarray
    log_likelihood: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray


def _log_softmax(logits) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _decoder_of(model):
    if isinstance(model, AttentionDecoder):
        return model
    if isinstance(model, keras.Model):
        return model.get_layer("decoder")
    raise TypeError(f"expected a captioner model or an AttentionDecoder, got {type(model).__name__}")


def _allowed(log_probs: np.ndarray, ended: np.ndarray) -> np.ndarray:
    """Live hypotheses may not emit <pad> or <start>; ended ones emit only <pad>, for free."""
    log_probs = log_probs.copy()
    log_probs[..., PAD] = _NEG
    log_probs[..., START] = _NEG
    only_pad = np.full(log_probs.shape[-1], _NEG)
    only_pad[PAD] = 0.0
    return np.where(ended[..., None], only_pad, log_probs)


def greedy_decode(model, features, max_len: int) -> Decoded:
    """Generate captions by taking the most probable token at every step.

    Args:
        model: a `captioner` model (or its `AttentionDecoder`).
        features: annotation grids (n, h, w, d).
        max_len: number of steps (the longest caption plus one for ``<end>``).

    Returns:
        `Decoded` captions.
    """
    decoder, max_len = _decoder_of(model), _positive_int("max_len", max_len)
    annotations = decoder.annotations(ops.convert_to_tensor(np.asarray(features, "float32")))
    states, keys = decoder.initial_state(annotations), decoder.keys(annotations)
    n = len(features)
    token, ended = np.full(n, START, np.int32), np.zeros(n, bool)
    tokens, alphas, betas, total = [], [], [], np.zeros(n)
    for _ in range(max_len):
        logits, states, alpha, beta = decoder.step(token, states, annotations, keys)
        log_probs = _allowed(_log_softmax(ops.convert_to_numpy(logits)), ended)
        token = log_probs.argmax(axis=-1).astype(np.int32)
        total += log_probs[np.arange(n), token]
        alphas.append(np.where(ended[:, None], 0.0, ops.convert_to_numpy(alpha)))
        betas.append(np.where(ended, 0.0, ops.convert_to_numpy(beta)[:, 0]))
        tokens.append(token)
        ended = ended | (token == END)
    return Decoded(np.stack(tokens, 1), total, np.stack(alphas, 1).astype("float32"),
                   np.stack(betas, 1).astype("float32"))


def beam_step(scores, log_probs, beam_width: int):
    """One step of beam search: keep the best `beam_width` one-token extensions.

    Args:
        scores: (n, k), the log-likelihood of each of the k current hypotheses.
        log_probs: (n, k, V), log-probabilities of the next token for each hypothesis.
        beam_width: how many extensions to keep, at most ``k * V``.

    Returns:
        ``(new_scores, parents, tokens)``, each (n, beam_width), best first:
        ``new_scores[i, j] = scores[i, parents[i, j]] + log_probs[i, parents[i, j],
        tokens[i, j]]``. Ties go to the lower (parent, token) index.
    """
    scores, log_probs = _numpy(scores, np.float64), _numpy(log_probs, np.float64)
    if scores.ndim != 2 or log_probs.ndim != 3 or log_probs.shape[:2] != scores.shape:
        raise ValueError(f"scores must be (n, k) and log_probs (n, k, V) with the same n, k; "
                         f"got {scores.shape} and {log_probs.shape}")
    n, k, vocab = log_probs.shape
    beam_width = _positive_int("beam_width", beam_width)
    if beam_width > k * vocab:
        raise ValueError(f"beam_width ({beam_width}) exceeds the {k * vocab} possible extensions")
    total = (scores[:, :, None] + log_probs).reshape(n, k * vocab)
    best = np.argsort(-total, axis=1, kind="stable")[:, :beam_width]
    return np.take_along_axis(total, best, axis=1), best // vocab, best % vocab


def beam_search(model, features, max_len: int, beam_width: int = 3) -> Decoded:
    """Generate captions with beam search: keep the `beam_width` most likely prefixes.

    A hypothesis that has emitted ``<end>`` stays in the beam with its score fixed (it can
    only be followed by ``<pad>``, at no cost). The result is the most likely hypothesis
    after `max_len` steps; with ``beam_width=1`` it is exactly `greedy_decode`.

    Args:
        model: a `captioner` model (or its `AttentionDecoder`).
        features: annotation grids (n, h, w, d).
        max_len: number of steps.
        beam_width: number k of hypotheses kept per image.

    Returns:
        `Decoded` captions (the best hypothesis of each image).
    """
    decoder, max_len = _decoder_of(model), _positive_int("max_len", max_len)
    k, n = _positive_int("beam_width", beam_width), len(features)
    annotations = decoder.annotations(ops.convert_to_tensor(np.asarray(features, "float32")))
    annotations = ops.repeat(annotations, k, axis=0)  # (n * k, m, d), image i in rows ik..
    states, keys = decoder.initial_state(annotations), decoder.keys(annotations)
    scores = np.full((n, k), _NEG)
    scores[:, 0] = 0.0  # one live hypothesis to start with
    token, ended = np.full(n * k, START, np.int32), np.zeros((n, k), bool)
    tokens = np.zeros((n, k, 0), np.int32)
    alphas = np.zeros((n, k, 0, _shape(annotations)[1]), np.float32)
    betas = np.zeros((n, k, 0), np.float32)
    rows = np.arange(n)[:, None]
    for _ in range(max_len):
        logits, states, alpha, beta = decoder.step(token, states, annotations, keys)
        log_probs = _allowed(_log_softmax(ops.convert_to_numpy(logits)).reshape(n, k, -1), ended)
        scores, parents, new = beam_step(scores, log_probs, k)
        alpha = np.where(ended[..., None], 0.0, ops.convert_to_numpy(alpha).reshape(n, k, -1))
        beta = np.where(ended, 0.0, ops.convert_to_numpy(beta).reshape(n, k))
        tokens = np.concatenate([tokens[rows, parents], new[..., None]], axis=2)
        alphas = np.concatenate([alphas[rows, parents], alpha[rows, parents][:, :, None]], axis=2)
        betas = np.concatenate([betas[rows, parents], beta[rows, parents][..., None]], axis=2)
        ended = ended[rows, parents] | (new == END)
        flat = (rows * k + parents).reshape(-1)
        states = [ops.take(s, flat, axis=0) for s in states]
        token = new.reshape(-1).astype(np.int32)
    return Decoded(tokens[:, 0], scores[:, 0], alphas[:, 0], betas[:, 0])


# ------------------------------------------------------------------------ metrics


def _words(tokens) -> list[list[int]]:
    """Token rows -> lists of word tokens up to the first <end>."""
    out = []
    for row in np.asarray(tokens):
        words = []
        for t in row:
            if t == END or t == PAD:
                break
            words.append(int(t))
        out.append(words)
    return out


def caption_metrics(tokens, labels) -> dict:
    """Exact-caption and per-token accuracy of generated captions.

    Args:
        tokens: int (n, max_len), generated tokens after ``<start>`` (see `Decoded`).
        labels: int (n, max_items), the true items in reading order, -1 padded.

    Returns:
        ``{"exact": share of captions equal to the reference, word for word and in length,
        "per_token": share of the reference words that the generated caption has at the
        same position}``.
    """
    labels = np.asarray(labels)
    generated = _words(tokens)
    if labels.ndim != 2 or len(labels) != len(generated):
        raise ValueError(f"labels must have shape ({len(generated)}, max_items), got {labels.shape}")
    exact, hits, words = 0, 0, 0
    for gen, row in zip(generated, labels):
        ref = [int(c) + 3 for c in row if c >= 0]
        exact += gen == ref
        hits += sum(g == r for g, r in zip(gen, ref))
        words += len(ref)
    return {"exact": exact / len(labels), "per_token": hits / words}


def bleu4(hypotheses, references) -> float:
    """Corpus BLEU-4 (Papineni et al., 2002) with sacrebleu, on a 0-100 scale.

    Args:
        hypotheses: list of n caption strings (words separated by spaces).
        references: list of n reference caption strings, one per hypothesis.

    Returns:
        ``sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none").score``: the
        words are the tokens; n-gram counts are pooled over the corpus.
    """
    import sacrebleu

    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"need one reference per hypothesis, got {len(hypotheses)} "
                         f"hypotheses and {len(references)} references")
    return float(sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none").score)


def attention_on_items(alphas, boxes, grid: tuple[int, int], image_size: tuple[int, int]):
    """The share of each step's attention that falls inside each item's box.

    The weights of every step, (h, w), are resized to the image
    (`d2lite.attention.upsample_attention`) and summed inside each box
    (`d2lite.attention.mass_in_boxes`).

    Args:
        alphas: (n, steps, h * w), the weights of each step (see `Decoded`).
        boxes: int (n, max_items, 4), (top, left, bottom, right), -1 padded.
        grid: (h, w) of the annotation grid.
        image_size: (height, width) of the images.

    Returns:
        float64 (n, steps, max_items): entry (i, t, j) is the share of step t's attention
        inside item j's box; NaN where image i has no item j.
    """
    alphas, boxes = _numpy(alphas, np.float32), _numpy(boxes)
    if alphas.ndim != 3:
        raise ValueError(f"alphas must have shape (n, steps, h * w), got {alphas.shape}")
    n, steps, m = alphas.shape
    if len(grid) != 2 or grid[0] * grid[1] != m:
        raise ValueError(f"grid {tuple(grid)} does not have the {m} locations of alphas")
    if boxes.ndim != 3 or boxes.shape[0] != n or boxes.shape[2] != 4:
        raise ValueError(f"boxes must have shape ({n}, max_items, 4), got {boxes.shape}")
    maps = upsample_attention(alphas.reshape(n * steps, *grid), image_size)
    maps = maps.reshape(n, steps, *maps.shape[1:])
    rows, cols = np.arange(maps.shape[2]), np.arange(maps.shape[3])
    top, left, bottom, right = (boxes[:, None, :, i, None, None] for i in range(4))
    inside = ((rows[:, None] >= top) & (rows[:, None] < bottom)
              & (cols[None, :] >= left) & (cols[None, :] < right))  # (n, 1, items, H, W)
    mass = np.einsum("nshw,nkhw->nsk", maps, inside[:, 0].astype(np.float32)).astype(np.float64)
    return np.where(boxes[:, None, :, 0] >= 0, mass, np.nan)


def attention_hits(alphas, boxes, tokens, grid: tuple[int, int], image_size: tuple[int, int]):
    """Does the attention of each generated word fall on the item that word should name?

    Word t of a caption names item t (reading order). The word *hits* if, of all the items
    in the image, item t holds the largest share of its attention (`attention_on_items`).

    Args:
        alphas: (n, steps, h * w), the weights of each step (see `Decoded`).
        boxes: int (n, max_items, 4), (top, left, bottom, right), -1 padded.
        tokens: (n, steps), the generated tokens: only words (not ``<end>``) at positions
            that have an item are tested.
        grid: (h, w) of the annotation grid.
        image_size: (height, width) of the images.

    Returns:
        ``(hits, tested)``, two boolean arrays (n, steps); the hit rate is
        ``hits.sum() / tested.sum()`` (`hits` is False wherever `tested` is).
    """
    mass = attention_on_items(alphas, boxes, grid, image_size)
    n, steps, items = mass.shape
    tokens = np.asarray(tokens)
    if tokens.shape != (n, steps):
        raise ValueError(f"tokens must have shape ({n}, {steps}) like alphas, got {tokens.shape}")
    tested = np.zeros((n, steps), bool)
    for i, row in enumerate(_words(tokens)):
        tested[i, :min(len(row), items)] = True
    k = min(steps, items)
    tested[:, :k] &= ~np.isnan(mass[:, np.arange(k), np.arange(k)])
    best = np.argmax(np.where(np.isnan(mass), -1.0, mass), axis=-1)  # (n, steps)
    return tested & (best == np.arange(steps)[None, :]), tested
