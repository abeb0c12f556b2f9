"""The book's Sphinx extension: Colab buttons that open notebooks, and the student edition.

**Colab.** sphinx-book-theme builds the Colab link from the page's *source* file, which
for this book is a MyST-markdown ``.md`` file that Colab cannot open. The publish
workflow puts the Colab-ready notebooks made by ``book/tools/editions.py`` on a branch
of their own (``d2lite_notebooks_branch`` in _config.yml, the one place it is
configured), at the same paths as the sources, so the link becomes

    https://colab.research.google.com/github/ORG/REPO/blob/<branch>/<page>.ipynb

Binder keeps opening the ``.md`` source on the main branch (jupytext is installed there).

**Student edition.** With ``d2lite_student_edition = True`` every solution is removed
from the pages -- its text, its code cells and their outputs. (sphinx-exercise's own
``hide_solutions`` cannot be used: it drops ``solution-start`` but leaves the
``solution-end`` node of a gated solution, which no HTML writer can render.) The
solutions are removed once sphinx-exercise has merged each gated start/end pair into one
solution node, so the code cells between them go too.
"""

from __future__ import annotations

from sphinx.transforms import SphinxTransform


def _colab_buttons(buttons):
    for button in buttons or []:
        if isinstance(button, dict):
            if "colab.research.google.com" in str(button.get("url", "")):
                yield button
            yield from _colab_buttons(button.get("buttons"))


def _retarget_colab(app, pagename, templatename, context, doctree):
    branch = app.config.d2lite_notebooks_branch
    repo_url = (app.config.html_theme_options or {}).get("repository_url", "")
    if not branch or "github.com/" not in repo_url:
        return
    org_repo = repo_url.rstrip("/").split("github.com/")[1]
    for button in _colab_buttons(context.get("header_buttons")):
        button["url"] = f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/{pagename}.ipynb"


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


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_config_value("d2lite_notebooks_branch", "notebooks", "html")
    app.add_config_value("d2lite_student_edition", False, "env")
    # After sphinx-book-theme's add_launch_buttons (priority 501).
    app.connect("html-page-context", _retarget_colab, priority=900)
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
