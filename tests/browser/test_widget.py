"""The chat widget in Chromium: embedded with its one tag in a page on another origin, as a real site would.

Every wait is explicit (expect/wait_for); answers come from the real server and index. The autouse
fixture below fails any test whose page raised a script error or opened a dialog.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest
from playwright.sync_api import Page, expect
from browsing import ANSWER_MS, HOST_BODY, WEBHOOK, Widget, embed
from serving import ROOT, index_with_documents, running_server

MERKEL = "What is Merkel cell carcinoma?"


def store_key(server_url: str) -> str:
    return f"rca-widget:v1:{server_url}"


def saved(page: Page, server_url: str) -> dict:
    return json.loads(page.evaluate("key => localStorage.getItem(key)", store_key(server_url)) or "null")


def focused(locator) -> bool:
    """Whether one of the elements is focused (inside the widget's shadow root)."""
    return locator.evaluate_all("els => els.some(e => e.getRootNode().activeElement === e)")


def tab_until(page: Page, locator, key: str = "Tab", limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(locator):
            return
    raise AssertionError(f"{key} never reached {locator}")


@pytest.fixture(autouse=True)
def _page_stays_clean(page):
    yield
    assert page.errors == [], f"script errors: {page.errors}"
    assert page.dialogs == [], f"dialogs opened: {page.dialogs}"


def test_demo_page_embeds_a_working_widget_under_its_strict_policy(page, server_url, screenshot):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server_url + "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="reference search")).to_have_attribute("href", "/reference")
    widget = Widget(page)
    widget.open()
    expect(widget.panel).to_contain_text("not medical advice")
    expect(widget.panel).to_contain_text("emergency")
    messages, reply = widget.ask("hello")
    expect(messages[0].locator(".quick-reply")).to_have_count(len(reply[0]["buttons"]))
    assert violations == []
    path = screenshot(page, "demo")
    shutil.copy(path, ROOT / "docs" / "screenshots" / "widget.png")


def test_answer_shows_numbered_citation_cards(page, host_site, server_url, screenshot):
    widget = embed(page, host_site, server_url, "cited")
    widget.open()
    messages, reply = widget.ask(MERKEL)
    answer = messages[0]
    citations = reply[0]["custom"]["citations"]
    expect(answer.locator(".text")).to_contain_text("Merkel cell carcinoma")
    cards = answer.locator(".source")
    expect(cards).to_have_count(len(citations))
    for number, (card, citation) in enumerate(zip(cards.all(), citations), start=1):
        expect(card.locator(".num")).to_have_text(str(number))
        expect(card.locator("summary")).to_contain_text(citation["title"])
        expect(card.locator("summary")).to_contain_text(citation["publisher"])
    # a marker in the text opens its card and moves focus to it
    answer.get_by_role("button", name="Show source 1").click()
    first = cards.first
    expect(first.locator("details")).to_have_attribute("open", "")
    expect(first.locator("summary")).to_be_focused()
    expect(first.locator(".quote")).to_have_text(citations[0]["quote"])
    for key, label in (("last_reviewed", "Last reviewed"), ("last_updated", "Record last updated"),
                       ("retrieved", "Retrieved")):  # each date the citation gives, under its own label
        if citations[0][key]:
            expect(first).to_contain_text(label + " ")
        else:
            expect(first).not_to_contain_text(label)
    if citations[0]["date_note"]:  # else tests/browser/test_source_dates.py shows one
        expect(first.get_by_role("link", name="Check the publisher's current page")).to_have_attribute(
            "href", citations[0]["url"])
    passage = first.get_by_role("link", name="Open the passage")
    expect(passage).to_have_attribute("href", f"{server_url}/documents/{citations[0]['doc_id']}"
                                              f"?start={citations[0]['start']}&end={citations[0]['end']}#passage")
    expect(passage).to_have_attribute("target", "_blank")
    expect(passage).to_have_attribute("rel", "noopener noreferrer")
    answer.evaluate("e => e.scrollIntoView({block: 'start'})")
    assert widget.panel.evaluate("e => e.scrollTop") == 0
    shutil.copy(screenshot(widget.panel, "panel"), ROOT / "docs" / "screenshots" / "cited-answer.png")


def test_citation_link_opens_the_highlighted_passage(page, host_site, server_url):
    widget = embed(page, host_site, server_url, "passage")
    widget.open()
    messages, reply = widget.ask(MERKEL)
    citation = reply[0]["custom"]["citations"][0]
    card = messages[0].locator(".source").first
    card.locator("summary").click()
    with page.context.expect_page() as new_tab:
        card.get_by_role("link", name="Open the passage").click()
    document = new_tab.value
    document.wait_for_load_state()
    assert document.url.startswith(f"{server_url}/documents/{citation['doc_id']}?")
    mark = document.locator("mark#passage")
    expect(mark).to_be_visible()
    assert mark.text_content() == citation["quote"]
    assert page.url.startswith(host_site.origin)  # the conversation stays where it was


def test_quick_replies_send_their_payload(page, host_site, server_url, screenshot):
    widget = embed(page, host_site, server_url, "quick")
    widget.open()
    messages, reply = widget.ask("hello")
    buttons = reply[0]["buttons"]
    assert buttons, "the greeting offers quick replies"
    replies = messages[0].locator(".quick-reply")
    expect(replies).to_have_text([b["title"] for b in buttons])
    before = widget.answers.count()
    with page.expect_request(lambda r: r.url.endswith(WEBHOOK) and r.method == "POST") as sent:
        replies.first.click()
    assert sent.value.post_data_json["message"] == buttons[0]["payload"]
    expect(widget.questions.last).to_have_text(f"You said: {buttons[0]['title']}")
    expect(widget.answers).not_to_have_count(before, timeout=ANSWER_MS)
    expect(widget.answers.last.locator(".text")).not_to_be_empty()
    screenshot(widget.panel, "answer")


def test_conversation_and_open_panel_survive_a_reload(page, host_site, server_url):
    widget = embed(page, host_site, server_url, "reload")
    widget.open()
    widget.ask(MERKEL)
    widget.ask("hello")
    texts = widget.messages.all_inner_texts()
    session = saved(page, server_url)["sessionId"]
    page.reload()
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.messages).to_have_count(len(texts))
    assert widget.messages.all_inner_texts() == texts
    assert saved(page, server_url)["sessionId"] == session
    widget.page.get_by_role("button", name="Close the chat").click()
    page.reload()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    expect(widget.panel).to_be_hidden()


def test_typed_markup_is_shown_as_text_and_never_runs(page, host_site, server_url):
    widget = embed(page, host_site, server_url, "xss-typed")
    widget.open()
    payloads = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>",
                "<svg onload=\"window.rcaPwned=1\"></svg> [1] \"><b>bold</b>"]
    for payload in payloads:
        widget.ask(payload)
        expect(widget.questions.last.locator(".text")).to_have_text(payload)
    log = page.get_by_role("log")
    for tag in ("img", "script", "b", "svg:not(.icon)"):
        expect(log.locator(tag)).to_have_count(0)
    assert page.evaluate("window.rcaPwned") is None
    assert page.evaluate("typeof window.rcaPwned") == "undefined"


HOSTILE_DOC = """---
id: test-zorblax-fever
title: "Zorblax fever <b>guide</b>"
publisher: "Zorblax Society <img src=x onerror=alert(5)>"
language: en
licence: CC BY 4.0
last_reviewed: 2024-05-31
url: https://example.org/zorblax
---
# Zorblax fever

## What is zorblax fever

Zorblax fever is an invented rare condition <script>alert(1)</script> used only to test the chat widget. Zorblax fever <img src=x onerror=alert(2)> never harms anyone.

Zorblax fever is treated with rest and plenty of water, according to the invented Zorblax Society.
"""


@pytest.fixture(scope="module")
def hostile_server(real_index_dir, tmp_path_factory, host_site):
    """A second server whose index holds a document with markup in its text, title and publisher."""
    work = tmp_path_factory.mktemp("hostile")
    _, index_dir = index_with_documents(real_index_dir, work, {"test-zorblax-fever.md": HOSTILE_DOC})
    with running_server(index_dir, work, workers=1, RCA_CORS_ORIGINS=host_site.origin) as (url, _process):
        yield url


def test_markup_inside_an_indexed_document_is_shown_as_text(page, host_site, hostile_server):
    widget = embed(page, host_site, hostile_server, "xss-document")
    widget.open()
    messages, reply = widget.ask("What is zorblax fever?")
    citation = next(c for m in reply for c in m.get("custom", {}).get("citations", [])
                    if c["doc_id"] == "test-zorblax-fever")
    card = page.locator(".source").filter(has_text="Zorblax fever <b>guide</b>").first
    expect(card.locator("summary")).to_contain_text("Zorblax Society <img src=x onerror=alert(5)>")
    card.locator("summary").click()
    expect(card.locator(".quote")).to_have_text(citation["quote"])
    assert "<script>alert(1)</script>" in citation["quote"] or "<img src=x onerror=alert(2)>" in citation["quote"]
    log = page.get_by_role("log")
    for tag in ("img", "script", "b"):
        expect(log.locator(tag)).to_have_count(0)
    with page.context.expect_page() as new_tab:
        card.get_by_role("link", name="Open the passage").click()
    document = new_tab.value
    document_dialogs: list[str] = []
    document.on("dialog", lambda d: (document_dialogs.append(d.message), d.dismiss()))
    document.wait_for_load_state()
    expect(document.locator("mark#passage")).to_have_text(citation["quote"])
    expect(document.locator("main")).to_contain_text("<script>alert(1)</script>")
    expect(document.locator("main")).to_contain_text("<img src=x onerror=alert(2)>")
    expect(document.locator("h1")).to_have_text("Zorblax fever <b>guide</b>")
    expect(document.locator("body img, body script, h1 b")).to_have_count(0)
    assert document_dialogs == []


def test_keyboard_only_use(page, host_site, server_url):
    widget = embed(page, host_site, server_url, "keyboard")
    page.keyboard.press("Tab")
    expect(widget.launcher).to_be_focused()
    assert widget.launcher.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # a visible focus ring
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.input).to_be_focused()
    messages, _ = widget.ask(MERKEL, keyboard=True)
    expect(widget.questions.last).to_contain_text(MERKEL)
    summaries = messages[0].locator("summary")
    tab_until(page, summaries, "Shift+Tab")
    page.keyboard.press("Enter")
    expect(messages[0].locator("details[open]")).to_have_count(1)
    tab_until(page, widget.input)
    messages, reply = widget.ask("hello", keyboard=True)
    tab_until(page, messages[0].locator(".quick-reply"), "Shift+Tab")
    with page.expect_request(lambda r: r.url.endswith(WEBHOOK) and r.method == "POST") as sent:
        page.keyboard.press("Enter")
    assert sent.value.post_data_json["message"] in {b["payload"] for b in reply[0]["buttons"]}
    expect(widget.typing).to_be_hidden(timeout=ANSWER_MS)
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")


def test_trial_and_organisation_answers_show_cards(page, host_site, server_url, screenshot):
    widget = embed(page, host_site, server_url, "records")
    widget.open()
    messages, reply = widget.ask("trials for uterine sarcoma")
    trials = [t for m in reply for t in m["custom"]["trials"]]
    assert trials
    cards = page.locator(".card.trial")
    expect(cards).to_have_count(len(trials))
    listing = next(m for m, r in zip(messages, reply) if r["custom"]["trials"])
    lead = next(r["text"] for r in reply if r["custom"]["trials"]).split("\n")[0]
    expect(listing.locator(".text")).to_have_text(lead)  # the cards replace the reply's "- ..." list
    first = cards.first
    expect(first.locator(".card-title")).to_have_text(trials[0]["title"])
    expect(first.locator(".badge")).to_have_text(trials[0]["status"].capitalize())
    expect(first).to_contain_text(trials[0]["group"])
    source = trials[0]["citation"]
    expect(first.get_by_role("link", name=f"Source for {trials[0]['title']}")).to_have_attribute(
        "href", f"{server_url}/documents/{source['doc_id']}?start={source['start']}&end={source['end']}#passage")
    listing.evaluate("e => e.scrollIntoView({block: 'start'})")
    assert widget.panel.evaluate("e => e.scrollTop") == 0  # only the log scrolls, never the panel
    shutil.copy(screenshot(widget.panel, "trials"), ROOT / "docs" / "screenshots" / "trial-answer.png")

    messages, reply = widget.ask("support groups for sarcoma")
    organisations = [o for m in reply for o in m["custom"]["organisations"]]
    assert organisations
    cards = page.locator(".card.organisation")
    expect(cards).to_have_count(len(organisations))
    expect(cards.first.locator(".card-title")).to_have_text(organisations[0]["name"])
    expect(cards.first).to_contain_text(organisations[0]["country"])
    expect(cards.first.get_by_role("link", name=re.compile("^Source for "))).to_have_attribute(
        "href", re.compile(rf"^{re.escape(server_url)}/documents/{organisations[0]['citation']['doc_id']}\?start="))
    screenshot(widget.panel, "organisations")


def test_export_and_delete_the_conversation(page, host_site, server_url):
    widget = embed(page, host_site, server_url, "privacy")
    widget.open()
    widget.ask(MERKEL)
    export = page.get_by_role("link", name="Export conversation")
    export_url = export.get_attribute("href")
    session = saved(page, server_url)["sessionId"]
    assert export_url == f"{server_url}/api/sessions/{session}/export"
    with page.context.expect_page() as new_tab:
        export.click()
    transcript = new_tab.value
    transcript.wait_for_load_state()
    expect(transcript.locator("main")).to_contain_text(MERKEL)
    expect(transcript.locator("blockquote").first).to_be_visible()
    transcript.close()

    delete = page.get_by_role("button", name="Delete my conversation")
    delete.click()  # the confirmation is inside the widget; cancelling keeps everything
    confirm = page.get_by_role("group", name="Confirm deletion")
    expect(confirm).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(widget.questions).to_have_count(1)

    delete.click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        confirm.get_by_role("button", name="Delete", exact=True).click()
    assert deleted.value.ok and deleted.value.url == f"{server_url}/api/sessions/{session}"
    expect(page.locator(".notice.info")).to_contain_text("has been deleted")
    expect(widget.questions).to_have_count(0)
    expect(widget.answers).to_have_count(0)
    state = saved(page, server_url)
    assert state["entries"] == [] and state["sessionId"] != session
    assert "Merkel" not in json.dumps(state)
    assert page.request.get(export_url).status == 404
    page.reload()
    expect(widget.questions).to_have_count(0)
    expect(page.get_by_role("link", name="Export conversation")).to_be_hidden()  # nothing left to export


def test_feedback_thumbs_are_sent_and_stay_pressed(page, host_site, server_url):
    widget = embed(page, host_site, server_url, "feedback")
    widget.open()
    messages, reply = widget.ask(MERKEL)
    up = messages[0].get_by_role("button", name="Helpful", exact=True)
    down = messages[0].get_by_role("button", name="Not helpful")
    expect(up).to_have_attribute("aria-pressed", "false")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as sent:
        up.click()
    assert sent.value.ok
    assert sent.value.request.post_data_json == {"session_id": saved(page, server_url)["sessionId"],
                                                 "message_id": reply[0]["custom"]["message_id"], "rating": "up"}
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(down).to_have_attribute("aria-pressed", "false")
    expect(up).to_be_disabled()
    expect(down).to_be_disabled()
    expect(messages[0]).to_contain_text("Thank you for your feedback")
    page.reload()
    up = widget.answers.first.get_by_role("button", name="Helpful", exact=True)
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(up).to_be_disabled()


def test_small_screen_panel_fits_without_horizontal_scrolling(page, host_site, server_url, screenshot):
    page.set_viewport_size({"width": 375, "height": 740})
    widget = embed(page, host_site, server_url, "mobile")
    widget.open()
    box = widget.panel.bounding_box()
    assert box["x"] == 0 and box["width"] == 375
    messages, _ = widget.ask("trials for uterine sarcoma")
    widget.answers.first.locator("summary").first.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    log = page.get_by_role("log")
    assert log.evaluate("e => e.scrollWidth <= e.clientWidth")
    for part in (widget.input, page.get_by_role("button", name="Send"), page.get_by_role("button", name="Close the chat")):
        part_box = part.bounding_box()
        assert part_box["x"] >= 0 and part_box["x"] + part_box["width"] <= 375
    screenshot(page, "mobile")


HOSTILE_STYLES = """<style>
html { font-size: 40px; }
* { font-family: "DejaVu Serif", serif !important; color: rgb(200, 0, 0) !important; letter-spacing: 4px !important;
    line-height: 3 !important; text-transform: uppercase !important; box-sizing: content-box !important;
    background: yellow !important; --accent: red; }
p { color: rgb(10, 20, 30) !important; }
button { display: none !important; }
div { display: none !important; border: 5px solid red !important; }
</style>"""


def test_host_page_and_widget_styles_stay_apart(page, host_site, server_url):
    def host_style():
        return page.locator("#host-text").evaluate(
            "e => { const s = getComputedStyle(e); return [s.color, s.fontFamily, s.fontSize, s.lineHeight]; }")

    def globals_():
        return set(page.evaluate("Object.getOwnPropertyNames(window)"))

    host_site.pages["/plain.html"] = f"<!doctype html><html><head>{HOSTILE_STYLES}</head><body>{HOST_BODY}</body></html>"
    page.goto(f"{host_site.origin}/plain.html")
    without_widget, window_names = host_style(), globals_()
    sheets = page.evaluate("document.styleSheets.length")

    widget = embed(page, host_site, server_url, "styled", head=HOSTILE_STYLES)
    assert host_style() == without_widget  # the host page looks exactly as before
    assert globals_() == window_names  # and the widget added no global
    assert page.evaluate("document.styleSheets.length") == sheets  # nor any style to the page itself
    style = widget.launcher.evaluate("""e => { const s = getComputedStyle(e);
        return {font: s.fontFamily, size: s.fontSize, color: s.color, transform: s.textTransform,
                spacing: s.letterSpacing, display: s.display}; }""")
    assert style["font"].startswith("system-ui") and style["size"] == "15px" and style["color"] == "rgb(255, 255, 255)"
    assert style["transform"] == "none" and style["spacing"] == "normal" and style["display"] == "flex"
    widget.open()
    widget.ask(MERKEL)
    text = widget.answers.first.locator(".text").evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).fontSize]")
    assert text == ["rgb(29, 43, 54)", "15px"]
    assert host_style() == without_widget


def fulfil_json(route, body, status=200, headers=None):
    origin = route.request.headers.get("origin", "*")
    route.fulfill(status=status, json=body, headers={"Access-Control-Allow-Origin": origin, **(headers or {})})


def test_errors_keep_the_typed_text_and_say_what_to_do(page, host_site, server_url):
    widget = embed(page, host_site, server_url, "errors")
    widget.open()
    expect(widget.input).to_have_attribute("maxlength", "1000")
    page.keyboard.insert_text("x" * 1200)
    assert len(widget.input.input_value()) == 1000
    widget.input.fill("")

    # the real server's 429: Retry-After is not readable cross-origin, the message says the same
    page.route(f"**{WEBHOOK}", lambda route: fulfil_json(route, {"error": {
        "code": "rate_limited", "message": "Too many requests. Please wait 7 seconds and try again."}},
        status=429, headers={"Retry-After": "7"}))
    widget.input.fill("What is thymoma?")
    widget.input.press("Enter")
    expect(page.locator(".notice.error")).to_have_text("Too many messages. Please wait 7 seconds and try again.")
    expect(widget.input).to_have_value("What is thymoma?")
    expect(widget.questions.last).to_contain_text("Not sent")

    page.unroute(f"**{WEBHOOK}")
    page.route(f"**{WEBHOOK}", lambda route: route.abort())
    widget.input.press("Enter")
    expect(page.locator(".notice.error").last).to_contain_text("couldn't reach the assistant")
    expect(widget.input).to_have_value("What is thymoma?")
    assert saved(page, server_url) is None or saved(page, server_url)["entries"] == []

    page.unroute(f"**{WEBHOOK}")
    widget.ask("What is thymoma?")  # the server is back: the same text goes through
    expect(widget.input).to_have_value("")


def test_plain_rasa_replies_and_hostile_fields(page, host_site, server_url):
    documents = "http://127.0.0.1:9/project"
    widget = embed(page, host_site, server_url, "rasa", documents=documents)
    reply = [
        {"recipient_id": "x", "text": "A plain Rasa reply [1]."},
        {"recipient_id": "x", "text": "See [1] and [7].", "custom": {
            "intent": "ask_question", "message_id": "m1",
            "citations": [{"doc_id": "doc-1", "title": "T", "url": "javascript:alert(1)", "publisher": "P",
                           "quote": "Q", "start": 0, "end": 5, "last_reviewed": "2024-05-31"}],
            "trials": [{"title": "Trial X", "status": "recruiting", "url": "javascript:alert(2)",
                        "citation": {"doc_id": "d\"><script>alert(3)</script>", "start": 1, "end": 2},
                        "contacts": [{"name": "Dr Who", "email": "who@example.org"}]}],
            "organisations": [{"name": "Org Y", "website": "javascript:alert(4)"},
                              {"name": "Org Z", "website": "www.example.org", "citation": None}]}},
    ]
    page.route(f"**{WEBHOOK}", lambda route: fulfil_json(route, reply))
    widget.open()
    messages, _ = widget.ask("anything")
    expect(messages[0].locator(".text")).to_have_text("A plain Rasa reply [1].")  # no citations: [1] stays text
    expect(messages[0].locator(".feedback, .source, .ref")).to_have_count(0)
    expect(messages[1].locator(".ref")).to_have_count(1)  # [7] has no source: it stays text
    expect(messages[1].locator(".text")).to_contain_text("[7]")
    links = page.locator(".log a")
    hrefs = links.evaluate_all("els => els.map(a => a.href)")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert f"{documents}/documents/doc-1?start=0&end=5#passage" in hrefs
    assert f"{documents}/documents/d%22%3E%3Cscript%3Ealert(3)%3C%2Fscript%3E?start=1&end=2#passage" in hrefs
    assert "https://www.example.org/" in hrefs
    expect(page.locator(".card.organisation").first).to_contain_text("javascript:alert(4)")  # as text
    expect(page.locator(".card.trial")).to_contain_text("Dr Who, who@example.org")
    expect(page.get_by_role("link", name="Export conversation")).to_have_attribute(
        "href", re.compile(rf"^{re.escape(documents)}/api/sessions/[A-Za-z0-9]{{24}}/export$"))
    expect(page.get_by_role("log").locator("script")).to_have_count(0)
