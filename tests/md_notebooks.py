"""Pytest plugin: run the jupytext MyST-markdown chapters with nbval.

nbval only collects ``.ipynb`` files and the book keeps its chapters as ``.md``
(no notebooks are committed). This plugin collects ``chapters/*.md`` (when pytest
runs with ``--nbval`` or ``--nbval-lax``), reads each through jupytext, and hands the
notebook to nbval's own collector, so every code cell -- hidden test cells and the
code of exercise solutions included -- runs in a fresh kernel, in order, with the
kernel's working directory set to ``chapters/`` exactly as in the book build.

At the end it prints how long each chapter took, so the time budgets in the issues
can be read off every CI log.
"""

from __future__ import annotations

import types
from collections import defaultdict
from unittest import mock

import jupytext
import nbval.plugin

_durations: dict = defaultdict(float)


def _is_chapter(path) -> bool:
    return path.suffix == ".md" and path.parent.name == "chapters" and not path.name.startswith("_")


class MarkdownNotebook(nbval.plugin.IPyNbFile):
    """An nbval notebook read from a jupytext ``.md`` file."""

    def collect(self):
        reader = types.SimpleNamespace(read=lambda path, as_version: jupytext.read(path, as_version=as_version))
        with mock.patch.object(nbval.plugin, "nbformat", reader):
            yield from super().collect()


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and _is_chapter(file_path):
        return MarkdownNotebook.from_parent(parent, path=file_path)
    return None


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".md"):
        _durations[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _durations:
        return
    terminalreporter.section("chapter execution times (cells, seconds)")
    for path, seconds in sorted(_durations.items()):
        terminalreporter.write_line(f"{seconds:7.1f}  {path}")
    terminalreporter.write_line(f"{sum(_durations.values()):7.1f}  total")
