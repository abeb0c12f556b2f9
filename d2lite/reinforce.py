"""Gradients through discrete choices: REINFORCE surrogate losses and relaxations.

Sampling a location (or any discrete action) is a piecewise-constant function of the
parameters, so backpropagation sees a zero (or no) gradient through it. Three ways
around that, each a few lines with ``keras.ops``:

* the score-function estimator, REINFORCE (Williams, 1992): the gradient of the
  expected reward is ``E[(r - b) grad log pi(a)]``; `reinforce_loss` builds a
  *surrogate loss* whose ordinary gradient is that estimate, so ``model.fit`` or any
  optimizer can use it;
* the straight-through estimator (Bengio et al., 2013): a hard one-hot sample going
  forward, the gradient of the probabilities going backward (`straight_through_sample`);
* the Gumbel-softmax / concrete relaxation (Jang et al., 2017; Maddison et al., 2017):
  a soft, differentiable sample that approaches a one-hot as the temperature falls
  (`gumbel_softmax`).

Shapes: a batch of ``n`` decisions over ``K`` choices has logits (n, K).
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = [
    "categorical_log_prob",
    "gaussian_log_prob",
    "gumbel_softmax",
    "reinforce_loss",
    "sample_categorical",
    "straight_through_sample",
]


def _check_logits(logits) -> None:
    if len(tuple(logits.shape)) != 2:
        raise ValueError(f"logits must have shape (n, K), got {tuple(logits.shape)}")


def sample_categorical(logits, seed=None):
    """One sample per row from ``softmax(logits)``.

    Args:
        logits: (n, K).
        seed: an int (the same draw on every call), a ``keras.random.SeedGenerator``
            (a new draw on every call, reproducibly) or None.

    Returns:
        int32 tensor (n,) of choices in 0..K-1. No gradient flows through it.
    """
    logits = ops.convert_to_tensor(logits)
    _check_logits(logits)
    return ops.cast(keras.random.categorical(logits, 1, seed=seed)[:, 0], "int32")


def categorical_log_prob(logits, actions):
    """``log softmax(logits)[i, actions[i]]`` for each row i.

    Args:
        logits: (n, K); actions: int (n,).

    Returns:
        (n,) log-probabilities, differentiable with respect to `logits`.
    """
    logits = ops.convert_to_tensor(logits)
    _check_logits(logits)
    if tuple(actions.shape) != tuple(logits.shape[:1]):
        raise ValueError(f"actions must have shape ({logits.shape[0]},), got {tuple(actions.shape)}")
    log_probs = ops.log_softmax(logits, axis=-1)
    return ops.sum(log_probs * ops.one_hot(actions, logits.shape[-1], dtype=log_probs.dtype), axis=-1)


def gaussian_log_prob(x, mean, std):
    """Log-density of an isotropic Gaussian, summed over the last axis.

    Args:
        x, mean: (n, d); std: a positive float or a tensor broadcastable to (n, d).

    Returns:
        (n,) log-densities, differentiable with respect to `mean` (and `std`).
    """
    x, mean = ops.convert_to_tensor(x), ops.convert_to_tensor(mean)  # NumPy inputs too, on every backend
    if tuple(x.shape) != tuple(mean.shape):
        raise ValueError(f"x and mean must have the same shape, got {tuple(x.shape)} and {tuple(mean.shape)}")
    if isinstance(std, (int, float)) and std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    z = (x - mean) / std
    return ops.sum(-0.5 * z**2 - ops.log(ops.ones_like(z) * std) - 0.5 * math.log(2 * math.pi), axis=-1)


def reinforce_loss(log_probs, rewards, baseline=None):
    """A surrogate loss whose gradient is the REINFORCE estimate of ``-grad E[r]``.

    ``loss = -mean_i (r_i - b_i) log pi(a_i)``, with ``r - b`` held constant
    (``stop_gradient``): differentiating it gives ``-mean_i (r_i - b_i) grad log pi(a_i)``,
    an unbiased estimate of the negative gradient of the expected reward whenever the
    baseline ``b`` does not depend on the action ``a_i``. Its *value* means nothing;
    only its gradient does.

    Args:
        log_probs: (n,) log-probabilities of the sampled actions (differentiable).
        rewards: (n,) rewards of those actions.
        baseline: optional (n,) or scalar baseline; its gradient is not taken here (train
            a learned baseline with its own loss, e.g. squared error to the reward).

    Returns:
        A scalar tensor.
    """
    if tuple(log_probs.shape) != tuple(rewards.shape) or len(tuple(rewards.shape)) != 1:
        raise ValueError(f"log_probs and rewards must both have shape (n,), got {tuple(log_probs.shape)} "
                         f"and {tuple(rewards.shape)}")
    advantage = rewards if baseline is None else rewards - baseline
    return -ops.mean(ops.stop_gradient(advantage) * log_probs)


def gumbel_softmax(logits, temperature: float, *, seed=None, hard: bool = False):
    """A relaxed one-hot sample ``softmax((logits + g) / temperature)``, g ~ Gumbel(0, 1).

    As the temperature goes to 0 the sample approaches the one-hot of a sample from
    ``softmax(logits)``; at any positive temperature it is differentiable in `logits`,
    but the gradient is biased for the discrete problem.

    Args:
        logits: (n, K).
        temperature: positive float.
        seed: int, ``keras.random.SeedGenerator`` or None.
        hard: return the one-hot of the relaxed sample's argmax going forward, with the
            relaxed sample's gradient going backward (straight-through Gumbel).

    Returns:
        (n, K) rows that sum to 1.
    """
    logits = ops.convert_to_tensor(logits)
    _check_logits(logits)
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    u = keras.random.uniform(tuple(logits.shape), minval=1e-20, maxval=1.0, seed=seed)
    y = ops.softmax((logits - ops.log(-ops.log(u))) / temperature, axis=-1)
    if not hard:
        return y
    one_hot = ops.one_hot(ops.argmax(y, axis=-1), logits.shape[-1], dtype=y.dtype)
    return one_hot + y - ops.stop_gradient(y)


def straight_through_sample(logits, seed=None):
    """A one-hot sample from ``softmax(logits)`` whose gradient is that of the probabilities.

    Forward: ``one_hot(a)`` with ``a ~ softmax(logits)``. Backward: as if the output were
    ``softmax(logits)`` (the identity is used in place of the sample's zero derivative).

    Returns:
        (n, K) one-hot rows.
    """
    logits = ops.convert_to_tensor(logits)
    probs = ops.softmax(logits, axis=-1)
    one_hot = ops.one_hot(sample_categorical(logits, seed), logits.shape[-1], dtype=probs.dtype)
    return one_hot + probs - ops.stop_gradient(probs)
