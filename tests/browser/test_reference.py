"""The nurse reference page (/reference) in a real browser: search, highlighted sentences, the document
filter, copying citations, opening a passage in its document, linkable searches and the back button,
error states, hostile input, keyboard-only use and a phone-sized screen; and the "Clinical trials" form
reached and used by keyboard alone (tests/browser/test_trial_cards.py tries it on registry studies)."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import expect

from knowledge.cancer_vocabulary import load_vocabulary

QUERY = "how is penile cancer diagnosed"  # its passages all come from one document
BROAD_QUERY = "radiation therapy side effects"  # passages from many documents
XSS = "<img src=x onerror=alert(1)>"
VOCABULARY = load_vocabulary()
BROAD_CANCER = "head and neck cancer"  # covered, and so are narrower cancers it includes


@pytest.fixture
def console(page):
    """Console errors (a Content-Security-Policy violation is one)."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text) if message.type == "error" else None)
    return messages


def results(page):
    return page.locator("#results > li")


def search(page, server_url, query=QUERY):
    page.goto(f"{server_url}/reference")
    box = page.get_by_role("searchbox", name="Search the documents")
    box.fill(query)
    box.press("Enter")
    expect(page.locator("#status")).to_have_text(re.compile(r"^\d+ passages? from \d+ documents? · \d+\.\d\d s$"))
    return results(page)


def assert_clean(page, console):
    assert page.errors == [] and page.dialogs == []
    assert not [m for m in console if "Content Security Policy" in m], console


def test_search_shows_passages_with_the_best_sentence_highlighted(page, server_url, console, screenshot):
    with page.expect_request(lambda r: "/api/search?" in r.url) as searched:
        items = search(page, server_url)
    request = urlsplit(searched.value.url)
    assert f"{request.scheme}://{request.netloc}" == server_url  # same origin
    assert parse_qs(request.query) == {"q": [QUERY], "k": ["20"]}
    assert parse_qs(urlsplit(page.url).query) == {"q": [QUERY]}  # the search is linkable
    assert 1 < items.count() <= 20
    count, documents = re.match(r"(\d+) passages? from (\d+)", page.locator("#status").inner_text()).groups()
    assert int(count) == items.count()

    first = items.first
    expect(first.locator(".result-title")).to_have_text(re.compile(r"\S"))
    expect(first.locator(".publisher")).to_have_text(re.compile(r"\S"))  # fetched from /api/documents once per doc
    expect(first.locator(".section")).to_have_text(re.compile(r"\S"))
    mark = first.locator("blockquote.quote mark.match")
    expect(mark).to_have_count(1)
    assert "diagnos" in mark.inner_text().lower()
    for passage, marked in page.eval_on_selector_all(
            "#results blockquote.quote",
            "qs => qs.map(q => [q.textContent, Array.from(q.querySelectorAll('mark'), m => m.textContent)])"):
        assert all(text and text in passage for text in marked)  # a highlight is always part of its quote
    marked_results = page.locator("#results blockquote.quote:has(mark)").count()
    assert marked_results >= items.count() // 2
    screenshot(page, "results")
    assert_clean(page, console)


def test_filter_by_document_shows_only_its_passages(page, server_url, console, screenshot):
    items = search(page, server_url, BROAD_QUERY)
    total = items.count()
    select = page.get_by_label("Filter by document")
    expect(select).to_be_visible()
    options = select.locator("option")
    labels = options.all_inner_texts()
    assert labels[0] == f"All documents ({total})" and len(labels) >= 4
    listed = sum(int(re.search(r"\((\d+)\)$", label).group(1)) for label in labels[1:])
    assert listed == total  # every result is under exactly one document

    doc_id = options.nth(1).get_attribute("value")
    expected = int(re.search(r"\((\d+)\)$", labels[1]).group(1))
    select.select_option(doc_id)
    visible = page.locator("#results > li:visible")
    expect(visible).to_have_count(expected)
    assert set(visible.evaluate_all("items => items.map(i => i.dataset.doc)")) == {doc_id}
    expect(page.locator("#status")).to_contain_text(f"Showing {expected} of {total} passages")
    assert parse_qs(urlsplit(page.url).query) == {"q": [BROAD_QUERY], "doc": [doc_id]}
    screenshot(page, "filtered")

    page.reload()  # the filter is part of the link
    expect(page.locator("#results > li:visible")).to_have_count(expected)
    expect(select).to_have_value(doc_id)

    select.select_option("")
    expect(page.locator("#results > li:visible")).to_have_count(total)
    assert_clean(page, console)


def shown_documents(page) -> set[str]:
    return set(results(page).evaluate_all("items => items.map(i => i.dataset.doc)"))


def assert_about(page, server_url, doc_ids, cancer: str) -> list[list[str]]:
    """Every document is about the cancer or a narrower one it includes: no other cancer, no general page.
    Returns their cancer_types."""
    allowed = {cancer, *VOCABULARY.descendants(cancer)}
    found = []
    for doc_id in doc_ids:
        document = page.evaluate("url => fetch(url).then(r => r.json())", f"{server_url}/api/documents/{doc_id}")
        assert allowed & set(document["cancer_types"]), (doc_id, document["cancer_types"])
        found.append(document["cancer_types"])
    return found


def test_filter_by_cancer_searches_only_its_pages_and_is_part_of_the_link(page, server_url, console, screenshot):
    items = search(page, server_url, BROAD_QUERY)
    everything = shown_documents(page)
    cancer = page.get_by_label("Cancer", exact=True)
    expect(cancer).to_have_value("")
    expect(cancer.locator(f"option[value='{BROAD_CANCER}']")).to_have_text(BROAD_CANCER)  # from the catalogue
    with page.expect_request(lambda r: "/api/search?" in r.url) as searched:
        cancer.select_option(BROAD_CANCER)
    assert parse_qs(urlsplit(searched.value.url).query) == {"q": [BROAD_QUERY], "k": ["20"], "cancer": [BROAD_CANCER]}
    expect(page.locator("#status")).to_have_text(
        re.compile(rf"^\d+ passages? from \d+ documents? about {BROAD_CANCER} · \d+\.\d\d s$"))
    assert parse_qs(urlsplit(page.url).query) == {"q": [BROAD_QUERY], "cancer": [BROAD_CANCER]}
    filtered = shown_documents(page)
    assert filtered and filtered != everything
    kinds = assert_about(page, server_url, filtered, BROAD_CANCER)
    assert any(BROAD_CANCER not in types for types in kinds)  # pages about a kind of it (salivary gland cancer...)
    screenshot(page, "by-cancer")

    count = items.count()
    page.reload()  # a bookmark or a shared link gives the same search
    expect(cancer).to_have_value(BROAD_CANCER)
    expect(items).to_have_count(count)
    assert shown_documents(page) == filtered

    page.go_back()  # the search before the filter
    expect(cancer).to_have_value("")
    expect(page.locator("#status")).to_have_text(re.compile(r"^\d+ passages? from \d+ documents? · "))
    assert shown_documents(page) == everything and "cancer" not in parse_qs(urlsplit(page.url).query)
    page.go_forward()
    expect(cancer).to_have_value(BROAD_CANCER)
    cancer.select_option("")  # all cancers again
    expect(page.locator("#status")).to_have_text(re.compile(r"^\d+ passages? from \d+ documents? · "))
    assert parse_qs(urlsplit(page.url).query) == {"q": [BROAD_QUERY]}
    assert_clean(page, console)


def test_the_cancers_page_links_each_cancer_to_a_search_of_its_pages(page, server_url, console):
    page.goto(f"{server_url}/cancers")
    page.get_by_role("link", name="Search the pages about thymoma").click()
    expect(page).to_have_url(f"{server_url}/reference?cancer=thymoma")
    cancer = page.get_by_label("Cancer", exact=True)
    expect(cancer).to_have_value("thymoma")
    expect(page.locator("#status")).to_contain_text("search the pages about thymoma")
    box = page.get_by_role("searchbox", name="Search the documents")
    box.fill("treatment options")
    box.press("Enter")
    expect(page.locator("#status")).to_have_text(re.compile(r"documents? about thymoma · "))
    assert parse_qs(urlsplit(page.url).query) == {"q": ["treatment options"], "cancer": ["thymoma"]}
    assert_about(page, server_url, shown_documents(page), "thymoma")
    assert_clean(page, console)


def test_a_link_naming_an_unknown_cancer_says_how_to_fix_it(page, server_url, console):
    page.goto(f"{server_url}/reference?q=treatment&cancer={quote(XSS)}")
    expect(page.locator("#status")).to_contain_text(
        "The search did not work. No cancer in the vocabulary has this name. Use a canonical name from GET /api/cancers")
    cancer = page.get_by_label("Cancer", exact=True)
    expect(cancer).to_have_value(XSS)  # shown as it was asked, as text
    expect(results(page)).to_have_count(0)
    assert page.locator("img").count() == 0
    cancer.select_option("")
    expect(page.locator("#status")).to_have_text(re.compile(r"^\d+ passages? from \d+ documents? · "))
    assert page.errors == [] and page.dialogs == []


def test_copy_citation_puts_title_url_quote_and_passage_link_on_the_clipboard(page, server_url, console):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)
    items = search(page, server_url)
    second = items.nth(1)
    expect(second.locator(".publisher")).to_have_text(re.compile(r"\S"))
    second.get_by_role("button", name="Copy citation").click()
    expect(second.locator(".copy-status")).to_have_text("Copied")
    expect(second.locator(".copy-status")).to_have_attribute("aria-live", "polite")
    copied = page.evaluate("navigator.clipboard.readText()")

    result = search_api(page, server_url)[1]
    publisher = second.locator(".publisher").inner_text()
    lines = copied.split("\n")
    assert lines[0].startswith(f"{result['title']}. {publisher}.")
    assert result["url"] in lines and f"\u201c{result['quote']}\u201d" in copied  # the verbatim quote, in quotes
    passage = f"{server_url}/documents/{result['doc_id']}?start={result['start']}&end={result['end']}#passage"
    assert lines[-1] == f"Passage: {passage}"
    assert_clean(page, console)


def test_copy_falls_back_when_the_clipboard_api_refuses(page, server_url, console):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)
    page.add_init_script("navigator.clipboard.writeText = () => Promise.reject(new DOMException('no', 'NotAllowedError'));")
    items = search(page, server_url)
    first = items.first
    first.get_by_role("button", name="Copy citation").click()
    expect(first.locator(".copy-status")).to_have_text("Copied")  # through a hidden textarea and execCommand
    copied = page.evaluate("navigator.clipboard.readText()")
    assert f"\u201c{first.locator('blockquote.quote').text_content()}\u201d" in copied
    assert page.locator("textarea").count() == 0  # the helper is gone

    page.evaluate("document.execCommand = () => false")  # and when nothing can copy, say so and select the quote
    first.get_by_role("button", name="Copy citation").click()
    expect(first.locator(".copy-status")).to_contain_text("Could not copy")
    assert page.evaluate("getSelection().toString()").strip() == first.locator("blockquote.quote").inner_text().strip()
    assert_clean(page, console)


def search_api(page, server_url, query=QUERY):
    """What the page got from the API (the same request, made from the page)."""
    body = page.evaluate("url => fetch(url).then(r => r.json())",
                         f"{server_url}/api/search?q={quote(query)}&k=20")
    return body["results"]


def test_open_in_context_shows_the_passage_marked_in_its_document(page, server_url, console):
    items = search(page, server_url)
    link = items.first.get_by_role("link", name=re.compile("^Open in context"))
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener"
    quote_text = items.first.locator("blockquote.quote").text_content()
    with page.context.expect_page() as opened:
        link.click()
    document = opened.value
    document.wait_for_load_state()
    assert "#passage" in document.url and "/documents/" in document.url
    mark = document.locator("mark#passage")
    expect(mark).to_have_count(1)
    assert mark.text_content() == quote_text
    document.close()
    assert_clean(page, console)


def test_hostile_query_is_shown_as_text_and_runs_nothing(page, server_url, console):
    page.goto(f"{server_url}/reference?q={quote(XSS)}")  # a linked search runs on load
    box = page.get_by_role("searchbox", name="Search the documents")
    expect(box).to_have_value(XSS)
    expect(page.locator("#status")).to_have_text(re.compile(r"passages? from|No passages found"))
    assert page.locator("img").count() == 0
    assert page.title().startswith(XSS)

    # and as a result: a hostile title, quote and URL from the API stay text and never become a link
    hostile = {"doc_id": "x\"><img src=x onerror=alert(2)>", "title": XSS, "url": "javascript:alert(3)",
               "section": "<b>bold</b>", "quote": f"Sentence one. The {XSS} part is diagnosed.", "start": 0,
               "end": 40, "score": 1.0, "confidence": 0.9, "publisher": "<i>Pub</i>"}
    page.route("**/api/search?*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"query": "q", "results": [hostile]})))
    box.fill("diagnosed by hostile")
    box.press("Enter")
    card = results(page).first
    expect(card.locator(".result-title")).to_have_text(XSS)
    expect(card.locator(".publisher")).to_have_text("<i>Pub</i>")
    expect(card.locator(".section")).to_have_text("<b>bold</b>")
    expect(card.locator("mark")).to_have_text(f"The {XSS} part is diagnosed.")
    assert card.locator("a.source-link").count() == 0  # javascript: never becomes a link
    href = card.locator("a.open-context").get_attribute("href")
    assert href.startswith("/documents/x%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E?start=0&end=40")
    assert page.locator("img, b, i").count() == 0
    assert_clean(page, console)


def test_empty_query_no_results_and_errors_have_clear_messages(page, server_url, console):
    page.goto(f"{server_url}/reference")
    box = page.get_by_role("searchbox", name="Search the documents")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/search" in r.url else None)
    box.fill("   ")
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("Type a question or a few words to search")
    assert requests == [] and "?" not in page.url

    responses = {
        "nothing": (200, {"query": "nothing", "results": []}),
        "busy": (429, {"error": {"code": "rate_limited", "message": "Too many requests. Please wait 7 seconds and try again."}}),
        "broken": (502, "<html>bad gateway</html>"),
    }

    def answer(route):
        query = parse_qs(urlsplit(route.request.url).query)["q"][0]
        if query == "offline":
            return route.abort()
        status, body = responses[query]
        route.fulfill(status=status, content_type="application/json" if isinstance(body, dict) else "text/html",
                      body=json.dumps(body) if isinstance(body, dict) else body)

    page.route("**/api/search?*", answer)
    expected = {"nothing": "No passages found for \u201cnothing\u201d. Try fewer or different words",
                "busy": "The search did not work. Too many requests. Please wait 7 seconds and try again.",
                "broken": "The search did not work. The server answered with an error (HTTP 502). Please try again.",
                "offline": "The search did not work. The server could not be reached."}
    for query, message in expected.items():
        box.fill(query)
        box.press("Enter")
        expect(page.locator("#status")).to_contain_text(message)
        expect(results(page)).to_have_count(0)
        expect(page.get_by_label("Filter by document")).to_be_hidden()
    assert page.errors == [] and page.dialogs == []


def test_back_button_returns_to_the_previous_search(page, server_url, console):
    search(page, server_url, "kaposi sarcoma treatment")
    first_title = results(page).first.locator(".result-title").inner_text()
    box = page.get_by_role("searchbox", name="Search the documents")
    box.fill(QUERY)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"q=how\+is\+penile"))
    expect(page.locator("#status")).to_have_text(re.compile(r"passages? from"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=kaposi\+sarcoma\+treatment"))
    expect(box).to_have_value("kaposi sarcoma treatment")
    expect(results(page).first.locator(".result-title")).to_have_text(first_title)
    expect(page).to_have_title(re.compile("^kaposi sarcoma treatment"))
    page.go_forward()
    expect(box).to_have_value(QUERY)
    assert_clean(page, console)


def test_keyboard_only_search_filter_and_copy(page, server_url, console):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)
    page.goto(f"{server_url}/reference")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to results")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the clinical trials search")).to_be_focused()
    page.keyboard.press("Tab")
    box = page.get_by_role("searchbox", name="Search the documents")
    expect(box).to_be_focused()
    page.keyboard.type(QUERY)
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text(re.compile(r"passages? from"))

    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Search")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Cancer", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    select = page.get_by_label("Filter by document")
    expect(select).to_be_focused()
    page.keyboard.press("ArrowDown")  # the first document
    doc_id = select.input_value()
    assert doc_id
    expect(page.locator("#status")).to_contain_text("Showing")
    shown = page.locator("#results > li:visible").first
    if shown.locator(".date-note a").count():  # a date note's link to the publisher's current page comes first
        page.keyboard.press("Tab")
        expect(shown.locator(".date-note a")).to_be_focused()
    page.keyboard.press("Tab")
    copy = shown.get_by_role("button", name="Copy citation")
    expect(copy).to_be_focused()
    outline = copy.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px")  # focus is visible
    page.keyboard.press("Enter")
    expect(page.locator("#results > li:visible").first.locator(".copy-status")).to_have_text("Copied")
    assert f"/documents/{doc_id}?" in page.evaluate("navigator.clipboard.readText()")
    page.keyboard.press("Tab")
    expect(page.locator("#results > li:visible").first.locator("a.open-context")).to_be_focused()

    page.keyboard.press("/")  # "/" comes back to the search box
    expect(box).to_be_focused()
    assert_clean(page, console)


def test_fits_a_phone_screen(page, server_url, console, screenshot):
    page.set_viewport_size({"width": 375, "height": 740})
    search(page, server_url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for selector in ("#q", "#search-button", "#cancer", "#doc-filter", "#results > li:first-child .card",
                     "#trial-form", "#trial-cancer", "#trial-phase", "#trial-button"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, selector
    screenshot(page, "phone")
    assert_clean(page, console)


def test_keyboard_only_trial_search(page, server_url, console):
    """The skip link leads to the "Clinical trials" form; every field is reached with Tab, in reading order."""
    page.goto(f"{server_url}/reference")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the clinical trials search")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#trials")).to_be_focused()
    form = page.get_by_role("search", name="Clinical trials")
    order = ["Cancer type", "Country", "City", "Age", "Sex", "Phase", "Recruiting only"]
    for label in order:
        page.keyboard.press("Tab")
        expect(form.get_by_label(label, exact=True)).to_be_focused()
    page.keyboard.press("Space")  # recruiting or not: this server's store holds only the curated records
    expect(form.get_by_label("Recruiting only")).not_to_be_checked()
    for _ in order[1:]:
        page.keyboard.press("Shift+Tab")
    expect(form.get_by_label("Cancer type")).to_be_focused()
    page.keyboard.type("uterine sarcoma")
    page.keyboard.press("Enter")
    status = page.locator("#trial-status")
    expect(status).to_have_text(re.compile(r"^2 studies for uterine sarcoma · \d+\.\d\d s$"))
    expect(page.locator("#trial-results > li")).to_have_count(2)
    expect(page.locator("#trial-results .origin")).to_have_text(["From the curated sources"] * 2)
    expect(form.get_by_label("Cancer type")).to_be_focused()  # the results never take the focus away
    for _ in order:
        page.keyboard.press("Tab")
    expect(form.get_by_role("button", name="Find trials")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#trial-results > li").first.get_by_role("link").first).to_be_focused()
    assert_clean(page, console)


def test_a_trial_search_and_a_document_search_share_the_link(page, server_url, console):
    page.goto(f"{server_url}/reference?trial_cancer=uterine+sarcoma")
    expect(page.locator("#trial-status")).to_have_text(re.compile(r"^2 studies for uterine sarcoma"))
    box = page.get_by_role("searchbox", name="Search the documents")
    box.fill(QUERY)
    box.press("Enter")
    expect(page.locator("#status")).to_have_text(re.compile(r"passages? from"))
    assert parse_qs(urlsplit(page.url).query) == {"trial_cancer": ["uterine sarcoma"], "q": [QUERY]}
    page.reload()
    expect(page.locator("#trial-status")).to_have_text(re.compile(r"^2 studies for uterine sarcoma"))
    expect(page.locator("#status")).to_have_text(re.compile(r"passages? from"))
    assert_clean(page, console)
