"""Checks of the built HTML book, run by `make book` right after the build.

Marked `book`: `make test` deselects them (it does not build the book). They read
_build/html (or $D2LITE_HTML) and fail if the book is missing.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

import editions  # book/tools, on pytest's pythonpath (pyproject.toml)

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("D2LITE_HTML", ROOT / "_build" / "html"))

# Lines TensorFlow, absl, oneDNN and CUDA print at start-up or on first use.
LOG_NOISE = re.compile(
    r"absl::InitializeLog|oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|cpu_feature_guard"
    r"|cuda_(?:platform|dnn|fft|blas)|cudart_stub|Unable to register cu(?:DNN|FFT|BLAS)"
    r"|rebuild TensorFlow with the appropriate compiler flags|WARNING:tensorflow"
    r"|^[IWE]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+\.cc:\d+\]",
    re.MULTILINE,
)


DOCS = editions.toc_documents(ROOT)  # every page, in book order
CHAPTERS = editions.chapter_docs(ROOT)


def _page(doc: str) -> BeautifulSoup:
    path = HTML / f"{doc}.html"
    assert path.is_file(), f"{path} was not built; run `make book`"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _main(soup: BeautifulSoup):
    return soup.find("main") or soup


@pytest.mark.parametrize("doc", DOCS)
def test_every_page_is_built(doc):
    assert _page(doc).find("h1") is not None


@pytest.mark.parametrize("doc", DOCS)
def test_no_tensorflow_log_lines_or_errors(doc):
    text = _main(_page(doc)).get_text("\n")
    noise = LOG_NOISE.findall(text)
    assert not noise, f"{doc}: TensorFlow/CUDA log lines on the page: {noise[:3]}"
    assert "Traceback (most recent call last)" not in text, f"{doc}: a traceback is shown"


@pytest.mark.parametrize("doc", DOCS)
def test_references_and_citations_resolve(doc):
    soup = _main(_page(doc))
    # An unresolved {ref} renders as a bare span.xref outside any link; an unresolved
    # citation or role as .problematic.
    problems = soup.select(".problematic") + [s for s in soup.select("span.xref") if s.find_parent("a") is None]
    assert not problems, f"{doc}: unresolved references {[p.get_text() for p in problems[:3]]}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_has_figures_math_exercises_and_solutions(doc):
    soup = _main(_page(doc))
    outputs = soup.select(".cell_output")
    assert outputs, f"{doc}: no executed outputs"
    figures = [o for o in outputs if o.find(["img", "svg"])]
    assert figures, f"{doc}: no figure among the outputs"
    assert soup.select(".math"), f"{doc}: no rendered math"
    exercises = soup.select(".exercise")
    solutions = soup.select(".solution")
    assert len(exercises) >= 3, f"{doc}: {len(exercises)} exercises, need at least 3"
    assert len(solutions) >= len(exercises), f"{doc}: an exercise has no solution"
    for solution in solutions:
        assert "dropdown" in solution.get("class", []), f"{doc}: solutions must be collapsed"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_colab_button_opens_a_generated_notebook(doc):
    """The Colab link targets <notebooks branch>/<doc>.ipynb, which `make notebooks` wrote."""
    links = [a["href"] for a in _page(doc).select("a[href*='colab.research.google.com']")]
    assert links, f"{doc}: no Colab button"
    branch = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["d2lite_notebooks_branch"]
    for href in links:
        assert href.endswith(f"/blob/{branch}/{doc}.ipynb"), href
    notebook = ROOT / "_build" / "notebooks" / f"{doc}.ipynb"
    assert notebook.is_file(), f"{notebook} was not generated"


def test_the_install_cells_pin_the_books_d2lite_release():
    import d2lite

    for doc in CHAPTERS:
        nb = json.loads((ROOT / "_build" / "notebooks" / f"{doc}.ipynb").read_text())
        install = "".join(nb["cells"][1]["source"])
        assert f'"d2lite=={d2lite.__version__}"' in install, doc


@pytest.mark.parametrize("doc", CHAPTERS)
def test_download_and_binder_buttons(doc):
    soup = _page(doc)
    sources = [a["href"] for a in soup.select("a[href*='_sources/']")]
    assert [h for h in sources if h.endswith(".md")], f"{doc}: no .md download"
    assert not [h for h in sources if h.endswith(".ipynb")], f"{doc}: .ipynb download of the raw source"
    notebooks = [a["href"] for a in soup.select("a[href$='.ipynb']") if "colab" not in a["href"]
                 and "github.com" not in a["href"]]
    assert notebooks and all(h.endswith(f"notebooks/{doc}.ipynb") for h in notebooks), notebooks
    for href in sources + notebooks:
        target = (HTML / doc).parent / href
        assert target.resolve().is_file(), f"{doc}: download link {href} points to nothing"
    # the downloaded notebook reads like the page: plain Markdown and the build's outputs
    nb = json.loads(((HTML / doc).parent / notebooks[0]).resolve().read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum(bool(c["outputs"]) for c in code) >= len(code) // 3, f"{doc}: few outputs"
    assert any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
               for c in code for o in c["outputs"]), f"{doc}: no figure in the download"
    markdown = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "```{" not in markdown and "{solution-start}" not in markdown
    binder = [a["href"] for a in soup.select("a[href*='mybinder.org']")]
    assert binder and all(h.endswith(f"{doc}.md") for h in binder), binder


@pytest.mark.parametrize("doc", DOCS)
def test_issue_button_opens_the_erratum_form_for_the_page(doc):
    from urllib.parse import parse_qs, urlsplit

    links = [a["href"] for a in _page(doc).select("a[href*='/issues/new']")]
    assert links, f"{doc}: no issue button"
    for href in links:
        query = parse_qs(urlsplit(href).query)
        assert query == {"template": ["erratum.yml"], "page": [doc]}, href
    assert (ROOT / ".github" / "ISSUE_TEMPLATE" / "erratum.yml").is_file()


def test_hidden_test_cells_are_not_rendered():
    for doc in CHAPTERS:
        text = _main(_page(doc)).get_text()
        assert "# Hidden check" not in text, f"{doc}: a remove-cell test cell is visible"


def test_bibliography_lists_cited_works():
    entries = _main(_page("book/bibliography")).select(".citation, dl.citation > dt, div.citation")
    assert len(entries) >= 3, "the bibliography page lists too few references"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_quoted_numbers_are_filled_in_on_the_page_and_in_the_notebook(doc):
    """Every {glue:text} role shows its value: on the page, and in the Colab notebook."""
    text = _main(_page(doc)).get_text()
    assert "{glue" not in text
    notebook = ROOT / "_build" / "notebooks" / f"{doc}.ipynb"
    source = notebook.read_text(encoding="utf-8")
    assert "[value: " not in source and "{glue:" not in source, f"{notebook}: a glued value is missing"


# Results the prose might type by hand instead of quoting the run (issue 10, section 2):
# accuracies (0.ddd), percentages, parameter and multiply-add counts, and timings.
TYPED_RESULT = re.compile(
    r"(?<![\w.,])(?:0\.\d{3}\b"  # an accuracy
    r"|\d+(?:\.\d+)?\s?%"  # a percentage
    r"|\d{2,3}(?:,\d{3})*(?=(?:\s+[\w-]+){0,2}\s+(?:parameters|weights|multiply-adds)\b)"
    r"|\d+(?:\.\d+)?\s?(?:s|ms|seconds|minutes)\b)"  # a timing
)
# Typed numbers that are settings or definitions, not results of the run.
TYPED_SETTINGS = {
    "06_lenet": {"99%"},  # momentum=0.99 "keeps 99% of the old average"
    "09_conv_backprop": {"10%"},  # guessing among ten classes
    "14_vision_transformer": {"10%"},  # warm-up over the first 10% of the steps
}


@pytest.mark.parametrize("doc", CHAPTERS)
def test_prose_quotes_results_from_the_run(doc):
    """No accuracy, percentage, parameter count or timing is typed into a chapter's prose.

    Glued values (myst-nb renders them as span.pasted-text), math, code and outputs are
    removed first; a paragraph that cites a paper may quote that paper's numbers.
    """
    main = _main(_page(doc))
    for element in main.select("div.cell, pre, div.highlight, .math, .pasted-text, "
                                ".pasted-inline, code, script, style"):
        element.decompose()
    typed = []
    for block in main.find_all(["p", "li", "td"]):
        if block.select("a[href*='bibliography']"):  # a citation: the paper's numbers
            continue
        text = " ".join(block.get_text(" ").split())
        typed += [(hit, text[:120]) for hit in TYPED_RESULT.findall(text)
                  if hit not in TYPED_SETTINGS.get(Path(doc).name, set())]
    assert not typed, f"{doc}: results typed into the prose instead of glued: {typed[:3]}"


@pytest.mark.parametrize("doc", DOCS)
def test_no_script_is_included_twice(doc):
    # A repeated inline script redeclares its constants: the browser logs an error.
    soup = _page(doc)
    scripts = [str(s) for s in soup.find_all("script") if s.get("type") != "text/x-thebe-config"]
    repeated = {s[:80] for s in scripts if scripts.count(s) > 1}
    assert not repeated, f"{doc}: scripts included twice: {sorted(repeated)[:2]}"


@pytest.mark.parametrize("doc", DOCS)
def test_mathjax_is_served_from_the_build(doc):
    """Math renders without a CDN: MathJax's script is the bundled copy in _static."""
    page = HTML / f"{doc}.html"
    scripts = [s["src"] for s in _page(doc).find_all("script", src=True) if "mathjax" in s["src"].lower()]
    expected = 1 if doc in CHAPTERS else len(scripts[:1])  # pages without math load none
    assert len(scripts) == expected, f"{doc}: expected {expected} MathJax script, found {scripts}"
    if not scripts:
        return
    src = scripts[0]
    assert not re.match(r"(https?:)?//", src), f"{doc}: MathJax comes from {src}, not from the build"
    path = (page.parent / src.split("?")[0]).resolve()  # Sphinx may append ?v=checksum
    assert path.is_file(), f"{doc}: {src} is not in the build"


def test_status_page_lists_every_chapter_as_executed_with_the_versions():
    main = _main(_page("book/status"))
    rows = main.select("table tbody tr")
    cells = {r.find("td").get_text(strip=True): [c.get_text(strip=True) for c in r.find_all("td")]
             for r in rows}
    for doc in CHAPTERS:
        assert doc in cells, f"{doc} is not in the status page's execution table"
        assert cells[doc][-1] == "✅", (doc, cells[doc])
        assert float(cells[doc][3]) > 0, (doc, cells[doc])
    text = main.get_text()
    import d2lite
    import keras

    for name, version in [("d2lite", d2lite.__version__), ("Keras", keras.__version__)]:
        assert re.search(rf"{name}\s+{re.escape(version)}", text), f"{name} {version} not on the page"


def test_status_page_renders_the_backend_tables_as_tables():
    """The per-backend chapter times and LeNet speeds (Markdown output of a cell) are HTML
    tables, not pipe-separated text."""
    main = _main(_page("book/status"))
    assert "|---" not in main.get_text(), "a Markdown table was rendered as text"
    results = json.loads((ROOT / "bench" / "results" / "chapter_times.json").read_text())
    backends = [b for b in ("tensorflow", "jax", "torch") if b in results["backends"]]
    headers = [[th.get_text(strip=True) for th in t.select("thead th")] for t in main.select("table")]
    assert ["chapter", *backends] in headers, headers
    if (ROOT / "bench" / "results" / "backends.json").exists():
        assert ["backend", "classic LeNet", "modern LeNet"] in headers, headers


@pytest.mark.parametrize("doc", CHAPTERS)
def test_no_reference_reads_exercise_twice(doc):
    """{ref} to an exercise renders "Exercise 5.1": the text must not say "exercise" again."""
    text = " ".join(_main(_page(doc)).get_text().split())
    assert not re.findall(r"\b[Ee]xercises? \(?Exercise \d", text)


@pytest.mark.parametrize("doc", CHAPTERS)
def test_notebooks_number_exercises_and_equations_like_the_page(doc):
    main = _main(_page(doc))
    page_exercises = {re.search(r"Exercise (\d+\.\d+)", e.find(class_="admonition-title").get_text())
                      .group(1) for e in main.select("div.exercise")}
    # an equation's number: "(7.1)", followed by its permalink "#"
    page_equations = {re.search(r"\((\d+\.\d+)\)", e.get_text()).group(1)
                      for e in main.select(".eqno")}
    nb = json.loads((ROOT / "_build" / "notebooks" / f"{doc}.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert set(re.findall(r"\*\*Exercise (\d+\.\d+)\.\*\*", text)) == page_exercises
    assert set(re.findall(r"\\tag\{([^}]*)\}", text)) == page_equations
