"""The chapters' code fits the page and has one style: `ruff format`, 88 characters.

Longer lines scroll sideways in the HTML book and wrap badly in notebooks; `make format`
(book/tools/format_chapters.py: ruff through a temporary .ipynb) formats the code cells,
long comments and strings are shortened by hand.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

import editions
import format_chapters

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [ROOT / f"{doc}.md" for doc in editions.chapter_docs(ROOT)]
MAX_LINE = 88


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    long = [line for cell in jupytext.read(path).cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > MAX_LINE]
    assert not long, f"{path.name}: {len(long)} code lines over {MAX_LINE} characters: {long[:2]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_cells_are_ruff_formatted(path):
    assert format_chapters.LINE_LENGTH == MAX_LINE
    formatted, sources = format_chapters.ruff_formatted(path), format_chapters.code_sources(path)
    changed = [new for new, old in zip(formatted, sources) if new != old]
    assert not changed, (f"{path.name}: {len(changed)} code cells are not ruff-formatted (run "
                         f"`make format`); the first would become:\n{changed[0]}")
