"""Make the book's other editions from the chapters' MyST-markdown sources.

    python book/tools/editions.py notebooks --out _build/notebooks            # Colab, full
    python book/tools/editions.py notebooks --student --out _build/student/notebooks
    python book/tools/editions.py notebooks --outputs --out _build/html/notebooks  # downloads
    python book/tools/editions.py student-config --out _build/student/_config.yml

Colab opens only ``.ipynb``, and renders neither MyST directives nor roles. Each generated
notebook therefore gets

* a title cell linking back to the chapter's online page,
* an install cell that installs the book's d2lite release from PyPI (`d2lite==<version>`,
  see `requirement`) when, and only when, it runs in Colab,
* the chapter's cells with MyST markup turned into plain Markdown: exercise and solution
  directives become headed paragraphs, equations get \\tag numbers, {ref}/{eq}/{cite}
  roles become links, numbers and author-year citations, and {glue:text} roles become the
  values the book's build computed (read from the executed notebooks in
  ``_build/jupyter_execute``, so build the book first; without a build they read
  "[value: name]").

The student edition removes every solution (text and code) and puts an empty answer cell
in its place; exercises, self-check instructions and the text stay.

Everything the editions need -- repository, book URL, notebooks branch -- is read from
_config.yml, the one place where it is configured.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass, field, replace
from importlib.metadata import version as package_version
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TAG = "d2lite-colab-install"
SOLUTION_TAG = "d2lite-solution"
# The student edition is published beside the full one, in this folder of the book's
# site and of the notebooks branch (book/tools/d2lite_book.py points its buttons there).
STUDENT_FOLDER = "student"


# ----------------------------------------------------------------- configuration


@dataclass(frozen=True)
class BookConfig:
    repository_url: str  # https://github.com/ORG/REPO
    book_url: str  # where the HTML book is published, ending in "/"
    notebooks_branch: str  # the branch the publish workflow pushes _build/notebooks to
    version: str  # the installed d2lite's version (package metadata)

    @property
    def org_repo(self) -> str:
        return self.repository_url.rstrip("/").split("github.com/")[1]

    def page_url(self, doc: str) -> str:
        return f"{self.book_url}{doc}.html"

    def colab_url(self, doc: str) -> str:
        return f"https://colab.research.google.com/github/{self.org_repo}/blob/{self.notebooks_branch}/{doc}.ipynb"

    @property
    def requirement(self) -> str:
        """What the Colab install cell installs: this version of d2lite, from PyPI.

        The release workflow (.github/workflows/release.yml) publishes it when the version
        is tagged, so the notebooks of a book version install the code they were run with.
        """
        return f"d2lite=={self.version}"


def load_config(root: Path = ROOT) -> BookConfig:
    config = yaml.safe_load((root / "_config.yml").read_text())
    version = package_version("d2lite")  # the installed package's metadata (make install)
    return BookConfig(
        repository_url=config["repository"]["url"],
        book_url=config["html"]["baseurl"].rstrip("/") + "/",
        notebooks_branch=config["sphinx"]["config"]["d2lite_notebooks_branch"],
        version=version,
    )


def toc_documents(root: Path = ROOT) -> list[str]:
    """Every document _toc.yml lists, in book order, root page first (e.g. 'book/intro').

    The project's one reader of _toc.yml: the editions, the tests and anything else that
    needs the book's pages or chapters ask here (or `chapter_docs`).
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def files(entries: list) -> list[str]:
        found = []
        for entry in entries or []:
            if "file" in entry:
                found.append(entry["file"])
            found += files(entry.get("sections"))
        return found

    docs = [toc["root"]] + files(toc.get("chapters"))
    for part in toc.get("parts", []):
        docs += files(part.get("chapters"))
    return [d.removesuffix(".md") for d in docs]


def chapter_numbers(root: Path = ROOT) -> dict[str, str]:
    """The number Sphinx gives each chapter of the numbered parts ('chapters/07_...' -> '7').

    Jupyter Book numbers the chapters of all numbered parts in one sequence, as the book's
    pages show them ("7. Convolution in Mathematics").
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    numbers: dict[str, str] = {}
    for part in toc.get("parts", []):
        for entry in part.get("chapters") or []:
            if part.get("numbered") and "file" in entry:
                numbers[entry["file"].removesuffix(".md")] = str(len(numbers) + 1)
    return numbers


def chapter_docs(root: Path = ROOT) -> list[str]:
    """The chapter documents listed in _toc.yml, in book order (e.g. 'chapters/03_padding_stride')."""
    return [d for d in toc_documents(root) if d.startswith("chapters/")]


# -------------------------------------------------------- MyST -> plain Markdown

_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}(?P<arg>[^\n]*)$")
_OPTION = re.compile(r"^:[\w-]+:")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_LABEL_LINE = re.compile(r"^\(([\w-]+)\)=\s*$", re.MULTILINE)
_LABELLED_MATH = re.compile(r"\$\$(?P<body>.*?)\$\$[ \t]*\((?P<label>[\w-]+)\)", re.DOTALL)
_SECTION_TITLE = re.compile(r"^\(([\w-]+)\)=\s*\n#+\s+(.+)$", re.MULTILINE)


@dataclass
class Context:
    """What the conversion of one chapter needs to know."""

    doc: str
    config: BookConfig
    sections: dict  # section label -> (doc, title), over the whole book
    citations: dict  # bib key -> "Author et al., Year"
    equations: dict = field(default_factory=dict)  # eq label -> (doc, "7.1"), book-wide
    exercise_labels: dict = field(default_factory=dict)  # ex label -> (doc, "7.1")
    chapter: str = ""  # this chapter's number, as the book shows it ("" if unnumbered)
    exercises: int = 0  # exercises converted so far in this chapter
    glued: dict = field(default_factory=dict)  # glue name -> text/plain of the value


_EXERCISE_OPEN = re.compile(r"^(`{3,}|:{3,})\{exercise(?:-start)?\}[^\n]*\n((?::[^\n]*\n)*)",
                            re.MULTILINE)


def numbered_targets(root: Path = ROOT) -> tuple[dict, dict]:
    """The book's numbers of every labelled equation and exercise, as the pages show them.

    Returns ``(equations, exercises)``: label -> (doc, number), e.g. ``"eq-corr2d"`` ->
    ``("chapters/02_conv_layer", "2.1")``. Sphinx numbers both per chapter, prefixed with
    the chapter's number (`chapter_numbers`); an exercise counts whether or not it has a
    label, an equation only if it has one.
    """
    numbers = chapter_numbers(root)
    equations, exercises = {}, {}
    for doc in toc_documents(root):
        path = root / f"{doc}.md"
        if not path.exists():
            continue
        source = path.read_text()
        prefix = f"{numbers[doc]}." if doc in numbers else ""
        for k, match in enumerate(_LABELLED_MATH.finditer(source), start=1):
            equations[match.group("label")] = (doc, f"{prefix}{k}")
        for k, match in enumerate(_EXERCISE_OPEN.finditer(source), start=1):
            label = re.search(r"^:label:\s*(\S+)", match.group(2), re.MULTILINE)
            if label:
                exercises[label.group(1)] = (doc, f"{prefix}{k}")
    return equations, exercises


def book_sections(root: Path = ROOT) -> dict:
    """Map every `(label)=` placed right before a heading to its document and title."""
    sections = {}
    for doc in toc_documents(root):
        path = root / f"{doc}.md"
        if path.exists():
            for label, title in _SECTION_TITLE.findall(path.read_text()):
                sections[label] = (doc, title.strip())
    return sections


def bib_citations(root: Path = ROOT) -> dict:
    """Author-year strings ("LeCun et al., 1998") for every entry of references.bib."""
    try:
        from pybtex.database import parse_file
    except ImportError:  # pybtex comes with sphinxcontrib-bibtex; degrade to keys
        return {}
    cites = {}
    for key, entry in parse_file(str(root / "book" / "references.bib")).entries.items():
        people = entry.persons.get("author", [])
        # "van den Oord", as the book's author-year style writes it (prelast + last)
        names = [" ".join(p.prelast_names + p.last_names).replace("{", "").replace("}", "")
                 for p in people]
        who = names[0] + (" et al." if len(names) > 2 else f" and {names[1]}" if len(names) == 2 else "")
        year = entry.fields.get("year", "n.d.").replace("--", "–")  # LaTeX's en dash
        cites[key] = f"{who}, {year}"
    return cites


def _role(match: re.Match, ctx: Context) -> str:
    role, text = match.group("role"), match.group("text")
    explicit = re.match(r"^(?P<title>.*?)\s*<(?P<target>[^>]+)>$", text)
    title, target = (explicit.group("title"), explicit.group("target")) if explicit else (None, text)
    if role in ("ref", "numref", "doc"):
        if target in ctx.sections:
            doc, section_title = ctx.sections[target]
            return f"[{title or section_title}]({ctx.config.page_url(doc)})"
        if target in ctx.exercise_labels:  # the book's link text: "Exercise 5.1"
            doc, number = ctx.exercise_labels[target]
            return f"[{title or f'Exercise {number}'}]({ctx.config.page_url(doc)}#{target})"
        return f"[{title or target}]({ctx.config.page_url(ctx.doc)}#{target})"
    if role == "eq":
        if target not in ctx.equations:
            return f"({target})"
        doc, number = ctx.equations[target]
        if doc == ctx.doc:
            return f"({number})"
        return f"[({number})]({ctx.config.page_url(doc)}#equation-{target})"
    if role.startswith("cite"):
        keys = [k.strip() for k in text.split(",")]
        parts = [ctx.citations.get(k, k) for k in keys]
        return f"[{'; '.join(parts)}]({ctx.config.book_url}book/bibliography.html)"
    if role == "math":
        return f"${text}$"
    if role in ("glue", "glue:", "glue:text", "glue:any"):
        return glued_text(text, ctx.glued)
    return title or text


# ------------------------------------------------------------ glued values


def executed_notebook(doc: str, root: Path = ROOT) -> Path:
    """Where myst-nb writes the executed notebook of `doc` during `jupyter-book build`."""
    return root / "_build" / "jupyter_execute" / f"{doc}.ipynb"


def executed_outputs(doc: str, root: Path = ROOT) -> nbformat.NotebookNode:
    """The chapter as the book's last build executed it, outputs included.

    Read from the build's execution cache (``_build/.jupyter_cache``, matched on the
    chapter's code). ``_build/jupyter_execute/<doc>.ipynb`` is not enough: when a page
    reuses the cache, myst-nb 1.x writes that file without the outputs.

    Raises:
        FileNotFoundError: if the book has not been built with the chapter's current code.
    """
    from jupyter_cache import get_cache

    folder = root / "_build" / ".jupyter_cache"
    if folder.is_dir():
        try:
            _, merged = get_cache(str(folder)).merge_match_into_notebook(
                jupytext.read(root / f"{doc}.md"))
            return merged
        except KeyError:  # no cached execution of this code
            pass
    raise FileNotFoundError(f"no executed notebook of {doc} with its current code in {folder}: "
                            "build the book first (make book)")


def glued_values(doc: str, root: Path = ROOT) -> dict:
    """Every value the chapter glued (name -> its text/plain form), from the book's build.

    myst-nb's ``glue`` leaves a display output whose metadata names the value
    (``scrapbook.name``) and whose data holds it under an ``application/papermill.record/``
    MIME type. Returns {} if the book has not been built.
    """
    path = executed_notebook(doc, root)
    values = {}
    # myst-nb >= 1.0 also writes the glued outputs, already stripped of the MIME prefix,
    # to <doc>.glue.json beside the executed notebook.
    store = path.with_suffix(".glue.json")
    if store.is_file():
        import json

        for name, output in json.loads(store.read_text()).items():
            text = output.get("data", {}).get("text/plain")
            if text is not None:
                values[name] = text
    if not path.is_file():
        return values
    for cell in nbformat.read(str(path), as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get("application/papermill.record/text/plain")
            if name and text is not None:
                values[name] = text
    return values


_LABEL_NAME = re.compile(r"\b(?:eq|ex|sec|fig)-[\w-]*\w")


def readable_comments(code: str, ctx: Context) -> str:
    """Code whose comments name equations, exercises and sections as the book does.

    The chapters' test cells say what they check with the labels of the source
    ("# ... eq-out-shape ..."); a notebook reader sees "(3.1)", "Exercise 5.1" or the
    section's title instead. Only text after a ``#`` changes; the code does not.
    """
    def name(match: re.Match) -> str:
        label = match.group(0)
        if label in ctx.equations:
            return f"({ctx.equations[label][1]})"
        if label in ctx.exercise_labels:
            return f"Exercise {ctx.exercise_labels[label][1]}"
        if label in ctx.sections:
            return f'"{ctx.sections[label][1]}"'
        return label

    lines = []
    for line in code.split("\n"):
        head, sep, comment = line.partition("#")
        lines.append(head + sep + _LABEL_NAME.sub(name, comment) if sep else line)
    return "\n".join(lines)


def glued_text(spec: str, glued: dict) -> str:
    """The text a ``{glue:text}`name:format``` role shows, formatted exactly as myst-nb does."""
    from myst_nb.core.variables import format_plain_text

    name, fmt = spec.rsplit(":", 1) if ":" in spec else (spec, "")
    if name not in glued:
        return f"[value: {name}]"
    return format_plain_text(glued[name], fmt)


def _directive(name: str, arg: str, body: str, ctx: Context) -> str:
    if name in ("exercise", "exercise-start"):
        ctx.exercises += 1
        head = f"**Exercise {ctx.chapter}{'.' if ctx.chapter else ''}{ctx.exercises}.**"
        return f"{head} {arg.strip()}\n\n{body}".rstrip() if arg.strip() else f"{head}\n\n{body}".rstrip()
    if name in ("solution-start", "solution"):
        return f"**Solution.**\n\n{body}".rstrip()
    if name in ("exercise-end", "solution-end", "bibliography", "tableofcontents"):
        return ""
    if name == "math":
        return f"$$\n{body}\n$$"
    if name in ("code-block", "code", "sourcecode"):
        return f"```{arg.strip() or 'python'}\n{body}\n```"
    if name in ("figure", "image"):
        return f"![{body.strip()}]({arg.strip()})"
    title = arg.strip() or name.capitalize()
    quoted = "\n".join("> " + line if line else ">" for line in body.splitlines())
    return f"> **{title}.**\n>\n{quoted}"


def myst_to_markdown(text: str, ctx: Context) -> str:
    """Turn one markdown cell's MyST into Markdown that Jupyter and Colab render."""
    text = _LABEL_LINE.sub("", text)
    text = _LABELLED_MATH.sub(
        lambda m: f"$${m.group('body').rstrip()} \\tag{{{ctx.equations.get(m.group('label'), ('', ''))[1]}}}$$",
        text)
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opened = _FENCE_OPEN.match(lines[i])
        if not opened:
            out.append(lines[i])
            i += 1
            continue
        fence, j = opened.group("fence"), i + 1
        while j < len(lines) and _OPTION.match(lines[j]):
            j += 1
        body_start = j
        while j < len(lines) and not (lines[j].strip() and set(lines[j].strip()) == {fence[0]}
                                      and len(lines[j].strip()) >= len(fence)):
            j += 1
        body = "\n".join(lines[body_start:j]).strip("\n")
        out.append(_directive(opened.group("name"), opened.group("arg"), myst_to_markdown(body, ctx), ctx))
        i = j + 1
    result = "\n".join(out)
    result = _ROLE.sub(lambda m: _role(m, ctx), result)
    return re.sub(r"\n{3,}", "\n\n", result).strip()


# ------------------------------------------------------------------- solutions

_SOLUTION_START = re.compile(r"^(`{3,}|:{3,})\{solution-start\}[^\n]*\n(?::[^\n]*\n)*\1[ \t]*$", re.MULTILINE)
_SOLUTION_END = re.compile(r"^(`{3,}|:{3,})\{solution-end\}[^\n]*\n\1[ \t]*$", re.MULTILINE)
_SOLUTION_BLOCK = re.compile(r"^(`{3,}|:{3,})\{solution\}.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def _markdown_cells(text: str) -> list:
    """Markdown cells for text outside gated solutions; non-gated {solution} blocks are tagged."""
    cells, last = [], 0
    for block in _SOLUTION_BLOCK.finditer(text):
        if text[last: block.start()].strip():
            cells.append(nbformat.v4.new_markdown_cell(text[last: block.start()].strip("\n")))
        solution = nbformat.v4.new_markdown_cell(block.group(0))
        solution.metadata["tags"] = [SOLUTION_TAG]
        cells.append(solution)
        last = block.end()
    if text[last:].strip():
        cells.append(nbformat.v4.new_markdown_cell(text[last:].strip("\n")))
    return cells


def mark_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Split markdown cells at gated-solution markers and tag every solution cell.

    Returns a copy whose cells are each entirely inside or outside a solution; cells
    inside carry the tag `SOLUTION_TAG` in their metadata.
    """
    nb = copy.deepcopy(nb)
    cells, inside = [], False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            if inside:
                cell.metadata.setdefault("tags", []).append(SOLUTION_TAG)
            cells.append(cell)
            continue
        text = cell.source
        while text:
            marker = (_SOLUTION_END if inside else _SOLUTION_START).search(text)
            piece, rest = (text[: marker.end()], text[marker.end():]) if marker else (text, "")
            if inside:
                piece_cell = nbformat.v4.new_markdown_cell(piece.strip("\n"))
                piece_cell.metadata["tags"] = [SOLUTION_TAG]
                cells.append(piece_cell)
            elif marker:
                cells += _markdown_cells(piece[: marker.start()])
                start_cell = nbformat.v4.new_markdown_cell(piece[marker.start():].strip("\n"))
                start_cell.metadata["tags"] = [SOLUTION_TAG]
                cells.append(start_cell)
            else:
                cells += _markdown_cells(piece)
            if marker:
                inside = not inside
            text = rest
    nb.cells = cells
    return nb


def is_solution(cell) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


# ----------------------------------------------------------------- notebooks


# The backend the first cell of every notebook selects; the book is executed with it.
BACKEND_DEFAULT = "tensorflow"


def _install_cell(config: BookConfig) -> nbformat.NotebookNode:
    source = f'''# The Keras backend this notebook runs on: "tensorflow", "jax" or "torch" (Colab has all
# three). Choose before anything else runs; to change it later, restart the session.
import os
import sys

os.environ["KERAS_BACKEND"] = "{BACKEND_DEFAULT}"

# In Colab, install d2lite {config.version} (with Keras 3, TensorFlow and Matplotlib) first.
# Anywhere else set up the environment as the book's Installation page says.
D2LITE = "{config.requirement}"
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", D2LITE], check=True)'''
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INSTALL_TAG]
    return cell


def make_notebook(doc: str, config: BookConfig, *, student: bool = False, root: Path = ROOT,
                  sections: dict | None = None, citations: dict | None = None,
                  targets: tuple[dict, dict] | None = None,
                  chapter: str | None = None) -> nbformat.NotebookNode:
    """The Colab-ready notebook of one chapter (full or student edition).

    Equations, exercises and references to them carry the book's numbers ("(7.1)",
    "Exercise 7.1"); `sections`, `citations`, `targets` (`numbered_targets`) and the
    chapter's number (`chapter_numbers`) are read from the book when not given.
    """
    source = (root / f"{doc}.md").read_text()
    nb = mark_solutions(jupytext.reads(source, fmt="md:myst"))
    equations, exercise_labels = targets if targets is not None else numbered_targets(root)
    ctx = Context(doc, config, sections if sections is not None else book_sections(root),
                  citations if citations is not None else bib_citations(root),
                  equations=equations, exercise_labels=exercise_labels,
                  chapter=chapter if chapter is not None else chapter_numbers(root).get(doc, ""),
                  glued=glued_values(doc, root))
    title = next((line[2:].strip() for line in source.splitlines() if line.startswith("# ")), doc)
    edition = "student edition: solutions removed" if student else "with solutions"
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {title}\n\n*d2lite {config.version}, {edition}.* This notebook is generated from the "
            f"book's source; read the chapter online, with its figures and rendered mathematics, at "
            f"[{config.page_url(doc)}]({config.page_url(doc)})."),
        _install_cell(config),
    ]
    after_solution = False
    for cell in nb.cells:
        if is_solution(cell):
            if student:
                after_solution = True
                continue
        elif after_solution:
            cells += [nbformat.v4.new_markdown_cell("**Your answer.** Write and run your code here."),
                      nbformat.v4.new_code_cell("")]
            after_solution = False
        if cell.cell_type == "markdown":
            text = myst_to_markdown(cell.source, ctx)
            if text.startswith(f"# {title}"):
                text = text[len(f"# {title}"):].strip()
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text, metadata=cell.metadata))
        else:
            code = nbformat.v4.new_code_cell(readable_comments(cell.source, ctx),
                                             metadata=cell.metadata)
            if "remove-cell" in cell.metadata.get("tags", []):
                # The book hides its test cells; notebooks keep them (they check the text's
                # claims as you run) but collapsed, where the front end supports it.
                code.metadata.setdefault("jupyter", {})["source_hidden"] = True
            cells.append(code)
    if after_solution:
        cells += [nbformat.v4.new_markdown_cell("**Your answer.** Write and run your code here."),
                  nbformat.v4.new_code_cell("")]
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    out.metadata["language_info"] = {"name": "python"}
    out.metadata["colab"] = {"provenance": [], "name": Path(doc).name + ".ipynb"}
    return out


def add_outputs(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> int:
    """Give `nb`'s code cells the outputs of the same code in `executed`; returns how many.

    Cells are matched by their code (in order, for code that occurs more than once), so
    the generated notebook reads like the book's page: every figure, table and printed
    number of the build, next to the code that made it. Cells without a match (the install
    cell, the student's answer cells) stay without outputs.
    """
    def code(source: str) -> str:  # comments aside: `readable_comments` rewrites them
        return "\n".join(line.partition("#")[0].rstrip() for line in source.split("\n"))

    outputs: dict[str, list] = {}
    for cell in executed.cells:
        if cell.cell_type == "code":
            outputs.setdefault(code(cell.source), []).append(cell)
    matched = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and outputs.get(code(cell.source)):
            done = outputs[code(cell.source)].pop(0)
            cell.outputs = copy.deepcopy(done.get("outputs", []))
            cell.execution_count = done.get("execution_count")
            matched += 1
    return matched


def write_notebooks(out: Path, *, student: bool = False, root: Path = ROOT,
                    with_outputs: bool = False) -> list[Path]:
    """Write every chapter's notebook under `out`, at the chapter's path; returns the paths.

    `with_outputs`: fill in the outputs of the book's build (`add_outputs`; build the book
    first): the notebooks that the pages' ".ipynb" buttons download.
    """
    config = load_config(root)
    if student:  # links to the student pages, which have no solutions
        config = replace(config, book_url=f"{config.book_url}{STUDENT_FOLDER}/")
    sections, citations, targets = book_sections(root), bib_citations(root), numbered_targets(root)
    written = []
    for doc in chapter_docs(root):
        nb = make_notebook(doc, config, student=student, root=root, sections=sections,
                           citations=citations, targets=targets)
        if with_outputs:
            add_outputs(nb, executed_outputs(doc, root))
        nbformat.validate(nb)
        path = out / f"{doc}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        written.append(path)
    return written


def write_student_config(out: Path, root: Path = ROOT) -> Path:
    """_config.yml for the student edition: solutions hidden, the full edition's execution cache."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["title"] = config["title"] + " (student edition)"
    config["sphinx"]["config"]["d2lite_student_edition"] = True  # see book/tools/d2lite_book.py
    # The page sources hold the solutions: publish none of them (no _sources/), and no
    # button that leads to them (Binder and "edit" open the .md on the main branch).
    config["sphinx"]["config"]["html_copy_source"] = False
    config["html"]["baseurl"] = f"{config['html']['baseurl'].rstrip('/')}/{STUDENT_FOLDER}/"
    config["html"]["use_edit_page_button"] = False
    config.get("launch_buttons", {}).pop("binderhub_url", None)
    # Same code cells as the full edition, so its executed notebooks are reused.
    config["execute"]["cache"] = str(root / "_build" / ".jupyter_cache")
    # Paths in the config are relative to the book root, not to where this file is written.
    config["logo"] = str(root / config["logo"])
    config["bibtex_bibfiles"] = [str(root / b) for b in config["bibtex_bibfiles"]]
    config["sphinx"]["config"]["html_static_path"] = [str(root / p) for p in config["sphinx"]["config"]["html_static_path"]]
    config["sphinx"]["local_extensions"] = {k: str(root / v) for k, v in config["sphinx"]["local_extensions"].items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    nbs = sub.add_parser("notebooks", help="write the chapters as Colab-ready notebooks")
    nbs.add_argument("--out", type=Path, required=True)
    nbs.add_argument("--student", action="store_true", help="remove every solution")
    nbs.add_argument("--outputs", action="store_true",
                     help="with the outputs of the book's last build (the page downloads)")
    cfg = sub.add_parser("student-config", help="write the student edition's _config.yml")
    cfg.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "notebooks":
        paths = write_notebooks(args.out, student=args.student, with_outputs=args.outputs)
        print(f"wrote {len(paths)} notebooks to {args.out}")
    else:
        print(f"wrote {write_student_config(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
