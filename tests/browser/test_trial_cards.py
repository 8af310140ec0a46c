"""Trial cards in Chromium: the widget's card for a registry study (status, last update, which criteria
fit, quoted eligibility lines linked to the study's page with the line highlighted), the study page under
its policy, and the reference page's "Clinical trials" search.

The server here has its own trial store: the real recorded studies, the curated records, and studies
made from a real record (tests/trial_data.py) for what those lack, such as a uterine sarcoma study in Lyon.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from browsing import WEBHOOK, embed
from playwright.sync_api import Page, expect
from serving import running_server
from trial_data import recorded_trial_store, uterine_sarcoma_studies

from index.store import load_current
from knowledge.cancer_vocabulary import load_vocabulary

LYON = "trials for uterine sarcoma for a 45 year old woman near Lyon"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def trial_server(real_index_dir, tmp_path_factory, host_site):
    work = tmp_path_factory.mktemp("trial-server")
    store = recorded_trial_store(work / "trials.sqlite3", load_vocabulary(),
                                 load_current(real_index_dir).records.get("trials", []))
    store.upsert(uterine_sarcoma_studies(), "ctgov-api-v2")
    store.close()
    with running_server(real_index_dir, work, RCA_CORS_ORIGINS=host_site.origin) as (url, _process):
        yield url


@pytest.fixture
def console(page):
    """Console errors (a Content-Security-Policy violation is one)."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text) if message.type == "error" else None)
    return messages


@pytest.fixture(autouse=True)
def _page_stays_clean(page):
    yield
    assert page.errors == [], f"script errors: {page.errors}"
    assert page.dialogs == [], f"dialogs opened: {page.dialogs}"


def fit_lines(card) -> list[str]:
    return [re.sub(r"\s+", " ", text).strip() for text in card.locator(".fit-line").all_inner_texts()]


def test_a_trial_card_shows_what_fits_and_its_quotes_open_the_study_with_the_line_highlighted(
        page: Page, host_site, trial_server, screenshot):
    widget = embed(page, host_site, trial_server, "trial-cards")
    widget.open()
    messages, reply = widget.ask(LYON)
    trials = [t for m in reply for t in m["custom"]["trials"]]
    card_data = trials[0]
    assert card_data["nct_id"] == "NCT09000001" and card_data["origin"] == "registry"
    card = page.locator(".card.trial").first
    expect(card.locator(".card-title")).to_have_text(card_data["title"])
    expect(card.locator(".badge")).to_have_text("Recruiting")
    expect(card.locator(".updated")).to_have_text("Record last updated 1 October 2026")
    assert fit_lines(card) == ["\u2713 Recruiting", "\u2713 Ages 18 years and over", "\u2713 Women only",
                               "\u2713 A site in Lyon"]
    expect(card.get_by_role("img", name="fits")).to_have_count(4)  # the mark is read out, not only seen
    expect(page.locator(".fit-note").first).to_contain_text("Only the study team can say whether someone can take part.")
    expect(card.get_by_role("link", name="Study record")).to_have_attribute("href", f"{trial_server}/trials/NCT09000001")
    expect(card.get_by_role("link", name="Registry page")).to_have_attribute(
        "href", "https://clinicaltrials.gov/study/NCT09000001")
    expect(card).not_to_contain_text("Exclusion Criteria")  # the whole criteria text is not dumped in the card

    quotes = card_data["eligibility_quotes"]
    assert quotes
    shown = card.locator(".trial-quote")
    expect(shown).to_have_count(len(quotes))
    expect(shown.locator("blockquote")).to_have_text([q["quote"] for q in quotes])
    first = quotes[0]
    passage = shown.first.get_by_role("link", name=re.compile("^Open the passage"))
    expect(passage).to_have_attribute("href", f"{trial_server}/documents/NCT09000001"
                                              f"?start={first['start']}&end={first['end']}#passage")
    card.evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(widget.panel, "trial-card")

    study_console: list[str] = []
    with page.context.expect_page() as new_tab:
        passage.click()
    study = new_tab.value
    study.on("console", lambda m: study_console.append(m.text) if m.type == "error" else None)
    study.wait_for_load_state()
    assert study.url == f"{trial_server}/trials/NCT09000001?start={first['start']}&end={first['end']}#passage"
    mark = study.locator("mark#passage")
    expect(mark).to_have_text(first["quote"])
    expect(mark).to_be_in_viewport()
    expect(study.get_by_role("heading", level=1)).to_have_text(card_data["title"])
    expect(study.locator("header")).to_contain_text("Only the study team can say whether someone can take part.")
    assert study.locator(".document-text").evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    assert not [m for m in study_console if "Content Security Policy" in m], study_console
    study.close()
    assert page.url.startswith(host_site.origin)  # the conversation stays where it was


def fulfil_json(route, body):
    route.fulfill(status=200, json=body, headers={"Access-Control-Allow-Origin": route.request.headers.get("origin", "*")})


def test_fit_marks_curated_cards_and_hostile_card_fields(page: Page, host_site, trial_server):
    registry = {
        "title": f"Study {XSS}", "status": "completed", "registry_status": "COMPLETED", "origin": "registry",
        "last_updated": "2020-01-15", "nct_id": "NCT09000003", "record_url": "javascript:alert(1)",
        "url": "https://clinicaltrials.gov/study/NCT09000003", "phases": ["PHASE2", "EARLY_PHASE1"],
        "eligibility": "Inclusion Criteria: a very long text the card must not show",
        "sites": [{"facility": "F", "city": f"City {n}", "country": "France"} for n in range(7)],
        "fit": [{"criterion": "recruiting", "fits": False, "detail": "Completed"},
                {"criterion": "age", "fits": None, "detail": f"Ages {XSS}"},
                {"criterion": "sex", "fits": True, "detail": "All sexes"}, "not an object", {"fits": True}],
        "eligibility_quotes": [{"doc_id": "NCT09000003\"><b>x</b>", "quote": f"Adults {XSS}", "start": 3, "end": 9,
                                "section": "Eligibility criteria"}, {"quote": "No link", "start": "a"}, "junk"],
        "citation": None}
    curated = {"title": "IRCI study", "status": "underway", "origin": "curated", "record_url": "",
               "eligibility": "Adults with the cancer", "group": "IRCI", "eligibility_quotes": [], "fit": [],
               "sites": [{"name": "Centre", "city": "Lyon", "country": "France"}],
               "citation": {"doc_id": "nci-irci", "start": 1, "end": 5}}
    reply = [{"recipient_id": "x", "text": "Two studies.", "custom": {"trials": [registry, curated], "citations": []}}]
    page.route(f"**{WEBHOOK}", lambda route: fulfil_json(route, reply))
    widget = embed(page, host_site, trial_server, "hostile-trials")
    widget.open()
    widget.ask("anything")
    first, second = page.locator(".card.trial").all()
    assert fit_lines(first) == ["\u2717 Completed", f"? Ages {XSS}", "\u2713 All sexes"]
    expect(first.get_by_role("img", name="does not fit")).to_have_count(1)
    expect(first.get_by_role("img", name="not known")).to_have_count(1)
    expect(first.locator(".card-title")).to_have_text(f"Study {XSS}")
    expect(first).to_contain_text("Phase 2, Early phase 1")
    expect(first).to_contain_text("and 3 more")  # 7 sites: the first 4, then how many more
    expect(first).not_to_contain_text("a very long text")  # a registry study's criteria are quoted, not dumped
    expect(first.get_by_role("link", name="Study record")).to_have_count(0)  # javascript: is never a link
    expect(first.locator(".trial-quote")).to_have_count(2)
    expect(first.locator(".trial-quote").first.get_by_role("link")).to_have_attribute(
        "href", f"{trial_server}/documents/NCT09000003%22%3E%3Cb%3Ex%3C%2Fb%3E?start=3&end=9#passage")
    expect(first.locator(".trial-quote").nth(1).get_by_role("link")).to_have_count(0)
    expect(second.locator(".badge")).to_have_text("Underway")
    expect(second).to_contain_text("Adults with the cancer")  # a curated record's own words, as before
    expect(second).to_contain_text("Centre, Lyon, France")
    expect(second.locator(".fit, .trial-quote")).to_have_count(0)
    expect(second.get_by_role("link", name="Source for IRCI study")).to_have_attribute(
        "href", f"{trial_server}/documents/nci-irci?start=1&end=5#passage")
    assert page.locator("img, b").count() == 0 and page.get_by_role("log").locator("img, b").count() == 0


def trial_results(page: Page):
    return page.locator("#trial-results > li")


def test_the_reference_page_finds_trials_with_what_fits_and_links_each_study(page: Page, trial_server, console,
                                                                               screenshot):
    page.goto(f"{trial_server}/reference")
    form = page.get_by_role("search", name="Clinical trials")
    form.get_by_label("Cancer type").fill("uterine sarcoma")
    form.get_by_label("City").fill("Lyon")
    form.get_by_label("Age").fill("45")
    form.get_by_label("Sex").select_option("female")
    expect(form.get_by_label("Recruiting only")).to_be_checked()
    with page.expect_request(lambda r: "/api/trials?" in r.url) as searched:
        form.get_by_role("button", name="Find trials").click()
    assert parse_qs(urlsplit(searched.value.url).query) == {
        "limit": ["50"], "cancer": ["uterine sarcoma"], "city": ["Lyon"], "age": ["45"], "sex": ["female"],
        "recruiting": ["true"]}
    status = page.locator("#trial-status")
    expect(status).to_have_text(re.compile(r"^1 study for uterine sarcoma in Lyon, recruiting only · \d+\.\d\d s$"))
    item = trial_results(page).first
    expect(item.locator(".result-title")).to_have_text("Trabectedin after surgery for uterine leiomyosarcoma")
    expect(item.get_by_role("link", name=re.compile("^NCT09000001"))).to_have_attribute("href", "/trials/NCT09000001")
    expect(item.locator(".trial-status")).to_have_text("Recruiting")
    expect(item.locator(".dated")).to_have_text("Record last updated 1 October 2026")
    assert fit_lines(item) == ["\u2713 Recruiting", "\u2713 Ages 18 years and over", "\u2713 Women only",
                               "\u2713 A site in Lyon"]
    expect(page.locator("#trial-notes")).to_contain_text("never completed a sync")
    expect(page.locator("#trial-notes")).to_contain_text("Only the study team can say whether someone can take part.")
    assert parse_qs(urlsplit(page.url).query) == {"trial_cancer": ["uterine sarcoma"], "city": ["Lyon"],
                                                  "age": ["45"], "sex": ["female"], "recruiting": ["true"]}
    assert urlsplit(page.url).fragment == "trials"
    screenshot(page.locator("#trials"), "reference-trials")

    page.reload()  # the search is part of the link
    expect(status).to_have_text(re.compile(r"^1 study for uterine sarcoma in Lyon"))
    expect(form.get_by_label("City")).to_have_value("Lyon")
    with page.context.expect_page() as opened:
        item.get_by_role("link", name=re.compile("^NCT09000001")).click()
    study = opened.value
    study.wait_for_load_state()
    expect(study.get_by_role("heading", level=1)).to_have_text("Trabectedin after surgery for uterine leiomyosarcoma")
    study.close()
    assert page.errors == [] and not [m for m in console if "Content Security Policy" in m], console


def test_a_city_without_studies_says_so_and_shows_the_wider_list(page: Page, trial_server, console):
    page.goto(f"{trial_server}/reference?trial_cancer=uterine+sarcoma&city=Marseille#trials")  # a linked search
    status = page.locator("#trial-status")
    expect(status).to_contain_text("No study in Marseille. Showing those anywhere: 3 studies for uterine sarcoma")
    expect(page.get_by_label("Recruiting only")).not_to_be_checked()  # as the link says
    expect(trial_results(page)).to_have_count(3)
    form = page.get_by_role("search", name="Clinical trials")
    form.get_by_label("City").fill("")  # anywhere: the curated records come after the registry studies
    form.get_by_label("City").press("Enter")
    expect(status).to_have_text(re.compile(r"^5 studies for uterine sarcoma · "))
    assert "city" not in parse_qs(urlsplit(page.url).query)
    curated = trial_results(page).nth(4)
    expect(curated.locator(".origin")).to_have_text("From the curated sources")
    expect(curated.get_by_role("link", name=re.compile("^Source"))).to_have_attribute(
        "href", re.compile(r"^/documents/nci-irci\?start=\d+&end=\d+#passage$"))


def test_trial_search_errors_name_the_fix_and_hostile_data_stays_text(page: Page, trial_server, console):
    page.goto(f"{trial_server}/reference")
    form = page.get_by_role("search", name="Clinical trials")
    form.get_by_label("Cancer type").fill("zorblaxoma")
    form.get_by_label("Cancer type").press("Enter")
    status = page.locator("#trial-status")
    expect(status).to_contain_text("The trial search did not work. No cancer in the vocabulary has this name. "
                                   "Use a name from GET /api/cancers")
    expect(trial_results(page)).to_have_count(0)

    hostile = {"cancer": XSS, "where": "", "missing_place": "", "store": {"last_synced": None, "stale": True},
               "trials": [{"title": XSS, "nct_id": XSS, "record_url": "/trials/x", "url": "javascript:alert(2)",
                           "status": XSS, "origin": "registry", "fit": [{"fits": True, "detail": XSS}],
                           "phases": [XSS], "last_updated": XSS}]}
    page.route("**/api/trials?*", lambda route: route.fulfill(status=200, content_type="application/json",
                                                              body=json.dumps(hostile)))
    form.get_by_label("Cancer type").fill("melanoma")
    form.get_by_role("button", name="Find trials").click()
    item = trial_results(page).first
    expect(item.locator(".result-title")).to_have_text(XSS)
    expect(item.locator("a")).to_have_count(0)  # neither a bad path nor javascript: becomes a link
    assert fit_lines(item) == [f"\u2713 {XSS}"]
    assert page.locator("img").count() == 0
    assert page.errors == [] and page.dialogs == []
