"""d2lite.models: LeNet's layout and parameter counts, the optimisers' schedules, errors."""

import keras
import numpy as np
import pytest

import d2lite
from d2lite import models


def test_lenet_classic_parameters_and_shapes():
    net = models.lenet()
    # LeNet-5 on 28x28 with "same" C1: 156 + 2,416 + 48,120 + 10,164 + 850
    assert net.count_params() == 61_706
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    assert tuple(net(x).shape) == (2, 10)
    assert [layer.name for layer in net.layers][:3] == ["C1", "C1_act", "S2"]


def test_lenet_modern_switches():
    net = models.lenet("relu", "max", batch_norm=True)
    names = [layer.name for layer in net.layers]
    assert "C1_bn" in names and "F6_bn" in names
    assert isinstance(net.get_layer("S2"), keras.layers.MaxPooling2D)
    assert not net.get_layer("C1").use_bias and net.get_layer("output").use_bias
    assert net.name == "lenet_relu_max_bn"
    colour = models.lenet(input_shape=(32, 32, 3), num_classes=5)
    assert tuple(colour(np.zeros((1, 32, 32, 3), "float32")).shape) == (1, 5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pooling": "min"}, "pooling"),
        ({"input_shape": (8, 8, 1)}, "input_shape"),
        ({"input_shape": (28, 28)}, "input_shape"),
        ({"num_classes": 1}, "num_classes"),
    ],
)
def test_lenet_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.lenet(**kwargs)


def test_lenet_activation_type():
    with pytest.raises(TypeError, match="activation"):
        models.lenet(activation=3)


def _lr(optimizer, step):
    return float(optimizer.learning_rate if not callable(optimizer._learning_rate)
                 else optimizer._learning_rate(step))


def test_adam_cosine_schedule():
    opt = models.adam_cosine(2, 100, n=1000, lr=0.01)  # 20 steps
    assert isinstance(opt, keras.optimizers.Adam)
    np.testing.assert_allclose(_lr(opt, 0), 0.01, rtol=1e-6)
    np.testing.assert_allclose(_lr(opt, 10), 0.005, rtol=1e-5)
    np.testing.assert_allclose(_lr(opt, 20), 0.0, atol=1e-9)


def test_adamw_warmup_cosine_schedule():
    opt = models.adamw_warmup_cosine(1, 10, n=1000, peak=0.002, warmup=0.1)  # 100 steps
    assert isinstance(opt, keras.optimizers.AdamW)
    np.testing.assert_allclose(opt.weight_decay, 0.05)
    np.testing.assert_allclose(_lr(opt, 0), 0.0, atol=1e-9)
    np.testing.assert_allclose(_lr(opt, 5), 0.001, rtol=1e-5)  # half-way up
    np.testing.assert_allclose(_lr(opt, 10), 0.002, rtol=1e-5)  # the peak
    np.testing.assert_allclose(_lr(opt, 100), 0.0, atol=1e-9)


def test_warmup_cosine_schedule_values():
    schedule = models.warmup_cosine_schedule(100, peak=0.002, warmup=0.1)
    rates = np.array([float(schedule(step)) for step in range(101)])
    assert np.argmax(rates) == 10 and np.isclose(rates.max(), 0.002)
    assert (np.diff(rates[:11]) > 0).all() and (np.diff(rates[10:]) <= 1e-9).all()
    with pytest.raises(ValueError, match="steps"):
        models.warmup_cosine_schedule(0)


@pytest.mark.parametrize("steps, warmup", [(100, 0.1), (1876, 0.1), (37, 0.0), (10, 0.5)])
def test_warmup_cosine_equals_keras_cosine_decay(steps, warmup):
    ours = models.warmup_cosine_schedule(steps, peak=0.003, warmup=warmup)
    w = int(warmup * steps)
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps - w, warmup_target=0.003, warmup_steps=w) if w else \
        keras.optimizers.schedules.CosineDecay(0.003, steps)
    # Keras' schedule takes one step at a time (one eager call each, slow on JAX): compare
    # at 40 steps spread over the run, the warm-up's edges and the end, and 20 steps past
    # the end, where the rate stays 0.
    grid = np.unique(np.concatenate([np.linspace(0, steps + 19, 40).astype(int),
                                     [w - 1, w, w + 1, steps - 1, steps, steps + 1]]))
    grid = grid[grid >= 0]
    expected = [float(keras_schedule(int(i))) for i in grid]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(grid)), expected, atol=1e-8)
    restored = models.WarmupCosine.from_config(ours.get_config())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(grid)), expected, atol=1e-8)


@pytest.mark.parametrize(
    "fn, kwargs, match",
    [
        (models.adam_cosine, {"epochs": 0, "batch_size": 1, "n": 1}, "epochs"),
        (models.adam_cosine, {"epochs": 1, "batch_size": 1.5, "n": 1}, "batch_size"),
        (models.adam_cosine, {"epochs": 1, "batch_size": 1, "n": 1, "lr": 0}, "lr"),
        (models.adamw_warmup_cosine, {"epochs": 1, "batch_size": 1, "n": 0}, r"\bn\b"),
        (models.adamw_warmup_cosine,
         {"epochs": 1, "batch_size": 1, "n": 1, "warmup": 1.0}, "warmup"),
        (models.adamw_warmup_cosine,
         {"epochs": 1, "batch_size": 1, "n": 1, "peak": -1.0}, "peak"),
        (models.adamw_warmup_cosine,
         {"epochs": 1, "batch_size": 1, "n": 1, "weight_decay": -0.1}, "weight_decay"),
    ],
)
def test_optimizer_errors(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)


def test_exported():
    assert d2lite.models is models
    assert "models" in d2lite.__all__
