"""d2lite.captioning: the attention cell and decoder (shapes, equations, serialisation,
errors), decoding (greedy, beam search against exhaustive search), the metrics, and the
self-check d2lite.check.beam_step."""

import itertools

import d2lite  # noqa: F401
import keras
import numpy as np
import pytest
from keras import ops

from d2lite import captioning as cap

B, H, W, D, V, T = 3, 2, 3, 5, 7, 4  # batch, grid, feature size, vocabulary, steps


def features(seed=0, n=B):
    return np.random.default_rng(seed).normal(size=(n, H, W, D)).astype("float32")


def tokens(seed=0, n=B):
    rng = np.random.default_rng(seed)
    out = rng.integers(3, V, size=(n, T)).astype("int32")
    out[:, 0] = cap.START
    out[0, 2:] = [cap.END, cap.PAD]  # a short caption: <start> w <end> <pad>
    return out


def built_decoder(**kwargs):
    keras.utils.set_random_seed(0)
    decoder = cap.AttentionDecoder(V, embed_dim=4, units=6, attention_units=3, **kwargs)
    decoder(features(), tokens())
    return decoder


# ------------------------------------------------------------------------ equations


def lstm_reference(x, h, c, kernel, recurrent, bias):
    z = x @ kernel + h @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    c = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def test_cell_follows_the_equations():
    rng = np.random.default_rng(1)
    cell = cap.SoftAttentionCell(6, attention_units=3)
    word = rng.normal(size=(B, 4)).astype("float32")
    h0, c0 = (rng.normal(size=(B, 6)).astype("float32") for _ in range(2))
    ann = rng.normal(size=(B, 7, D)).astype("float32")
    h, (h2, c), z, alpha, beta = (ops.convert_to_numpy(x) if not isinstance(x, list) else
                                  [ops.convert_to_numpy(y) for y in x]
                                  for x in cell(word, [h0, c0], ann))
    assert h.shape == (B, 6) and c.shape == (B, 6) and z.shape == (B, D)
    assert alpha.shape == (B, 7) and beta.shape == (B, 1)
    np.testing.assert_allclose(h, h2)
    # scores e_i = v . tanh(W_h h + W_a a_i), softmax, gate, context
    w_q, w_k, v = (ops.convert_to_numpy(w) for w in (cell.w_query, cell.w_key, cell.v))
    scores = np.tanh((h0 @ w_q)[:, None, :] + ann @ w_k) @ v
    expected_alpha = np.exp(scores - scores.max(1, keepdims=True))
    expected_alpha /= expected_alpha.sum(1, keepdims=True)
    np.testing.assert_allclose(alpha, expected_alpha, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=1e-6)
    w_b, b_b = ops.convert_to_numpy(cell.w_beta), ops.convert_to_numpy(cell.b_beta)
    expected_beta = 1 / (1 + np.exp(-(h0 @ w_b + b_b)))
    np.testing.assert_allclose(beta, expected_beta, rtol=1e-5)
    expected_z = expected_beta * np.einsum("bm,bmd->bd", expected_alpha, ann)
    np.testing.assert_allclose(z, expected_z, rtol=1e-4, atol=1e-6)
    kernel, recurrent, bias = (ops.convert_to_numpy(w) for w in cell.lstm.weights)
    eh, ec = lstm_reference(np.concatenate([word, expected_z], 1), h0, c0, kernel, recurrent, bias)
    np.testing.assert_allclose(h, eh, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c, ec, rtol=1e-4, atol=1e-5)


def test_cell_without_attention_or_gate():
    rng = np.random.default_rng(2)
    cell = cap.SoftAttentionCell(6, attend=False, gate=False)
    ann = rng.normal(size=(B, 7, D)).astype("float32")
    states = [np.zeros((B, 6), "float32")] * 2
    _, _, z, alpha, beta = cell(np.zeros((B, 4), "float32"), states, ann)
    np.testing.assert_allclose(alpha, np.full((B, 7), 1 / 7), rtol=1e-6)
    np.testing.assert_allclose(beta, 1.0)
    np.testing.assert_allclose(z, ann.mean(axis=1), rtol=1e-5, atol=1e-6)
    assert not hasattr(cell, "w_query") and not hasattr(cell, "w_beta")


def test_decoder_shapes_and_teacher_forcing():
    decoder = built_decoder()
    logits, alphas, betas = decoder(features(), tokens(), return_attention=True)
    assert tuple(logits.shape) == (B, T, V)
    assert tuple(alphas.shape) == (B, T, H * W) and tuple(betas.shape) == (B, T)
    np.testing.assert_allclose(ops.convert_to_numpy(alphas).sum(-1), 1.0, rtol=1e-5)
    beta = ops.convert_to_numpy(betas)
    assert ((beta > 0) & (beta < 1)).all()
    # Teacher forcing: step t depends on tokens <= t only.
    changed = tokens()
    changed[:, 3] = 3 + (changed[:, 3] - 2) % (V - 3)
    other = ops.convert_to_numpy(decoder(features(), changed))
    np.testing.assert_allclose(other[:, :3], ops.convert_to_numpy(logits)[:, :3], rtol=1e-6)
    assert not np.allclose(other[:, 3], ops.convert_to_numpy(logits)[:, 3])
    # ... and the step-by-step interface gives the same logits
    ann = decoder.annotations(features())
    states, keys = decoder.initial_state(ann), decoder.keys(ann)
    for t in range(T):
        out, states, _, _ = decoder.step(tokens()[:, t], states, ann, keys)
        np.testing.assert_allclose(ops.convert_to_numpy(out), ops.convert_to_numpy(logits)[:, t],
                                   rtol=1e-5, atol=1e-6)


def test_positions_are_appended_to_the_grid():
    decoder = built_decoder()
    ann = ops.convert_to_numpy(decoder.annotations(features()))
    assert ann.shape == (B, H * W, D + H + W)
    np.testing.assert_allclose(ann[..., :D], features().reshape(B, H * W, D))
    codes = ann[0, :, D:]  # location i * W + j: one-hot row i, then one-hot column j
    for i in range(H):
        for j in range(W):
            np.testing.assert_array_equal(codes[i * W + j], np.r_[np.eye(H)[i], np.eye(W)[j]])
    assert (ann[1:, :, D:] == codes).all()
    layer = cap.GridPositions()
    assert layer.compute_output_shape((None, H, W, D)) == (None, H, W, D + H + W)
    assert cap.GridPositions.from_config(layer.get_config()).name == layer.name
    plain = built_decoder(positions=False)
    assert plain.grid_positions is None
    np.testing.assert_allclose(ops.convert_to_numpy(plain.annotations(features())),
                               features().reshape(B, H * W, D))


def test_doubly_stochastic_penalty():
    rng = np.random.default_rng(3)
    alphas = rng.dirichlet(np.ones(6), size=(B, T)).astype("float32")
    mask = np.ones((B, T), "float32")
    mask[0, 2:] = 0
    got = ops.convert_to_numpy(cap.doubly_stochastic_penalty(alphas, mask))
    expected = ((1 - (alphas * mask[..., None]).sum(1)) ** 2).sum(-1)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # sum_i sum_t alpha_ti = T, so the penalty is m - 2T + sum_i s_i^2
    s = (alphas * mask[..., None]).sum(1)
    np.testing.assert_allclose(got, 6 - 2 * mask.sum(1) + (s ** 2).sum(1), rtol=1e-5)
    with pytest.raises(ValueError, match="alphas"):
        cap.doubly_stochastic_penalty(alphas[0])


def test_regulariser_is_added_as_a_loss():
    decoder = built_decoder(ds_weight=0.5)
    _, alphas, _ = decoder(features(), tokens(), return_attention=True)
    assert len(decoder.losses) == 1
    step_mask = (tokens() != cap.PAD) & (tokens() != cap.END)
    expected = 0.5 * ops.convert_to_numpy(cap.doubly_stochastic_penalty(alphas, step_mask)).mean()
    np.testing.assert_allclose(ops.convert_to_numpy(decoder.losses[0]), expected, rtol=1e-5)
    assert not built_decoder(ds_weight=0.0).losses


def test_captioner_trains_with_fit():
    keras.utils.set_random_seed(0)
    x, y = features(n=32), tokens(n=32)
    y[:, 1:] = np.where(y[:, 1:] == cap.START, cap.END, y[:, 1:])
    model = cap.captioner((H, W, D), V, T - 1, embed_dim=4, units=8, attention_units=4, ds_weight=1.0)
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit([x, y[:, :-1]], y[:, 1:], sample_weight=(y[:, 1:] != 0).astype("float32"),
                     epochs=5, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert model.get_layer("decoder").ds_weight == 1.0


# ------------------------------------------------------------------------ serialisation


@pytest.mark.parametrize("kwargs", [{}, dict(attend=False, positions=False),
                                    dict(gate=False, ds_weight=1.0)])
def test_config_round_trip_and_saved_model(tmp_path, kwargs):
    keras.utils.set_random_seed(0)
    model = cap.captioner((H, W, D), V, T, embed_dim=4, units=6, attention_units=3, **kwargs)
    decoder = model.get_layer("decoder")
    config = decoder.get_config()
    assert {k: config[k] for k in ("vocab_size", "embed_dim", "units", "attention_units")} == {
        "vocab_size": V, "embed_dim": 4, "units": 6, "attention_units": 3}
    clone = cap.AttentionDecoder.from_config(config)
    assert clone.get_config() == config
    cell_config = decoder.cell.get_config()
    assert cap.SoftAttentionCell.from_config(cell_config).get_config() == cell_config

    path = tmp_path / "captioner.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x, y = features(), tokens()
    np.testing.assert_allclose(ops.convert_to_numpy(loaded([x, y])), ops.convert_to_numpy(model([x, y])),
                               rtol=1e-6, atol=1e-6)
    assert isinstance(loaded.get_layer("decoder"), cap.AttentionDecoder)
    a, b = cap.greedy_decode(model, x, 4), cap.greedy_decode(loaded, x, 4)
    np.testing.assert_array_equal(a.tokens, b.tokens)


# ------------------------------------------------------------------------ errors


def test_clear_errors_on_bad_input():
    decoder = built_decoder()
    with pytest.raises(ValueError, match=r"grid must have shape \(batch, 2, 3, 5\)"):
        decoder(np.zeros((B, 3, 3, D), "float32"), tokens())
    with pytest.raises(ValueError, match="tokens must have shape"):
        decoder(features(), tokens()[:, 0])
    with pytest.raises(ValueError, match="grid must have shape"):
        cap.AttentionDecoder(V)(np.zeros((B, 6, D), "float32"), tokens())
    with pytest.raises(ValueError, match="do not fit this cell"):
        decoder.cell(np.zeros((B, 3), "float32"), [np.zeros((B, 6), "float32")] * 2,
                     np.zeros((B, 6, D), "float32"))
    with pytest.raises(ValueError, match="states must be"):
        cap.SoftAttentionCell(6)(np.zeros((B, 4), "float32"), [np.zeros((B, 5), "float32")] * 2,
                                 np.zeros((B, 6, D), "float32"))
    for bad in (dict(units=0), dict(attention_units=-1), dict(embed_dim=2.5), dict(ds_weight=-1)):
        with pytest.raises(ValueError):
            cap.AttentionDecoder(V, **bad)
    with pytest.raises(ValueError, match="GridPositions expects"):
        cap.GridPositions()(np.zeros((B, 6, D), "float32"))
    with pytest.raises(ValueError, match="grid_shape"):
        cap.captioner((H, W), V, T)
    with pytest.raises(TypeError, match="captioner model"):
        cap.greedy_decode("not a model", features(), 3)


# ------------------------------------------------------------------------ decoding


def test_beam_step_against_brute_force():
    rng = np.random.default_rng(4)
    scores, log_probs = rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 5))
    new, parents, toks = cap.beam_step(scores, log_probs, 4)
    for i in range(2):
        candidates = sorted(((scores[i, p] + log_probs[i, p, t], p, t)
                             for p in range(3) for t in range(5)), reverse=True)[:4]
        np.testing.assert_allclose(new[i], [c[0] for c in candidates])
        assert list(parents[i]) == [c[1] for c in candidates]
        assert list(toks[i]) == [c[2] for c in candidates]
    with pytest.raises(ValueError, match="beam_width"):
        cap.beam_step(scores, log_probs, 16)
    with pytest.raises(ValueError, match="scores must be"):
        cap.beam_step(scores[0], log_probs, 2)


def sequence_log_likelihood(decoder, grid, sequence):
    """log p(sequence | grid) by teacher forcing, for one image; sequence ends with <end>."""
    inputs = np.array([[cap.START] + list(sequence[:-1])], "int32")
    logits = ops.convert_to_numpy(decoder(grid[None], inputs))[0].astype(np.float64)
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    return sum(logp[t, tok] for t, tok in enumerate(sequence))


def test_beam_search_finds_the_exhaustive_best_and_width_one_is_greedy():
    keras.utils.set_random_seed(5)
    vocab_size, max_len = 5, 3  # tokens <pad> <start> <end> w1 w2
    model = cap.captioner((H, W, D), vocab_size, max_len, embed_dim=4, units=6)
    decoder = model.get_layer("decoder")
    # sharpen the untrained model so that the search matters
    out = decoder.out
    out.kernel.assign(out.kernel * 8.0)
    x = features(n=4)
    greedy, beam1 = cap.greedy_decode(model, x, max_len), cap.beam_search(model, x, max_len, 1)
    np.testing.assert_array_equal(greedy.tokens, beam1.tokens)
    np.testing.assert_allclose(greedy.log_likelihood, beam1.log_likelihood, rtol=1e-6)
    np.testing.assert_allclose(greedy.alphas, beam1.alphas, rtol=1e-5, atol=1e-7)
    wide = cap.beam_search(model, x, max_len, beam_width=9)  # every prefix fits in the beam
    for i in range(len(x)):
        best = -np.inf
        for length in range(1, max_len + 1):
            for words in itertools.product((3, 4), repeat=length - 1):
                seq = list(words) + [cap.END]
                best = max(best, sequence_log_likelihood(decoder, x[i], seq))
        for words in itertools.product((3, 4), repeat=max_len):  # cut off without <end>
            inputs = np.array([[cap.START] + list(words[:-1])], "int32")
            logits = ops.convert_to_numpy(decoder(x[i][None], inputs))[0].astype(np.float64)
            logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
            best = max(best, sum(logp[t, w] for t, w in enumerate(words)))
        np.testing.assert_allclose(wide.log_likelihood[i], best, rtol=1e-4)
        assert wide.log_likelihood[i] >= greedy.log_likelihood[i] - 1e-6
        # the reported likelihood is that of the reported tokens
        toks = [t for t in wide.tokens[i] if t != cap.PAD]
        if toks[-1] == cap.END:
            np.testing.assert_allclose(sequence_log_likelihood(decoder, x[i], toks),
                                       wide.log_likelihood[i], rtol=1e-4)
    # after <end> only padding, with zero attention
    ended = np.cumsum(wide.tokens == cap.END, axis=1) - (wide.tokens == cap.END) > 0
    assert (wide.tokens[ended] == cap.PAD).all() and (wide.alphas[ended] == 0).all()
    np.testing.assert_allclose(wide.alphas[~ended].sum(-1), 1.0, rtol=1e-5)


# ------------------------------------------------------------------------ metrics


def test_caption_metrics():
    E = cap.END
    generated = np.array([[3, 4, E, 0, 0], [3, 5, E, 0, 0], [3, E, 0, 0, 0], [4, 3, 6, E, 0]])
    labels = np.array([[0, 1, -1, -1], [0, 1, -1, -1], [0, 1, -1, -1], [1, 0, 3, 5]])
    m = cap.caption_metrics(generated, labels)
    assert m["exact"] == pytest.approx(1 / 4)
    # words: 2 + 2 + 2 + 4 = 10 reference words; right at their position: 2 + 1 + 1 + 3
    assert m["per_token"] == pytest.approx(7 / 10)
    with pytest.raises(ValueError, match="labels"):
        cap.caption_metrics(generated, labels[:2])


def test_bleu4_is_sacrebleu():
    import sacrebleu

    refs = ["bag coat shirt dress", "boot bag", "coat coat sandal"]
    assert cap.bleu4(refs, refs) == pytest.approx(100.0)
    hyps = ["bag coat shirt coat", "boot bag", "coat sandal"]
    assert cap.bleu4(hyps, refs) == pytest.approx(
        sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score)
    assert 0 < cap.bleu4(hyps, refs) < 100
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        cap.bleu4(hyps, refs[:2])


def test_attention_on_items_and_hits():
    # a 2x2 grid over an 8x8 image; item 0 in the top-left quadrant, item 1 bottom-right
    boxes = np.array([[[0, 0, 4, 4], [4, 4, 8, 8], [-1, -1, -1, -1]]])
    alphas = np.array([[[1, 0, 0, 0], [0, 0, 0, 1], [0.5, 0, 0, 0.5], [0, 1, 0, 0]]], "float32")
    mass = cap.attention_on_items(alphas, boxes, (2, 2), (8, 8))
    assert mass.shape == (1, 4, 3) and np.isnan(mass[0, :, 2]).all()
    assert mass[0, 0, 0] > 0.5 > mass[0, 0, 1] and mass[0, 1, 1] > 0.5 > mass[0, 1, 0]
    np.testing.assert_allclose(mass[0, 2, 0], mass[0, 2, 1], rtol=1e-5)
    toks = np.array([[3, 4, 5, cap.END]])
    hits, tested = cap.attention_hits(alphas, boxes, toks, (2, 2), (8, 8))
    # words 0 and 1 are tested (word 2 has no item); both look at their own item
    assert tested.tolist() == [[True, True, False, False]]
    assert hits.tolist() == [[True, True, False, False]]
    swapped = alphas[:, [1, 0, 2, 3]]
    hits, _ = cap.attention_hits(swapped, boxes, toks, (2, 2), (8, 8))
    assert hits.sum() == 0
    with pytest.raises(ValueError, match="locations"):
        cap.attention_on_items(alphas, boxes, (3, 2), (8, 8))


# ------------------------------------------------------------------------ self-check


def student_beam_step(scores, log_probs, k):
    total = (np.asarray(scores)[:, :, None] + np.asarray(log_probs)).reshape(len(scores), -1)
    best = np.argsort(-total, axis=1)[:, :k]
    vocab = np.asarray(log_probs).shape[-1]
    return np.take_along_axis(total, best, axis=1), best // vocab, best % vocab


def per_beam(scores, log_probs, k):  # wrong: the best tokens of each beam separately
    scores, log_probs = np.asarray(scores), np.asarray(log_probs)
    n, kk, vocab = log_probs.shape
    total = scores[:, :, None] + log_probs
    tok = np.argsort(-total, axis=2)[:, :, :1]  # best token of each beam
    cand = np.take_along_axis(total, tok, 2)[..., 0]
    order = np.argsort(-cand, axis=1)[:, :k]
    return (np.take_along_axis(cand, order, 1), order,
            np.take_along_axis(tok[..., 0], order, 1))


def no_prefix(scores, log_probs, k):  # wrong: ignores the hypotheses' scores
    return student_beam_step(np.zeros_like(np.asarray(scores)), log_probs, k)


def ascending(scores, log_probs, k):  # wrong: worst first
    s, p, t = student_beam_step(scores, log_probs, k)
    return s[:, ::-1], p[:, ::-1], t[:, ::-1]


def flat(scores, log_probs, k):  # wrong: flat indices instead of (parent, token)
    s, p, t = student_beam_step(scores, log_probs, k)
    return s, p * np.asarray(log_probs).shape[-1] + t, t


def test_check_beam_step():
    assert d2lite.check.beam_step(student_beam_step)
    assert d2lite.check.beam_step(cap.beam_step)
    hints = {}
    for fn in (per_beam, no_prefix, ascending, flat, lambda s, lp, k: 1 / 0):
        result = d2lite.check.beam_step(fn)
        assert not result and "✗" in repr(result)
        hints[getattr(fn, "__name__", "")] = repr(result)
    assert "all" in hints["per_beam"] and "beam" in hints["per_beam"]
    assert "score" in hints["no_prefix"]
    assert "best first" in hints["ascending"]
    assert "vocabulary" in hints["flat"]
    assert "ZeroDivisionError" in hints["<lambda>"]
    for text in hints.values():  # never the solution itself
        assert "argsort" not in text and "reshape" not in text
    with pytest.raises(TypeError):
        d2lite.check.beam_step("not a function")
