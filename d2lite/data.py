"""Fashion-MNIST and MNIST: the real files, verified, cached and readable offline.

Where the four original ``.gz`` files come from, in this order:

1. ``data_dir``, if you pass one: a folder holding the four files.
2. ``$D2LITE_DATA/<name>/`` (``name`` is ``fashion-mnist`` or ``mnist``): a local copy,
   read without any network access. The book's CI points this at its shared copy.
3. the cache, ``$D2LITE_CACHE`` or ``~/.cache/d2lite``, under ``<name>/``.
4. a download from the data set's public mirrors into the cache.

Every file is checked against the SHA-256 of the original before it is used. A
download is written to a temporary file in the cache folder, checked, and only then
renamed into place (an atomic step), so an interrupted download can never leave a
file that later passes as good; a cached file that fails the check is fetched again.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["FASHION_MNIST_CLASSES", "DataSplits", "DatasetSpec", "load_fashion_mnist", "load_mnist", "shift_images"]

FASHION_MNIST_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)

_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a data set's four IDX files live online and what they must hash to."""

    name: str
    mirrors: tuple[str, ...]
    sha256: dict
    class_names: tuple[str, ...]


FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    mirrors=(
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    sha256={
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    class_names=FASHION_MNIST_CLASSES,
)

MNIST = DatasetSpec(
    name="mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    sha256={
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    class_names=tuple(str(d) for d in range(10)),
)


class DataSplits(NamedTuple):
    """Train and test arrays, ready for ``model.fit``.

    Attributes:
        x_train: (60000, 28, 28, 1) float32 in [0, 1] (or uint8 (60000, 28, 28) if raw).
        y_train: (60000,) int32 class indices.
        x_test: (10000, 28, 28, 1), like `x_train`.
        y_test: (10000,) int32.
        class_names: the ten class names, indexed by label.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple


class DataNotFoundError(FileNotFoundError):
    """No verified copy could be found locally nor downloaded."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str) -> bool:
    return path.is_file() and sha256_of(path) == expected


def _urlopen(url: str, timeout: float = 60.0):
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - fixed https mirrors (or file:// in tests)


def download(url: str, target: Path, sha256: str, *, opener: Callable = _urlopen) -> Path:
    """Download `url` to `target` atomically, keeping it only if its SHA-256 matches.

    The bytes go to a temporary file beside `target`; only a complete, verified file
    is renamed to `target`. On any failure the temporary file is removed.

    Raises:
        ValueError: if the downloaded bytes do not have the expected SHA-256.
        OSError: if the download fails.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, opener(url) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
        got = sha256_of(tmp)
        if got != sha256:
            raise ValueError(f"{url} has SHA-256 {got}, expected {sha256}: not the original file")
        os.replace(tmp, target)  # atomic on POSIX and Windows
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _cache_root() -> Path:
    return Path(os.environ.get("D2LITE_CACHE", Path.home() / ".cache" / "d2lite"))


def fetch_files(spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                opener: Callable = _urlopen) -> dict:
    """Paths of the data set's four verified files, downloading only what is missing.

    Returns:
        A dict from file name to a verified local `Path`.

    Raises:
        DataNotFoundError: a file is in no local folder and cannot be downloaded; the
            message says where to put the files.
        ValueError: a file in `data_dir` or ``$D2LITE_DATA`` exists but is not the original.
    """
    local_dirs: list[Path] = []
    if data_dir is not None:
        local_dirs.append(Path(data_dir))
    if os.environ.get("D2LITE_DATA"):
        local_dirs.append(Path(os.environ["D2LITE_DATA"]) / spec.name)
    cache_dir = _cache_root() / spec.name

    paths = {}
    for fname in _FILES:
        expected = spec.sha256[fname]
        for folder in local_dirs:
            candidate = folder / fname
            if candidate.is_file():
                if sha256_of(candidate) != expected:
                    raise ValueError(f"{candidate} is not the original {spec.name} file (SHA-256 mismatch); "
                                     "replace it with a fresh copy")
                paths[fname] = candidate
                break
        else:
            cached = cache_dir / fname
            if _verified(cached, expected):
                paths[fname] = cached
                continue
            errors = []
            for mirror in spec.mirrors:
                try:
                    paths[fname] = download(mirror + fname, cached, expected, opener=opener)
                    break
                except (OSError, ValueError) as err:
                    errors.append(f"  {mirror + fname}: {err}")
            else:
                places = [str(d) for d in local_dirs] + [str(cache_dir)]
                raise DataNotFoundError(
                    f"Could not find or download {spec.name} file {fname}.\n"
                    f"Looked in: {', '.join(places)}\nDownload attempts:\n" + "\n".join(errors) +
                    f"\nOffline? Put the four original files ({', '.join(_FILES)}) in "
                    f"$D2LITE_DATA/{spec.name}/ (set D2LITE_DATA to their parent folder) or in {cache_dir}."
                )
    return paths


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _load(spec: DatasetSpec, data_dir, normalize: bool, opener: Callable) -> DataSplits:
    paths = fetch_files(spec, data_dir, opener=opener)
    x_train, y_train, x_test, y_test = (read_idx(paths[f]) for f in _FILES)
    if normalize:
        x_train = (x_train.astype(np.float32) / 255.0)[..., None]
        x_test = (x_test.astype(np.float32) / 255.0)[..., None]
    return DataSplits(x_train, y_train.astype(np.int32), x_test, y_test.astype(np.int32), spec.class_names)


def load_fashion_mnist(data_dir: str | os.PathLike | None = None, *, normalize: bool = True,
                       opener: Callable = _urlopen) -> DataSplits:
    """Load the real Fashion-MNIST (Xiao et al., 2017): 60,000 train and 10,000 test images.

    Args:
        data_dir: optional folder holding the four original ``.gz`` files.
        normalize: if True (default) images are float32 in [0, 1] with a channel axis,
            shape (N, 28, 28, 1); if False, the raw uint8 (N, 28, 28).
        opener: function opening a URL for reading (tests pass a local one).

    Returns:
        `DataSplits` with ``class_names`` = `FASHION_MNIST_CLASSES`.
    """
    return _load(FASHION_MNIST, data_dir, normalize, opener)


def load_mnist(data_dir: str | os.PathLike | None = None, *, normalize: bool = True,
               opener: Callable = _urlopen) -> DataSplits:
    """Load the real MNIST digits (LeCun et al., 1998); same layout as `load_fashion_mnist`."""
    return _load(MNIST, data_dir, normalize, opener)


def shift_images(images, dy: int, dx: int) -> np.ndarray:
    """Move the content of a batch of images `dy` pixels down and `dx` right, filling with zeros.

    Negative `dy` / `dx` move up / left. What leaves the frame is lost.

    Args:
        images: array of shape (batch, height, width, channels).
        dy, dx: ints with ``|dy| < height`` and ``|dx| < width``.

    Returns:
        NumPy array of the same shape and dtype.

    Raises:
        ValueError: wrong rank, or a shift as large as the image.
        TypeError: a shift that is not an int.
    """
    x = np.asarray(images)
    if x.ndim != 4:
        raise ValueError(f"images must have rank 4, shape (batch, height, width, channels); got shape {x.shape}")
    h, w = x.shape[1:3]
    for name, value, size, axis in (("dy", dy, h, "height"), ("dx", dx, w, "width")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if abs(value) >= size:
            raise ValueError(f"|{name}| must be smaller than the image {axis} ({size}), got {value}")
    out = np.zeros_like(x)
    out[:, max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = \
        x[:, max(-dy, 0): h - max(dy, 0), max(-dx, 0): w - max(dx, 0)]
    return out
