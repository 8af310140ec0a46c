"""Drive the widget in Chromium the way a person does: a host page on another origin, fresh pages, and
the widget's parts found by their roles. Shared by the browser tests and the Rasa-mode browser test.

A plain module (tests/ folders have no __init__.py); tests/ is on sys.path through its conftest.py.
Chromium is Debian's (`make system-deps`), never `playwright install`.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from playwright.sync_api import Browser, Page, expect
from serving import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ANSWER_MS = 30_000
WEBHOOK = "/webhooks/rest/webhook"
HOST_BODY = "<main><h1>A hospital's page</h1><p id='host-text'>Information for patients.</p></main>"


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

    def __enter__(self) -> "HostSite":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def fresh_page(browser: Browser) -> Iterator[Page]:
    """`new_page`, its context closed afterwards."""
    page = new_page(browser)
    try:
        yield page
    finally:
        page.context.close()


def new_page(browser: Browser, width: int = 1280, height: int = 800) -> Page:
    """A page in a fresh context (no shared storage); its script errors and dialogs are recorded."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


class Widget:
    """The widget's parts on a page, found the way a user (or a screen reader) finds them."""

    def __init__(self, page: Page):
        self.page = page
        self.launcher = page.get_by_role("button", name="Ask about rare cancers")
        self.panel = page.get_by_role("dialog", name="Rare Cancer Assistant chat")
        self.input = page.get_by_role("textbox", name="Your message")
        self.messages = page.locator(".log .msg")
        self.answers = page.locator(".msg.bot:not(.intro)")
        self.questions = page.locator(".msg.user")
        self.typing = page.locator(".typing")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        expect(self.input).to_be_focused()

    def ask(self, text: str, keyboard: bool = False):
        """Sends text; returns the reply's messages (locators) and the reply's JSON."""
        before = self.answers.count()
        with self.page.expect_response(lambda r: r.url.endswith(WEBHOOK) and r.request.method == "POST",
                                       timeout=ANSWER_MS) as response:
            if keyboard:
                self.page.keyboard.type(text)
                self.page.keyboard.press("Enter")
            else:
                self.input.fill(text)
                self.input.press("Enter")
        reply = response.value.json()
        expect(self.answers).to_have_count(before + len(reply), timeout=ANSWER_MS)
        expect(self.typing).to_be_hidden()
        return [self.answers.nth(before + i) for i in range(len(reply))], reply


def embed(page: Page, host_site, server_url: str, name: str, head: str = "", body: str = HOST_BODY,
          documents: str | None = None) -> Widget:
    """Serves a host page embedding the widget with its one tag, opens it and waits for the launcher."""
    extra = f' data-documents="{documents}"' if documents else ""
    host_site.pages[f"/{name}.html"] = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{name}</title>{head}</head>"
        f"<body>{body}<script src='{server_url}/widget.js' data-server='{server_url}'{extra}></script></body></html>")
    page.goto(f"{host_site.origin}/{name}.html")
    widget = Widget(page)
    expect(widget.launcher).to_be_visible()
    return widget
