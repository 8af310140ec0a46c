"""The chat widget in Chromium against the real Rasa server: `data-server` is Rasa's REST channel,
`data-documents` the project server (documents, export, delete, feedback)."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from rasa_stack import ROOT, WEBHOOK

ANSWER_MS = 60_000
SCREENSHOTS = ROOT / "var" / "test-artifacts" / "screenshots"


def embed(page, host_site, stack, name: str):
    host_site.pages[f"/{name}.html"] = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{name}</title></head>"
        f"<body><main><h1>A hospital's page</h1></main>"
        f"<script src='{stack.project}/widget.js' data-server='{stack.rasa}' data-documents='{stack.project}'></script>"
        f"</body></html>")
    page.goto(f"{host_site.origin}/{name}.html")
    launcher = page.get_by_role("button", name="Ask about rare cancers")
    launcher.click()
    expect(page.get_by_role("dialog", name="Rare Cancer Assistant chat")).to_be_visible()


def ask(page, stack, text: str | None = None, click=None):
    """Sends text (or clicks a quick reply); returns the REST reply, checked to come from Rasa."""
    answers = page.locator(".msg.bot:not(.intro)")
    before = answers.count()
    with page.expect_response(lambda r: r.url.endswith(WEBHOOK) and r.request.method == "POST",
                              timeout=ANSWER_MS) as response:
        if click is not None:
            click.click()
        else:
            box = page.get_by_role("textbox", name="Your message")
            box.fill(text)
            box.press("Enter")
    assert response.value.url == stack.rasa + WEBHOOK
    reply = response.value.json()
    shown = sum(1 for item in reply if item.get("text") or item.get("buttons"))  # custom-only items fold in
    expect(answers).to_have_count(before + shown, timeout=ANSWER_MS)
    expect(page.locator(".typing")).to_be_hidden()
    return reply, [answers.nth(before + i) for i in range(shown)]


def test_widget_talks_to_rasa_and_links_sources_to_the_project_server(page, host_site, stack):
    embed(page, host_site, stack, "rasa-widget")
    # a Rasa form (a new conversation, so no cancer type yet): its question's quick replies, then trial cards
    reply, messages = ask(page, stack, "I'd like to find a clinical trial")
    sarcoma = messages[-1].get_by_role("button", name="Sarcoma")
    expect(sarcoma).to_be_visible()
    reply, messages = ask(page, stack, click=sarcoma)
    trials = [t for item in reply for t in (item.get("custom") or {}).get("trials", [])]
    assert trials
    expect(page.locator(".card.trial")).to_have_count(len(trials))

    # a cited answer: Rasa sends its text and its custom payload as two items, the widget shows one message
    reply, messages = ask(page, stack, "How is penile cancer diagnosed?")
    citations = [c for item in reply for c in (item.get("custom") or {}).get("citations", [])]
    assert citations and citations[0]["doc_id"] == "nci-penile-cancer"
    answer = messages[0]
    expect(answer.locator(".source")).to_have_count(len(citations))
    answer.get_by_role("button", name="Show source 1").click()
    expect(answer.locator(".source").first.locator("details")).to_have_attribute("open", "")
    expect(answer.get_by_role("link", name="Open the passage").first).to_have_attribute(
        "href", f"{stack.project}/documents/{citations[0]['doc_id']}?start={citations[0]['start']}"
                f"&end={citations[0]['end']}#passage")
    expect(answer.locator(".feedback")).to_be_visible()  # its message_id came in the custom item
    expect(page.get_by_role("link", name="Export conversation")).to_have_attribute(
        "href", re.compile(rf"^{re.escape(stack.project)}/api/sessions/[A-Za-z0-9]+/export$"))

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("dialog", name="Rare Cancer Assistant chat").screenshot(path=str(SCREENSHOTS / "rasa-widget.png"))
