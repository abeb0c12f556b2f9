"""Sphinx extension: point each page's Colab button at its generated notebook.

sphinx-book-theme builds the Colab link from the page's *source* file, which for this
book is a MyST-markdown ``.md`` file that Colab cannot open. The publish workflow puts
the Colab-ready notebooks made by ``book/tools/editions.py`` on a branch of their own
(``d2lite_notebooks_branch`` in _config.yml, the one place it is configured), at the
same paths as the sources, so the link becomes

    https://colab.research.google.com/github/ORG/REPO/blob/<branch>/<page>.ipynb

Binder keeps opening the ``.md`` source on the main branch (jupytext is installed there).
"""

from __future__ import annotations


def _colab_buttons(buttons):
    for button in buttons or []:
        if isinstance(button, dict):
            if "colab.research.google.com" in str(button.get("url", "")):
                yield button
            yield from _colab_buttons(button.get("buttons"))


def _retarget(app, pagename, templatename, context, doctree):
    branch = app.config.d2lite_notebooks_branch
    repo_url = (app.config.html_theme_options or {}).get("repository_url", "")
    if not branch or "github.com/" not in repo_url:
        return
    org_repo = repo_url.rstrip("/").split("github.com/")[1]
    for button in _colab_buttons(context.get("header_buttons")):
        button["url"] = f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/{pagename}.ipynb"


def setup(app):
    app.add_config_value("d2lite_notebooks_branch", "notebooks", "html")
    # After sphinx-book-theme's add_launch_buttons (priority 501).
    app.connect("html-page-context", _retarget, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
