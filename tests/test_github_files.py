"""The GitHub workflows and issue forms are valid against GitHub's published schemas.

check-jsonschema bundles those schemas, so this runs offline (actionlint would download
its binary at install time).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github"
SCHEMAS = {"workflows/*.yml": "vendor.github-workflows",
           "ISSUE_TEMPLATE/config.yml": "vendor.github-issue-config"}


def _check(schema: str, paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           schema, *map(str, paths)], capture_output=True, text=True)


@pytest.mark.parametrize("pattern,schema", SCHEMAS.items())
def test_github_files_match_githubs_schema(pattern, schema):
    paths = sorted(GITHUB.glob(pattern))
    assert paths, f"no .github/{pattern}"
    result = _check(schema, paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_issue_forms_match_githubs_schema():
    forms = [p for p in sorted((GITHUB / "ISSUE_TEMPLATE").glob("*.yml")) if p.name != "config.yml"]
    assert [p.name for p in forms] == ["erratum.yml"]
    result = _check("vendor.github-issue-forms", forms)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checker_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    steps: []\n")  # no runs-on
    assert _check("vendor.github-workflows", [broken]).returncode != 0


def test_the_book_workflow_runs_tests_and_chapters_on_every_backend():
    """Every push runs `make test` on TensorFlow (cpu job) and on JAX and PyTorch (a matrix);
    the GPU job covers TensorFlow and JAX."""
    import yaml

    jobs = yaml.safe_load((GITHUB / "workflows" / "book.yml").read_text())["jobs"]
    assert any(step.get("run") == "make test" for step in jobs["cpu"]["steps"])
    assert jobs["backends"]["strategy"]["matrix"]["backend"] == ["jax", "torch"]
    runs = " ".join(step.get("run", "") for step in jobs["backends"]["steps"])
    assert "make test BACKEND=${{ matrix.backend }}" in runs
    assert "download.pytorch.org/whl/cpu" in runs  # not PyPI's CUDA build of torch
    gpu = jobs["gpu"]["strategy"]["matrix"]["include"]
    assert {row["backend"] for row in gpu} == {"tensorflow", "jax"}
