"""d2lite.attention: scores, masked softmax and attention pooling agree with NumPy and with
Keras' attention layers, respect masks, document their shapes and fail with clear messages."""

import d2lite  # noqa: F401  (quiet TensorFlow first)
import keras
import numpy as np
import pytest
from keras import ops

from d2lite import attention as att

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.normal(size=shape).astype("float32")


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def np_softmax(e):
    e = np.exp(e - e.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------- regions and scores


def test_regions_are_the_locations_in_row_major_order():
    x = normal(2, 3, 4, 5)
    r = to_np(att.regions(x))
    assert r.shape == (2, 12, 5)
    for i in range(3):
        for j in range(4):
            np.testing.assert_array_equal(r[:, i * 4 + j], x[:, i, j])


def test_regions_of_a_model_for_any_image_size():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Lambda(att.regions)(inputs))
    assert tuple(model(normal(2, 5, 6, 3)).shape) == (2, 30, 3)


def test_dot_and_general_scores_match_numpy():
    q, k, w = normal(2, 3, 4), normal(2, 7, 4), normal(4, 4)
    expected = np.einsum("bqd,bmd->bqm", q, k)
    np.testing.assert_allclose(to_np(att.dot_scores(q, k)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_np(att.dot_scores(q, k, scaled=True)), expected / 2,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_np(att.general_scores(q, k, w)),
                               np.einsum("bqd,de,bme->bqm", q, w, k), rtol=1e-4, atol=1e-4)
    # the identity makes the general score the dot score
    np.testing.assert_allclose(to_np(att.general_scores(q, k, np.eye(4, dtype="float32"))),
                               expected, rtol=1e-5, atol=1e-5)


def test_general_scores_allow_different_sizes():
    q, k, w = normal(2, 1, 3), normal(2, 6, 5), normal(3, 5)
    assert tuple(att.general_scores(q, k, w).shape) == (2, 1, 6)


def test_additive_scores_match_a_loop():
    q, k = normal(2, 3, 4), normal(2, 5, 6)
    wq, wk, v = normal(4, 8), normal(6, 8), normal(8)
    got = to_np(att.additive_scores(q, k, wq, wk, v))
    assert got.shape == (2, 3, 5)
    for b in range(2):
        for i in range(3):
            for j in range(5):
                expected = v @ np.tanh(q[b, i] @ wq + k[b, j] @ wk)
                assert abs(got[b, i, j] - expected) < 1e-4


def test_additive_scores_of_layer_outputs_with_numpy_weights():
    """Queries and keys straight from layers (on PyTorch: tensors in an autograd graph,
    which NumPy cannot read) with NumPy weights, as chapter 10 calls it."""
    x = normal(2, 5, 6)
    k = keras.layers.Dense(6)(x)  # (2, 5, 6)
    q = keras.layers.Dense(4)(x[:, :3])  # (2, 3, 4)
    wq, wk, v = normal(4, 8), normal(6, 8), normal(8)
    got = to_np(att.additive_scores(q, k, wq, wk, v))
    q_, k_ = to_np(q), to_np(k)
    expected = np.tanh((q_ @ wq)[:, :, None] + (k_ @ wk)[:, None]) @ v
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("call,match", [
    (lambda: att.regions(normal(3, 4, 5)), r"feature_map must have shape \(batch, h, w, c\)"),
    (lambda: att.dot_scores(normal(2, 4), normal(2, 5, 4)),
     r"queries must have shape \(batch, n_q, d_q\)"),
    (lambda: att.dot_scores(normal(2, 1, 4), normal(5, 4)), r"keys must have shape \(batch, m, d_k\)"),
    (lambda: att.dot_scores(normal(2, 1, 4), normal(3, 5, 4)), "same batch size, got 2 and 3"),
    (lambda: att.dot_scores(normal(2, 1, 4), normal(2, 5, 3)), "d_q=4 and d_k=3"),
    (lambda: att.general_scores(normal(2, 1, 4), normal(2, 5, 3), normal(3, 4)),
     r"weight must have shape \(d_q, d_k\) = \(4, 3\), got \(3, 4\)"),
    (lambda: att.additive_scores(normal(2, 1, 4), normal(2, 5, 3), normal(4, 8), normal(3, 8), normal(8, 1)),
     r"v must have shape \(u,\)"),
    (lambda: att.additive_scores(normal(2, 1, 4), normal(2, 5, 3), normal(3, 8), normal(3, 8), normal(8)),
     r"w_query must have shape \(4, 8\), got \(3, 8\)"),
    (lambda: att.additive_scores(normal(2, 1, 4), normal(2, 5, 3), normal(4, 8), normal(3, 7), normal(8)),
     r"w_key must have shape \(3, 8\), got \(3, 7\)"),
    (lambda: att.weighted_sum(normal(2, 1, 5), normal(2, 6, 3)), "weights cover 5 locations but values has 6"),
    (lambda: att.weighted_sum(normal(2, 5), normal(2, 5, 3)), r"weights must have shape \(batch, n_q, m\)"),
    (lambda: att.masked_softmax(normal(2, 1, 5), np.ones((2, 1, 4), bool)), "does not broadcast"),
])
def test_bad_shapes_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------- softmax and context


def test_masked_softmax_sums_to_one_and_respects_the_mask():
    scores = normal(4, 2, 9) * 3
    mask = RNG.random((4, 1, 9)) < 0.6
    mask[:, :, 0] = True  # at least one kept per row
    w = to_np(att.masked_softmax(scores, mask))
    assert w.shape == scores.shape and (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-6)
    assert (w[np.broadcast_to(~mask, w.shape)] == 0).all()
    expected = np_softmax(np.where(mask, scores, -np.inf))
    np.testing.assert_allclose(w, expected, atol=1e-6)
    np.testing.assert_allclose(to_np(att.masked_softmax(scores)), np_softmax(scores), atol=1e-6)


def test_masked_softmax_of_a_fully_masked_row_is_zero_not_nan():
    w = to_np(att.masked_softmax(normal(1, 2, 5), np.array([[True] * 5, [False] * 5])))
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w.sum(axis=-1), [[1.0, 0.0]], atol=1e-6)


def test_weighted_sum_is_an_average_of_the_values():
    w = to_np(att.masked_softmax(normal(2, 3, 6)))
    values = normal(2, 6, 4)
    got = to_np(att.weighted_sum(w.astype("float32"), values))
    np.testing.assert_allclose(got, np.einsum("bqm,bmd->bqd", w, values), atol=1e-5)
    # uniform weights give the mean: global average pooling
    uniform = np.full((2, 1, 6), 1 / 6, "float32")
    np.testing.assert_allclose(to_np(att.weighted_sum(uniform, values))[:, 0], values.mean(axis=1),
                               atol=1e-6)


# ------------------------------------------------------------------- agreement with Keras layers


def ours(scores, values, mask=None):
    return to_np(att.weighted_sum(att.masked_softmax(scores, mask), values))


def test_dot_attention_equals_keras_attention():
    q, k, v = normal(3, 2, 8), normal(3, 10, 8), normal(3, 10, 5)
    mask = RNG.random((3, 10)) < 0.7
    mask[:, 0] = True
    layer = keras.layers.Attention()
    np.testing.assert_allclose(ours(att.dot_scores(q, k), v), to_np(layer([q, v, k])), atol=1e-5)
    np.testing.assert_allclose(ours(att.dot_scores(q, k), v, mask[:, None, :]),
                               to_np(layer([q, v, k], mask=[None, mask])), atol=1e-5)
    # the scaled dot product: Keras' learned scalar scale set to 1/sqrt(d)
    scaled = keras.layers.Attention(use_scale=True)
    scaled.build([q.shape, v.shape, k.shape])
    scaled.scale.assign(1 / np.sqrt(8))
    np.testing.assert_allclose(ours(att.dot_scores(q, k, scaled=True), v), to_np(scaled([q, v, k])),
                               atol=1e-5)


def test_additive_attention_equals_keras_additive_attention():
    q, k, v = normal(2, 3, 6), normal(2, 9, 4), normal(2, 9, 5)
    wq, wk, vec = normal(6, 7), normal(4, 7), normal(7)
    mask = np.ones((2, 9), bool)
    mask[1, 4:] = False
    layer = keras.layers.AdditiveAttention()
    layer.build([(2, 3, 7), (2, 9, 5), (2, 9, 7)])
    layer.scale.assign(vec)  # Keras' per-unit scale is Bahdanau's v
    keras_out = layer([q @ wq, v, k @ wk], mask=[None, mask])  # Keras scores projected inputs
    np.testing.assert_allclose(ours(att.additive_scores(q, k, wq, wk, vec), v, mask[:, None, :]),
                               to_np(keras_out), atol=1e-5)


def test_general_scores_are_a_transformer_head():
    """One head of MultiHeadAttention: softmax(q W_q (k W_k)^T / sqrt(d)) (v W_v) W_o, i.e. a
    general score with W = W_q W_k^T / sqrt(d)."""
    d, m, key_dim = 6, 11, 4
    q, kv = normal(2, 3, d), normal(2, m, d)
    mha = keras.layers.MultiHeadAttention(num_heads=1, key_dim=key_dim, use_bias=False)
    mask = np.ones((2, 3, m), bool)
    mask[0, :, 5:] = False
    expected = to_np(mha(q, kv, kv, attention_mask=mask))
    wq, wk, wv, wo = mha.get_weights()  # query, key, value (d, 1, key_dim); output (1, key_dim, d)
    wq, wk, wv, wo = wq[:, 0], wk[:, 0], wv[:, 0], wo[0]
    w = (wq @ wk.T / np.sqrt(key_dim)).astype("float32")
    got = ours(att.general_scores(q, kv, w), (kv @ wv).astype("float32"), mask) @ wo
    np.testing.assert_allclose(got, expected, atol=1e-4)


# ------------------------------------------------------------------- the pooling layer


@pytest.mark.parametrize("score", att.AttentionPooling.SCORES)
@pytest.mark.parametrize("query", att.AttentionPooling.QUERIES)
def test_attention_pooling_shapes_and_weights(score, query):
    x = normal(3, 5, 6, 8)
    layer = att.AttentionPooling(score=score, query=query, units=4)
    context, weights = layer(x, return_attention=True)
    assert tuple(context.shape) == (3, 8) and tuple(weights.shape) == (3, 5, 6)
    w = to_np(weights)
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=(1, 2)), 1.0, atol=1e-5)
    # the context is the weighted average of the region vectors
    np.testing.assert_allclose(to_np(context), np.einsum("bhw,bhwc->bc", w, x), atol=1e-5)
    np.testing.assert_allclose(to_np(layer(x)), to_np(context), atol=1e-6)


def test_attention_pooling_respects_the_mask():
    x = normal(2, 4, 4, 3)
    mask = np.ones((2, 4, 4), bool)
    mask[0, :2] = False
    mask[1, :, 3] = False
    layer = att.AttentionPooling()
    context, weights = layer(x, mask=mask, return_attention=True)
    w = to_np(weights)
    assert (w[~mask] == 0).all()
    np.testing.assert_allclose(w.sum(axis=(1, 2)), 1.0, atol=1e-5)
    changed = x.copy()
    changed[~mask] = 100.0  # what is masked out cannot change the result
    np.testing.assert_allclose(to_np(layer(changed, mask=mask)), to_np(context), atol=1e-5)


def test_attention_pooling_equals_keras_layers_with_the_same_weights():
    x = normal(2, 3, 5, 8)
    flat = x.reshape(2, 15, 8)
    dot = att.AttentionPooling(score="dot")
    got = to_np(dot(x))
    keras_dot = keras.layers.Attention(use_scale=True)
    keras_dot.build([(2, 1, 8), (2, 15, 8)])
    keras_dot.scale.assign(1 / np.sqrt(8))
    query = np.tile(to_np(dot.q)[None, None], (2, 1, 1)).astype("float32")
    np.testing.assert_allclose(got, to_np(keras_dot([query, flat]))[:, 0], atol=1e-5)

    add = att.AttentionPooling(score="additive", units=6)
    got = to_np(add(x))
    keras_add = keras.layers.AdditiveAttention()
    keras_add.build([(2, 1, 6), (2, 15, 8), (2, 15, 6)])
    keras_add.scale.assign(add.v)
    query = np.tile(to_np(add.q)[None, None], (2, 1, 1))
    q_proj = (query @ to_np(add.w_query)).astype("float32")
    k_proj = (flat @ to_np(add.w_key)).astype("float32")
    np.testing.assert_allclose(got, to_np(keras_add([q_proj, flat, k_proj]))[:, 0], atol=1e-5)


def test_uniform_scores_give_global_average_pooling():
    x = normal(2, 4, 5, 6)
    layer = att.AttentionPooling(score="additive", units=3)
    layer.build(x.shape)
    layer.v.assign(np.zeros(3, "float32"))  # every score 0: weights 1/m
    np.testing.assert_allclose(to_np(layer(x)), to_np(keras.layers.GlobalAveragePooling2D()(x)),
                               atol=1e-6)


def test_attention_pooling_in_a_functional_model_returns_weights():
    inputs = keras.Input((6, 6, 1))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    context, weights = att.AttentionPooling(name="pool")(features, return_attention=True)
    model = keras.Model(inputs, [keras.layers.Dense(2)(context), weights])
    logits, w = model(normal(3, 6, 6, 1))
    assert tuple(logits.shape) == (3, 2) and tuple(w.shape) == (3, 6, 6)
    assert model.output_shape == [(None, 2), (None, 6, 6)]


@pytest.mark.parametrize("score,query", [("additive", "learned"), ("general", "global"), ("dot", "global")])
def test_attention_pooling_config_and_save_load_round_trip(tmp_path, score, query):
    layer = att.AttentionPooling(score=score, query=query, units=5, name="pool")
    config = layer.get_config()
    assert (config["score"], config["query"], config["units"]) == (score, query, 5)
    clone = att.AttentionPooling.from_config(config)
    assert (clone.score, clone.query, clone.units, clone.name) == (score, query, 5, "pool")

    model = keras.Sequential([keras.Input((7, 7, 2)), keras.layers.Conv2D(4, 3), layer,
                              keras.layers.Dense(3)])
    x = normal(4, 7, 7, 2)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer("pool"), att.AttentionPooling)
    np.testing.assert_allclose(to_np(loaded(x)), to_np(model(x)), atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(score="cosine"), "score must be one of"),
    (dict(query="random"), "query must be one of"),
    (dict(units=0), "units must be a positive int"),
    (dict(units=2.5), "units must be a positive int"),
])
def test_attention_pooling_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        att.AttentionPooling(**kwargs)


def test_attention_pooling_bad_inputs():
    with pytest.raises(ValueError, match=r"inputs of shape \(batch, h, w, c\)"):
        att.AttentionPooling()(normal(2, 9, 4))
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, h, w\) = \(batch, 3, 3\)"):
        att.AttentionPooling()(normal(2, 3, 3, 4), mask=np.ones((2, 9), bool))


# ------------------------------------------------------------------- back onto the image


def test_upsample_attention_sums_to_one_and_keeps_uniform_maps_uniform():
    w = to_np(att.masked_softmax(normal(2, 1, 15 * 15))).reshape(2, 15, 15)
    maps = att.upsample_attention(w, (60, 60))
    assert maps.shape == (2, 60, 60) and maps.dtype == np.float32 and (maps >= 0).all()
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, atol=1e-5)
    flat = att.upsample_attention(np.full((1, 15, 15), 1 / 225, "float32"), (60, 60))
    np.testing.assert_allclose(flat, 1 / 3600, rtol=1e-5)


def test_upsample_attention_puts_a_location_at_its_centre():
    """With a jump of 4, location (i, j)'s weight peaks at pixels 4i + 1 and 4i + 2, around
    the centre 4i + 1.5 of the location's receptive field."""
    w = np.zeros((1, 15, 15), "float32")
    w[0, 5, 9] = 1
    maps = att.upsample_attention(w, (60, 60))[0]
    rows, cols = np.nonzero(maps == maps.max())
    assert set(rows) == {21, 22} and set(cols) == {37, 38}


def test_mass_in_boxes():
    uniform = np.full((2, 10, 20), 1 / 200)
    boxes = np.array([[0, 0, 10, 20], [2, 5, 7, 9]])
    np.testing.assert_allclose(att.mass_in_boxes(uniform, boxes), [1.0, 5 * 4 / 200])
    point = np.zeros((1, 10, 20))
    point[0, 3, 4] = 2.0
    assert att.mass_in_boxes(point, [[3, 4, 4, 5]])[0] == 1.0  # bottom/right exclusive
    assert att.mass_in_boxes(point, [[0, 0, 3, 20]])[0] == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda: att.upsample_attention(normal(2, 3, 3, 1), (6, 6)), r"weights must have shape \(batch, h, w\)"),
    (lambda: att.upsample_attention(normal(2, 3, 3), (6,)), "size must be"),
    (lambda: att.mass_in_boxes(np.ones((2, 4)), np.zeros((2, 4))), r"maps must have shape"),
    (lambda: att.mass_in_boxes(np.ones((2, 4, 4)), np.zeros((3, 4))), r"boxes must have shape \(2, 4\)"),
])
def test_back_onto_the_image_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------- show_attention


def test_show_attention_overlays_maps_and_boxes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images, maps = RNG.random((3, 60, 60, 1)), RNG.random((3, 15, 15))
    boxes = np.array([[0, 0, 28, 28], [10, 20, 38, 48], [-1, -1, -1, -1]])
    axes = d2lite.show_attention(images, maps, 2, 2, titles=["a", "b", "c"], boxes=boxes)
    assert axes.shape == (2, 2)
    assert [len(ax.images) for ax in axes.flat] == [2, 2, 2, 0]  # image + heatmap; empty cell
    assert [len(ax.patches) for ax in axes.flat] == [1, 1, 0, 0]  # rows of -1 are skipped
    heat = axes[0, 0].images[1].get_array()
    assert heat.shape == (60, 60) and abs(float(heat.max()) - 1) < 1e-6  # own scale, 0 to 1
    assert axes[0, 1].get_title() == "b"
    plt.close("all")
    axes = d2lite.show_attention(images[:2], None, 1, 2, boxes=boxes[:2])  # images only
    assert [len(ax.images) for ax in axes.flat] == [1, 1]
    plt.close("all")


@pytest.mark.parametrize("kwargs,match", [
    (dict(maps=np.ones((2, 15, 15))), r"maps must have shape \(3, h, w\)"),
    (dict(nrows=1, ncols=2), "3 images do not fit a 1x2 grid"),
    (dict(titles=["a"]), "titles has 1 entries for 3 images"),
])
def test_show_attention_bad_arguments(kwargs, match):
    args = {**dict(maps=np.ones((3, 2, 2)), nrows=1, ncols=3), **kwargs}
    with pytest.raises(ValueError, match=match):
        d2lite.show_attention(np.zeros((3, 8, 8)), args.pop("maps"), args.pop("nrows"),
                              args.pop("ncols"), **args)
