"""How current a source is, in the browser: the widget's source cards, the reference page and the
document page label each date for what it is, and show a date note with a link to the publisher's
current page. On a server whose index holds fixture documents, one dated each way."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from browsing import embed
from serving import index_with_documents, running_server

NOTE = "Text collected for the MedQuAD dataset (2019); it may be out of date. Check the publisher's current page."
LINK = "Check the publisher's current page"


def document(doc_id: str, title: str, date: str, body: str) -> str:
    return (f"---\nid: {doc_id}\ntitle: {title}\npublisher: Quorvex Society\nurl: https://example.org/{doc_id}\n"
            f"language: en\ncancer_types: []\n{date}\nlicence: CC BY 4.0\n---\n# {title}\n\n{body}\n")


DOCUMENTS = {
    "test-quorvex-noted.md": document(
        "test-quorvex-noted", "Quorvex fever", f'date_note: "{NOTE}"',
        "## What is quorvex fever\n\nQuorvex fever is an invented rare condition used only to test how sources are "
        "dated. Quorvex fever never harms anyone."),
    "test-quorvex-trial.md": document(
        "test-quorvex-trial", "A quorvex fever trial", "last_updated: 2017-12-11",
        "## Summary\n\nThis invented trial of quorvex fever tests how a registry record is dated."),
    "test-quorvex-reviewed.md": document(
        "test-quorvex-reviewed", "Quorvex fever guide", "last_reviewed: 2024-05-03\nretrieved: 2026-08-11",
        "## About quorvex fever\n\nQuorvex fever is described in this invented guide, reviewed by its publisher."),
}


@pytest.fixture(scope="module")
def dated_server(real_index_dir, tmp_path_factory, host_site):
    work = tmp_path_factory.mktemp("dated")
    _, index_dir = index_with_documents(real_index_dir, work, DOCUMENTS)
    with running_server(index_dir, work, workers=1, RCA_CORS_ORIGINS=host_site.origin) as (url, _process):
        yield url


@pytest.fixture(autouse=True)
def _page_stays_clean(page):
    yield
    assert page.errors == [] and page.dialogs == []


def test_widget_source_cards_label_each_date_and_link_the_note(page, host_site, dated_server, screenshot):
    widget = embed(page, host_site, dated_server, "dated")
    widget.open()
    messages, reply = widget.ask("What is quorvex fever?")
    citations = [c for item in reply for c in item.get("custom", {}).get("citations", [])]
    assert "test-quorvex-noted" in {c["doc_id"] for c in citations}
    cards = page.locator(".source")  # one a citation, in order
    expect(cards).to_have_count(len(citations))
    noted = cards.nth([c["doc_id"] for c in citations].index("test-quorvex-noted"))
    noted.locator("summary").click()
    note = noted.locator(".date-note")
    expect(note).to_have_text(NOTE)
    expect(note.get_by_role("link", name=LINK)).to_have_attribute("href", "https://example.org/test-quorvex-noted")
    expect(noted).not_to_contain_text("Last reviewed")
    expect(noted).not_to_contain_text("Retrieved")
    screenshot(widget.panel, "date-note")
    for card, citation in zip(cards.all(), citations):  # every card: the dates its citation gives, each labelled
        card.locator("details").evaluate("d => d.open = true")
        meta = card.locator(".meta").all_inner_texts()
        for key, label in (("last_reviewed", "Last reviewed"), ("last_updated", "Record last updated"),
                           ("retrieved", "Retrieved")):
            assert any(m.startswith(label + " ") for m in meta) == bool(citation[key]), (citation["doc_id"], meta)


def test_reference_results_label_each_date_and_copy_them(page, dated_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=dated_server)
    page.goto(f"{dated_server}/reference?q=quorvex+fever")
    items = page.locator("#results > li")
    expect(page.locator("#status")).to_have_text(re.compile(r"passages? from"))
    expect(items.first).to_be_visible()
    noted = page.locator('#results > li[data-doc="test-quorvex-noted"]').first
    expect(noted.locator(".dated")).to_have_count(0)
    expect(noted.locator(".date-note")).to_have_text(NOTE)
    link = noted.locator(".date-note").get_by_role("link", name=LINK)
    expect(link).to_have_attribute("href", "https://example.org/test-quorvex-noted")
    trial = page.locator('#results > li[data-doc="test-quorvex-trial"]').first
    expect(trial.locator(".dated")).to_have_text(["Record last updated 11 December 2017"])
    reviewed = page.locator('#results > li[data-doc="test-quorvex-reviewed"]').first
    expect(reviewed.locator(".dated")).to_have_text(["Last reviewed 3 May 2024", "Retrieved 11 August 2026"])
    expect(reviewed.locator(".date-note")).to_have_count(0)

    noted.get_by_role("button", name="Copy citation").click()
    expect(noted.locator(".copy-status")).to_have_text("Copied")
    lines = page.evaluate("navigator.clipboard.readText()").split("\n")
    assert lines[0].startswith("Quorvex fever. Quorvex Society.") and "Dated" not in lines[0]
    assert lines[1:3] == [NOTE, "https://example.org/test-quorvex-noted"]
    reviewed.get_by_role("button", name="Copy citation").click()
    expect(reviewed.locator(".copy-status")).to_have_text("Copied")
    first = page.evaluate("navigator.clipboard.readText()").split("\n")[0]
    assert first.endswith("Last reviewed 3 May 2024. Retrieved 11 August 2026.")


def test_document_page_shows_the_note_with_its_link(page, dated_server):
    page.goto(f"{dated_server}/documents/test-quorvex-noted")
    expect(page.locator("header .date-note")).to_have_text(NOTE)
    expect(page.locator("header .date-note a")).to_have_attribute("href", "https://example.org/test-quorvex-noted")
    expect(page.locator("header .source").first).to_have_text("Quorvex Society")
    page.goto(f"{dated_server}/documents/test-quorvex-trial")
    expect(page.locator("header .source").first).to_have_text("Quorvex Society · Record last updated 11 December 2017")
