"""d2lite.vit: patches, the encoder block and rollout against Keras layers and closed forms;
shapes, gradient flow, serialisation, error messages; and the masked-attention self-check."""

import re

import keras
import numpy as np
import pytest
from keras import layers, ops

import d2lite
from d2lite import check, vit


def _np(x):
    if isinstance(x, keras.Variable):
        return np.asarray(x.numpy())
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def small_vit():
    d2lite.set_seed(0)
    return vit.vision_transformer(patch_size=7, dim=16, depth=2, num_heads=2, mlp_dim=32)


# ------------------------------------------------------------------------ patches


def test_patchify_cuts_row_by_row():
    x = np.arange(2 * 4 * 6 * 3, dtype="float32").reshape(2, 4, 6, 3)
    p = _np(vit.patchify(x, 2))
    assert p.shape == (2, 6, 12)
    for b in range(2):
        for i in range(2):
            for j in range(3):
                np.testing.assert_array_equal(p[b, i * 3 + j], x[b, 2 * i:2 * i + 2, 2 * j:2 * j + 2].ravel())


def test_patch_embedding_is_a_strided_convolution(images):
    """Without class token and positions, PatchEmbedding == Conv2D(d, p, strides=p)."""
    d2lite.set_seed(0)
    emb = vit.PatchEmbedding(4, 8, class_token=False, position_embedding=False)
    tokens = emb(images)
    conv = layers.Conv2D(8, 4, strides=4)
    conv.build(images.shape)
    conv.set_weights([_np(emb.kernel).reshape(4, 4, 1, 8), _np(emb.bias)])
    np.testing.assert_allclose(_np(tokens), _np(conv(images)).reshape(3, 49, 8), atol=1e-5)


def test_patch_embedding_class_token_and_positions(images):
    d2lite.set_seed(0)
    emb = vit.PatchEmbedding(7, 12)
    z = _np(emb(images))
    assert z.shape == (3, 17, 12) == emb.compute_output_shape(images.shape)
    assert len(emb.trainable_weights) == 4  # kernel, bias, class token, positions
    # the class token (token 0) is the same for every image: learned, not computed
    np.testing.assert_allclose(z[0, 0], z[1, 0], atol=1e-6)
    np.testing.assert_allclose(z[0, 0], _np(emb.cls[0, 0] + emb.positions[0, 0]), atol=1e-6)
    no_pos = vit.PatchEmbedding(7, 12, class_token=False, position_embedding=False)
    assert no_pos(images).shape == (3, 16, 12) and len(no_pos.trainable_weights) == 2


# -------------------------------------------------------------------- encoder block


def test_block_is_prenorm_attention_then_mlp_with_keras_layers():
    d2lite.set_seed(0)
    x = keras.random.normal((2, 5, 8), seed=1)
    block = vit.TransformerEncoderBlock(2, 16)
    y, w = block(x, return_attention=True)
    assert y.shape == (2, 5, 8) and w.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(_np(ops.sum(w, axis=-1)), 1.0, atol=1e-5)
    h = block.norm1(x)
    x1 = x + block.attention(h, h)
    expected = x1 + block.mlp2(block.mlp1(block.norm2(x1)))
    np.testing.assert_allclose(_np(y), _np(expected), atol=1e-5)
    np.testing.assert_allclose(_np(block(x)), _np(y), atol=1e-6)  # same with or without weights


def test_block_without_positions_is_permutation_equivariant():
    d2lite.set_seed(0)
    x = keras.random.normal((2, 6, 8), seed=2)
    perm = np.random.default_rng(0).permutation(6)
    block = vit.TransformerEncoderBlock(4, 16)
    np.testing.assert_allclose(_np(block(ops.take(x, perm, axis=1))), _np(block(x))[:, perm], atol=1e-5)


def test_dropout_only_in_training():
    d2lite.set_seed(0)
    x = keras.random.normal((2, 5, 8), seed=1)
    block = vit.TransformerEncoderBlock(2, 16, dropout=0.5)
    np.testing.assert_allclose(_np(block(x, training=False)), _np(block(x)), atol=1e-6)
    assert not np.allclose(_np(block(x, training=True)), _np(block(x, training=False)))


# ---------------------------------------------------------------- the whole model


def test_model_shapes_and_attention_weights(small_vit, images):
    assert small_vit(images).shape == (3, 10)
    weights = vit.attention_weights(small_vit, images)
    assert len(weights) == 2 and all(tuple(w.shape) == (3, 2, 17, 17) for w in weights)
    mean = vit.vision_transformer(patch_size=4, dim=16, depth=1, num_heads=4, mlp_dim=16, pooling="mean")
    assert mean(images).shape == (3, 10)
    assert tuple(vit.attention_weights(mean, images)[0].shape) == (3, 4, 49, 49)  # no class token


def test_token_pooling():
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(_np(vit.TokenPooling("class_token")(x)), x[:, 0], atol=1e-6)
    np.testing.assert_allclose(_np(vit.TokenPooling("mean")(x)), x.mean(1), atol=1e-6)
    assert vit.TokenPooling.from_config(vit.TokenPooling("mean").get_config()).mode == "mean"


def test_every_weight_gets_a_gradient(images):
    d2lite.set_seed(0)
    model = vit.vision_transformer(patch_size=7, dim=16, depth=2, num_heads=2, mlp_dim=32)
    before = [_np(w).copy() for w in model.trainable_weights]
    model.compile(optimizer=keras.optimizers.SGD(1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(images, np.array([0, 1, 2]))  # one step: w <- w - gradient
    change = {w.path: np.abs(_np(w) - b).max() for w, b in zip(model.trainable_weights, before)}
    # Every weight but the keys' biases: adding b to every key adds q.b to all scores of a
    # query, which the softmax ignores, so their gradient is zero (up to rounding).
    no_gradient = sorted(path for path, c in change.items() if c < 1e-6)
    assert no_gradient == ["block1/attention/key/bias", "block2/attention/key/bias"], change


def test_layers_round_trip_through_get_config():
    emb = vit.PatchEmbedding(4, 8, class_token=False, name="e")
    again = vit.PatchEmbedding.from_config(emb.get_config())
    assert (again.patch_size, again.dim, again.class_token, again.position_embedding) == (4, 8, False, True)
    block = vit.TransformerEncoderBlock(2, 16, dropout=0.1, epsilon=1e-5)
    cfg = vit.TransformerEncoderBlock.from_config(block.get_config()).get_config()
    assert {k: cfg[k] for k in ("num_heads", "mlp_dim", "dropout", "epsilon")} == {
        "num_heads": 2, "mlp_dim": 16, "dropout": 0.1, "epsilon": 1e-5}


def test_saved_and_loaded_model_gives_the_same_outputs(small_vit, images, tmp_path):
    path = tmp_path / "vit.keras"
    small_vit.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_np(loaded(images)), _np(small_vit(images)), atol=1e-6)
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in small_vit.layers]
    for a, b in zip(vit.attention_weights(loaded, images), vit.attention_weights(small_vit, images)):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6)


# ----------------------------------------------------------------------- rollout


def _np_rollout(weights, residual=0.5):
    out = None
    for w in weights:
        a = residual * np.eye(w.shape[-1]) + (1 - residual) * w.mean(axis=1)
        a = a / a.sum(-1, keepdims=True)
        out = a if out is None else a @ out
    return out


def test_rollout_matches_numpy_and_rows_sum_to_one():
    rng = np.random.default_rng(0)
    weights = [rng.dirichlet(np.ones(5), size=(2, 3, 5)).astype("float32") for _ in range(4)]
    r = _np(vit.attention_rollout(weights))
    assert r.shape == (2, 5, 5) and (r >= 0).all()
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(r, _np_rollout(weights), atol=1e-5)
    # one layer and no residual: the mean over the heads
    np.testing.assert_allclose(_np(vit.attention_rollout(weights[:1], residual=0.0)),
                               weights[0].mean(axis=1), atol=1e-6)
    # max fusion is renormalised too
    np.testing.assert_allclose(_np(vit.attention_rollout(weights, head_fusion="max")).sum(-1), 1.0, atol=1e-5)


def test_rollout_of_identity_attention_is_identity():
    eye = np.tile(np.eye(4, dtype="float32"), (1, 2, 1, 1))
    np.testing.assert_allclose(_np(vit.attention_rollout([eye, eye, eye])), np.eye(4)[None], atol=1e-6)


def test_rollout_of_a_trained_shape_model(small_vit, images):
    r = _np(vit.attention_rollout(vit.attention_weights(small_vit, images)))
    assert r.shape == (3, 17, 17)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize("call,match", [
    (lambda: vit.patchify(np.zeros((1, 28, 28, 1)), 5), "multiples of patch_size"),
    (lambda: vit.patchify(np.zeros((28, 28, 1)), 4), r"images must have shape \(batch, height, width"),
    (lambda: vit.patchify(np.zeros((1, 28, 28, 1)), 0), "patch_size must be a positive int"),
    (lambda: vit.PatchEmbedding(4, 0), "dim must be a positive int"),
    (lambda: vit.PatchEmbedding(5, 8)(np.zeros((1, 28, 28, 1))), "multiples of patch_size"),
    (lambda: vit.TransformerEncoderBlock(3, 8)(np.zeros((1, 4, 8))), "multiple of num_heads=3"),
    (lambda: vit.TransformerEncoderBlock(2, 8)(np.zeros((4, 8))), r"tokens of shape \(batch, t, d\)"),
    (lambda: vit.TransformerEncoderBlock(2, 8, dropout=1.0), r"dropout must be a rate in \[0, 1\)"),
    (lambda: vit.vision_transformer(pooling="max"), "pooling must be"),
    (lambda: vit.TokenPooling("max"), "mode must be"),
    (lambda: vit.vision_transformer(dim=30, num_heads=4), "dim=30 must be a multiple of num_heads=4"),
    (lambda: vit.vision_transformer((30, 30, 1), patch_size=4), "input_shape of height 30"),
    (lambda: vit.attention_rollout([]), "at least one tensor"),
    (lambda: vit.attention_rollout([np.ones((1, 2, 3, 4))]), r"weights_per_layer\[0\] must have shape"),
    (lambda: vit.attention_rollout([np.ones((1, 2, 3, 3)), np.ones((1, 2, 4, 4))]),
     r"weights_per_layer\[1\] has shape"),
    (lambda: vit.attention_rollout([np.ones((1, 1, 2, 2))], head_fusion="min"), "head_fusion must be"),
    (lambda: vit.attention_rollout([np.ones((1, 1, 2, 2))], residual=1.0), "residual must lie"),
    (lambda: vit.attention_weights(keras.Sequential([keras.Input((4,)), layers.Dense(2)]), np.zeros((1, 4))),
     "one PatchEmbedding"),
])
def test_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_vision_transformer_builds_blocks_of_the_class_it_is_given():
    class Traced(vit.TransformerEncoderBlock):
        pass

    model = vit.vision_transformer(patch_size=7, dim=8, depth=2, num_heads=2, mlp_dim=16,
                                   block=Traced)
    blocks = [layer for layer in model.layers if isinstance(layer, vit.TransformerEncoderBlock)]
    assert [type(b) for b in blocks] == [Traced, Traced]
    with pytest.raises(TypeError, match="block must be TransformerEncoderBlock or a subclass"):
        vit.vision_transformer(block=layers.Dense)


# ------------------------------------------------------------ the self-check


def _softmax(s, axis=-1):
    e = np.exp(s - s.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _scores(q, k):
    return q @ np.swapaxes(k, 1, 2)


def ref_masked_attention(q, k, v, mask):
    return _softmax(np.where(mask, _scores(q, k) / np.sqrt(q.shape[-1]), -1e9)) @ v


def test_masked_attention_check_passes_correct_answers():
    assert check.masked_attention(ref_masked_attention)
    # d2lite's own pieces, composed as the chapter does, pass too
    from d2lite import attention

    def with_d2lite(q, k, v, mask):
        return attention.weighted_sum(attention.masked_softmax(attention.dot_scores(q, k, scaled=True), mask), v)

    result = check.masked_attention(with_d2lite)
    assert result and result.message.startswith("✓")


WRONG = [
    (lambda q, k, v, m: _softmax(np.where(m, _scores(q, k), -1e9)) @ v, "scale the scores before"),
    (lambda q, k, v, m: _softmax(np.where(m, _scores(q, k) / q.shape[-1], -1e9)) @ v, "divided by the size itself"),
    (lambda q, k, v, m: _softmax(_scores(q, k) / np.sqrt(q.shape[-1])) @ v, "zero weight"),
    (lambda q, k, v, m: ref_masked_attention(q, k, v, ~m), r"\*may\* attend"),
    (lambda q, k, v, m: (_softmax(_scores(q, k) / np.sqrt(q.shape[-1])) * m) @ v, r"\*before\* the softmax"),
    (lambda q, k, v, m: _softmax(np.where(m, _scores(q, k) / np.sqrt(q.shape[-1]), -1e9), axis=1) @ v,
     "over the keys"),
    (lambda q, k, v, m: _softmax(np.where(m, _scores(q, k) / np.sqrt(q.shape[-1]), -1e9)), "attention weights"),
    (lambda q, k, v, m: ref_masked_attention(q, k, k, m), "values' size"),
    (lambda q, k, v, m: ref_masked_attention(q, k, v, m) + 0.01, "by hand"),
    (lambda q, k, v, m: 1 / 0, "raised ZeroDivisionError"),
]


@pytest.mark.parametrize("wrong,match", WRONG)
def test_masked_attention_check_fails_with_a_hint_and_no_answer(wrong, match):
    result = check.masked_attention(wrong)
    assert not result and result.message.startswith("✗")
    assert re.search(match, result.message), result.message
    for giveaway in ("sqrt(", "softmax(", "def ", "-1e9", "where(", "np.", " @ "):
        assert giveaway not in result.message


def test_masked_attention_check_wants_a_function():
    with pytest.raises(TypeError, match="your function"):
        check.masked_attention(np.zeros(3))
