"""Browser tests: Debian's chromium driven by Playwright, against `python -m server` on one port and a
host page on another origin (a second port), as a real embedding site would be.

Chromium comes from `make system-deps` (apt), never from `playwright install`. Screenshots go to
var/test-artifacts/screenshots (kept after the run, for CI artifacts and docs/).
"""
from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest
from serving import ROOT, free_port, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SCREENSHOTS = ROOT / "var" / "test-artifacts" / "screenshots"

if shutil.which(CHROMIUM) is None:  # `make test` installs it; a bare `pytest` without it must say how
    pytest.fail(f"{CHROMIUM} not found. Run `make system-deps` (installs Debian's chromium).", pytrace=False)


class HostSite:
    """Serves pages on a second origin. `pages[path] = html`; the origin is http://127.0.0.1:<port>."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = site.pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.close()


@pytest.fixture(scope="session")
def server_url(real_index_dir, tmp_path_factory, host_site) -> Iterator[str]:
    """The project's server on the real index; the host site's origin is the one CORS allows."""
    with running_server(real_index_dir, tmp_path_factory.mktemp("browser-server"),
                        RCA_CORS_ORIGINS=host_site.origin) as (url, _process):
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test (no shared storage); page errors and dialogs are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    new_page = context.new_page()
    new_page.errors = []  # type: ignore[attr-defined]
    new_page.dialogs = []  # type: ignore[attr-defined]
    new_page.on("pageerror", lambda error: new_page.errors.append(str(error)))
    new_page.on("dialog", lambda dialog: (new_page.dialogs.append(dialog.message), dialog.dismiss()))
    yield new_page
    context.close()


@pytest.fixture
def screenshot(request) -> Callable[..., Path]:
    """screenshot(page, "name") saves var/test-artifacts/screenshots/<test>-<name>.png and returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(target, name: str, **options) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        target.screenshot(path=str(path), **options)
        return path

    return take
