"""d2lite.reinforce: surrogate losses and relaxed samples, checked against closed forms."""

import d2lite
import keras
import numpy as np
import pytest
from keras import ops

from d2lite import reinforce


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_samples_follow_the_policy_and_seed_generators_advance():
    logits = np.log(np.array([[0.2, 0.5, 0.3]], "float32")).repeat(20000, 0)
    a = ops.convert_to_numpy(reinforce.sample_categorical(logits, seed=0))
    assert a.shape == (20000,) and a.dtype == np.int32
    np.testing.assert_allclose(np.bincount(a, minlength=3) / 20000, [0.2, 0.5, 0.3], atol=0.015)
    gen = keras.random.SeedGenerator(1)
    first = ops.convert_to_numpy(reinforce.sample_categorical(logits[:50], gen))
    second = ops.convert_to_numpy(reinforce.sample_categorical(logits[:50], gen))
    assert not np.array_equal(first, second)
    again = ops.convert_to_numpy(reinforce.sample_categorical(logits[:50], seed=3))
    np.testing.assert_array_equal(again, ops.convert_to_numpy(reinforce.sample_categorical(logits[:50], seed=3)))


def test_log_probs():
    logits = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    actions = np.array([0, 4, 2, 2])
    lp = ops.convert_to_numpy(reinforce.categorical_log_prob(logits, ops.convert_to_tensor(actions)))
    np.testing.assert_allclose(lp, np.log(_softmax(logits)[np.arange(4), actions]), rtol=1e-5)
    x, mean = np.zeros((2, 2), "float32"), np.ones((2, 2), "float32")
    gl = ops.convert_to_numpy(reinforce.gaussian_log_prob(x, mean, 0.5))
    np.testing.assert_allclose(gl, 2 * (-0.5 * 4 - np.log(0.5) - 0.5 * np.log(2 * np.pi)), rtol=1e-5)


def test_surrogate_gradient_is_the_reinforce_estimate():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=5).astype("float32")
    actions = rng.integers(0, 5, 16)
    rewards = rng.normal(size=16).astype("float32")

    def loss(theta):
        logits = ops.tile(theta[None], (16, 1))
        lp = reinforce.categorical_log_prob(logits, ops.convert_to_tensor(actions))
        return reinforce.reinforce_loss(lp, ops.convert_to_tensor(rewards), 0.5)

    p = _softmax(theta)
    expected = -((rewards - 0.5)[:, None] * (np.eye(5)[actions] - p)).mean(0)
    np.testing.assert_allclose(d2lite.grad(loss, theta), expected, atol=1e-6)


def test_gaussian_score_through_the_surrogate():
    mean = np.array([[0.1, -0.2]], "float32")
    x = np.array([[0.5, 0.3]], "float32")

    def loss(m):
        return reinforce.reinforce_loss(reinforce.gaussian_log_prob(ops.convert_to_tensor(x), m, 0.2),
                                        ops.convert_to_tensor(np.array([1.0], "float32")))

    np.testing.assert_allclose(d2lite.grad(loss, mean), -(x - mean) / 0.2**2, rtol=1e-5)


def test_no_gradient_flows_through_the_sample_but_the_relaxations_have_one():
    logits = np.zeros((1, 4), "float32")
    values = ops.convert_to_tensor(np.array([1.0, 2.0, 3.0, 4.0], "float32"))  # (tensor * array fails on PyTorch)

    def through_sample(z):
        a = reinforce.sample_categorical(z, seed=0)
        return ops.sum(ops.one_hot(a, 4) * values)

    np.testing.assert_array_equal(d2lite.grad(through_sample, logits), np.zeros((1, 4)))
    for sampler in (lambda z: reinforce.straight_through_sample(z, seed=0),
                    lambda z: reinforce.gumbel_softmax(z, 0.5, seed=0),
                    lambda z: reinforce.gumbel_softmax(z, 0.5, seed=0, hard=True)):
        g = d2lite.grad(lambda z: ops.sum(sampler(z) ** 2 * values), logits)
        assert np.abs(g).sum() > 0


def test_relaxed_samples():
    logits = np.log(np.array([[0.1, 0.6, 0.3]], "float32")).repeat(4000, 0)
    y = ops.convert_to_numpy(reinforce.gumbel_softmax(logits, 0.5, seed=0))
    np.testing.assert_allclose(y.sum(1), 1, rtol=1e-5)
    hard = ops.convert_to_numpy(reinforce.gumbel_softmax(logits, 0.5, seed=0, hard=True))
    np.testing.assert_allclose(hard, np.round(hard), atol=1e-6)  # one-hot going forward
    assert np.allclose(hard.sum(1), 1)
    np.testing.assert_allclose(hard.mean(0), [0.1, 0.6, 0.3], atol=0.03)  # Gumbel-max is exact
    st = ops.convert_to_numpy(reinforce.straight_through_sample(logits, seed=0))
    np.testing.assert_allclose(st.mean(0), [0.1, 0.6, 0.3], atol=0.03)
    cold = ops.convert_to_numpy(reinforce.gumbel_softmax(logits[:100], 0.01, seed=1))
    assert (cold.max(1) > 0.99).mean() > 0.95  # nearly one-hot at low temperature


def test_errors():
    with pytest.raises(ValueError, match=r"logits must have shape \(n, K\)"):
        reinforce.sample_categorical(np.zeros(3))
    with pytest.raises(ValueError, match=r"actions must have shape \(2,\)"):
        reinforce.categorical_log_prob(np.zeros((2, 3)), ops.convert_to_tensor(np.zeros(3, "int32")))
    with pytest.raises(ValueError, match="both have shape"):
        reinforce.reinforce_loss(ops.zeros((3,)), ops.zeros((4,)))
    with pytest.raises(ValueError, match="temperature must be positive"):
        reinforce.gumbel_softmax(np.zeros((1, 3)), 0.0)
    with pytest.raises(ValueError, match="std must be positive"):
        reinforce.gaussian_log_prob(ops.zeros((1, 2)), ops.zeros((1, 2)), 0)
    with pytest.raises(ValueError, match="same shape"):
        reinforce.gaussian_log_prob(ops.zeros((1, 2)), ops.zeros((2, 2)), 1.0)


def test_gaussian_score_self_check():
    assert d2lite.check.gaussian_score(lambda x, m, s: (x - m) / s**2)
    wrong = {
        "sign is backwards": lambda x, m, s: (m - x) / s**2,
        "power of std": lambda x, m, s: (x - m) / s,
        "depends on std": lambda x, m, s: x - m,
        "returned shape": lambda x, m, s: (x - m).sum(1),
        "raised": lambda x, m, s: 1 / 0,
    }
    for expected_hint, fn in wrong.items():
        result = d2lite.check.gaussian_score(fn)
        assert not result and expected_hint in result.message, result.message
        assert "(x - mean)" not in result.message  # never the answer
