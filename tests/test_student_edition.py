"""Checks of the built student edition, run by `make student` after its build.

The student edition must keep every exercise and self-check instruction, and contain no
solution anywhere in what its build leaves in _build/student: no solution block in the
HTML, no solution code or prose in any file, no link to a file that has them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

import editions  # book/tools, on pytest's pythonpath (pyproject.toml)

pytestmark = pytest.mark.student

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "_build" / "student"

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
    for line in _solution_lines(doc):
        assert line not in text, f"{doc}: solution code in the student HTML: {line}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_student_notebooks_have_no_solutions(doc):
    nb = nbformat.read(str(STUDENT / "notebooks" / f"{doc}.ipynb"), as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "**Solution.**" not in text and text.count("**Exercise ") >= 3
    for line in _solution_lines(doc):
        assert line not in text, f"{doc}: solution code in the student notebook: {line}"


# ------------------------------------------------ everything the student edition publishes

HTML = STUDENT / "_build" / "html"
NOTEBOOKS = STUDENT / "notebooks"
BINARY = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".whl"}


def _words(text: str) -> str:
    """Lower-case words only, one space apart: markup and line breaks do not matter."""
    return " ".join(re.findall(r"[a-z]+", text.lower()))


def _split(doc: str) -> tuple[str, list]:
    """The chapter's text outside solutions, and its solution cells."""
    import jupytext

    nb = editions.mark_solutions(jupytext.read(ROOT / f"{doc}.md"))
    outside = "\n".join(c.source for c in nb.cells if not editions.is_solution(c))
    return outside, [c for c in nb.cells if editions.is_solution(c)]


_SPLIT = {doc: _split(doc) for doc in CHAPTERS}
# Text every edition shows: a solution line that also occurs there (in any chapter) is not
# a leak when it turns up in a student file.
_PUBLIC = "\n".join(outside for outside, _ in _SPLIT.values())
_PUBLIC_WORDS = _words(_PUBLIC)


def _solution_lines(doc: str) -> list[str]:
    """Distinctive lines of the chapter's solution code, found in no chapter's public text."""
    return [line.strip() for cell in _SPLIT[doc][1] if cell.cell_type == "code"
            for line in cell.source.splitlines()
            if len(line.strip()) > 15 and not line.strip().startswith("#")
            and line.strip() not in _PUBLIC]


def _solution_phrases(doc: str) -> list[str]:
    """Runs of eight words of the chapter's solution prose, found in no chapter's public text."""
    phrases = []
    for cell in _SPLIT[doc][1]:
        if cell.cell_type == "markdown":
            prose = re.sub(r"\$[^$]*\$|`[^`]*`|\{[a-z:-]+\}|\([^)]*\)", " ", cell.source)
            words = _words(prose).split()
            for i in range(0, max(len(words) - 8, 0), 8):
                phrase = " ".join(words[i:i + 8])
                if phrase not in _PUBLIC_WORDS:
                    phrases.append(phrase)
    return phrases


def _published_text() -> dict[Path, str]:
    """Every file the student build leaves in _build/student, as text (images excepted)."""
    assert HTML.is_dir() and NOTEBOOKS.is_dir(), "run `make student`"
    texts = {}
    for path in STUDENT.rglob("*"):
        if path.is_file() and path.suffix.lower() not in BINARY:
            raw = path.read_bytes().decode("utf-8", errors="replace")
            if path.suffix == ".html":
                raw = BeautifulSoup(raw, "html.parser").get_text(" ")
            texts[path] = raw
    return texts


@pytest.fixture(scope="module")
def published():
    texts = _published_text()
    return texts, {path: _words(text) for path, text in texts.items()}


def test_student_edition_keeps_no_page_source_or_build_intermediates():
    assert not (HTML / "_sources").exists(), "the page sources (with solutions) are published"
    for intermediate in (".doctrees", "jupyter_execute"):  # both hold the full sources
        assert not (STUDENT / "_build" / intermediate).exists(), intermediate
    assert list((HTML / "notebooks" / "chapters").glob("*.ipynb")), "student downloads missing"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_no_file_of_the_student_edition_holds_a_solution(published, doc):
    texts, words = published
    phrases, code = _solution_phrases(doc), _solution_lines(doc)
    assert phrases and code, f"{doc}: no solution prose or code found to look for"
    for path in texts:
        for line in code:
            assert line not in texts[path], f"{path}: solution code of {doc}: {line}"
        for phrase in phrases:
            assert phrase not in words[path], f"{path}: solution text of {doc}: {phrase!r}"


def _links(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return [tag.get(attr) for tag in soup.find_all(["a", "link", "script", "img"])
            for attr in ("href", "src") if tag.get(attr)]


@pytest.mark.parametrize("doc", CHAPTERS)
def test_student_page_links_lead_to_student_files(doc):
    page = HTML / f"{doc}.html"
    links = _links(page)
    config = editions.load_config()
    colab = [u for u in links if "colab.research.google.com" in u]
    assert colab == [f"https://colab.research.google.com/github/{config.org_repo}/blob/"
                     f"{config.notebooks_branch}/{editions.STUDENT_FOLDER}/{doc}.ipynb"], colab
    assert not [u for u in links if "binder" in u], "Binder opens the full sources"
    assert not [u for u in links if "/edit/" in u or "_sources" in u or u.endswith(".md")]
    downloads = [u for u in links if u.endswith(".ipynb") and "://" not in u]
    assert downloads, f"{doc}: no .ipynb download"
    for url in links:  # every link into the build resolves to a file in it
        if "://" in url or url.startswith(("#", "mailto:", "data:", "javascript:")):
            continue
        target = (page.parent / url.split("#")[0].split("?")[0]).resolve()
        assert target.is_file() and HTML.resolve() in target.parents, f"{doc}: broken {url}"
    notebook = nbformat.read(str((page.parent / downloads[0]).resolve()), as_version=4)
    assert "solutions removed" in notebook.cells[0].source


def test_student_front_matter_speaks_for_its_edition():
    text = (HTML / "book" / "intro.html").read_text(encoding="utf-8")
    assert "student edition" in text and "worked solution" not in text
