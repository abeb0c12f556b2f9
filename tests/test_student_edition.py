"""Checks of the built student edition, run by `make student` after its build.

The student edition must keep every exercise and self-check instruction, and contain no
solution: no solution block in the HTML, no solution code in the HTML or the notebooks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.student

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "_build" / "student"
sys.path.insert(0, str(ROOT / "book" / "tools"))
import editions  # noqa: E402
from tests.test_editions import _solution_code  # noqa: E402

CHAPTERS = editions.chapter_docs()


def _html(doc: str) -> BeautifulSoup:
    path = STUDENT / "_build" / "html" / f"{doc}.html"
    assert path.is_file(), f"{path} missing: run `make student`"
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return soup.find("main") or soup


@pytest.mark.parametrize("doc", CHAPTERS)
def test_student_html_keeps_exercises_and_has_no_solutions(doc):
    page = _html(doc)
    assert len(page.select(".exercise")) >= 3, f"{doc}: exercises missing in the student edition"
    assert not page.select(".solution"), f"{doc}: a solution block is in the student edition"
    text = page.get_text("\n")
    for line in _solution_code(doc):
        assert line not in text, f"{doc}: solution code in the student HTML: {line}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_student_notebooks_have_no_solutions(doc):
    nb = nbformat.read(str(STUDENT / "notebooks" / f"{doc}.ipynb"), as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "**Solution.**" not in text and text.count("**Exercise ") >= 3
    for line in _solution_code(doc):
        assert line not in text, f"{doc}: solution code in the student notebook: {line}"
