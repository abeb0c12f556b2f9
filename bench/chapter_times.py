"""Run every chapter (nbval, as `make test` does) on one or more Keras backends and record
how long each took and whether it passed.

Run: `.venv/bin/python bench/chapter_times.py --backends jax,torch` (the backends must be
installed: `make install EXTRAS=dev,jax,torch`; options: --help). Each backend runs in its
own pytest process, one after the other, with the environment of `make test`
(PYTHONHASHSEED=0, the book's IPython profile). The results are merged into
`bench/results/chapter_times.json` (other backends' earlier entries are kept), which the
book's Execution status page shows: the book itself is executed on TensorFlow only.

This is a measurement, not a test: times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "chapter_times.json"


def chapters() -> list[str]:
    sys.path.insert(0, str(ROOT / "book" / "tools"))
    import editions

    return [doc for doc in editions.chapter_docs(ROOT) if doc.startswith("chapters/")]


def run(backend: str, docs: list[str]) -> dict:
    """{doc: {"seconds": cell seconds, "passed": bool, "cells": n}} for one backend."""
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONHASHSEED": "0",
           "IPYTHONDIR": str(ROOT / "book" / "ipython"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    if "D2LITE_DATA" not in env and (ROOT.parent / "shared" / "data").is_dir():
        env["D2LITE_DATA"] = str(ROOT.parent / "shared" / "data")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"--junitxml={report}", *[f"{doc}.md" for doc in docs]],
                       cwd=ROOT, env=env)
        results = {doc: {"seconds": 0.0, "passed": True, "cells": 0} for doc in docs}
        for case in ET.parse(report).iter("testcase"):
            doc = case.get("classname", "").replace(".", "/")
            doc = next((d for d in docs if doc.startswith(d + "/")), None)
            if doc is None:
                continue
            results[doc]["seconds"] += float(case.get("time", 0))
            results[doc]["cells"] += 1
            if case.find("failure") is not None or case.find("error") is not None:
                results[doc]["passed"] = False
    for r in results.values():
        r["seconds"] = round(r["seconds"], 1)
        r["passed"] = r["passed"] and r["cells"] > 0
    return results


def versions(backend: str) -> dict:
    code = ("import importlib.metadata as m, json, keras; name = keras.backend.backend(); "
            "print(json.dumps({'keras': keras.__version__, name: m.version(name)}))")
    env = {**os.environ, "KERAS_BACKEND": backend}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch", help="comma-separated")
    parser.add_argument("--chapters", default="", help="comma-separated prefixes, e.g. 01,09b (default: all)")
    args = parser.parse_args()
    docs = chapters()
    if args.chapters:
        prefixes = tuple(f"chapters/{p}_" for p in args.chapters.split(","))
        docs = [d for d in docs if d.startswith(prefixes)]
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"backends": {}}
    for backend in args.backends.split(","):
        start = time.time()
        results = run(backend, docs)
        entry = data["backends"].setdefault(backend, {"chapters": {}})
        entry["chapters"].update(results)
        entry.update(date=time.strftime("%Y-%m-%d", time.gmtime(start)), versions=versions(backend),
                     machine=f"{platform.machine()}, {os.cpu_count()} CPU cores")
        total = sum(r["seconds"] for r in results.values())
        failed = [d for d, r in results.items() if not r["passed"]]
        print(f"{backend}: {len(results)} chapters, {total:.0f} s of cells, failed: {failed or 'none'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
