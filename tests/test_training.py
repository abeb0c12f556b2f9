"""Tests of d2lite.train (module d2lite.training) on a small slice of the real Fashion-MNIST."""

import math

import keras
import numpy as np
import pytest

import d2lite
from d2lite import training
from d2lite.training import LivePlot, TrainHistory, _in_jupyter


@pytest.fixture(scope="module")
def small():
    """4,000 training and 1,000 test images of the real Fashion-MNIST."""
    data = d2lite.load_fashion_mnist()
    return (data.x_train[:4000], data.y_train[:4000], data.x_test[:1000], data.y_test[:1000])


def tiny_cnn(units: int = 10, softmax: bool = False) -> keras.Model:
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(4, 5, strides=2, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(units, activation="softmax" if softmax else None),
    ])


def fresh(seed: int = 0, **kwargs) -> keras.Model:
    d2lite.set_seed(seed)
    return tiny_cnn(**kwargs)


def test_history_has_one_entry_per_epoch(small):
    hist = d2lite.train(fresh(), small, epochs=2, batch_size=128, optimizer=keras.optimizers.Adam(0.01),
                        live=False)
    assert isinstance(hist, TrainHistory)
    assert len(hist) == 2
    for name in ("loss", "accuracy", "test_loss", "test_accuracy", "train_seconds"):
        assert len(getattr(hist, name)) == 2, name
    assert all(0.0 <= a <= 1.0 for a in hist.accuracy + hist.test_accuracy)
    assert hist.loss[1] < hist.loss[0]  # it learns
    assert hist.test_accuracy[-1] > 0.5  # far above chance (0.1) after two small epochs
    assert hist.examples_per_second > 0 and math.isfinite(hist.examples_per_second)
    # over epochs 2.. only: n examples / seconds of the second epoch's training pass
    assert hist.examples_per_second == pytest.approx(4000 / hist.train_seconds[1])
    assert hist.num_examples == 4000 and hist.batch_size == 128
    assert hist.device.startswith(("CPU", "GPU"))
    assert "examples/s" in hist.summary()


def test_history_matches_evaluate(small):
    """test_loss/test_accuracy are the model's own numbers on the test set after training,
    whatever batch size the evaluation used."""
    model = fresh()
    hist = d2lite.train(model, small, epochs=1, batch_size=256, optimizer="sgd", live=False)
    loss, acc = model.evaluate(small[2], small[3], batch_size=64, verbose=0)
    assert hist.test_loss[-1] == pytest.approx(loss, rel=1e-5)
    assert hist.test_accuracy[-1] == pytest.approx(acc, abs=1e-6)


def test_deterministic_under_seed(small):
    runs = [d2lite.train(fresh(0), small, epochs=2, batch_size=100,
                         optimizer=keras.optimizers.SGD(0.1, momentum=0.9), seed=0, live=False)
            for _ in range(2)]
    assert runs[0].loss == runs[1].loss
    assert runs[0].test_accuracy == runs[1].test_accuracy
    other = d2lite.train(fresh(1), small, epochs=2, batch_size=100,
                         optimizer=keras.optimizers.SGD(0.1, momentum=0.9), seed=1, live=False)
    assert other.loss != runs[0].loss


def test_builds_a_model_without_input_repeatably(small):
    def unbuilt():
        return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])

    # Keras draws a layer's initializer seed when the layer is created, so seed first.
    d2lite.set_seed(3)
    a = d2lite.train(unbuilt(), small, epochs=1, batch_size=500, seed=3, live=False)
    d2lite.set_seed(3)
    b = d2lite.train(unbuilt(), small, epochs=1, batch_size=500, seed=3, live=False)
    assert a.loss == b.loss and a.test_accuracy[0] > 0.2  # above chance (0.1) after 8 steps


def test_accepts_data_splits_and_softmax_models(small):
    x, y, xt, yt = small
    splits = d2lite.DataSplits(x, y, xt, yt, d2lite.FASHION_MNIST_CLASSES)
    hist = d2lite.train(fresh(softmax=True), splits, epochs=1, batch_size=100,
                        optimizer=keras.optimizers.Adam(0.01), live=False)
    # with a softmax output the default loss is on probabilities, so it starts near ln 10
    assert 0.3 < hist.loss[0] < 2.5
    assert hist.test_accuracy[0] > 0.5


def test_keeps_an_existing_compilation(small):
    model = fresh()
    model.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    d2lite.train(model, small, epochs=1, batch_size=500, live=False)
    for w0, w1 in zip(before, model.get_weights()):  # lr 0 kept: weights unchanged
        np.testing.assert_array_equal(w0, w1)


@pytest.mark.parametrize("metrics", [None, ["acc"], [keras.metrics.SparseCategoricalAccuracy()]])
def test_compiled_without_accuracy_is_an_error(small, metrics):
    model = fresh()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=metrics)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="compile it with metrics=\\['accuracy'\\]"):
        d2lite.train(model, small, epochs=1, batch_size=500, live=False)
    for w0, w1 in zip(before, model.get_weights()):  # raised before training
        np.testing.assert_array_equal(w0, w1)


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"epochs": 1.5}, "epochs must be a positive int"),
    ({"epochs": True}, "epochs must be a positive int"),
    ({"epochs": 1, "batch_size": 0}, "batch_size must be a positive int"),
    ({"epochs": 1, "batch_size": -32}, "batch_size must be a positive int"),
    ({"epochs": 1, "eval_batch_size": 0}, "eval_batch_size must be a positive int"),
])
def test_bad_epochs_or_batch_size(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2lite.train(tiny_cnn(), small, live=False, **kwargs)


def test_bad_data(small):
    x, y, xt, yt = small
    model = tiny_cnn()
    cases = [
        ((x[:, :, :20], y, xt[:, :, :20], yt), r"x_train has shape \(4000, 28, 20, 1\) but the model "
                                               r"expects inputs of shape \(examples, 28, 28, 1\)"),
        ((x[..., 0], y, xt[..., 0], yt), r"expects inputs of shape \(examples, 28, 28, 1\)"),
        ((x, y[:1999], xt, yt), "x_train has 4000 examples but y_train has 1999"),
        ((x, y, xt, yt[:10]), "x_test has 1000 examples but y_test has 10"),
        ((x, y[:, None], xt, yt), r"y_train must have shape \(examples,\)"),
        ((x, y.astype("float32"), xt, yt), "y_train must hold integer class labels"),
        ((x, y, xt[:, :14], yt), r"x_test has examples of shape \(14, 28, 1\), expected \(28, 28, 1\)"),
        ((x[:0], y[:0], xt, yt), "x_train is empty"),
        ((x, y, xt, yt + 1), "y_test holds labels from 1 to 10, but the model has 10 output units"),
        ((x, y - 1, xt, yt), "y_train holds labels from -1 to 8"),
    ]
    for data, match in cases:
        with pytest.raises(ValueError, match=match):
            d2lite.train(model, data, epochs=1, live=False)
    with pytest.raises(ValueError, match="labels must lie in 0..4"):
        d2lite.train(tiny_cnn(units=5), small, epochs=1, live=False)
    with pytest.raises(TypeError, match="data must be a d2lite.DataSplits or a tuple"):
        d2lite.train(model, (x, y), epochs=1, live=False)


def test_output_must_be_class_scores(small):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(10, 28)])  # (batch, 1, 1, 10)
    with pytest.raises(ValueError, match=r"class scores of shape \(batch, classes\)"):
        d2lite.train(model, small, epochs=1, live=False)


def test_live_plot_is_silent_outside_jupyter(small, capsys):
    assert not _in_jupyter()
    plot = LivePlot(3)
    assert not plot.enabled
    d2lite.train(fresh(), small, epochs=1, batch_size=500, live=True)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_live_plot_records_logs_and_updates_one_display(monkeypatch):
    """Pretend to be in Jupyter: one display call, then updates of the same handle."""
    import IPython.display
    import matplotlib

    matplotlib.use("Agg")
    calls = []

    class Handle:
        def update(self, fig):
            calls.append(("update", fig))

    def fake_display(fig, display_id=False):
        calls.append(("display", fig))
        assert display_id is True
        return Handle()

    monkeypatch.setattr(training, "_in_jupyter", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake_display)
    plot = LivePlot(3, title="test")
    assert plot.enabled
    for epoch in range(3):
        plot.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5, "val_loss": 1.0,
                                  "val_accuracy": 0.4})
    assert [c[0] for c in calls] == ["display", "update", "update"]
    assert len({id(c[1]) for c in calls}) == 1  # one figure throughout
    assert plot.logs["loss"] == [1.0, 0.5, 1.0 / 3]
    import matplotlib.pyplot as plt

    assert calls[0][1].number not in plt.get_fignums()  # closed: not shown again by the backend


def test_live_plot_in_a_real_kernel_leaves_one_figure():
    """Executed in Jupyter, a training run leaves exactly one figure and writes no stderr."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "import d2lite\nimport keras",
        "d = d2lite.load_fashion_mnist()\n"
        "data = (d.x_train[:1000], d.y_train[:1000], d.x_test[:200], d.y_test[:200])\n"
        "d2lite.set_seed(0)\n"
        "model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])\n"
        "hist = d2lite.train(model, data, epochs=3, batch_size=250, title='tiny')",
        "print(len(hist), len(hist.test_accuracy))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    train_outputs = nb.cells[1].outputs
    assert [o.output_type for o in train_outputs] == ["display_data"], train_outputs
    assert {"image/png", "image/svg+xml"} & set(train_outputs[0].data)
    assert nb.cells[2].outputs[0].text.strip() == "3 3"
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.outputs


def test_training_state_is_built_before_fit():
    """`train` creates the optimiser's and metrics' variables before `fit` traces a step.

    (On TensorFlow a first trace that creates variables is traced again: the reason.)
    """
    d2lite.set_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = np.arange(8) % 3
    assert not model.optimizer.built
    metric_variables = len(model.metrics_variables)  # the loss tracker's only
    training._build_training_state(model, x, y)
    assert model.optimizer.built
    # Adam: an iteration counter and two moments per weight (kernel and bias)
    assert len(model.optimizer.variables) >= 1 + 2 * len(model.trainable_variables)
    assert len(model.metrics_variables) > metric_variables  # the accuracy's too


def test_training_state_falls_back_to_building_the_optimiser():
    """Without Keras's private `_symbolic_build`, the optimiser alone is built."""
    weights = [keras.Variable(np.zeros((4, 3), "float32"))]
    optimizer = keras.optimizers.Adam(1e-3)
    stand_in = type("NoSymbolicBuild", (), {"optimizer": optimizer,
                                            "trainable_variables": weights})()
    training._build_training_state(stand_in, None, None)
    assert optimizer.built and len(optimizer.variables) >= 3


def test_device_name_names_the_device_on_every_backend():
    name = d2lite.training.device_name()
    assert name.startswith(("CPU (", "GPU:0 (", "TPU:0 (")), name


def test_set_seed_repeats_the_backends_random_draws():
    draws = []
    for _ in range(2):
        d2lite.set_seed(3)
        draws.append(keras.ops.convert_to_numpy(keras.random.normal((4,))))
    np.testing.assert_array_equal(*draws)
    with pytest.raises(ValueError, match="seed"):
        d2lite.set_seed(-1)
