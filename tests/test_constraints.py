"""constraints.txt pins every dependency, and `make install` installs what it pins.

`make lock` writes constraints.txt (uv's universal resolution of d2lite with its dev, gpu,
jax and torch extras); `make install` passes it to pip, so a build a year from now resolves the same
versions. The weekly workflow installs the newest releases instead (CONSTRAINTS=""), and
the second test does not apply there.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> list[tuple[str, str, str | None]]:
    """(name, version, marker) of every `name==version ; marker` line of constraints.txt."""
    pins = []
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            spec, _, marker = line.partition(";")
            name, _, pinned = spec.strip().partition("==")
            assert pinned, f"constraints.txt: not a pin: {line!r}"
            pins.append((_name(name), pinned, marker.strip() or None))
    return pins


def test_every_dependency_of_pyproject_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += [r for r in extra if not r.startswith("d2lite")]
    pinned = {name for name, _, _ in _pins()}
    missing = sorted({_name(Requirement(r).name) for r in wanted} - pinned)
    assert not missing, f"not in constraints.txt (run `make lock`): {missing}"


@pytest.mark.skipif(os.environ.get("CONSTRAINTS") == "",
                    reason="installed without constraints.txt (CONSTRAINTS is empty)")
def test_the_installed_versions_are_the_pinned_ones():
    wrong = []
    for name, pinned, marker in _pins():
        if marker and not Marker(marker).evaluate():
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # an optional extra (gpu) or a platform's package not installed here
        # a local label is the build, not the release: torch 2.13.0+cpu is torch 2.13.0
        if Version(installed).public != pinned:
            wrong.append(f"{name} {installed} (pinned {pinned})")
    assert not wrong, ("installed versions differ from constraints.txt; run `make install` "
                       f"(or `make lock` after changing a dependency): {wrong}")
