"""Format the chapters' code cells with ruff, in place: `make format`.

The chapters are MyST-markdown notebooks; ruff formats notebooks (.ipynb) cell by cell
and, unlike on a .py file, keeps a cell's trailing semicolon, which hides the value of a
plotting call. So each chapter goes through a temporary .ipynb: jupytext writes it, ruff
formats it, and the formatted code goes back into the chapter's cells. The Markdown is
untouched. `tests/test_chapter_code.py` checks the result with the same line length.

    python book/tools/format_chapters.py [--check] [CHAPTER.md ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[2]
LINE_LENGTH = 88


def ruff_formatted(path: Path) -> list[str]:
    """The code cells' sources of the chapter at `path`, as `ruff format` writes them."""
    notebook = jupytext.read(path)
    with tempfile.TemporaryDirectory() as folder:
        ipynb = Path(folder) / f"{path.stem}.ipynb"
        jupytext.write(notebook, ipynb)
        subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", "--no-cache",
                        "--isolated", "--line-length", str(LINE_LENGTH), str(ipynb)],
                       check=True)
        formatted = jupytext.read(ipynb)
    return [cell.source for cell in formatted.cells if cell.cell_type == "code"]


def code_sources(path: Path) -> list[str]:
    return [cell.source for cell in jupytext.read(path).cells if cell.cell_type == "code"]


def format_chapter(path: Path) -> bool:
    """Format `path` in place; True if anything changed."""
    notebook = jupytext.read(path)
    sources = iter(ruff_formatted(path))
    changed = False
    for cell in notebook.cells:
        if cell.cell_type == "code":
            new = next(sources)
            changed |= new != cell.source
            cell.source = new
    if changed:
        text = jupytext.writes(notebook, fmt="md:myst")
        # jupytext stamps its version into the header; the chapters do not carry it
        lines = [line for line in text.splitlines(keepends=True)
                 if not line.startswith(("    format_version:", "    jupytext_version:"))]
        path.write_text("".join(lines), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    parser.add_argument("chapters", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.chapters or sorted((ROOT / "chapters").glob("*.md"))
    unformatted = []
    for path in paths:
        if args.check:
            if ruff_formatted(path) != code_sources(path):
                unformatted.append(path)
        elif format_chapter(path):
            print(f"formatted {path}")
    for path in unformatted:
        print(f"would reformat {path}")
    return 1 if unformatted else 0


if __name__ == "__main__":
    sys.exit(main())
