"""The chapters' code fits the page: no code line longer than 88 characters.

Longer lines scroll sideways in the HTML book and wrap badly in notebooks; `ruff format
--line-length 88` (through jupytext) fixes most of them, comments and strings by hand.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

import editions

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [ROOT / f"{doc}.md" for doc in editions.chapter_docs(ROOT)]
MAX_LINE = 88


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    long = [line for cell in jupytext.read(path).cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > MAX_LINE]
    assert not long, f"{path.name}: {len(long)} code lines over {MAX_LINE} characters: {long[:2]}"
