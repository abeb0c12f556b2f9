"""The Colab notebooks and the student edition made by book/tools/editions.py."""

from __future__ import annotations

import os
import subprocess
import sys
import re
from pathlib import Path

import nbformat
import pytest

import editions  # book/tools, on pytest's pythonpath (pyproject.toml)

ROOT = Path(__file__).resolve().parents[1]

CHAPTERS = editions.chapter_docs()


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    editions.write_notebooks(out)
    return out


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    editions.write_notebooks(out, student=True)
    return out


def _read(folder: Path, doc: str):
    return nbformat.read(str(folder / f"{doc}.ipynb"), as_version=4)


def _solution_code(doc: str) -> list[str]:
    """Distinctive lines of the chapter's solution code: not found anywhere outside solutions."""
    import jupytext

    nb = editions.mark_solutions(jupytext.read(ROOT / f"{doc}.md"))
    outside = "\n".join(c.source for c in nb.cells if not editions.is_solution(c))
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and editions.is_solution(cell):
            lines += [line.strip() for line in cell.source.splitlines()
                      if len(line.strip()) > 15 and not line.strip().startswith("#") and line.strip() not in outside]
    return lines


def test_config_is_read_from_config_yml():
    config = editions.load_config()
    assert config.org_repo.count("/") == 1
    assert config.colab_url("chapters/x").endswith(f"/blob/{config.notebooks_branch}/chapters/x.ipynb")
    assert config.requirement == f"d2lite=={config.version}"
    import d2lite

    assert config.version == d2lite.__version__


def test_first_cell_switches_the_backend_with_one_line(full):
    """Colab readers pick TensorFlow, JAX or PyTorch by editing one line before running."""
    install = _read(full, CHAPTERS[0]).cells[1].source
    switch = [line for line in install.splitlines() if "KERAS_BACKEND" in line and not line.startswith("#")]
    assert switch == [f'os.environ["KERAS_BACKEND"] = "{editions.BACKEND_DEFAULT}"']
    assert editions.BACKEND_DEFAULT == "tensorflow"  # the backend the book is executed with
    # Edited to "jax" and run outside Colab, the cell selects JAX and installs nothing.
    edited = install.replace(switch[0], 'os.environ["KERAS_BACKEND"] = "jax"')
    out = subprocess.run([sys.executable, "-c", edited + "\nprint(os.environ['KERAS_BACKEND'])"],
                         capture_output=True, text=True, check=True, env={**os.environ, "KERAS_BACKEND": ""})
    assert out.stdout.strip() == "jax"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_colab_notebook_has_title_install_cell_and_plain_markdown(full, doc):
    nb = _read(full, doc)
    nbformat.validate(nb)
    config = editions.load_config()
    title, install = nb.cells[0], nb.cells[1]
    assert title.cell_type == "markdown" and config.page_url(doc) in title.source
    assert editions.INSTALL_TAG in install.metadata["tags"]
    assert '"google.colab" in sys.modules' in install.source and f'D2LITE = "{config.requirement}"' in install.source
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert "```{" not in cell.source, f"a MyST directive is left in {doc}: {cell.source[:80]}"
            assert "}`" not in cell.source.replace("\\}`", ""), f"a MyST role is left in {doc}: {cell.source[:120]}"
    # Every code cell of the source is there, in order (hidden checks included); only the
    # comments may differ (label names become the book's numbers).
    import jupytext

    def code(source):
        return [line.partition("#")[0] for line in source.split("\n")]

    source_code = [code(c.source) for c in jupytext.read(ROOT / f"{doc}.md").cells if c.cell_type == "code"]
    assert [code(c.source) for c in nb.cells[2:] if c.cell_type == "code"] == source_code
    for cell in nb.cells:
        if "remove-cell" in cell.metadata.get("tags", []):
            assert cell.metadata["jupyter"]["source_hidden"] is True


@pytest.mark.parametrize("doc", CHAPTERS)
def test_student_notebook_has_exercises_but_no_solutions(full, student, doc):
    full_nb, student_nb = _read(full, doc), _read(student, doc)
    student_text = "\n".join(c.source for c in student_nb.cells)
    exercises = [c for c in full_nb.cells if c.cell_type == "markdown" and "**Exercise " in c.source]
    assert len(exercises) >= 3
    assert student_text.count("**Exercise ") == "\n".join(c.source for c in exercises).count("**Exercise ")
    assert "**Solution.**" not in student_text
    assert not any(editions.is_solution(c) for c in student_nb.cells)
    distinctive = _solution_code(doc)
    assert distinctive, f"{doc}: no solution code found to check"
    for line in distinctive:
        assert line not in student_text, f"solution code left in the student notebook of {doc}: {line}"
    assert student_text.count("**Your answer.**") == full_nb_solutions(full_nb)


def full_nb_solutions(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("**Solution.**"))


def test_mark_solutions_splits_cells_at_the_markers():
    text = ("Intro.\n\n```{exercise}\n:label: ex-a\nQ?\n```\n\n```{solution-start} ex-a\n:class: dropdown\n```\n"
            "Because.\n\n```{solution-end}\n```\n\nAfter.")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    cells = editions.mark_solutions(nb).cells
    flags = [(editions.is_solution(c), c.source.splitlines()[0]) for c in cells]
    assert flags == [(False, "Intro."), (True, "```{solution-start} ex-a"), (True, "Because."), (False, "After.")]


def test_myst_roles_and_directives_become_markdown():
    config = editions.load_config()
    ctx = editions.Context("chapters/03_padding_stride", config, {"sec-x": ("chapters/01_a", "A Title")},
                           {"lecun1998gradient": "LeCun et al., 1998"},
                           equations={"eq-y": ("chapters/03_padding_stride", "3.2"),
                                      "eq-z": ("chapters/01_a", "1.4")},
                           exercise_labels={"ex-a": ("chapters/01_a", "1.3")}, chapter="3")
    text = ("See {ref}`sec-x`, {eq}`eq-y`, {eq}`eq-z`, {ref}`ex-a` and {cite}`lecun1998gradient`.\n\n"
            "$$\na = b\n$$ (eq-y)\n\n```{note}\nMind the gap.\n```\n\n```{exercise}\n:label: ex-b\n\nDo.\n```")
    out = editions.myst_to_markdown(text, ctx)
    assert "[A Title](https://" in out and "chapters/01_a.html" in out
    # the book's numbers and link texts, not per-notebook ones or label names
    assert "(3.2)" in out and "\\tag{3.2}" in out
    assert "[(1.4)](https://" in out and "chapters/01_a.html#equation-eq-z)" in out
    assert "[Exercise 1.3](https://" in out and "chapters/01_a.html#ex-a)" in out
    assert "**Exercise 3.1.**" in out and "ex-b" not in out
    assert "LeCun et al., 1998" in out
    assert "> **Note.**" in out and "```" not in out


def test_student_config_hides_solutions_and_reuses_the_execution_cache(tmp_path):
    import yaml

    path = editions.write_student_config(tmp_path / "_config.yml")
    config = yaml.safe_load(path.read_text())
    assert config["sphinx"]["config"]["d2lite_student_edition"] is True
    assert config["execute"]["cache"].endswith("_build/.jupyter_cache")
    assert Path(config["bibtex_bibfiles"][0]).is_file()
    # nothing that leads to the sources (which hold the solutions)
    assert config["sphinx"]["config"]["html_copy_source"] is False
    assert config["html"]["use_edit_page_button"] is False
    assert "binderhub_url" not in config["launch_buttons"]
    assert config["html"]["baseurl"].endswith(f"/{editions.STUDENT_FOLDER}/")


def test_student_notebooks_link_to_the_student_pages(student):
    book_url = editions.load_config().book_url
    for doc in CHAPTERS:
        text = "\n".join(c.source for c in _read(student, doc).cells)
        links = re.findall(r"\]\((https?://[^)\s]+)\)", text)
        pages = [u for u in links if u.startswith(book_url)]
        assert pages, doc
        assert all(u.startswith(f"{book_url}{editions.STUDENT_FOLDER}/") for u in pages), doc


def test_generated_notebook_runs_in_a_fresh_environment_with_the_wheel(full, tmp_path):
    """Build the wheel, install it in a new venv the way Colab's install cell would, run a chapter."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT)],
                   check=True)
    config = editions.load_config()
    wheel = wheels / f"d2lite-{config.version}-py3-none-any.whl"
    assert wheel.is_file(), f"the wheel is named {list(wheels.iterdir())}, not {wheel.name}"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    doc = "chapters/03_padding_stride"
    nb = _read(full, doc)
    # the wheel PyPI would serve for `d2lite==<version>`, built from this checkout
    install = nb.cells[1].source.replace(f'"{config.requirement}"', repr(str(wheel)))
    # Run the install cell as Colab would: with google.colab importable.
    colab = f"import sys, types; sys.modules['google.colab'] = types.ModuleType('google.colab'); exec({install!r})"
    subprocess.run([str(python), "-c", colab], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "ipykernel"], check=True)  # Colab's kernel
    subprocess.run([str(python), "-c", "import d2lite, keras; print(d2lite.__version__, keras.__version__)"],
                   check=True)

    # Execute the generated notebook in that environment's kernel.
    from nbclient import NotebookClient

    kernels = tmp_path / "kernels"
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(kernels), "--name", "fresh-venv"],
                   check=True, capture_output=True)
    env = {"JUPYTER_PATH": str(kernels / "share" / "jupyter")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(nb, kernel_name="fresh-venv", timeout=600,
                                resources={"metadata": {"path": str(ROOT / "chapters")}})
        client.execute()
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any(o.get("output_type") == "display_data" for c in nb.cells for o in c.get("outputs", []))


def test_glue_roles_show_the_values_of_the_books_build(tmp_path):
    """{glue:text} roles become the values the executed chapter glued, formatted as in the book."""
    root = tmp_path
    (root / "chapters").mkdir()
    (root / "chapters" / "x.md").write_text(
        "---\njupytext:\n  text_representation: {extension: .md, format_name: myst}\n---\n\n"
        "# X\n\nAccuracy {glue:text}`acc:.3f` with {glue:text}`params` parameters, "
        "{glue:text}`ratio:.1%` and {glue:text}`missing`.\n")
    executed = editions.executed_notebook("chapters/x", root)
    executed.parent.mkdir(parents=True)
    glue_output = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "acc"}},
                   "data": {"application/papermill.record/text/plain": "0.91234"}}
    params = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "params"}},
              "data": {"application/papermill.record/text/plain": "'61,706'"}}
    ratio = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "ratio"}},
             "data": {"application/papermill.record/text/plain": "0.25"}}
    cell = nbformat.v4.new_code_cell("d2lite.glue(...)")
    cell.outputs = [nbformat.from_dict(o) for o in (glue_output, params, ratio)]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(executed))
    assert editions.glued_values("chapters/x", root) == {"acc": "0.91234", "params": "'61,706'",
                                                         "ratio": "0.25"}
    config = editions.load_config()
    nb = editions.make_notebook("chapters/x", config, root=root, sections={}, citations={},
                                targets=({}, {}), chapter="")
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Accuracy 0.912 with 61,706 parameters, 25.0% and [value: missing]." in text


def test_erratum_form_is_a_valid_issue_form_with_the_page_field():
    """GitHub's issue-form schema, the parts it rejects a form for: name, description,
    body items with a known type, unique ids, and options for dropdowns."""
    import yaml

    form = yaml.safe_load((ROOT / ".github" / "ISSUE_TEMPLATE" / "erratum.yml").read_text())
    assert form["name"] and form["description"] and form["labels"] == ["erratum"]
    ids = [item["id"] for item in form["body"] if "id" in item]
    assert len(ids) == len(set(ids)) and "page" in ids
    for item in form["body"]:
        assert item["type"] in {"markdown", "input", "textarea", "dropdown", "checkboxes"}
        if item["type"] == "dropdown":
            assert item["attributes"]["options"], item
        if item["type"] != "markdown":
            assert item["attributes"]["label"], item
    page = next(item for item in form["body"] if item.get("id") == "page")
    assert page["type"] == "input" and page["validations"]["required"] is True


@pytest.mark.parametrize("doc", CHAPTERS)
def test_notebooks_number_equations_and_exercises_as_the_book_does(full, doc):
    text = "\n".join(c.source for c in _read(full, doc).cells if c.cell_type == "markdown")
    chapter = editions.chapter_numbers()[doc]
    heads = re.findall(r"\*\*Exercise (\d+)\.(\d+)\.\*\*", text)
    assert heads, doc
    assert {n for n, _ in heads} == {chapter}, heads
    assert [int(k) for _, k in heads] == list(range(1, len(heads) + 1)), heads
    tags = re.findall(r"\\tag\{([^}]*)\}", text)
    assert all(t.startswith(f"{chapter}.") for t in tags), tags
    # no internal label (eq-..., ex-..., sec-...) as a link text a reader sees
    assert not re.findall(r"\[[(]?(?:eq|ex|sec|fig)-[\w-]+[)]?\]\(", text)


def test_code_comments_name_equations_as_the_book_does(full):
    equations, exercises = editions.numbered_targets()
    known = set(equations) | set(exercises) | set(editions.book_sections())
    for doc in CHAPTERS:
        for cell in _read(full, doc).cells:
            if cell.cell_type != "code":
                continue
            for line in cell.source.split("\n"):
                comment = line.partition("#")[2]
                assert not known & set(re.findall(r"\b(?:eq|ex|sec|fig)-[\w-]*\w", comment)), (
                    f"{doc}: a label name in a comment: {line.strip()}")


def test_add_outputs_matches_cells_by_their_code():
    executed = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1  # eq-a", outputs=[]),
        nbformat.v4.new_code_cell("print(x)", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="1\n")]),
        nbformat.v4.new_code_cell("print(x)", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="2\n")])])
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("pip install"), nbformat.v4.new_code_cell("x = 1  # (3.1)"),
        nbformat.v4.new_code_cell("print(x)"), nbformat.v4.new_code_cell("print(x)")])
    assert editions.add_outputs(nb, executed) == 3
    assert [c.outputs[0].text if c.outputs else None for c in nb.cells] == [None, None, "1\n", "2\n"]


def test_citations_read_as_in_the_book():
    cites = editions.bib_citations()
    assert cites["vandenoord2016wavenet"].startswith("van den Oord et al., 2016"), cites["vandenoord2016wavenet"]
    assert "--" not in "".join(cites.values())
