"""Pytest plugin: run the jupytext MyST-markdown chapters with nbval.

nbval only collects ``.ipynb`` files and the book keeps its chapters as ``.md``
(no notebooks are committed). This plugin collects ``chapters/*.md`` (when pytest
runs with ``--nbval`` or ``--nbval-lax``), reads each through jupytext, and hands the
notebook to nbval's own collector, so every code cell -- hidden test cells and the
code of exercise solutions included -- runs in a fresh kernel, in order, with the
kernel's working directory set to ``chapters/`` exactly as in the book build.

At the end it prints how long each chapter took, so the time budgets in the issues
can be read off every CI log.

With ``--book-cache DIR`` (``make test`` passes the book's ``_build/.jupyter_cache``) a
chapter whose every cell passed is also stored in the book's execution cache, with the
outputs of this run, so that ``make book`` renders this execution instead of running every
chapter a second time. The outputs are rebuilt from the kernel's messages by nbclient, the
library myst-nb executes with (nbval's own copy of the outputs ignores ``clear_output`` and
display updates), and the notebook is read by myst-nb's reader, so the cache key is the
one the book build computes. A chapter that failed, or one edited afterwards, is not
matched, and the book executes it itself.
"""

from __future__ import annotations

import types
from collections import defaultdict
from pathlib import Path
from unittest import mock

import jupytext
import nbval.plugin

_durations: dict = defaultdict(float)


def pytest_addoption(parser):
    parser.addoption(
        "--book-cache",
        metavar="DIR",
        default=None,
        help="store every chapter that passed, with its outputs, in this jupyter-cache "
        "(the book's _build/.jupyter_cache), so that the book build reuses the execution",
    )


def _is_chapter(path) -> bool:
    return path.suffix == ".md" and path.parent.name == "chapters" and not path.name.startswith("_")


class MarkdownNotebook(nbval.plugin.IPyNbFile):
    """An nbval notebook read from a jupytext ``.md`` file."""

    def collect(self):
        reader = types.SimpleNamespace(read=lambda path, as_version: jupytext.read(path, as_version=as_version))
        self._messages: list = []  # (code cell number, iopub message), in arrival order
        self._current_cell = None
        self._failed = False
        self._seconds = 0.0
        with mock.patch.object(nbval.plugin, "nbformat", reader):
            yield from super().collect()

    def setup(self):
        super().setup()
        kc = self.kernel.kc

        def execute_cell_input(cell_input, allow_stdin=None):
            # As a notebook runs a cell (nbclient: store_history=True), not as nbval does:
            # without history IPython neither numbers the cells nor lets a trailing ";"
            # hide a cell's value, and the chapters rely on both.
            return kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

        self.kernel.execute_cell_input = execute_cell_input

    def get_kernel_message(self, timeout=None, stream="iopub"):
        msg = super().get_kernel_message(timeout=timeout, stream=stream)
        if stream == "iopub" and self._current_cell is not None:
            self._messages.append((self._current_cell, msg))
        return msg

    def teardown(self):
        super().teardown()
        cache_dir = self.config.getoption("book_cache")
        if cache_dir and not self._failed and self._messages:
            _store_in_book_cache(Path(self.path), self._messages, self._seconds, cache_dir)


def _merge_adjacent_streams(outputs: list) -> list:
    """One stream output where the kernel flushed stdout (or stderr) in several messages.

    How a cell's prints are split into messages depends on timing; a notebook front end
    shows them as one block, and so does this.
    """
    merged: list = []
    for output in outputs:
        if (output["output_type"] == "stream" and merged and merged[-1]["output_type"] == "stream"
                and merged[-1]["name"] == output["name"]):
            merged[-1]["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def _store_in_book_cache(path: Path, messages: list, seconds: float, cache_dir: str) -> None:
    """Cache the executed chapter as myst-nb's cache mode would after running it."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    nb = read_myst_markdown_notebook(path.read_text(encoding="utf-8"), add_source_map=True, path=path)
    code_cells = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    client = NotebookClient(nb, record_timing=False)
    client.reset_execution_trackers()  # what nbclient does before a run
    for index in code_cells:
        nb.cells[index].outputs = []
    request_of = {}  # code cell number -> msg_id of its execute_request
    for number, msg in messages:
        parent = msg["parent_header"]
        if parent.get("msg_type") != "execute_request" or number >= len(code_cells):
            continue
        if request_of.setdefault(number, parent["msg_id"]) != parent["msg_id"]:
            continue
        if msg["msg_type"] == "execute_input":
            client.clear_before_next_output = False  # what nbclient does for each cell
        try:
            client.process_message(msg, nb.cells[code_cells[number]], code_cells[number])
        except CellExecutionComplete:
            pass
    if len(request_of) != len(code_cells):  # the two readers disagree: let the book run it
        return
    for index in code_cells:
        nb.cells[index].outputs = _merge_adjacent_streams(nb.cells[index].outputs)
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    cache = get_cache(cache_dir)
    cache.cache_notebook_bundle(
        CacheBundleIn(nb, str(path.resolve()), data={"execution_seconds": seconds}),
        check_validity=False,
        overwrite=True,
    )


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and _is_chapter(file_path):
        return MarkdownNotebook.from_parent(parent, path=file_path)
    return None


def pytest_runtest_setup(item):
    if isinstance(item.parent, MarkdownNotebook):
        item.parent._current_cell = item.cell_num


def pytest_runtest_makereport(item, call):
    if isinstance(item.parent, MarkdownNotebook) and call.when == "call":
        item.parent._seconds += call.duration
        if call.excinfo is not None:
            item.parent._failed = True


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
