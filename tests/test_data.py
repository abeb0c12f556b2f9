"""d2lite.data: the real files load, and the download/cache path is safe.

The download tests serve genuine copies of the original files from a temporary
folder through ``file://`` URLs (urllib opens them like any mirror), so they need no
network; the genuine files come from $D2LITE_DATA (CI's shared copy) or the cache.
"""

import dataclasses
import io
import shutil

import d2lite  # noqa: F401
import numpy as np
import pytest

from d2lite import data


@pytest.fixture(scope="module")
def originals():
    """Paths of the four verified original Fashion-MNIST files."""
    return data.fetch_files(data.FASHION_MNIST)


@pytest.fixture
def mirror(tmp_path, originals):
    """A local 'mirror' folder holding copies of the originals, and its file:// URL."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name, path in originals.items():
        shutil.copyfile(path, folder / name)
    return folder, folder.as_uri() + "/"


@pytest.fixture
def offline_env(tmp_path, monkeypatch):
    """No local data folder, an empty cache in tmp_path/cache."""
    monkeypatch.delenv("D2LITE_DATA", raising=False)
    monkeypatch.setenv("D2LITE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "fashion-mnist"


def test_fashion_mnist_is_the_real_data_set():
    splits = d2lite.load_fashion_mnist()
    assert splits.x_train.shape == (60000, 28, 28, 1) and splits.x_train.dtype == np.float32
    assert splits.x_test.shape == (10000, 28, 28, 1)
    assert splits.y_train.shape == (60000,) and splits.y_test.shape == (10000,)
    assert 0.0 <= splits.x_train.min() and splits.x_train.max() <= 1.0
    assert splits.class_names == d2lite.FASHION_MNIST_CLASSES and len(splits.class_names) == 10
    # The original files start with an ankle boot, then two t-shirts; classes are balanced.
    assert list(splits.y_train[:5]) == [9, 0, 0, 3, 0]
    assert np.bincount(splits.y_train).tolist() == [6000] * 10
    assert np.bincount(splits.y_test).tolist() == [1000] * 10


def test_raw_uint8_and_mnist():
    raw = d2lite.load_fashion_mnist(normalize=False)
    assert raw.x_train.shape == (60000, 28, 28) and raw.x_train.dtype == np.uint8
    mnist = d2lite.load_mnist()
    assert mnist.x_train.shape == (60000, 28, 28, 1) and list(mnist.y_train[:5]) == [5, 0, 4, 1, 9]


def test_download_falls_back_to_the_next_mirror_and_caches(mirror, offline_env):
    folder, url = mirror
    spec = dataclasses.replace(data.FASHION_MNIST, mirrors=("file:///nonexistent/mirror/", url))
    paths = data.fetch_files(spec)
    for name, path in paths.items():
        assert path == offline_env / name
        assert data.sha256_of(path) == spec.sha256[name]
    assert not list(offline_env.glob("*.part")), "no temporary files are left behind"
    # Second call: served from the cache, even with no mirror reachable.
    shutil.rmtree(folder)
    assert data.fetch_files(spec) == paths


def test_corrupt_cached_file_is_fetched_again(mirror, offline_env):
    _, url = mirror
    spec = dataclasses.replace(data.FASHION_MNIST, mirrors=(url,))
    offline_env.mkdir(parents=True)
    bad = offline_env / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(b"truncated download")
    paths = data.fetch_files(spec)
    assert data.sha256_of(paths["t10k-labels-idx1-ubyte.gz"]) == spec.sha256["t10k-labels-idx1-ubyte.gz"]


class _BrokenStream(io.BytesIO):
    """A response that delivers some bytes, then fails like a dropped connection."""

    def read(self, size=-1):
        if self.tell() > 100:
            raise ConnectionResetError("connection dropped")
        return super().read(min(size, 64) if size and size > 0 else 64)


def test_interrupted_download_leaves_no_file(tmp_path, originals):
    name = "t10k-labels-idx1-ubyte.gz"
    target = tmp_path / "cache" / name
    payload = originals[name].read_bytes()
    with pytest.raises(ConnectionResetError):
        data.download("https://example.invalid/" + name, target, data.FASHION_MNIST.sha256[name],
                      opener=lambda url: _BrokenStream(payload))
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "the partial file was removed"


def test_download_with_wrong_checksum_is_rejected(tmp_path):
    target = tmp_path / "file.gz"
    with pytest.raises(ValueError, match="not the original file"):
        data.download("https://example.invalid/file.gz", target, "0" * 64,
                      opener=lambda url: io.BytesIO(b"not the data set"))
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_offline_without_local_copy_gives_one_clear_error(offline_env):
    spec = dataclasses.replace(data.FASHION_MNIST, mirrors=("file:///nonexistent/mirror/",))
    with pytest.raises(data.DataNotFoundError, match=r"D2LITE_DATA/fashion-mnist/") as err:
        data.fetch_files(spec)
    assert "train-images-idx3-ubyte.gz" in str(err.value)
    assert str(offline_env) in str(err.value)


def test_local_folder_is_used_without_network(mirror, offline_env, monkeypatch):
    folder, _ = mirror
    monkeypatch.setenv("D2LITE_DATA", str(folder.parent))
    folder.rename(folder.parent / "fashion-mnist")

    def no_network(url):
        raise AssertionError(f"tried to download {url}")

    splits = d2lite.load_fashion_mnist(opener=no_network)
    assert splits.x_test.shape == (10000, 28, 28, 1)
    assert not offline_env.exists(), "nothing was written to the cache"


def test_corrupt_file_in_local_folder_is_reported(tmp_path, originals):
    for name, path in originals.items():
        shutil.copyfile(path, tmp_path / name)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz is not the original fashion-mnist file"):
        d2lite.load_fashion_mnist(tmp_path)


def test_read_idx_rejects_other_files(tmp_path):
    import gzip

    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + b"\x00" * 16)  # float IDX
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        data.read_idx(path)


def test_shift_images_moves_content_and_fills_zeros():
    x = np.arange(2 * 4 * 5 * 1, dtype="float32").reshape(2, 4, 5, 1) + 1
    down_right = d2lite.shift_images(x, 1, 2)
    np.testing.assert_array_equal(down_right[:, 1:, 2:], x[:, :-1, :-2])
    assert not down_right[:, :1].any() and not down_right[:, :, :2].any()
    up_left = d2lite.shift_images(x, -1, -2)
    np.testing.assert_array_equal(up_left[:, :-1, :-2], x[:, 1:, 2:])
    assert not up_left[:, -1:].any() and not up_left[:, :, -2:].any()
    np.testing.assert_array_equal(d2lite.shift_images(x, 0, 0), x)
    assert d2lite.shift_images(x, 1, 1).dtype == x.dtype


@pytest.mark.parametrize("args,error,match", [
    ((np.zeros((4, 5, 1)), 1, 1), ValueError, r"images must have rank 4"),
    ((np.zeros((1, 4, 5, 1)), 4, 0), ValueError, r"\|dy\| must be smaller than the image height \(4\)"),
    ((np.zeros((1, 4, 5, 1)), 0, -5), ValueError, r"\|dx\| must be smaller than the image width \(5\)"),
    ((np.zeros((1, 4, 5, 1)), 1.5, 0), TypeError, r"dy must be an int"),
])
def test_shift_images_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        d2lite.shift_images(*args)
