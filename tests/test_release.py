"""What the release workflow publishes to PyPI passes `twine check`, from either route.

`.github/workflows/release.yml` builds the sdist and the wheel with `python -m build` and
checks them with `twine check --strict`; pip builds a wheel from the sdist when no wheel
fits. Both must carry the same files. Building needs setuptools from PyPI (an isolated
build, as on the release runner); about half a minute.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path | None = None) -> None:
    result = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                            cwd=cwd)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:  # RECORD lists hashes: compare the names only
        return {name for name in archive.namelist() if not name.endswith("/RECORD")}


def test_sdist_and_wheel_pass_twine_check_and_build_the_same_wheel(tmp_path):
    dist = tmp_path / "dist"
    _run("-m", "build", "--sdist", "--wheel", "--outdir", dist, ROOT)
    sdist, = dist.glob("*.tar.gz")
    wheel, = dist.glob("*.whl")
    assert wheel.name == f"d2lite-{version('d2lite')}-py3-none-any.whl"
    _run("-m", "twine", "check", "--strict", sdist, wheel)

    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        archive.extractall(tmp_path / "unpacked", filter="data")
    assert not [n for n in names if "/_build/" in n or n.endswith(".ipynb")], names
    source, = (tmp_path / "unpacked").iterdir()
    again = tmp_path / "again"
    _run("-m", "build", "--wheel", "--outdir", again, source)
    rebuilt, = again.glob("*.whl")
    assert _files(rebuilt) == _files(wheel)
    assert any(name.startswith("d2lite/") and name.endswith("glimpse.py")
               for name in _files(wheel))
