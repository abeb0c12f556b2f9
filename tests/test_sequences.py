"""d2lite.sequences: the shipped sunspot series and sliding windows."""

from __future__ import annotations

import numpy as np
import pytest

from d2lite import sequences


def test_load_sunspots_shapes_and_types():
    years, values = sequences.load_sunspots()
    assert years.shape == values.shape == (309,)
    assert years.dtype == np.int64 and values.dtype == np.float32
    np.testing.assert_array_equal(years, np.arange(1700, 2009))
    assert np.all(values >= 0) and np.all(np.isfinite(values))


def test_load_sunspots_known_years():
    years, values = sequences.load_sunspots()
    by_year = dict(zip(years.tolist(), values.tolist()))
    assert by_year[1700] == 5.0 and by_year[1701] == 11.0
    assert by_year[2008] == pytest.approx(2.9)
    # the largest yearly value of the series, the peak of solar cycle 19
    assert years[np.argmax(values)] == 1957
    assert by_year[1957] == pytest.approx(190.2)


def test_load_sunspots_needs_no_pandas():
    import subprocess
    import sys

    # load the module file alone (importing d2lite would start TensorFlow), with pandas
    # made unimportable
    code = (
        "import sys, importlib.util\n"
        "sys.modules['pandas'] = None\n"
        f"spec = importlib.util.spec_from_file_location('seq', {sequences.__file__!r})\n"
        "seq = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(seq)\n"
        "years, values = seq.load_sunspots()\n"
        "assert len(years) == 309 and 'pandas' not in [m for m in sys.modules if sys.modules[m]]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_sunspots_without_statsmodels(monkeypatch):
    monkeypatch.setattr(sequences, "_SUNSPOTS", ("no_such_package_d2lite", ("x.csv",)))
    with pytest.raises(ImportError, match="pip install statsmodels"):
        sequences.load_sunspots()


def test_sliding_windows_values_and_shapes():
    series = np.arange(10.0)
    inputs, targets = sequences.sliding_windows(series, 3)
    assert inputs.shape == (7, 3) and targets.shape == (7,)
    np.testing.assert_array_equal(inputs[0], [0, 1, 2])
    np.testing.assert_array_equal(inputs[-1], [6, 7, 8])
    np.testing.assert_array_equal(targets, np.arange(3.0, 10.0))
    # each target is the value right after its window
    np.testing.assert_array_equal(inputs[1:, -1], targets[:-1])
    assert inputs.dtype == targets.dtype == series.dtype


def test_sliding_windows_keeps_dtype_and_accepts_lists():
    inputs, targets = sequences.sliding_windows([1, 2, 3, 4], 1)
    assert inputs.shape == (3, 1) and inputs.dtype.kind == "i"
    np.testing.assert_array_equal(targets, [2, 3, 4])
    _, values = sequences.load_sunspots()
    inputs, targets = sequences.sliding_windows(values, 16)
    assert inputs.shape == (293, 16) and inputs.dtype == np.float32
    assert targets[0] == values[16]


@pytest.mark.parametrize("p", [0, -1, 2.0, True, "3", None])
def test_sliding_windows_rejects_bad_p(p):
    with pytest.raises(ValueError, match="p must be a positive int"):
        sequences.sliding_windows(np.arange(10.0), p)


def test_sliding_windows_rejects_bad_series():
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        sequences.sliding_windows(np.zeros((4, 2)), 1)
    with pytest.raises(ValueError, match="longer than the window"):
        sequences.sliding_windows(np.arange(3.0), 3)
