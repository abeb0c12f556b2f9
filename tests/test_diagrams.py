"""d2lite.diagrams: the figures show what d2lite computes, laid out cleanly; bad input fails."""

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

import d2lite
from d2lite import diagrams, models

plt.switch_backend("Agg")

X3 = np.arange(9).reshape(3, 3)
K2 = np.array([[0, 1], [2, 3]])
# The two-channel example of the channels section.
XC = np.stack([np.arange(9).reshape(3, 3), [[1, 0, 1], [0, 1, 0], [1, 0, 1]]], axis=-1)
KC = np.stack([[[1, 2], [0, 1]], [[-1, 0], [1, 1]]], axis=-1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig):
    return {t.get_label(): t for ax in fig.axes for t in ax.texts}


def _number(s: str) -> float:
    return float(s.replace("\u2212", "-"))


def _grid(fig, name):
    """The numbers drawn in grid `name`, read back from the labelled Text artists."""
    cells = {}
    for label, t in _texts(fig).items():
        if label.startswith(f"{name}[") and label.endswith("]"):
            r, c = (int(v) for v in label[len(name) + 1: -1].split(","))
            cells[r, c] = _number(t.get_text())
    assert cells, f"no grid named {name!r}"
    out = np.zeros((max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1))
    for (r, c), v in cells.items():
        out[r, c] = v
    assert len(cells) == out.size
    return out


def _patch(fig, label):
    found = [p for ax in fig.axes for p in ax.patches if p.get_label() == label]
    assert len(found) == 1, f"{len(found)} patches labelled {label!r}"
    return found[0]


def _covered(fig, grid, label):
    """Cells (r, c) of `grid` whose centres lie inside the patch labelled `label`."""
    p = _patch(fig, label)
    x0, y0 = p.get_xy()
    inside = set()
    for name, t in _texts(fig).items():
        if name.startswith(f"{grid}["):
            x, y = t.get_position()
            if x0 < x < x0 + p.get_width() and y0 < y < y0 + p.get_height():
                inside.add(tuple(int(v) for v in name[len(grid) + 1: -1].split(",")))
    return inside


def _caption(fig):
    return _texts(fig)["caption"].get_text()


def _assert_clean(fig):
    """No two texts overlap, every text lies inside the figure, width fits the book."""
    assert fig.get_size_inches()[0] * 100 <= 700
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_label(), t.get_window_extent(renderer)) for ax in fig.axes
             for t in ax.texts if t.get_text()]
    width, height = fig.bbox.width, fig.bbox.height
    for label, b in boxes:
        assert b.x0 >= -0.5 and b.y0 >= -0.5, label
        assert b.x1 <= width + 0.5 and b.y1 <= height + 0.5, label
    ext = np.array([[b.x0, b.y0, b.x1, b.y1] for _, b in boxes])
    overlap_w = np.minimum(ext[:, None, 2], ext[None, :, 2]) - np.maximum(ext[:, None, 0],
                                                                          ext[None, :, 0])
    overlap_h = np.minimum(ext[:, None, 3], ext[None, :, 3]) - np.maximum(ext[:, None, 1],
                                                                          ext[None, :, 1])
    clash = (overlap_w > 0.5) & (overlap_h > 0.5)
    np.fill_diagonal(clash, False)
    pairs = [(boxes[i][0], boxes[j][0]) for i, j in zip(*np.nonzero(clash)) if i < j]
    assert not pairs, f"overlapping texts: {pairs}"


# ------------------------------------------------------------------ sliding window


@pytest.mark.parametrize("padding, stride, at", [
    (0, 1, (1, 1)), (1, 2, (0, 1)), (1, 1, (2, 3)), ((0, 1), (1, 2), (1, 0)), (2, 3, (1, 1)),
])
def test_sliding_window_draws_corr2d_and_the_right_window(padding, stride, at):
    fig = diagrams.sliding_window(X3, K2, padding=padding, stride=stride, at=at)
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    expected = np.asarray(d2lite.corr2d(X3, K2, padding=padding, stride=stride))
    np.testing.assert_array_equal(_grid(fig, "output"), expected)
    np.testing.assert_array_equal(_grid(fig, "input"), np.pad(X3, [(p_h, p_h), (p_w, p_w)]))
    np.testing.assert_array_equal(_grid(fig, "kernel"), K2)
    r, c = at
    window = {(r * s_h + i, c * s_w + j) for i in range(2) for j in range(2)}
    assert _covered(fig, "input", "window") == window
    assert _covered(fig, "output", "highlight") == {at}
    assert _caption(fig).endswith(f"= {expected[r, c]:.0f}".replace("-", "\u2212"))


def test_sliding_window_caption_is_the_sum_of_products():
    fig = diagrams.sliding_window(X3, K2, padding=1, stride=2, at=(0, 1))
    assert _caption(fig) == r"$[\mathbf{Y}]_{0,1}$ = 0·0 + 0·1 + 1·2 + 2·3 = 8"
    padded = np.pad(X3, 1)
    fills = {t.get_label(): t.get_color() for t in fig.axes[0].texts}
    for (r, c), v in np.ndenumerate(padded):  # padding cells are drawn in grey, with 0
        is_pad = r in (0, 4) or c in (0, 4)
        assert (fills[f"input[{r},{c}]"] != "#222222") == is_pad and (v == 0 or not is_pad)


def test_sliding_window_negative_and_float_values():
    X = np.array([[1.5, -2.0], [0.25, 3.0]])
    fig = diagrams.sliding_window(X, np.array([[1.0, -1.0]]), at=(1, 0))
    np.testing.assert_allclose(_grid(fig, "output"), [[3.5], [-2.75]])
    assert _caption(fig).endswith("0.25·1 + 3·(\u22121) = \u22122.75")


def test_sliding_window_in_given_axes_and_accepts_tensors():
    fig, axes = plt.subplots(1, 2, figsize=(7, 2.5))
    X = keras.ops.convert_to_tensor(X3.astype("float32"))
    assert diagrams.sliding_window(X, K2, ax=axes[1]) is fig
    np.testing.assert_array_equal(_grid(fig, "output"), [[19, 25], [37, 43]])


# ------------------------------------------------------- multi-channel correlation


def test_multi_channel_correlation_is_the_chapter_example():
    fig = diagrams.multi_channel_correlation(XC, KC, at=(0, 0))
    np.testing.assert_array_equal(_grid(fig, "output"), [[6, 11], [19, 22]])
    np.testing.assert_array_equal(_grid(fig, "partial0"), [[6, 10], [18, 22]])
    for q in range(2):
        np.testing.assert_array_equal(_grid(fig, f"input{q}"), XC[:, :, q])
        np.testing.assert_array_equal(_grid(fig, f"kernel{q}"), KC[:, :, q])
    assert _caption(fig) == (r"$[\mathbf{Y}]_{0,0}$ = (0·1 + 1·2 + 3·0 + 4·1) + "
                             "(1·(\u22121) + 0·0 + 0·1 + 1·1) = 6 + 0 = 6")
    assert _covered(fig, "output", "highlight") == {(0, 0)}


def test_multi_channel_correlation_sums_the_partials_with_padding_and_stride():
    rng = np.random.default_rng(0)
    X, K = rng.integers(-2, 3, (4, 5, 3)), rng.integers(-1, 2, (3, 2, 3))
    fig = diagrams.multi_channel_correlation(X, K, at=(1, 2), padding=1, stride=(2, 2))
    expected = np.asarray(d2lite.corr2d_multi_in(X, K, padding=1, stride=2))
    np.testing.assert_allclose(_grid(fig, "output"), expected)
    partials = sum(_grid(fig, f"partial{q}") for q in range(3))
    np.testing.assert_allclose(partials, expected)
    windows = [p for p in fig.axes[0].patches if p.get_label() == "window"]
    assert len(windows) == 3 and all(p.get_width() == 2 and p.get_height() == 3 for p in windows)
    assert _covered(fig, "input0", "highlight") == set()


# ------------------------------------------------------------- 1x1 convolution


@pytest.mark.parametrize("c_i, c_o, size, at", [(3, 2, (3, 3), (1, 1)), (1, 4, 2, (0, 1)),
                                                (4, 1, (2, 5), (1, 4))])
def test_pointwise_conv_is_a_dense_layer_at_every_pixel(c_i, c_o, size, at):
    fig = diagrams.pointwise_conv(c_i, c_o, size=size, at=at)
    X = np.stack([_grid(fig, f"input{q}") for q in range(c_i)], axis=-1)
    Y = np.stack([_grid(fig, f"output{o}") for o in range(c_o)], axis=-1)
    W = _grid(fig, "weights")
    assert W.shape == (c_i, c_o)
    assert X.shape[:2] == ((size, size) if isinstance(size, int) else size)
    np.testing.assert_allclose(Y, X @ W)  # the same W at every pixel
    np.testing.assert_allclose(_grid(fig, "pixel")[0], X[at])
    np.testing.assert_allclose(_grid(fig, "result")[0], Y[at])
    assert _caption(fig).count("\n") == c_o - 1
    for q in range(c_i):
        assert _covered(fig, f"input{q}", f"highlight-input{q}") == {at}
    for o in range(c_o):
        assert _covered(fig, f"output{o}", f"highlight-output{o}") == {at}


def test_pointwise_conv_is_reproducible():
    a, b = diagrams.pointwise_conv(seed=3), diagrams.pointwise_conv(seed=3)
    np.testing.assert_array_equal(_grid(a, "weights"), _grid(b, "weights"))


# ----------------------------------------------------------------------- pooling


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("pool, stride, at", [(2, None, (1, 1)), (2, 1, (0, 2)),
                                              ((2, 3), (1, 2), (2, 0))])
def test_pooling_window_draws_pool2d(mode, pool, stride, at):
    X = np.array([[1, 5, 2, 0], [3, 4, 8, 6], [7, 0, 1, 2], [2, 9, 3, 3]])
    fig = diagrams.pooling_window(X, pool=pool, stride=stride, at=at, mode=mode)
    expected = np.asarray(d2lite.pool2d(X, pool, stride=stride, mode=mode))
    np.testing.assert_allclose(_grid(fig, "output"), expected, atol=0.005)  # 2 decimals
    k_h, k_w = (pool, pool) if isinstance(pool, int) else pool
    s_h, s_w = (k_h, k_w) if stride is None else ((stride, stride) if isinstance(stride, int)
                                                  else stride)
    r, c = at
    window = {(r * s_h + i, c * s_w + j) for i in range(k_h) for j in range(k_w)}
    assert _covered(fig, "input", "window") == window
    assert _covered(fig, "output", "highlight") == {at}
    bold = {label for label, t in _texts(fig).items() if t.get_fontweight() == "bold"}
    if mode == "max":
        (winner,) = bold
        assert _number(_texts(fig)[winner].get_text()) == expected[at]
        assert _caption(fig).startswith(f"$[\\mathbf{{Y}}]_{{{r},{c}}}$ = max(")
    else:
        assert not bold and f"/ {k_h * k_w} =" in _caption(fig)


# ------------------------------------------------------------------ network flow

LENET_SHAPES = ["28 × 28 × 1", "28 × 28 × 6", "14 × 14 × 6", "10 × 10 × 16", "5 × 5 × 16",
                "400", "120", "84", "10"]


def test_network_flow_lists_every_lenet_layer_and_its_shape():
    fig = diagrams.network_flow(models.lenet())
    texts = {k: t.get_text() for k, t in _texts(fig).items()}
    names = [texts[f"name{i}"] for i in range(9)]
    assert names == ["input", "C1", "S2", "C3", "S4", "flatten", "C5", "F6", "output"]
    assert [texts[f"shape{i}"] for i in range(9)] == LENET_SHAPES
    assert "name9" not in texts
    assert texts["layer1"] == "Conv2D 5×5, 6 channels, padding same, sigmoid"
    assert texts["layer2"] == "AveragePooling2D 2×2, stride 2"
    assert texts["layer6"] == "Dense 120, sigmoid" and texts["layer8"] == "Dense 10"
    # the same boxes when the activations are arguments of the layers (the LeNet section)
    classic = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(6, 5, padding="same", activation="sigmoid", name="C1"),
        keras.layers.AveragePooling2D(2, name="S2"),
        keras.layers.Conv2D(16, 5, activation="sigmoid", name="C3"),
        keras.layers.AveragePooling2D(2, name="S4"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(120, activation="sigmoid", name="C5"),
        keras.layers.Dense(84, activation="sigmoid", name="F6"),
        keras.layers.Dense(10, name="output"),
    ])
    assert {k: t.get_text() for k, t in _texts(diagrams.network_flow(classic)).items()} == texts


def test_network_flow_folds_batch_norm_and_activations():
    fig = diagrams.network_flow(models.lenet("relu", "max", batch_norm=True))
    texts = {k: t.get_text() for k, t in _texts(fig).items()}
    assert [texts[f"shape{i}"] for i in range(9)] == LENET_SHAPES
    assert texts["layer3"] == "Conv2D 5×5, 16 channels, batch norm, relu"
    assert texts["layer4"] == "MaxPooling2D 2×2, stride 2"
    _assert_clean(fig)


def test_network_flow_sequential_without_input_and_rows():
    model = keras.Sequential([keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
                              keras.layers.GlobalAveragePooling2D()])
    with pytest.raises(ValueError, match="input_shape"):
        diagrams.network_flow(model)
    texts = {k: t.get_text() for k, t in _texts(
        diagrams.network_flow(model, input_shape=(9, 9, 3))).items()}
    assert texts["layer1"] == "Conv2D 3×3, 4 channels, stride 2, relu"
    shapes = [texts["shape0"], texts["shape1"], texts["shape2"]]
    assert shapes == ["9 × 9 × 3", "4 × 4 × 4", "4"]
    rows = [("image", (32, 32, 3)), ("conv 3×3", (32, 32, 8))]
    texts = {k: t.get_text() for k, t in _texts(diagrams.network_flow(rows)).items()}
    assert texts["layer1"] == "conv 3×3" and texts["shape1"] == "32 × 32 × 8"


# ------------------------------------------------------------------- the layout


@pytest.mark.parametrize("draw", [
    lambda: diagrams.sliding_window(X3, K2, padding=1, stride=2, at=(0, 1)),
    lambda: diagrams.sliding_window(np.arange(30).reshape(5, 6) - 9,
                                    np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
                                    padding=1, stride=2, at=(1, 2)),
    lambda: diagrams.multi_channel_correlation(XC, KC),
    lambda: diagrams.multi_channel_correlation(np.arange(48).reshape(4, 4, 3) % 5,
                                               np.ones((3, 3, 3)), padding=1, at=(3, 2)),
    lambda: diagrams.pointwise_conv(),
    lambda: diagrams.pointwise_conv(4, 4, size=(4, 6), at=(3, 5)),
    lambda: diagrams.pooling_window(np.arange(16).reshape(4, 4), at=(0, 1)),
    lambda: diagrams.pooling_window(np.arange(9).reshape(3, 3) / 4, stride=1, mode="avg"),
    lambda: diagrams.network_flow(models.lenet()),
], ids=["sliding", "sliding-big", "multi", "multi-big", "pointwise", "pointwise-big",
        "max-pool", "avg-pool", "lenet"])
def test_diagrams_draw_without_overlapping_text(draw):
    _assert_clean(draw())


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize("call, error, match", [
    (lambda: diagrams.sliding_window(np.ones(3), K2), ValueError, r"X must have shape \(n_h"),
    (lambda: diagrams.sliding_window(X3, np.ones((2, 2, 1))), ValueError, "K must have shape"),
    (lambda: diagrams.sliding_window(X3, np.ones((4, 2))), ValueError,
     r"K \(4×2\) is larger than the input \(3×3\)"),
    (lambda: diagrams.sliding_window(X3, np.ones((6, 2)), padding=1), ValueError,
     r"K \(6×2\) is larger than the padded input \(5×5: 3×3 plus padding"),
    (lambda: diagrams.sliding_window(X3, K2, at=(2, 0)), ValueError,
     r"at=\(2, 0\) is outside the output.*2×2"),
    (lambda: diagrams.sliding_window(X3, K2, at=(0, -1)), ValueError, "outside the output"),
    (lambda: diagrams.sliding_window(X3, K2, at=0), TypeError, "at must be a pair"),
    (lambda: diagrams.sliding_window(X3, K2, padding="same"), TypeError, "padding must be"),
    (lambda: diagrams.sliding_window(X3, K2, stride=0), ValueError, "stride must be >= 1"),
    (lambda: diagrams.sliding_window(np.array([["a"]]), K2), TypeError, "X must hold numbers"),
    (lambda: diagrams.sliding_window(np.ones((12, 12)), K2, padding=1), ValueError,
     "too large to draw"),
    (lambda: diagrams.multi_channel_correlation(X3, K2), ValueError,
     r"X must have shape \(n_h, n_w, c_i\)"),
    (lambda: diagrams.multi_channel_correlation(XC, KC[..., None]), ValueError,
     r"K must have shape \(k_h, k_w, c_i\)"),
    (lambda: diagrams.multi_channel_correlation(XC, KC[..., :1]), ValueError,
     r"one slice per input channel.*expected \(2, 2, 2\)"),
    (lambda: diagrams.multi_channel_correlation(np.ones((3, 3, 5)), np.ones((2, 2, 5))),
     ValueError, "at most 4"),
    (lambda: diagrams.pointwise_conv(0), ValueError, "c_i must be between 1 and 4"),
    (lambda: diagrams.pointwise_conv(2, 2.0), TypeError, "c_o must be an int"),
    (lambda: diagrams.pointwise_conv(size=(3, 3), at=(3, 0)), ValueError, "outside the image"),
    (lambda: diagrams.pointwise_conv(size=(9, 3)), ValueError, "too large"),
    (lambda: diagrams.pooling_window(X3, mode="sum"), ValueError, 'mode must be "max" or "avg"'),
    (lambda: diagrams.pooling_window(X3, pool=4), ValueError,
     r"pool \(4×4\) is larger than the input \(3×3\)"),
    (lambda: diagrams.pooling_window(X3, pool=2, at=(1, 0)), ValueError, "outside the output"),
    (lambda: diagrams.pooling_window(np.ones((2, 2, 1))), ValueError, "X must have shape"),
    (lambda: diagrams.network_flow("lenet"), TypeError, "keras.Model or a list"),
    (lambda: diagrams.network_flow([("input", (28, 28, 1)), "C1"]), ValueError,
     r"model\[1\] must be a \(label, shape\) pair"),
    (lambda: diagrams.network_flow(models.lenet(), input_shape=(28, -1)), ValueError,
     "input_shape must be"),
])
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
