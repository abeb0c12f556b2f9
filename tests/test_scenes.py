"""d2lite.scenes: cluttered and caption scenes built from the real Fashion-MNIST items."""

import time

import d2lite
import numpy as np
import pytest

from d2lite import scenes


@pytest.fixture(scope="module")
def fmnist():
    return d2lite.load_fashion_mnist()


def _marked_items(n=50, size=28):
    """Items whose pixels encode their own index: item i is (i + 1) / 100 where it is on."""
    items = np.zeros((n, size, size), np.float32)
    items[:, 4:24, 6:22] = (np.arange(n, dtype=np.float32)[:, None, None] + 1) / 100
    return items, np.arange(n) % 10


def test_cluttered_scenes_shapes_boxes_and_the_item_inside_its_box(fmnist):
    s = d2lite.cluttered_scenes(fmnist.x_test, fmnist.y_test, 200, canvas=60, distractors=8, seed=3)
    assert s.images.shape == (200, 60, 60, 1) and s.images.dtype == np.float32
    assert s.labels.shape == (200,) and s.boxes.shape == (200, 4) and s.sources.shape == (200,)
    np.testing.assert_array_equal(s.labels, fmnist.y_test[s.sources])
    top, left, bottom, right = s.boxes.T
    assert (top >= 0).all() and (left >= 0).all() and (bottom <= 60).all() and (right <= 60).all()
    assert ((bottom - top) == 28).all() and ((right - left) == 28).all()
    for i in range(200):
        t, l, b, r = s.boxes[i]
        crop = s.images[i, t:b, l:r, 0]
        # Pasting with max: the item is there, possibly brightened by clutter on top.
        assert (crop >= fmnist.x_test[s.sources[i], ..., 0] - 1e-7).all()
    assert 0.0 <= s.images.min() and s.images.max() <= 1.0


def test_distractors_come_from_other_items_and_add_clutter():
    items, labels = _marked_items()
    s = scenes.cluttered_scenes(items, labels, 300, canvas=60, distractors=5, patch=9, seed=0)
    outside = s.images[..., 0].copy()
    for i, (t, l, b, r) in enumerate(s.boxes):
        outside[i, t:b, l:r] = 0
    # Clutter lies outside the item's box in (almost) every scene.
    assert (outside > 0).any(axis=(1, 2)).mean() > 0.9
    translated = scenes.cluttered_scenes(items, labels, 50, distractors=0, seed=0)
    for i, (t, l, b, r) in enumerate(translated.boxes):
        rest = translated.images[i, ..., 0].copy()
        rest[t:b, l:r] = 0
        assert not rest.any(), "distractors=0 must give translated scenes without clutter"


def test_distractor_patches_never_come_from_the_scenes_own_item():
    items, labels = _marked_items(n=3)
    s = scenes.cluttered_scenes(items, labels, 400, distractors=3, patch=5, seed=1)
    for i, (t, l, b, r) in enumerate(s.boxes):
        img = s.images[i, ..., 0].copy()
        own = (s.sources[i] + 1) / 100
        img[t:b, l:r] = 0
        # Marked values are 0.01, 0.02, 0.03: outside the box only other items' values appear.
        assert not np.isclose(img, own).any()


def test_train_and_test_scenes_use_their_own_split_only(fmnist):
    train, test = d2lite.cluttered_splits(fmnist, 500, 300, seed=0)
    assert train.sources.max() < len(fmnist.x_train) and test.sources.max() < len(fmnist.x_test)
    np.testing.assert_array_equal(test.labels, fmnist.y_test[test.sources])
    # Test scenes contain only test-set pixels: build the split from a test set whose
    # pixels are all 0.5 and check that no other value appears.
    fake_test = fmnist._replace(x_test=np.full_like(fmnist.x_test[:100], 0.5), y_test=fmnist.y_test[:100])
    _, marked = d2lite.cluttered_splits(fake_test, 10, 200, seed=0)
    assert set(np.unique(marked.images)) <= {0.0, 0.5}
    cap_train, cap_test = d2lite.caption_splits(fake_test, 10, 100, seed=0)
    assert set(np.unique(cap_test.images)) <= {0.0, 0.5}
    assert cap_train.sources.max() < len(fmnist.x_train)


def test_scenes_are_reproducible_and_seeds_differ(fmnist):
    a = d2lite.cluttered_scenes(fmnist.x_test, fmnist.y_test, 20, seed=5)
    b = d2lite.cluttered_scenes(fmnist.x_test, fmnist.y_test, 20, seed=5)
    c = d2lite.cluttered_scenes(fmnist.x_test, fmnist.y_test, 20, seed=6)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)
    train, test = d2lite.cluttered_splits(fmnist, 20, 20, seed=5)
    assert not np.array_equal(train.boxes, test.boxes)


def test_sixty_thousand_scenes_take_seconds(fmnist):
    start = time.perf_counter()
    s = d2lite.cluttered_scenes(fmnist.x_train, fmnist.y_train, 60000, seed=0)
    seconds = time.perf_counter() - start
    assert s.images.shape == (60000, 60, 60, 1)
    assert seconds < 60, f"60,000 scenes took {seconds:.1f} s"  # about 4 s on 2 cores


def test_caption_scenes_layout_reading_order_and_boxes(fmnist):
    s = d2lite.caption_scenes(fmnist.x_test, fmnist.y_test, 500, grid=(2, 2), cell=32, seed=2)
    assert s.images.shape == (500, 64, 64, 1)
    assert s.labels.shape == (500, 4) and s.boxes.shape == (500, 4, 4) and s.counts.shape == (500,)
    assert set(np.unique(s.counts)) == {2, 3, 4}
    for i in range(500):
        k = s.counts[i]
        assert (s.labels[i, :k] >= 0).all() and (s.labels[i, k:] == -1).all()
        assert (s.boxes[i, k:] == -1).all() and (s.sources[i, k:] == -1).all()
        np.testing.assert_array_equal(s.labels[i, :k], fmnist.y_test[s.sources[i, :k]])
        boxes = s.boxes[i, :k]
        cells = (boxes[:, 0] // 32) * 2 + boxes[:, 1] // 32
        assert len(set(cells)) == k, "two items in one cell"
        assert (np.diff(cells) > 0).all(), "items are not in reading order"
        # each item lies inside its cell
        assert ((boxes[:, 2] - 1) // 32 == boxes[:, 0] // 32).all()
        assert ((boxes[:, 3] - 1) // 32 == boxes[:, 1] // 32).all()
        for (t, l, b, r), src in zip(boxes, s.sources[i, :k]):
            np.testing.assert_array_equal(s.images[i, t:b, l:r, 0], fmnist.x_test[src, ..., 0])
    # Exactly the pixels inside the boxes can be non-zero.
    on = s.images[..., 0] > 0
    for i in range(50):
        inside = np.zeros((64, 64), bool)
        for t, l, b, r in s.boxes[i, : s.counts[i]]:
            inside[t:b, l:r] = True
        assert not (on[i] & ~inside).any()


def test_caption_scenes_other_grids():
    items, labels = _marked_items(n=20)
    s = scenes.caption_scenes(items, labels, 30, grid=(1, 3), cell=30, min_items=3, max_items=3)
    assert s.images.shape == (30, 30, 90, 1) and (s.counts == 3).all()
    assert (np.diff(s.boxes[:, :, 1], axis=1) > 0).all()  # left to right


def test_vocab_round_trip():
    vocab = d2lite.CaptionVocab(d2lite.FASHION_MNIST_CLASSES)
    assert len(vocab) == 13 and vocab.words[0] == "t-shirt" and vocab.words[9] == "boot"
    labels = np.array([[9, 0, -1, -1], [1, 2, 3, 4]])
    assert vocab.captions(labels) == ["boot t-shirt", "trouser pullover dress coat"]
    tokens = vocab.encode(labels)
    np.testing.assert_array_equal(tokens, [[1, 12, 3, 2, 0, 0], [1, 4, 5, 6, 7, 2]])
    assert vocab.decode(tokens) == vocab.captions(labels)
    assert vocab.decode([1, 12, 2, 5, 5]) == ["boot"]  # stops at <end>
    assert vocab.encode(labels, length=8).shape == (2, 8)
    assert "13 tokens" in repr(vocab)


@pytest.mark.parametrize("kwargs, match", [
    (dict(canvas=20), r"canvas \(20\) must be at least the item size 28x28"),
    (dict(distractors=-1), "distractors must be at least 0"),
    (dict(patch=29), r"patch \(29\) must be at most"),
    (dict(patch=0), "patch must be at least 1"),
    (dict(n=-5), "n must be at least 0"),
])
def test_cluttered_scene_errors(fmnist, kwargs, match):
    args = dict(n=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        d2lite.cluttered_scenes(fmnist.x_test[:10], fmnist.y_test[:10], **args)


def test_scene_input_errors(fmnist):
    with pytest.raises(ValueError, match=r"images must have shape \(N, height, width\)"):
        d2lite.cluttered_scenes(np.zeros((4, 28)), np.zeros(4, int), 2)
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        d2lite.cluttered_scenes(np.zeros((4, 28, 28)), np.zeros(3, int), 2)
    with pytest.raises(ValueError, match="integer class labels"):
        d2lite.cluttered_scenes(np.zeros((4, 28, 28)), np.zeros(4), 2)
    with pytest.raises(TypeError, match="n must be an int"):
        d2lite.cluttered_scenes(np.zeros((4, 28, 28)), np.zeros(4, int), 2.5)
    with pytest.raises(ValueError, match="at least 2 source images"):
        d2lite.cluttered_scenes(np.zeros((1, 28, 28)), np.zeros(1, int), 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_items=5), r"max_items \(5\) items do not fit a 2x2 grid of 4 cells"),
    (dict(min_items=3, max_items=2), r"min_items \(3\) must not exceed max_items \(2\)"),
    (dict(min_items=0), "min_items must be at least 1"),
    (dict(cell=20), r"cell \(20\) must be at least the item size"),
    (dict(grid=(2, 0)), r"grid must be \(rows, cols\) of positive ints"),
])
def test_caption_scene_errors(fmnist, kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2lite.caption_scenes(fmnist.x_test[:10], fmnist.y_test[:10], 3, **kwargs)


def test_vocab_errors():
    with pytest.raises(ValueError, match="distinct"):
        d2lite.CaptionVocab(["a b", "c b"])
    with pytest.raises(ValueError, match="words has 1 entries for 2 classes"):
        d2lite.CaptionVocab(["a", "b"], words=["x"])
    vocab = d2lite.CaptionVocab(d2lite.FASHION_MNIST_CLASSES)
    with pytest.raises(ValueError, match=r"labels must lie in 0..9"):
        vocab.encode(np.array([[10]]))
    with pytest.raises(ValueError, match=r"shape \(n, max_items\)"):
        vocab.encode(np.array([1, 2]))
