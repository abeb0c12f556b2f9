"""The book's Sphinx extension: Colab buttons that open notebooks, and the student edition.

**Colab.** sphinx-book-theme builds the Colab link from the page's *source* file, which
for this book is a MyST-markdown ``.md`` file that Colab cannot open. The publish
workflow puts the Colab-ready notebooks made by ``book/tools/editions.py`` on a branch
of their own (``d2lite_notebooks_branch`` in _config.yml, the one place it is
configured), at the same paths as the sources, so the link becomes

    https://colab.research.google.com/github/ORG/REPO/blob/<branch>/<page>.ipynb

Binder keeps opening the ``.md`` source on the main branch (jupytext is installed there).

**Downloads.** A chapter's ".ipynb" button downloads the same notebook as Colab's, with
the outputs of the book's build filled in (``make book`` writes them to ``notebooks/`` in
the HTML output): it reads like the page, where the theme's default, the unexecuted
source under ``_sources/``, shows raw MyST. The ".md" button keeps serving the source.

**Student edition.** With ``d2lite_student_edition = True`` every solution is removed
from the pages -- its text, its code cells and their outputs. (sphinx-exercise's own
``hide_solutions`` cannot be used: it drops ``solution-start`` but leaves the
``solution-end`` node of a gated solution, which no HTML writer can render.) The
solutions are removed once sphinx-exercise has merged each gated start/end pair into one
solution node, so the code cells between them go too.

Everything else a student page offers keeps that promise: its Colab button opens the
student notebook (under ``student/`` on the notebooks branch), its ".ipynb" download is
the student notebook that ``make student`` copies into the HTML output (``notebooks/``),
and it has no ".md" download and no Binder, "show source" or "suggest edit" button, which
would serve the full sources. The student configuration (``book/tools/editions.py``) also
turns ``html_copy_source`` off, so that edition has no ``_sources/``. The Sphinx tag
``student`` is set, so a page can say ``{only} student`` or ``{only} not student``.

**Errata.** Every page's "open issue" button opens the erratum form
(``.github/ISSUE_TEMPLATE/erratum.yml``) with the page's path filled in.
"""

from __future__ import annotations

from urllib.parse import urlencode

from editions import STUDENT_FOLDER  # book/tools is on Sphinx's path (local_extensions)
from sphinx.transforms import SphinxTransform


def _buttons_to(buttons, url_part: str):
    """The header buttons (nested in dropdowns too) whose URL contains `url_part`."""
    for button in buttons or []:
        if isinstance(button, dict):
            if url_part in str(button.get("url", "")):
                yield button
            yield from _buttons_to(button.get("buttons"), url_part)


STATUS_DOC = "book/status"  # the execution status page, rebuilt on every build
DOWNLOADS = "notebooks"  # the downloadable notebooks' folder inside the HTML output
# sphinx-book-theme's buttons that lead to a page's sources (with their solutions)
SOURCE_BUTTONS = ("download-source-button", "download-notebook-button", "source-file-button",
                  "source-edit-button")


def _retarget_colab(app, pagename, templatename, context, doctree):
    branch = app.config.d2lite_notebooks_branch
    repo_url = (app.config.html_theme_options or {}).get("repository_url", "")
    if not branch or "github.com/" not in repo_url:
        return
    org_repo = repo_url.rstrip("/").split("github.com/")[1]
    folder = f"{STUDENT_FOLDER}/" if app.config.d2lite_student_edition else ""
    for button in _buttons_to(context.get("header_buttons"), "colab.research.google.com"):
        button["url"] = (f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/"
                         f"{folder}{pagename}.ipynb")


ERRATUM_TEMPLATE = "erratum.yml"  # .github/ISSUE_TEMPLATE/erratum.yml


def _erratum_form(app, pagename, templatename, context, doctree):
    """The page's "open issue" button opens the erratum form with the page filled in."""
    repo_url = (app.config.html_theme_options or {}).get("repository_url", "").rstrip("/")
    for button in _buttons_to(context.get("header_buttons"), "/issues/new"):
        query = urlencode({"template": ERRATUM_TEMPLATE, "page": pagename})
        button["url"] = f"{repo_url}/issues/new?{query}"
        button["tooltip"] = "Report an error on this page (erratum form)"


def _student_buttons(buttons):
    """The header buttons of a student page: no source, Binder or edit links."""
    kept = []
    for button in buttons or []:
        if not isinstance(button, dict):
            kept.append(button)
            continue
        label, url = button.get("label", ""), str(button.get("url", ""))
        if label in SOURCE_BUTTONS or "binder" in url:
            continue
        if "buttons" in button:
            button = {**button, "buttons": _student_buttons(button["buttons"])}
            if not button["buttons"]:
                continue
        kept.append(button)
    return kept


def _notebook_download(pagename: str, context, tooltip: str) -> dict:
    return {"type": "link", "text": ".ipynb", "icon": "fas fa-code",
            "url": f"{context['pathto'](DOWNLOADS, 1)}/{pagename}.ipynb",
            "tooltip": tooltip, "label": "download-notebook-button"}


def _full_downloads(app, pagename, templatename, context, doctree):
    """A chapter's ".ipynb" download: the executed, readable notebook (full edition)."""
    if app.config.d2lite_student_edition or not pagename.startswith("chapters/"):
        return
    for group in context.get("header_buttons") or []:
        if isinstance(group, dict) and group.get("label") == "download-buttons":
            group["buttons"] = [
                _notebook_download(pagename, context, "Download the notebook, with its outputs")
                if isinstance(b, dict) and b.get("label") == "download-notebook-button" else b
                for b in group["buttons"]]


def _student_page(app, pagename, templatename, context, doctree):
    if not app.config.d2lite_student_edition:
        return
    buttons = _student_buttons(context.get("header_buttons"))
    # The notebook download is the student notebook (pages of notebooks only).
    if "kernelspec" in app.env.metadata.get(pagename, {}):
        notebook = _notebook_download(pagename, context,
                                      "Download the notebook (student edition)")
        for group in buttons:
            if isinstance(group, dict) and group.get("label") == "download-buttons":
                group["buttons"].insert(0, notebook)
    context["header_buttons"] = buttons


class RemoveSolutions(SphinxTransform):
    """Delete every solution node (student edition only)."""

    # After sphinx-exercise's MergeGatedSolutions (priority 10) joins start, content and end.
    default_priority = 20

    def apply(self):
        if not self.config.d2lite_student_edition:
            return
        from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

        for kind in (solution_node, solution_start_node, solution_end_node):
            for node in list(self.document.findall(kind)):
                node.parent.remove(node)


def _unique_scripts(app, pagename, templatename, context, doctree):
    """Drop repeated <script> entries: sphinx-thebe's and sphinx-togglebutton's inline
    configurations reach every page twice, and the second copy makes the browser log
    "Identifier 'THEBE_JS_URL' has already been declared"."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # the same file or inline body, however each copy was registered (an inline
        # script's filename is None in one copy and "" in the other)
        key = (str(getattr(script, "filename", script) or ""),
               repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _reread_status(app, env, added, changed, removed):
    """Read (and so execute) the status page on every build: it reports the build's
    versions and the measurements in bench/results/, which change without its source."""
    return [STATUS_DOC] if STATUS_DOC in env.found_docs else []


def _tag_edition(app, config):
    if config.d2lite_student_edition:
        app.tags.add("student")


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_config_value("d2lite_notebooks_branch", "notebooks", "html")
    app.add_config_value("d2lite_student_edition", False, "env")
    # After sphinx-book-theme's add_launch_buttons (priority 501).
    app.connect("html-page-context", _retarget_colab, priority=900)
    app.connect("html-page-context", _student_page, priority=901)
    app.connect("html-page-context", _full_downloads, priority=901)
    app.connect("html-page-context", _erratum_form, priority=902)
    app.connect("html-page-context", _unique_scripts, priority=999)
    app.connect("config-inited", _tag_edition)
    app.connect("env-get-outdated", _reread_status)
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
