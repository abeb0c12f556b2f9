"""Vision transformer pieces: patches, encoder blocks and attention rollout.

A vision transformer (Dosovitskiy et al., 2021) reads an image as a sequence of tokens:

1. `patchify` cuts an image (batch, H, W, C) into ``n = (H / p)(W / p)`` square patches
   of ``p x p`` pixels, flattened row by row: (batch, n, p p C);
2. `PatchEmbedding` projects every patch linearly to ``d`` numbers, optionally prepends a
   learned class token, and adds a learned positional embedding: (batch, n [+ 1], d);
3. `TransformerEncoderBlock` (pre-norm multi-head self-attention, then a two-layer MLP,
   each with a residual connection) maps (batch, t, d) to (batch, t, d), and can return
   its attention weights (batch, heads, t, t);
4. `vision_transformer` stacks them, with `TokenPooling` (the class token or the mean of
   the tokens) and a dense head, into a classifier; `attention_weights` reads the
   weights of every block of such a model for a batch of images;
5. `attention_rollout` (Abnar & Zuidema, 2020) multiplies the per-layer weights, each
   mixed with the identity for the residual connection, into one map of how much each
   output token draws on each input token: (batch, t, t), rows summing to 1.

The layers are registered Keras serialisables (package ``"d2lite"``): a model built from
them can be saved with ``model.save`` and loaded with ``keras.saving.load_model``. Every
function works on all Keras backends.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops
from d2lite._validate import _positive_int, _shape

__all__ = [
    "PatchEmbedding",
    "TokenPooling",
    "TransformerEncoderBlock",
    "attention_rollout",
    "attention_weights",
    "patchify",
    "vision_transformer",
]


def _check_image_shape(name: str, shape: tuple, patch_size: int) -> None:
    if len(shape) != 4:
        raise ValueError(f"{name} must have shape (batch, height, width, channels), got {shape}")
    _, h, w, c = shape
    if h is None or w is None or c is None:
        raise ValueError(f"{name} needs a known height, width and channels, got {shape}")
    if h % patch_size or w % patch_size:
        raise ValueError(f"{name} of height {h} and width {w} cannot be cut into patches of "
                         f"{patch_size}x{patch_size}: both must be multiples of patch_size")


def patchify(images, patch_size: int):
    """Cut images into non-overlapping square patches, each flattened to a vector.

    Args:
        images: (batch, height, width, channels); height and width multiples of
            `patch_size`.
        patch_size: positive int p, the side of a patch in pixels.

    Returns:
        Tensor (batch, n, p * p * channels) with ``n = (height / p) (width / p)``. Patch
        ``(i, j)`` is token ``i * (width / p) + j`` (row by row); inside a patch the
        pixels are in (row, column, channel) order, the order of a ``Conv2D`` kernel
        (p, p, channels, filters) reshaped to (p p channels, filters).

    Raises:
        ValueError: if `images` is not 4-D or its sides are not multiples of `patch_size`.
    """
    p = _positive_int("patch_size", patch_size)
    _check_image_shape("images", _shape(images), p)
    _, h, w, c = _shape(images)
    x = ops.reshape(images, (-1, h // p, p, w // p, p, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))  # (batch, h/p, w/p, p, p, c)
    return ops.reshape(x, (-1, (h // p) * (w // p), p * p * c))


@keras.saving.register_keras_serializable(package="d2lite")
class PatchEmbedding(layers.Layer):
    """Images to tokens: patches, a linear projection, a class token, positions.

    ``z_0 = [x_class; x_1 E; ...; x_n E] + E_pos`` with the patches ``x_i`` of `patchify`,
    a projection ``E`` of shape (p p C, dim) with a bias, an optional learned class token
    ``x_class`` of shape (dim,), and an optional learned positional embedding ``E_pos`` of
    shape (n [+ 1], dim).

    Args:
        patch_size: positive int p; the image sides must be multiples of it.
        dim: positive int, the size d of every token.
        class_token: prepend a learned class token (token 0).
        position_embedding: add a learned positional embedding. Without it the tokens
            carry no information about where their patch was: the encoder is then
            equivariant to any permutation of the patches.

    Call arguments:
        images: (batch, height, width, channels).

    Returns:
        Tokens (batch, n + 1, dim) with a class token, else (batch, n, dim).
    """

    def __init__(self, patch_size: int, dim: int, *, class_token: bool = True,
                 position_embedding: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = _positive_int("patch_size", patch_size)
        self.dim = _positive_int("dim", dim)
        self.class_token = bool(class_token)
        self.position_embedding = bool(position_embedding)

    def build(self, input_shape):
        _check_image_shape("PatchEmbedding inputs", tuple(input_shape), self.patch_size)
        _, h, w, c = input_shape
        p = self.patch_size
        self.num_patches = (h // p) * (w // p)
        self.kernel = self.add_weight(shape=(p * p * c, self.dim), initializer="glorot_uniform",
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.dim,), initializer="zeros", name="bias")
        init = keras.initializers.RandomNormal(stddev=0.02)
        if self.class_token:
            self.cls = self.add_weight(shape=(1, 1, self.dim), initializer=init, name="class_token")
        if self.position_embedding:
            tokens = self.num_patches + int(self.class_token)
            self.positions = self.add_weight(shape=(1, tokens, self.dim), initializer=init,
                                             name="position_embedding")

    def call(self, images):
        tokens = ops.matmul(patchify(images, self.patch_size), self.kernel) + self.bias
        if self.class_token:
            cls = ops.zeros_like(tokens[:, :1, :]) + ops.cast(self.cls, tokens.dtype)
            tokens = ops.concatenate([cls, tokens], axis=1)
        if self.position_embedding:
            tokens = tokens + ops.cast(self.positions, tokens.dtype)
        return tokens

    def compute_output_shape(self, input_shape):
        _, h, w, _ = input_shape
        n = (h // self.patch_size) * (w // self.patch_size)
        return (input_shape[0], n + int(self.class_token), self.dim)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size, "dim": self.dim,
                "class_token": self.class_token, "position_embedding": self.position_embedding}


@keras.saving.register_keras_serializable(package="d2lite")
class TransformerEncoderBlock(layers.Layer):
    """One pre-norm Transformer encoder block: (batch, t, d) -> (batch, t, d).

    ``z' = z + MSA(LN(z))`` then ``z'' = z' + MLP(LN(z'))``, where MSA is
    ``keras.layers.MultiHeadAttention`` with `num_heads` heads of size ``d / num_heads``
    (self-attention: queries, keys and values all come from ``LN(z)``) and the MLP is
    ``Dense(mlp_dim, gelu)`` then ``Dense(d)``.

    The block owns a ``keras.layers.MultiHeadAttention`` (its weights, names and saved
    form are that layer's) but, except when attention dropout is active, computes with its
    weights as plain matrix products: ``Z W`` with each (d, heads, d_k) kernel reshaped to
    (d, heads d_k), the heads split by a reshape, as in the from-scratch code of the
    chapter. The result equals calling the layer; on TensorFlow's CPU kernels it is about
    twice as fast to train, because the gradient of the layer's ``EinsumDense``
    projections is about three times slower than that of a matrix product of the same
    size (``bench/``).

    Args:
        num_heads: positive int h; the token size d must be a multiple of it.
        mlp_dim: positive int, the hidden size of the MLP.
        dropout: rate in [0, 1) applied to the attention weights and to the output of
            each residual branch during training.
        epsilon: the layer normalisations' epsilon.

    Call arguments:
        tokens: (batch, t, d).
        return_attention: also return the attention weights (batch, h, t, t); row ``i``
            of head ``k`` holds the weights with which token ``i`` reads every token.
        training: Python bool, whether dropout is active.

    Returns:
        Tokens (batch, t, d), or ``(tokens, weights)``.
    """

    def __init__(self, num_heads: int, mlp_dim: int, *, dropout: float = 0.0,
                 epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = _positive_int("num_heads", num_heads)
        self.mlp_dim = _positive_int("mlp_dim", mlp_dim)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError("TransformerEncoderBlock expects tokens of shape (batch, t, d), "
                             f"got {tuple(input_shape)}")
        d = int(input_shape[-1])
        if d % self.num_heads:
            raise ValueError(f"the token size d={d} must be a multiple of num_heads={self.num_heads}")
        self.norm1 = layers.LayerNormalization(epsilon=self.epsilon, name="norm1")
        self.attention = layers.MultiHeadAttention(self.num_heads, key_dim=d // self.num_heads,
                                                   dropout=self.dropout, name="attention")
        self.norm2 = layers.LayerNormalization(epsilon=self.epsilon, name="norm2")
        self.mlp1 = layers.Dense(self.mlp_dim, activation="gelu", name="mlp1")
        self.mlp2 = layers.Dense(d, name="mlp2")
        self.drop = layers.Dropout(self.dropout, name="dropout")
        self.norm1.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.norm2.build(input_shape)
        self.mlp1.build(input_shape)
        self.mlp2.build(tuple(input_shape[:-1]) + (self.mlp_dim,))

    def _self_attention(self, h):
        """The attention layer's computation by matrix products: (batch, t, d) ->
        outputs (batch, t, d) and weights (batch, heads, t, t)."""
        t, d = h.shape[1], h.shape[2]
        heads, d_k = self.num_heads, d // self.num_heads

        def project(dense):  # (batch, t, d) -> (batch, heads, t, d_k)
            kernel = ops.reshape(dense.kernel, (d, heads * d_k))
            z = ops.matmul(h, kernel) + ops.reshape(dense.bias, (heads * d_k,))
            return ops.transpose(ops.reshape(z, (-1, t, heads, d_k)), (0, 2, 1, 3))

        mha = self.attention
        q, k, v = project(mha.query_dense), project(mha.key_dense), project(mha.value_dense)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (1.0 / float(np.sqrt(d_k)))
        weights = ops.softmax(scores, axis=-1)
        heads_out = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))  # (b, t, heads, d_k)
        out = mha.output_dense
        outputs = (ops.matmul(ops.reshape(heads_out, (-1, t, heads * d_k)),
                              ops.reshape(out.kernel, (heads * d_k, d))) + out.bias)
        return outputs, weights

    def call(self, tokens, return_attention: bool = False, training=None):
        h = self.norm1(tokens)
        if training and self.dropout > 0:  # the layer's own dropout on the weights
            h, weights = self.attention(h, h, return_attention_scores=True, training=training)
        else:
            h, weights = self._self_attention(h)
        x = tokens + self.drop(h, training=training)
        h = self.mlp2(self.drop(self.mlp1(self.norm2(x)), training=training))
        x = x + self.drop(h, training=training)
        return (x, weights) if return_attention else x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "mlp_dim": self.mlp_dim,
                "dropout": self.dropout, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="d2lite")
class TokenPooling(layers.Layer):
    """(batch, t, d) -> (batch, d): the class token (token 0) or the mean of all tokens."""

    def __init__(self, mode: str = "class_token", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("class_token", "mean"):
            raise ValueError(f'mode must be "class_token" or "mean", got {mode!r}')
        self.mode = mode

    def call(self, tokens):
        return tokens[:, 0, :] if self.mode == "class_token" else ops.mean(tokens, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def vision_transformer(input_shape=(28, 28, 1), num_classes: int = 10, *, patch_size: int = 4,
                       dim: int = 64, depth: int = 4, num_heads: int = 4, mlp_dim: int = 128,
                       pooling: str = "class_token", position_embedding: bool = True,
                       dropout: float = 0.0, name: str = "vit",
                       block: type | None = None) -> keras.Model:
    """A vision transformer classifier: images (batch, H, W, C) -> logits (batch, classes).

    `PatchEmbedding`, `depth` `TransformerEncoderBlock` layers (named ``block1``, ...), a final
    layer normalisation, then the class token (``pooling="class_token"``) or the mean of
    the tokens (``pooling="mean"``, no class token is added) into a dense head.

    Args:
        input_shape: (height, width, channels), sides multiples of `patch_size`.
        num_classes: number of logits.
        patch_size, dim, position_embedding: see `PatchEmbedding`.
        depth: number of encoder blocks.
        num_heads, mlp_dim, dropout: see `TransformerEncoderBlock`.
        pooling: ``"class_token"`` or ``"mean"``.
        block: the encoder blocks' class, `TransformerEncoderBlock` or a subclass of it
            (by default `TransformerEncoderBlock`).

    Raises:
        ValueError: naming the argument, for shapes or values that do not fit.
        TypeError: if `block` is not `TransformerEncoderBlock` or a subclass.
    """
    block = TransformerEncoderBlock if block is None else block
    if not (isinstance(block, type) and issubclass(block, TransformerEncoderBlock)):
        raise TypeError(f"block must be TransformerEncoderBlock or a subclass of it, got {block!r}")
    input_shape = tuple(input_shape)
    p = _positive_int("patch_size", patch_size)
    _check_image_shape("input_shape", (None, *input_shape), p)
    _positive_int("num_classes", num_classes)
    _positive_int("depth", depth)
    if pooling not in ("class_token", "mean"):
        raise ValueError(f'pooling must be "class_token" or "mean", got {pooling!r}')
    if _positive_int("dim", dim) % _positive_int("num_heads", num_heads):
        raise ValueError(f"dim={dim} must be a multiple of num_heads={num_heads}")
    inputs = keras.Input(input_shape, name="images")
    x = PatchEmbedding(p, dim, class_token=pooling == "class_token",
                       position_embedding=position_embedding, name="embedding")(inputs)
    for i in range(depth):
        x = block(num_heads, mlp_dim, dropout=dropout, name=f"block{i + 1}")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    x = TokenPooling(pooling, name="pool")(x)
    outputs = layers.Dense(num_classes, name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def attention_weights(model: keras.Model, images) -> list:
    """The attention weights of every encoder block of a vision transformer.

    Runs the model's `PatchEmbedding` and its `TransformerEncoderBlock` layers, in the order
    of ``model.layers``, in inference mode.

    Args:
        model: a model whose layers are one `PatchEmbedding` followed by encoder blocks
            (such as one built by `vision_transformer`).
        images: (batch, height, width, channels).

    Returns:
        A list with one tensor (batch, heads, t, t) per block.

    Raises:
        ValueError: if `model` has no `PatchEmbedding` or no `TransformerEncoderBlock`.
    """
    embeddings = [la for la in model.layers if isinstance(la, PatchEmbedding)]
    blocks = [la for la in model.layers if isinstance(la, TransformerEncoderBlock)]
    if len(embeddings) != 1 or not blocks:
        raise ValueError("model must contain one PatchEmbedding and at least one "
                         f"TransformerEncoderBlock, found {len(embeddings)} and {len(blocks)}")
    x = embeddings[0](ops.convert_to_tensor(images, "float32"))
    weights = []
    for block in blocks:
        x, w = block(x, return_attention=True, training=False)
        weights.append(w)
    return weights


def attention_rollout(weights_per_layer, *, head_fusion: str = "mean", residual: float = 0.5):
    """Attention rollout (Abnar & Zuidema, 2020): attention traced back through the layers.

    Each layer's weights are fused over the heads, mixed with the identity for the
    residual connection and renormalised,
    ``A_l = normalise(residual * I + (1 - residual) * fuse(W_l))``, and the layers are
    chained: ``R = A_L ... A_2 A_1``. Row ``i`` of ``R`` says how much output token ``i``
    of the last block draws on each input token.

    Args:
        weights_per_layer: sequence of L >= 1 tensors (batch, heads, t, t), first layer
            first, each row a probability distribution (as returned by
            `TransformerEncoderBlock` with ``return_attention=True``).
        head_fusion: ``"mean"`` (the paper's) or ``"max"`` over the heads.
        residual: weight in [0, 1) of the identity, 0.5 in the paper.

    Returns:
        Tensor (batch, t, t), non-negative, every row summing to 1.

    Raises:
        ValueError: for an empty sequence, tensors that are not (batch, heads, t, t) or
            differ in shape, or a bad `head_fusion` or `residual`.
    """
    weights_per_layer = list(weights_per_layer)
    if not weights_per_layer:
        raise ValueError("weights_per_layer must hold at least one tensor (batch, heads, t, t)")
    if head_fusion not in ("mean", "max"):
        raise ValueError(f'head_fusion must be "mean" or "max", got {head_fusion!r}')
    if not 0.0 <= float(residual) < 1.0:
        raise ValueError(f"residual must lie in [0, 1), got {residual!r}")
    first = _shape(weights_per_layer[0])
    for k, w in enumerate(weights_per_layer):
        shape = _shape(w)
        if len(shape) != 4 or shape[-1] != shape[-2]:
            raise ValueError(f"weights_per_layer[{k}] must have shape (batch, heads, t, t), got {shape}")
        if shape != first:
            raise ValueError(f"weights_per_layer[{k}] has shape {shape}, but weights_per_layer[0] "
                             f"has {first}: every layer must have the same shape")
    t = first[-1]
    eye = ops.eye(t, dtype="float32")
    rollout = None
    for w in weights_per_layer:
        w = ops.cast(w, "float32")
        fused = ops.mean(w, axis=1) if head_fusion == "mean" else ops.max(w, axis=1)
        a = residual * eye + (1.0 - residual) * fused
        a = a / ops.sum(a, axis=-1, keepdims=True)
        rollout = a if rollout is None else ops.matmul(a, rollout)
    return rollout
