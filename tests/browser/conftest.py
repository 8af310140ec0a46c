"""Browser tests: Debian's chromium driven by Playwright, against `python -m server` on one port and a
host page on another origin (a second port), as a real embedding site would be.

Chromium comes from `make system-deps` (apt), never from `playwright install`. Screenshots go to
var/test-artifacts/screenshots (kept after the run, for CI artifacts and docs/).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterator

import pytest
from browsing import CHROMIUM, HostSite, chromium, fresh_page
from serving import ROOT, running_server

SCREENSHOTS = ROOT / "var" / "test-artifacts" / "screenshots"

if shutil.which(CHROMIUM) is None:  # `make test` installs it; a bare `pytest` without it must say how
    pytest.fail(f"{CHROMIUM} not found. Run `make system-deps` (installs Debian's chromium).", pytrace=False)


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    with HostSite() as site:
        yield site


@pytest.fixture(scope="session")
def server_url(real_index_dir, tmp_path_factory, host_site) -> Iterator[str]:
    """The project's server on the real index; the host site's origin is the one CORS allows."""
    with running_server(real_index_dir, tmp_path_factory.mktemp("browser-server"),
                        RCA_CORS_ORIGINS=host_site.origin) as (url, _process):
        yield url


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh browser context per test (no shared storage); page errors and dialogs are recorded."""
    with fresh_page(browser) as fresh:
        yield fresh


@pytest.fixture
def screenshot(request) -> Callable[..., Path]:
    """screenshot(page, "name") saves var/test-artifacts/screenshots/<test>-<name>.png and returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(target, name: str, **options) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        target.screenshot(path=str(path), **options)
        return path

    return take
