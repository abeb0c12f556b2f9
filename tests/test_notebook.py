"""d2lite.glue: quotes values for the book and falls back quietly without myst-nb."""

import builtins

import d2lite
import numpy as np
import pytest


def test_glue_returns_plain_values(monkeypatch):
    stored = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: stored.update({name: value}))
    assert d2lite.glue("acc", np.float32(0.5)) == 0.5
    assert type(stored["acc"]) is float  # NumPy scalars become Python numbers
    assert d2lite.glue("n-params", "61,706") == "61,706" and stored["n-params"] == "61,706"


def test_glue_without_myst_nb(monkeypatch):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError("no myst_nb here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    assert d2lite.glue("acc", 0.25) == 0.25


@pytest.mark.parametrize("name", ["", "has space", "a.b", 3])
def test_glue_names(name):
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        d2lite.glue(name, 1)
