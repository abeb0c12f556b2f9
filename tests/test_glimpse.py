"""d2lite.glimpse: the glimpse sensor against a slow reference, and the recurrent attention model."""

import d2lite
import keras
import numpy as np
import pytest
from keras import ops

from d2lite.glimpse import RecurrentAttentionModel, glimpse_sensor, location_to_pixels


def reference_glimpse(image, location, size, scales):
    """Loops over pixels: patch k of side size * 2**k around the rounded centre, block-averaged."""
    h, w, c = image.shape
    cy, cx = np.round((np.asarray(location, float) + 1) / 2 * [h, w]).astype(int)
    out = np.zeros((scales, size, size, c))
    for k in range(scales):
        side, f = size * 2**k, 2**k
        patch = np.zeros((side, side, c))
        for i in range(side):
            for j in range(side):
                r, q = cy - side // 2 + i, cx - side // 2 + j
                if 0 <= r < h and 0 <= q < w:
                    patch[i, j] = image[r, q]
        out[k] = patch.reshape(size, f, size, f, c).mean(axis=(1, 3))
    return out


@pytest.mark.parametrize("size, scales", [(4, 1), (6, 3), (5, 2)])
def test_sensor_matches_the_reference_everywhere_including_borders(size, scales):
    rng = np.random.default_rng(size)
    images = rng.random((5, 20, 17, 2)).astype("float32")
    locations = np.array([[0, 0], [-1, -1], [1, 1], [0.3, -0.8], [-0.95, 0.6]], "float32")
    got = ops.convert_to_numpy(glimpse_sensor(images, locations, size=size, scales=scales))
    assert got.shape == (5, scales, size, size, 2)
    for i in range(5):
        np.testing.assert_allclose(got[i], reference_glimpse(images[i], locations[i], size, scales), atol=1e-6)


def test_location_convention():
    np.testing.assert_allclose(ops.convert_to_numpy(location_to_pixels(np.array([[-1, -1], [0, 0], [1, 1]]), 60, 40)),
                               [[0, 0], [30, 20], [60, 40]])
    image = np.zeros((1, 30, 30, 1), "float32")
    image[0, 5, 25] = 1.0  # near the top-right corner
    top_right = ops.convert_to_numpy(glimpse_sensor(image, np.array([[-0.6, 0.7]], "float32"), size=4, scales=1))
    centre = ops.convert_to_numpy(glimpse_sensor(image, np.zeros((1, 2), "float32"), size=4, scales=1))
    assert top_right.sum() == 1.0 and centre.sum() == 0.0


def test_no_gradient_reaches_the_location():
    images = np.random.default_rng(0).random((2, 16, 16, 1)).astype("float32")
    g = d2lite.grad(lambda loc: ops.sum(glimpse_sensor(images, loc, size=4, scales=2) ** 2),
                    np.array([[0.1, 0.2], [-0.3, 0.4]], "float32"))
    np.testing.assert_array_equal(g, np.zeros((2, 2)))


def test_sensor_errors():
    with pytest.raises(ValueError, match=r"images must have shape \(batch, height, width, channels\)"):
        glimpse_sensor(np.zeros((2, 8, 8)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"locations must have shape \(batch, 2\)"):
        glimpse_sensor(np.zeros((2, 8, 8, 1)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="size must be a positive int"):
        glimpse_sensor(np.zeros((2, 8, 8, 1)), np.zeros((2, 2)), size=0)


def _tiny(**kwargs):
    return RecurrentAttentionModel(num_classes=3, glimpses=3, size=4, scales=2, hidden=8, glimpse_units=8, **kwargs)


def test_model_shapes_trace_and_determinism_at_test_time():
    d2lite.set_seed(0)
    model = _tiny()
    x = np.random.default_rng(1).random((4, 16, 16, 1)).astype("float32")
    logits = model(x)
    assert tuple(logits.shape) == (4, 3)
    t = model.trace(x)
    assert tuple(t["locations"].shape) == (4, 3, 2) and tuple(t["logits"].shape) == (4, 3, 3)
    assert tuple(t["log_pi"].shape) == (4, 2) and tuple(t["baselines"].shape) == (4, 2)
    np.testing.assert_allclose(ops.convert_to_numpy(t["locations"][:, 0]), 0)  # starts at the centre
    np.testing.assert_allclose(ops.convert_to_numpy(model(x)), ops.convert_to_numpy(logits))  # mean policy
    sampled = model.trace(x, training=True)["locations"]
    assert np.abs(ops.convert_to_numpy(sampled)).max() <= 1.0


def _run(model, weights, x):
    """The model's training-mode forward pass with the given trainable weights (its own
    sampling state), as a function of the weights: what `d2lite.grad` differentiates."""
    non_trainable = [v.value for v in model.non_trainable_variables]
    logits, _ = model.stateless_call(list(weights), non_trainable, x, training=True)
    return logits


def _positions(weights, subset) -> list:
    """Indices in `weights` of the variables in `subset`."""
    ids = [id(w) for w in weights]
    return [ids.index(id(w)) for w in subset]


def test_gradients_flow_where_they_must_and_not_where_they_must_not():
    """REINFORCE trains the locator; cross-entropy alone never reaches it."""
    d2lite.set_seed(0)
    model = _tiny()
    x = np.random.default_rng(1).random((8, 16, 16, 1)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model(x)

    def cross_entropy(*weights):
        _run(model, weights, x)
        logits = model._trajectory["logits"][:, -1]
        return ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))

    def total_loss(*weights):
        return model.compute_loss(x, y, _run(model, weights, x))

    weights = model.trainable_variables
    locator = _positions(weights, model.locator.trainable_weights)
    baseline = _positions(weights, model.baseline_net.trainable_weights)
    g_ce, g_total = d2lite.grad(cross_entropy, *weights), d2lite.grad(total_loss, *weights)
    assert all(np.all(g_ce[i] == 0) for i in locator)
    assert all(np.abs(g_total[i]).sum() > 0 for i in locator)
    assert all(np.abs(g_total[i]).sum() > 0 for i in baseline)


def test_training_runs_and_the_model_round_trips(tmp_path):
    d2lite.set_seed(0)
    model = _tiny(std=0.2)
    rng = np.random.default_rng(2)
    x = rng.random((64, 16, 16, 1)).astype("float32")
    y = rng.integers(0, 3, 64)
    hist = d2lite.train(model, (x, y, x[:16], y[:16]), epochs=1, batch_size=16, live=False)
    assert np.isfinite(hist.loss[0])
    path = tmp_path / "ram.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(x[:4])), ops.convert_to_numpy(model(x[:4])), atol=1e-6)
    assert loaded.get_config()["glimpses"] == 3
    random_model = _tiny(policy="random")
    random_model(x[:2])
    assert float(random_model.compute_loss(x[:2], y[:2], random_model(x[:2], training=True))) > 0


def test_model_errors():
    with pytest.raises(ValueError, match="policy must be 'learned' or 'random'"):
        RecurrentAttentionModel(policy="greedy")
    with pytest.raises(ValueError, match="glimpses must be a positive int"):
        RecurrentAttentionModel(glimpses=0)
    with pytest.raises(ValueError, match="std must be positive"):
        RecurrentAttentionModel(std=0.0)


def test_fit_logs_the_reward_and_the_baseline():
    """The batch's mean reward (accuracy of the last glimpse) and mean baseline are logged."""
    d2lite.set_seed(0)
    model = _tiny(std=0.2)
    rng = np.random.default_rng(3)
    x = rng.random((32, 16, 16, 1)).astype("float32")
    y = rng.integers(0, 3, 32)
    seen = []
    log = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(dict(logs)))
    hist = d2lite.train(model, (x, y, x, y), epochs=1, batch_size=16, live=False, callbacks=[log])
    assert len(seen) == 2 and all({"reward", "baseline"} <= set(logs) for logs in seen)
    assert all(0.0 <= logs["reward"] <= 1.0 for logs in seen)
    np.testing.assert_allclose(seen[-1]["reward"], hist.accuracy[0], atol=1e-6)  # same quantity
    model.reward_tracker.reset_state()
    model.baseline_tracker.reset_state()
    logits = model(x[:16], training=True)
    model.compute_loss(x[:16], y[:16], logits)
    correct = (ops.convert_to_numpy(logits).argmax(-1) == y[:16]).mean()
    np.testing.assert_allclose(float(model.reward_tracker.result()), correct, atol=1e-6)
    baselines = ops.convert_to_numpy(model._trajectory["baselines"]).mean()
    np.testing.assert_allclose(float(model.baseline_tracker.result()), baselines, atol=1e-5)


def test_random_policy_fits_the_baseline_but_reinforces_nothing():
    d2lite.set_seed(0)
    model = _tiny(policy="random")
    x = np.random.default_rng(4).random((8, 16, 16, 1)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model(x)
    weights = model.trainable_variables
    logits = _run(model, weights, x)
    total = model.compute_loss(x, y, logits)
    t = model._trajectory
    ce = ops.mean(keras.losses.sparse_categorical_crossentropy(
        np.repeat(y[:, None], 3, axis=1), t["logits"], from_logits=True))
    reward = (ops.convert_to_numpy(logits).argmax(-1) == y).astype("float32")[:, None]
    mse = np.mean((reward - ops.convert_to_numpy(t["baselines"])) ** 2)
    np.testing.assert_allclose(float(total), float(ce) + mse, rtol=1e-5)
    grads = d2lite.grad(lambda *w: model.compute_loss(x, y, _run(model, w, x)), *weights)
    assert all(np.abs(grads[i]).sum() > 0 for i in _positions(weights, model.baseline_net.trainable_weights))
