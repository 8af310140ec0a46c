"""An XSS payload corpus (tests/data/xss_payloads.txt) through every place the project shows text, in Chromium.

Each payload's `XSS()` becomes `__xss(<its line number>)`: a marker that reports to the test from any
frame of any page (a Playwright binding: also in srcdoc, data: and other-origin frames and in popups)
and to `window.__hits` of the page. A payload counts as executed if its marker is ever called.

Sinks:
* widget, user text: every payload typed as a chat message to the real server; its bubble shows the
  exact text, also after a reload (the transcript restored from localStorage) and in the export page;
* widget, bot-rendered fields: every field of a REST channel reply (text, quick replies, citation, trial
  and organisation fields, URLs, ids) set to the payload through `page.route`, before and after a reload;
* document text: an index built with one hostile document whose paragraphs (and shown front matter
  fields) are the payloads: `/documents/<id>` whole, with the whole text and each indexed passage
  highlighted, and with highlights that start and end in the middle of payloads; the widget citing
  every passage (every source card opened); the reference page `/reference` showing them as real
  search results, every payload as every field of a result, and every payload as a linked query (?q=).

Pages the server renders are checked without their Content-Security-Policy too (removed by
`page.route`; the document page also as served), so escaping alone must hold; the widget's host page
has none. Besides "0 executed",
each check asserts that no element or attribute from a payload exists (the widget's shadow DOM against
an allow-list of its own elements and attributes, pages against their usual elements), that the text
shows the payload literally, that no request left for a payload's URL, and that no page, popup or
dialog opened and no script error happened, with every element hovered and focused. Control tests
first show that corpus and checks are live: parsed as HTML in a naive page, most payloads run; and
markup put into the widget is caught.
The figures are printed (`pytest -s`) as "N payloads x M sinks, 0 executed" and written to
var/test-artifacts/xss-corpus.json.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from urllib.parse import quote as url_quote

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from browsing import WEBHOOK, Widget, new_page
from serving import ROOT, index_with_documents, running_server

pytestmark = pytest.mark.slow

PAYLOAD_FILE = ROOT / "tests" / "data" / "xss_payloads.txt"
CHUNK = 40  # payloads per conversation: 2 entries each fit the widget's 80 saved entries, and the export's 50 turns
DETECTOR = """(() => {
  const report = typeof window.__xss === "function" ? window.__xss : null;  // the test's binding
  window.__xss = (n) => { (window.__hits = window.__hits || []).push(n); if (report) report(n); };
})();"""
# A user's interactions, dispatched to every element: what hover, focus, drag and click payloads wait for.
INTERACT = """(click) => {
  const all = [];
  const walk = (root) => root.querySelectorAll("*").forEach(e => {
    all.push(e);
    if (e.shadowRoot) walk(e.shadowRoot);
  });
  walk(document);
  for (const e of all)
    for (const type of ["mouseover", "pointerenter", "focus", "blur", "dragstart"]) e.dispatchEvent(new Event(type));
  if (click) for (const e of all) if (e.matches("a, button, input, math, [onclick]"))
    e.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true}));
}"""
FIGURES: dict[str, dict[str, int]] = {}  # check -> payloads, sinks, executed
FIGURES_FILE = ROOT / "var" / "test-artifacts" / "xss-corpus.json"


@dataclass(frozen=True)
class Payload:
    line: int  # its line in the corpus file, also its marker number
    text: str  # with the marker and NULs in place


def load_payloads() -> list[Payload]:
    payloads = []
    for number, raw in enumerate(PAYLOAD_FILE.read_text(encoding="utf-8").split("\n"), start=1):
        if not raw or raw.startswith("# "):
            continue
        payloads.append(Payload(number, raw.replace("XSS()", f"__xss({number})").replace("{NUL}", "\x00")))
    return payloads


PAYLOADS = load_payloads()


def chunks(items: list, size: int = CHUNK) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def record(name: str, payloads: int, sinks: int, executed: int) -> None:
    FIGURES[name] = {"payloads": payloads, "sinks": sinks, "executed": executed}
    print(f"\nXSS corpus, {name}: {payloads} payloads x {sinks} sinks, {executed} executed")


@pytest.fixture(scope="module", autouse=True)
def _figures():
    """At the end of the module: the totals, printed and saved for CI artifacts and docs."""
    yield
    if not FIGURES:
        return
    total = {"payloads": len(PAYLOADS), "sinks": sum(f["sinks"] for f in FIGURES.values()),
             "checks": sum(f["payloads"] * f["sinks"] for f in FIGURES.values()),
             "executed": sum(f["executed"] for f in FIGURES.values())}
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(json.dumps({"total": total, "by_sink_group": FIGURES}, indent=2) + "\n", encoding="utf-8")
    print(f"\nXSS corpus, total: {total['payloads']} payloads x {total['sinks']} sinks "
          f"({total['checks']} payload-sink pairs), {total['executed']} executed")


def component(text: str) -> str:
    """JavaScript's encodeURIComponent."""
    return url_quote(text, safe="!~*'()")


def html_text(text: str) -> str:
    """What a page parsed from HTML shows for text: the HTML parser drops NUL characters."""
    return text.replace("\x00", "")


def test_the_corpus_is_well_formed():
    assert len(PAYLOADS) >= 120
    texts = [p.text for p in PAYLOADS]
    assert len(set(texts)) == len(texts), "payloads are distinct"
    for payload in PAYLOADS:
        assert f"__xss({payload.line})" in payload.text, f"line {payload.line} has no XSS() marker"
        assert payload.text == payload.text.strip() and "\n" not in payload.text and len(payload.text) < 1000


# ---------- watching a browser context for execution ----------


class Watch:
    """Records marker calls from any frame of any page of the context, requests, popups and dialogs."""

    def __init__(self, page: Page, allowed: tuple[str, ...], init_script: bool = True):
        self.page = page
        self.allowed = allowed  # URL prefixes a clean page may request
        self.calls: list[tuple[str, int]] = []
        self.requests: list[str] = []
        self.pages: list[str] = []
        self.popup_dialogs: list[str] = []
        context = page.context
        context.expose_binding("__xss", lambda source, n: self.calls.append((source["frame"].url, n)))
        if init_script:
            page.add_init_script(DETECTOR)
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("page", lambda opened: (self.pages.append(opened.url),
                                          opened.on("dialog", lambda d: (self.popup_dialogs.append(d.message),
                                                                         d.dismiss()))))

    def executed(self) -> set[int]:
        """Marker numbers called so far: by the binding (any frame) or in the main frame's window.__hits."""
        self.settle()
        in_page = set(self.page.evaluate("window.__hits || []"))
        return {n for _url, n in self.calls} | in_page

    def settle(self) -> None:
        # two animation frames: anything queued by a payload (load/error events, autofocus, SMIL) has had its turn
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def assert_clean(self, where: str) -> None:
        executed = self.executed()
        assert executed == set(), f"{where}: payloads at lines {sorted(executed)} executed ({self.calls})"
        page = self.page
        assert page.errors == [], f"{where}: script errors {page.errors}"
        assert page.dialogs == [] and self.popup_dialogs == [], f"{where}: dialogs {page.dialogs + self.popup_dialogs}"
        assert self.pages == [], f"{where}: pages opened {self.pages}"
        stray = [url for url in self.requests if not url.startswith(self.allowed)]
        assert stray == [], f"{where}: requests a payload may have made: {stray[:10]}"


# ---------- the widget's shadow DOM: only its own elements and attributes ----------

WIDGET_TAGS = ["DIV", "SPAN", "P", "BUTTON", "SECTION", "HEADER", "H2", "FORM", "TEXTAREA", "LABEL", "A", "OL", "UL",
               "LI", "DETAILS", "SUMMARY", "BLOCKQUOTE", "DL", "DT", "DD", "LINK", "svg", "path"]
WIDGET_ATTRIBUTES = ["class", "id", "type", "role", "hidden", "tabindex", "href", "target", "rel", "rows", "maxlength",
                     "placeholder", "autocomplete", "for", "data-status", "viewBox", "focusable", "d", "title",
                     "disabled", "open"]
INJECTED = """(host, [tags, attributes]) => {
  const root = host.shadowRoot, found = [];
  const tagSet = new Set(tags), attributeSet = new Set(attributes);
  for (const e of root.querySelectorAll("*")) {
    const tag = e.tagName, icon = (n) => n && n.tagName === "svg" && n.classList.contains("icon");
    if (!tagSet.has(tag)) found.push("<" + tag + ">");
    if (tag === "svg" && !icon(e)) found.push("svg without .icon");
    if (tag === "path" && !icon(e.parentNode)) found.push("path outside an icon");
    if (tag === "LINK" && !(e.rel === "stylesheet" && e.href.endsWith("/widget.css"))) found.push("link " + e.href);
    if (tag === "FORM" && !e.classList.contains("composer")) found.push("a second form");
    if (tag === "TEXTAREA" && e.id !== "rca-input") found.push("a second textarea");
    for (const a of e.attributes) {
      if (!attributeSet.has(a.name) && !a.name.startsWith("aria-") && a.name !== "data-rca-widget")
        found.push(tag + "[" + a.name + "]");
    }
    const href = e.getAttribute("href");
    if (tag === "A" && !/^https?:\\/\\//.test(href || "")) found.push("a[href=" + href + "]");
  }
  return found;
}"""


def injected_in_widget(page: Page) -> list[str]:
    return page.locator("[data-rca-widget]").evaluate(INJECTED, [WIDGET_TAGS, WIDGET_ATTRIBUTES])


def light_dom(page: Page) -> list[str]:
    """The host page's own elements (outside the widget's shadow root), as tag names."""
    return page.evaluate("Array.from(document.querySelectorAll('*'), e => e.tagName)")


# ---------- the widget on a host page of another origin ----------


def host_page(host_site, server_url: str, name: str) -> str:
    """A host page that defines the marker itself (its own inline script) and embeds the widget."""
    host_site.pages[f"/{name}.html"] = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{name}</title>"
        f"<script>{DETECTOR}</script></head><body><main><h1>A hospital's page</h1><p>For patients.</p></main>"
        f"<script src='{server_url}/widget.js' data-server='{server_url}'></script></body></html>")
    return f"{host_site.origin}/{name}.html"


def embedded(browser, host_site, server_url: str, name: str) -> tuple[Page, Watch, Widget, str]:
    page = new_page(browser)
    url = host_page(host_site, server_url, name)
    watch = Watch(page, (url, f"{server_url}/"), init_script=False)
    page.goto(url)
    widget = Widget(page)
    expect(widget.launcher).to_be_visible()
    assert page.evaluate("typeof window.__xss") == "function"
    widget.open()
    return page, watch, widget, url


def check_widget(page: Page, watch: Watch, host_elements: list[str], where: str) -> None:
    page.evaluate(INTERACT, False)  # hover and focus everything (no clicks: the widget's own links are real)
    assert injected_in_widget(page) == [], f"{where}: injected into the widget: {injected_in_widget(page)[:10]}"
    assert light_dom(page) == host_elements, f"{where}: the host page changed"
    watch.assert_clean(where)


def test_the_corpus_runs_in_a_naive_page(page, host_site):
    """Control: each payload as the srcdoc of its own iframe (markup parsed as HTML): the detector sees most run."""
    frames = "".join(f"<iframe srcdoc=\"{html.escape(p.text, quote=True)}\"></iframe>" for p in PAYLOADS)
    host_site.pages["/naive.html"] = f"<!doctype html><html><head><meta charset='utf-8'></head><body>{frames}</body>"
    watch = Watch(page, (host_site.origin,))
    page.goto(f"{host_site.origin}/naive.html")
    watch.settle()
    for frame in page.frames:  # hover, focus and click everything, as a curious user would
        try:
            frame.evaluate(INTERACT, True)
        except Exception:  # noqa: BLE001 (a frame a payload navigated away meanwhile)
            pass
    executed = watch.executed()
    print(f"\nXSS corpus, control (a naive page): {len(executed)} of {len(PAYLOADS)} payloads executed")
    assert executed <= {p.line for p in PAYLOADS}
    assert len(executed) >= len(PAYLOADS) // 2, "the payloads are live and the detector sees them"


FRAMES_PER_PAGE = 15  # server pages loaded at once by one host page's frames: few enough for one busy worker


def without_csp(route) -> None:
    """The server's response without its Content-Security-Policy: escaping alone has to keep the page safe.

    A GET is tried again if its kept-alive connection was reset as the server closed it (a browser
    does the same); many frames load at once here."""
    for attempt in range(3):
        try:
            response = route.fetch()
            break
        except PlaywrightError:
            if attempt == 2:
                raise
    route.fulfill(response=response, headers={k: v for k, v in response.headers.items()
                                              if k.lower() != "content-security-policy"})


EXPORT_TAGS = {"HTML", "HEAD", "META", "TITLE", "LINK", "BODY", "HEADER", "H1", "P", "MAIN", "SECTION", "STRONG", "DIV",
               "OL", "LI", "CITE", "BLOCKQUOTE"}


def test_the_checks_see_markup_injected_into_the_widget(browser, host_site, server_url):
    """Control: the checks used below catch an element a payload would add to the widget, and its marker call."""
    page, watch, _widget, _url = embedded(browser, host_site, server_url, "xss-control")
    try:
        assert injected_in_widget(page) == []
        watch.assert_clean("widget before the injection")
        page.locator("[data-rca-widget]").evaluate(
            "h => h.shadowRoot.querySelector('.log').insertAdjacentHTML('beforeend', '<img src=x onerror=__xss(0)>')")
        expect(page.locator(".log img")).to_have_count(1)
        assert injected_in_widget(page) == ["<IMG>", "IMG[src]", "IMG[onerror]"]
        page.wait_for_function("(window.__hits || []).includes(0)")
        assert watch.executed() == {0} and f"{host_site.origin}/x" in watch.requests
    finally:
        page.context.close()


def test_payloads_typed_as_user_messages_never_run(browser, host_site, server_url):
    """Every payload sent as a chat message to the real server: shown as typed, restored and exported as text."""
    for number, group in enumerate(chunks(PAYLOADS)):
        page, watch, widget, _url = embedded(browser, host_site, server_url, f"xss-typed-{number}")
        host_elements = light_dom(page)
        try:
            for payload in group:
                try:
                    widget.ask(payload.text)
                except (AssertionError, PlaywrightTimeout) as exc:  # say which payload, and what the widget showed
                    raise AssertionError(f"line {payload.line}: no answer; notices: "
                                         f"{page.locator('.notice').all_text_contents()}") from exc
                assert widget.questions.last.locator(".text").text_content() == payload.text, payload.line
            shown = widget.questions.locator(".text").evaluate_all("els => els.map(e => e.textContent)")
            assert shown == [p.text for p in group]
            check_widget(page, watch, host_elements, f"typed messages {number}")

            page.reload()  # the transcript comes back from localStorage
            expect(widget.questions).to_have_count(len(group))
            assert widget.questions.locator(".text").evaluate_all("els => els.map(e => e.textContent)") == shown
            check_widget(page, watch, host_elements, f"typed messages {number}, restored")

            export = page.get_by_role("link", name="Export conversation").get_attribute("href")
            assert export.startswith(f"{server_url}/api/sessions/")
            page.route(export, without_csp)
            page.goto(export)  # the printable transcript, server-rendered HTML, without its CSP
            turns = page.locator("p.you").evaluate_all("els => els.map(e => e.textContent)")
            assert turns == [f"You: {html_text(p.text)}" for p in group]
            assert set(light_dom(page)) <= EXPORT_TAGS, set(light_dom(page)) - EXPORT_TAGS
            watch.assert_clean(f"typed messages {number}, exported")
        finally:
            page.context.close()
    record("user messages", len(PAYLOADS), 3, 0)  # bubble, restored bubble, export page (without its CSP)


def echo_reply(text: str, sender: str) -> list[dict]:
    """A REST channel reply with the text in every field the widget renders."""
    citation = {"doc_id": text, "start": 0, "end": 5}
    return [{"recipient_id": sender, "text": text, "buttons": [{"title": text, "payload": text}], "custom": {
        "intent": text, "message_id": text,
        "citations": [{"doc_id": text, "title": text, "publisher": text, "section": text, "quote": text, "url": text,
                       "last_reviewed": text, "last_updated": text, "retrieved": text, "date_note": text,
                       "start": 0, "end": 5}],
        "trials": [{"title": text, "status": text, "group": text, "cancer_types": [text], "phases": [text],
                    "countries": [text], "eligibility": text, "sites": [{"name": text, "city": text, "country": text}],
                    "contacts": [{"name": text, "phone": text, "email": text}], "nct_id": text,
                    "registry_status": text, "url": text, "citation": citation}],
        "organisations": [{"name": text, "kind": text, "country": text, "cancer_sites": [text], "contact": text,
                           "website": text, "citation": citation}]}}]


def fields_holding(value, text: str) -> int:
    if isinstance(value, dict):
        return sum(fields_holding(v, text) for v in value.values())
    if isinstance(value, list):
        return sum(fields_holding(v, text) for v in value)
    return int(value == text)


RENDERED = """m => {
  const all = (s) => Array.from(m.querySelectorAll(s), e => e.textContent);
  const attr = (s, a) => Array.from(m.querySelectorAll(s), e => e.getAttribute(a));
  return {text: all(":scope > .text"), quick: all(".quick-reply"), title: all(".source-title"),
          publisher: all(".source-publisher"), meta: all(".source .meta"), quote: all(".quote"),
          cardTitle: all(".card-title"), badge: all(".badge"), status: attr(".badge[data-status]", "data-status"),
          facts: all(".facts dd"), links: attr("a", "href"), labels: attr("a[aria-label]", "aria-label")};
}"""


def expected_rendering(text: str, server_url: str) -> dict:
    passage = f"{server_url}/documents/{component(text)}?start=0&end=5#passage"
    capital = text[:1].upper() + text[1:]
    shown = re.sub(r"\[1\]", "1", text)  # [1] is a citation marker: it becomes a button labelled 1
    return {"text": [shown], "quick": [text], "title": [text], "publisher": [text],
            "meta": [f"Section: {text}", f"Last reviewed {text}", f"Record last updated {text}", f"Retrieved {text}",
                     text], "quote": [text], "cardTitle": [text, text],
            "badge": [capital, capital], "status": [text],
            "facts": [text] * 5 + [f"{text}, {text}, {text}"] * 2 + [f"{text}, {text.replace('_', ' ').lower()}"]
                     + [text] * 4,
            "links": [passage] * 3, "labels": [f"Source for {text}"] * 2}


def test_payloads_in_every_reply_field_never_run(browser, host_site, server_url):
    """Every payload echoed back as every field of a reply (page.route): rendered as text, also after a reload."""
    fields = fields_holding(echo_reply("\x01", "s"), "\x01")  # reply fields set to the payload
    sinks = sum(len(places) for places in expected_rendering("\x01", server_url).values()) + 1  # shown, + the bubble
    for number, group in enumerate(chunks(PAYLOADS)):
        page, watch, widget, _url = embedded(browser, host_site, server_url, f"xss-echo-{number}")
        host_elements = light_dom(page)

        def echo(route):
            body = route.request.post_data_json
            route.fulfill(status=200, json=echo_reply(body["message"], body["sender"]),
                          headers={"Access-Control-Allow-Origin": route.request.headers.get("origin", "*")})

        page.route(f"**{WEBHOOK}", echo)
        try:
            for payload in group:
                widget.ask(payload.text)
            expected = [expected_rendering(p.text, server_url) for p in group]

            def compare(where: str) -> None:
                rendered = widget.answers.evaluate_all(f"ms => ms.map({RENDERED})")
                for payload, got, want in zip(group, rendered, expected, strict=True):
                    assert got == want, f"{where}: line {payload.line} rendered as {got}"
                shown = widget.questions.locator(".text").evaluate_all("els => els.map(e => e.textContent)")
                assert shown == [p.text for p in group]
                check_widget(page, watch, host_elements, where)

            compare(f"echoed replies {number}")
            page.locator(".source summary").evaluate_all("els => els.forEach(e => e.click())")  # open every card
            expect(page.locator(".source details[open]")).to_have_count(len(group))
            check_widget(page, watch, host_elements, f"echoed replies {number}, cards open")
            page.reload()
            expect(widget.answers).to_have_count(len(group))
            compare(f"echoed replies {number}, restored")
        finally:
            page.context.close()
    print(f"\n{fields} reply fields carried each payload, shown in {sinks - 1} places")
    record("reply fields", len(PAYLOADS), sinks, 0)


# ---------- a hostile document in a real index ----------

DOC_ID = "test-xss-corpus-zorblax"
TOPICS = ["symptoms", "diagnosis", "treatment", "outlook", "causes", "support", "research", "staging", "tests",
          "side effects", "follow-up care", "clinical trials", "diet", "children", "pain", "fatigue", "travel",
          "work", "family", "sleep"]
FRONT = {  # front matter fields that are shown, each with its own marker number
    "title": "Zorblax fever <img src=x onerror=__xss(9001)> guide",
    "publisher": "Zorblax Society \"><svg onload=__xss(9002)>",
    "licence": "CC BY 4.0 <script>__xss(9003)</script>",
    "attribution": "Zorblax Society</footer><iframe srcdoc=\"<script>parent.__xss(9004)</script>\">",
    "url": "https://example.org/zorblax?\"><svg/onload=__xss(9005)>",
}


def hostile_document() -> tuple[str, dict[int, str]]:
    """The document's Markdown, and each payload's paragraph (sentence) by line number."""
    front = "\n".join(f"{key}: {json.dumps(value)}" for key, value in FRONT.items())
    parts = [f"---\nid: {DOC_ID}\n{front}\nlanguage: en\nlast_reviewed: 2024-05-31\n---\n# Zorblax fever\n"]
    sentences = {}
    for index, group in enumerate(chunks(PAYLOADS, 9)):
        topic = TOPICS[index % len(TOPICS)]
        parts.append(f"\n## Zorblax fever {topic}\n")
        for payload in group:
            sentence = f"Zorblax fever {topic} note {payload.line} reads {payload.text} and nothing more."
            sentences[payload.line] = sentence
            parts.append(f"\n{sentence}\n")
    return "".join(parts), sentences


@pytest.fixture(scope="module")
def corpus_server(real_index_dir, tmp_path_factory, host_site):
    """A server whose index adds one document made of the corpus (front matter included)."""
    markdown, _ = hostile_document()
    work = tmp_path_factory.mktemp("xss-corpus")
    _, index_dir = index_with_documents(real_index_dir, work, {f"{DOC_ID}.md": markdown})
    with running_server(index_dir, work, workers=1, RCA_CORS_ORIGINS=host_site.origin) as (url, _process):
        yield url


def document_text(page: Page, server_url: str) -> str:
    return page.request.get(f"{server_url}/api/documents/{DOC_ID}").json()["text"]


def search_api(page: Page, server_url: str, query: str) -> list[dict]:
    """The search API's results for a query, in rank order (as the reference page asks for them)."""
    return page.request.get(f"{server_url}/api/search?q={url_quote(query)}&k=20").json()["results"]


def passages(page: Page, server_url: str, queries: list[str]) -> list[dict]:
    """The hostile document's passages the search API returns for the queries, each once."""
    found: dict[tuple[int, int], dict] = {}
    for query in queries:
        for result in search_api(page, server_url, query):
            if result["doc_id"] == DOC_ID:
                found.setdefault((result["start"], result["end"]), result)
    return sorted(found.values(), key=lambda r: r["start"])


def topic_queries() -> list[str]:
    used = TOPICS[:len(chunks(PAYLOADS, 9))]
    return [f"zorblax fever {topic} note" for topic in used]


DOCUMENT_TAGS = ["HTML", "HEAD", "META", "META", "TITLE", "LINK", "BODY", "HEADER", "H1", "P", "SPAN", "P", "A",
                 "MAIN", "FOOTER", "P", "P"]  # the SPAN: "Last reviewed 31 May 2024"
HIGHLIGHTED_TAGS = DOCUMENT_TAGS[:13] + ["P", "A", "MAIN", "MARK"] + DOCUMENT_TAGS[14:]  # + the hint, the mark
DOCUMENT_VIEW = """() => [document.querySelector("mark#passage")?.textContent ?? null,
  document.querySelector("main.document-text").textContent,
  Array.from(document.querySelectorAll("*"), e => e.tagName)]"""


def test_document_page_shows_the_payloads_as_text(page, host_site, corpus_server):
    doc_url = f"{corpus_server}/documents/{DOC_ID}"
    watch = Watch(page, (doc_url, f"{corpus_server}/static/pages.css", f"{host_site.origin}/frames-"))
    response = page.goto(doc_url)
    assert response.headers["content-security-policy"].startswith("default-src 'none'")  # as served: no script at all
    text = document_text(page, corpus_server)
    markdown, sentences = hostile_document()
    assert text == markdown.split("---\n", 2)[2]
    assert page.locator("main.document-text").text_content() == html_text(text)
    expect(page.locator("h1")).to_have_text(FRONT["title"])
    expect(page).to_have_title(FRONT["title"])
    expect(page.locator("header .source").first).to_contain_text(FRONT["publisher"])
    expect(page.locator("header a")).to_have_attribute("href", FRONT["url"])
    expect(page.locator("footer")).to_contain_text(FRONT["licence"])
    expect(page.locator("footer")).to_contain_text(FRONT["attribution"])
    assert light_dom(page) == DOCUMENT_TAGS
    watch.assert_clean("document page")

    found = passages(page, corpus_server, topic_queries())  # the index's own passages, as citations link them
    ranges = [(0, len(text))] + [(r["start"], r["end"]) for r in found]
    for start, end in ranges:
        page.goto(f"{doc_url}?start={start}&end={end}#passage")
        mark, main, tags = page.evaluate(DOCUMENT_VIEW)
        assert (mark, main, tags) == (html_text(text[start:end]), html_text(text), HIGHLIGHTED_TAGS), (start, end)
    watch.assert_clean("document page, passages highlighted")
    covered = {p.line for p in PAYLOADS if any(p.text in r["quote"] for r in found)}
    assert covered == {p.line for p in PAYLOADS}
    print(f"\nthe index cut the document into {len(found)} passages, holding all {len(covered)} payloads")

    # Without the page's CSP, so escaping alone must hold, many highlights at once (frames of one host
    # page): for each payload, a cut from its middle to the middle of the next one, so the mark starts
    # and ends inside markup; and the whole page without a highlight.
    page.route(lambda url: url.startswith(f"{doc_url}?"), without_csp)
    spans = [(text.index(p.text, text.index(sentences[p.line])), len(p.text)) for p in PAYLOADS]
    ranges = [(at + length // 2, following + following_length // 2)
              for (at, length), (following, following_length) in zip(spans, spans[1:] + [(len(text) - 2, 2)])]
    for number, group in enumerate(chunks(ranges, FRAMES_PER_PAGE)):
        frames = "".join(f"<iframe name='{start}-{end}' src='{doc_url}?start={start}&amp;end={end}'></iframe>"
                         for start, end in group)
        whole = f"<iframe name='whole' src='{doc_url}?start=&amp;end='></iframe>"  # no highlight
        host_site.pages[f"/frames-{number}.html"] = f"<!doctype html><html><body>{whole}{frames}</body></html>"
        page.goto(f"{host_site.origin}/frames-{number}.html", timeout=120_000)
        views = {frame.name: frame.evaluate(DOCUMENT_VIEW) for frame in page.frames if frame != page.main_frame}
        assert views.pop("whole") == [None, html_text(text), DOCUMENT_TAGS]
        shown = page.frame(name="whole").evaluate("""() => [document.title, document.querySelector("h1").textContent,
            document.querySelector("header .source").textContent, document.querySelector("header a").href,
            document.querySelector("footer").textContent]""")
        assert shown[:2] == [FRONT["title"]] * 2 and shown[2].startswith(FRONT["publisher"] + " \u00b7 Last reviewed")
        assert shown[3] == "https://example.org/zorblax?%22%3E%3Csvg/onload=__xss(9005)%3E"
        assert FRONT["licence"] in shown[4] and FRONT["attribution"] in shown[4]
        for start, end in group:
            mark, main, tags = views[f"{start}-{end}"]
            assert (mark, main, tags) == (html_text(text[start:end]), html_text(text), HIGHLIGHTED_TAGS), (start, end)
        watch.assert_clean(f"document page without its CSP, frames {number}")
    # the whole page and its passages highlighted (as served); the whole page and cut highlights (without the CSP)
    record("document page", len(PAYLOADS), 4, 0)


def shown_text(message: dict) -> str:
    """A reply's text as the widget shows it: a marker [n] of one of its citations becomes a button labelled n."""
    count = len(message.get("custom", {}).get("citations", []))
    return re.sub(r"\[(\d{1,3})\]", lambda m: m.group(1) if 1 <= int(m.group(1)) <= count else m.group(0),
                  message["text"])


def test_widget_citing_the_document_shows_the_payloads_as_text(browser, host_site, corpus_server):
    page, watch, widget, _url = embedded(browser, host_site, corpus_server, "xss-cited")
    host_elements = light_dom(page)
    cited: dict[tuple[int, int], str] = {}
    replies: list[dict] = []

    def ask(question: str) -> None:
        _, reply = widget.ask(question)
        replies.extend(reply)
        for message in reply:
            for citation in message.get("custom", {}).get("citations", []):
                if citation["doc_id"] == DOC_ID:
                    cited[(citation["start"], citation["end"])] = citation["quote"]

    try:
        for query in topic_queries():
            ask(f"What about {query}?")
        for passage in passages(page, corpus_server, topic_queries()):  # then each passage not cited yet
            if (passage["start"], passage["end"]) not in cited:
                ask(f"What does {passage['quote'].split(' reads ')[0].lower()} say?")
        assert cited, "the questions retrieve the hostile document"
        texts = widget.answers.evaluate_all("ms => ms.map(m => m.querySelector(':scope > .text')?.textContent ?? null)")
        assert texts == [shown_text(m) if m.get("text") else None for m in replies]  # answers quoting the payloads
        summaries = page.locator(".source summary")
        summaries.evaluate_all("els => els.forEach(e => e.click())")  # open every source card
        expect(page.locator(".source details[open]")).to_have_count(summaries.count())
        cards = page.locator(".source").filter(has_text=FRONT["title"])
        shown = cards.evaluate_all("""cs => cs.map(c => [c.querySelector('.source-title').textContent,
            c.querySelector('.source-publisher').textContent, c.querySelector('.quote').textContent])""")
        assert {quote for _title, _publisher, quote in shown} == set(cited.values())
        assert all(title == FRONT["title"] and publisher == FRONT["publisher"] for title, publisher, _ in shown)
        original = cards.first.get_by_role("link", name="Original page").get_attribute("href")
        assert original == "https://example.org/zorblax?%22%3E%3Csvg/onload=__xss(9005)%3E"
        check_widget(page, watch, host_elements, "cited document")
        page.reload()
        expect(page.locator(".source")).to_have_count(summaries.count())
        check_widget(page, watch, host_elements, "cited document, restored")
        covered = {p.line for p in PAYLOADS if any(p.text in quote for quote in cited.values())}
    finally:
        page.context.close()
    print(f"\nthe widget cited {len(cited)} passages of the document in {len(replies)} replies, "
          f"holding {len(covered)} of {len(PAYLOADS)} payloads")
    assert len(covered) >= len(PAYLOADS) * 3 // 4
    record("widget citations", len(covered), 4, 0)  # answer text, card title/publisher, quote, restored


REFERENCE_VIEW = """() => [document.getElementById("q").value, document.getElementById("q").getAttribute("value"),
  document.title, document.getElementById("status").textContent,
  Array.from(document.querySelectorAll("*"), e => e.tagName)]"""


def test_reference_search_shows_the_payloads_as_text(page, host_site, corpus_server):
    reference = f"{corpus_server}/reference"
    assert "script-src 'self'" in page.request.get(reference).headers["content-security-policy"]
    page.route(lambda url: url.startswith(reference), without_csp)  # escaping alone must keep the page safe
    watch = Watch(page, (reference, f"{corpus_server}/static/", f"{corpus_server}/api/",
                         f"{host_site.origin}/queries-"))
    page.goto(reference)
    box = page.get_by_role("searchbox", name="Search the documents")
    items = page.locator("#results > li")
    tags = set(light_dom(page))
    seen: set[int] = set()
    for query in topic_queries():  # real searches: the document's passages as results
        box.fill(query)
        box.press("Enter")
        expect(page.locator("#status")).to_have_text(re.compile(r"^\d+ passages? from \d+ documents?"))
        expected = [r for r in search_api(page, corpus_server, query) if r["doc_id"] == DOC_ID]
        assert expected
        hostile = page.locator(f"#results > li[data-doc='{DOC_ID}']")
        expect(hostile.locator(".publisher")).to_have_text([FRONT["publisher"]] * len(expected))  # fetched per doc
        expect(hostile.locator(".result-title")).to_have_text([FRONT["title"]] * len(expected))
        quotes = hostile.locator("blockquote.quote").evaluate_all("qs => qs.map(q => q.textContent)")
        assert quotes == [r["quote"] for r in expected]
        marks = hostile.locator("mark").evaluate_all("ms => ms.map(m => m.textContent)")
        assert all(any(mark in q for q in quotes) for mark in marks)
        hrefs = page.locator("#results a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert all(h.startswith(("/documents/", "https://", "http://")) for h in hrefs), hrefs
        assert hostile.locator("a.source-link").first.get_attribute("href") == \
            "https://example.org/zorblax?%22%3E%3Csvg/onload=__xss(9005)%3E"
        seen |= {p.line for p in PAYLOADS if any(p.text in q for q in quotes)}
        watch.assert_clean(f"reference search {query!r}")
    assert seen == {p.line for p in PAYLOADS}
    print(f"\nthe reference page showed all {len(seen)} payloads in real search results")

    # every payload as every field of a search result
    hostile_results = [{"doc_id": p.text, "title": p.text, "url": p.text, "section": p.text, "publisher": p.text,
                        "last_reviewed": p.text, "last_updated": p.text, "retrieved": p.text, "date_note": p.text,
                        "quote": p.text, "start": 0, "end": len(p.text), "score": 1.0,
                        "confidence": 0.9} for p in PAYLOADS]
    page.route("**/api/search?*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"query": "q", "results": hostile_results})))
    box.fill("zorblax echoed")
    box.press("Enter")
    expect(items).to_have_count(len(PAYLOADS))
    expect(items.locator(".dated")).to_have_text([f"{label} {p.text}" for p in PAYLOADS
                                                  for label in ("Last reviewed", "Record last updated", "Retrieved")])
    assert items.locator(".date-note").evaluate_all("ns => ns.map(n => n.textContent)") == [p.text for p in PAYLOADS]
    shown = items.evaluate_all("""items => items.map(i => [i.dataset.doc, i.querySelector('.result-title').textContent,
        i.querySelector('.publisher').textContent, i.querySelector('.section').textContent,
        i.querySelector('blockquote.quote').textContent])""")
    assert shown == [[p.text] * 5 for p in PAYLOADS]
    options = page.locator("#doc-filter option").all_text_contents()[1:]
    assert sorted(options) == sorted(f"{p.text} (1)" for p in PAYLOADS)
    hrefs = page.locator("#results a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert hrefs == [f"/documents/{component(p.text)}?start=0&end={len(p.text)}#passage" for p in PAYLOADS]
    assert set(light_dom(page)) <= tags | {"LI", "ARTICLE", "H3", "SPAN", "BLOCKQUOTE", "MARK", "DIV", "BUTTON", "A",
                                           "OPTION"}
    watch.assert_clean("reference page, echoed results")

    # every payload as the query of a linked search (?q=): the server puts it in the title and the search box
    page.unroute("**/api/search?*")
    page.route("**/api/search?*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"query": "q", "results": []})))
    for number, group in enumerate(chunks(PAYLOADS, FRAMES_PER_PAGE)):
        frames = "".join(f"<iframe name='q{p.line}' src='{reference}?q={url_quote(p.text, safe='')}'></iframe>"
                         for p in [Payload(0, "zorblax"), *group])  # a harmless query first: the page's shape
        host_site.pages[f"/queries-{number}.html"] = f"<!doctype html><html><body>{frames}</body></html>"
        page.goto(f"{host_site.origin}/queries-{number}.html", timeout=120_000)
        frames_by_name = {frame.name: frame for frame in page.frames}
        expect(frames_by_name["q0"].locator("#status")).to_contain_text("No passages found")
        harmless_tags = frames_by_name["q0"].evaluate(REFERENCE_VIEW)[-1]
        for payload in group:
            frame = frames_by_name[f"q{payload.line}"]
            expect(frame.locator("#status")).to_contain_text("No passages found")
            value, attribute, title, status, frame_tags = frame.evaluate(REFERENCE_VIEW)
            assert value == payload.text and attribute == payload.text.replace("\x00", "\ufffd"), payload.line
            # (Chromium shows a control character in a title as a space)
            assert title == f"{payload.text.replace(chr(0), ' ')} \u00b7 Rare cancer reference", payload.line
            assert status == (f"No passages found for \u201c{payload.text}\u201d. Try fewer or different words, "
                              "or the cancer\u2019s name."), payload.line
            assert frame_tags == harmless_tags, payload.line
        watch.assert_clean(f"reference page, linked searches {number}")
    # results: doc id, title, publisher, date, section, quote, filter option; queries: box, title, status
    record("reference page", len(PAYLOADS), 10, 0)
