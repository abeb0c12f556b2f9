"""Time series for the one-dimensional convolution section: real data and windows.

* `load_sunspots` -- the yearly sunspot numbers 1700-2008, read from the copy that
  ships inside ``statsmodels`` (no download, no pandas).
* `sliding_windows` -- turn a series into (previous ``p`` values, next value) pairs
  for one-step-ahead forecasting.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np

__all__ = ["load_sunspots", "sliding_windows"]

# where the CSV lies inside statsmodels; importing only the light top-level package
# (statsmodels.datasets itself would import pandas)
_SUNSPOTS = ("statsmodels", ("datasets", "sunspots", "sunspots.csv"))


def load_sunspots() -> tuple[np.ndarray, np.ndarray]:
    """The yearly mean sunspot numbers from 1700 to 2008 (309 years).

    The series is the one ``statsmodels.datasets.sunspots`` ships (public domain; the
    yearly sunspot number of SILSO, formerly the SIDC, as distributed by NOAA's NGDC).
    It is read from the package's CSV file with `importlib.resources`, so it needs
    neither a network connection nor pandas.

    Returns:
        ``(years, values)``: ``years`` of shape (n,), int64, consecutive from 1700;
        ``values`` of shape (n,), float32, the sunspot number of each year. n = 309.

    Raises:
        ImportError: if statsmodels is not installed (``pip install statsmodels``).
    """
    package, parts = _SUNSPOTS
    name = "/".join(parts)
    try:
        path = resources.files(package)
        for part in parts:
            path = path / part
        text = path.read_text(encoding="utf-8")
    except ModuleNotFoundError as err:
        raise ImportError(
            "load_sunspots reads the sunspot series shipped with statsmodels; "
            "install it with `pip install statsmodels`"
        ) from err
    rows = list(csv.reader(io.StringIO(text)))
    header, rows = rows[0], [row for row in rows[1:] if row]
    if [h.strip().upper() for h in header] != ["YEAR", "SUNACTIVITY"]:
        raise ValueError(f"unexpected columns {header} in statsmodels' {name}")
    years = np.array([int(float(year)) for year, _ in rows], dtype=np.int64)
    values = np.array([float(value) for _, value in rows], dtype=np.float32)
    return years, values


def sliding_windows(series, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (the ``p`` previous values, the next value) of a one-dimensional series.

    Row ``t`` of the inputs is ``series[t : t + p]`` and its target is
    ``series[t + p]``: the data of a one-step-ahead forecaster that looks ``p`` steps
    back. The windows keep the order of time (nothing is shuffled).

    Args:
        series: array-like of shape (n,), with ``n > p``.
        p: the number of past values in a window, a positive int.

    Returns:
        ``(inputs, targets)`` of shapes (n - p, p) and (n - p,), with the series' dtype
        (floats stay floats; ints stay ints).

    Raises:
        ValueError: if `p` is not a positive int, `series` is not one-dimensional,
            or `series` has no more than `p` values.
    """
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"p must be a positive int (the window length), got {p!r}")
    series = np.asarray(series)
    if series.ndim != 1:
        raise ValueError(f"series must have shape (n,), got shape {series.shape}")
    n = series.shape[0]
    if n <= p:
        raise ValueError(
            f"series must be longer than the window: got n = {n} values for p = {p}; "
            "use a smaller p"
        )
    index = np.arange(n - p)[:, None] + np.arange(p)[None, :]
    return series[index], series[p:]
