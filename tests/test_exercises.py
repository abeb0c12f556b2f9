"""Every chapter has exercises, and every exercise is marked with its difficulty.

The first text of an ```{exercise} body (after its `:label:`-style option lines and blank
lines) starts with "★ " (a direct application), "★★ " (a derivation or a non-trivial piece
of code) or "★★★ " (open-ended, or a substantial derivation or experiment). The chapters
are read as plain text; nothing is executed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import editions

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [ROOT / f"{doc}.md" for doc in editions.chapter_docs(ROOT)]
MARKS = ("★ ", "★★ ", "★★★ ")


def exercises(path: Path) -> list[tuple[str, str]]:
    """(label, first line of text) for each ```{exercise} directive in a chapter."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        if not line.startswith("```{exercise}"):
            continue
        label, j = "(no label)", i + 1
        while j < len(lines) and (lines[j].startswith(":") or not lines[j].strip()):
            if lines[j].startswith(":label:"):
                label = lines[j].removeprefix(":label:").strip()
            j += 1
        found.append((label, lines[j] if j < len(lines) else ""))
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_are_marked(path: Path) -> None:
    found = exercises(path)
    assert found, f"{path.name}: no ```{{exercise}} directive"
    for label, first in found:
        assert first.startswith(MARKS), (
            f"{path.name}, exercise {label}: does not start with ★, ★★ or ★★★ "
            f"followed by a space: {first[:60]!r}"
        )
