"""The built book in a real browser: headless Chromium, driven by Playwright.

Marked `browser`. `make book` runs these checks on the full edition and `make student` on
the student edition, when a Chromium is found (Debian's `chromium`, Chrome, or the path in
$D2LITE_CHROMIUM); without one they are skipped, and the Makefile says so. Each edition is
served on 127.0.0.1, so the pages load their scripts, styles and fonts as a reader's
browser does, with no network. Every page is checked:

- no console error, uncaught exception or failed request (MathJax served from the build);
- math rendered, without MathJax error nodes;
- at 1280 px no display equation, code cell or output wider than its column (solutions
  opened), and at 390 px (a phone) no horizontal scroll of the page;
- every image loaded;
- a full-page screenshot at 1280 px (solutions opened) is saved under
  `_build/screenshots/<edition>/` (the GitHub workflow keeps them as an artifact).

And the search page finds a term the book is about.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

import editions  # book/tools, on pytest's pythonpath (pyproject.toml)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("D2LITE_BUILD", ROOT / "_build"))  # another build's _build
BUILDS = {"full": BUILD / "html", "student": BUILD / "student" / "_build" / "html"}
SCREENSHOTS = BUILD / "screenshots"
DOCS = editions.toc_documents(ROOT)
WIDE, PHONE = 1280, 390


def find_chromium() -> str | None:
    """The Chromium to drive: $D2LITE_CHROMIUM, else one on the PATH."""
    candidates = [os.environ.get("D2LITE_CHROMIUM", "")]
    candidates += [shutil.which(name) or "" for name in
                   ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module", params=sorted(BUILDS))
def site(request):
    """(edition, base URL) of one edition's HTML, served on 127.0.0.1."""
    folder = BUILDS[request.param]
    if not (folder / "index.html").is_file():
        pytest.skip(f"{folder} is not built (make book / make student)")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (apt install chromium, or set D2LITE_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=executable,
                args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        except sync_api.Error as error:  # a browser that cannot start here: say so
            pytest.skip(f"Chromium at {executable} did not start: {error}")
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    """A fresh page that records console errors, uncaught exceptions, failed requests."""
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: tab.problems.append(f"console: {m.text}")
           if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(f"exception: {e}"))
    tab.on("requestfailed", lambda r: tab.problems.append(f"request failed: {r.url}"))
    tab.on("response", lambda r: tab.problems.append(f"HTTP {r.status}: {r.url}")
           if r.status >= 400 else None)
    yield tab
    context.close()


# Measured in the page, with every solution opened: display equations, code cells and
# outputs wider than their box, MathJax's error nodes, images that did not load.
MEASURE = """() => {
  // open the collapsed solutions (sphinx-togglebutton) so that their code is measured too
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  const wide = [];
  for (const box of document.querySelectorAll('main div.math')) {
    const mjx = box.querySelector('mjx-container');
    if (mjx && mjx.scrollWidth > box.clientWidth + 1) {
      const number = box.querySelector('.eqno');
      wide.push('equation ' + (number ? number.innerText.trim() : box.id));
    }
  }
  for (const pre of document.querySelectorAll('main pre')) {
    if (pre.offsetParent !== null && pre.scrollWidth > pre.clientWidth + 1) {
      const line = pre.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a);
      wide.push('code: ' + line.slice(0, 60));
    }
  }
  const broken = [...document.querySelectorAll('main img')]
    .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
  return {wide, broken, errors: document.querySelectorAll('mjx-merror').length,
          math: document.querySelectorAll('mjx-container').length};
}"""


def _open(page, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    if page.evaluate("() => Boolean(window.MathJax && MathJax.startup)"):
        page.evaluate("() => MathJax.startup.promise")


@pytest.mark.parametrize("doc", DOCS)
def test_page_in_the_browser(site, page, doc):
    edition, base = site
    _open(page, f"{base}/{doc}.html")
    found = page.evaluate(MEASURE)
    shot = SCREENSHOTS / edition / f"{doc}.jpg"  # JPEG: a long page as PNG is ~10 MB
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True, type="jpeg", quality=70)
    page.set_viewport_size({"width": PHONE, "height": 800})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")

    assert not page.problems, f"{edition} {doc}: {page.problems[:5]}"
    assert found["errors"] == 0, f"{edition} {doc}: {found['errors']} MathJax errors"
    if doc.startswith("chapters/"):
        assert found["math"] > 0, f"{edition} {doc}: no typeset math"
    assert not found["wide"], f"{edition} {doc}: wider than the column at {WIDE} px: " \
                              f"{found['wide'][:5]}"
    assert not found["broken"], f"{edition} {doc}: images not loaded: {found['broken'][:3]}"
    assert overflow <= 1, f"{edition} {doc}: scrolls sideways by {overflow} px at {PHONE} px"


def test_search_finds_a_term_of_the_book(site, page):
    edition, base = site
    page.goto(f"{base}/search.html?q=convolution", wait_until="networkidle")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 5, f"{edition}: search found {results.count()} pages"
    assert not page.problems, f"{edition} search: {page.problems[:5]}"
