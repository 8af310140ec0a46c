"""`GET /trials/<NCT id>`: a stored study as a page, its quoted passage highlighted at a trial card's
offsets; the store's freshness said in words; errors; and `/documents/<NCT id>` redirecting to it."""
from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

import pytest
from trial_data import recorded_trial_store, study_like, uterine_sarcoma_studies

from bot.store import InMemoryStore
from knowledge.trial_document import study_document
from knowledge.trial_store import TrialStore
from server.app import create_app
from server.pages import PAGE_POLICY

HOSTILE = "<script>alert(1)</script>"
MARK = '<mark id="passage" tabindex="-1">'


def _client(resources):  # type: ignore[no-untyped-def]
    app = create_app({"RESOURCES": resources, "STORE": InMemoryStore(), "TESTING": True,
                      "RELOAD_CHECK_SECONDS": 3600.0, "RATE_LIMITER": None})
    return app.test_client()


@pytest.fixture(scope="module")
def store(loaded, tmp_path_factory) -> TrialStore:
    made = recorded_trial_store(tmp_path_factory.mktemp("trial-pages") / "trials.sqlite3", loaded.vocabulary,
                                loaded.searcher.snapshot.records.get("trials", []))
    made.upsert(uterine_sarcoma_studies() + [study_like(
        "NCT09000099", [f"Sarcoma {HOSTILE}"], [("Lyon<b>", "France")], title=f"A study {HOSTILE}",
        criteria=f"Inclusion Criteria:\n\n* Has sarcoma <img src=x onerror=alert(2)>\n")], "ctgov-api-v2")
    return made


@pytest.fixture(scope="module")
def client(loaded, store):  # type: ignore[no-untyped-def]
    return _client(dataclasses.replace(loaded, trial_store=store))


def text_of(store: TrialStore, nct_id: str) -> str:
    row = store.get(nct_id)
    return study_document(row.title, row.conditions, row.eligibility_criteria).text


def shown_text(body: str) -> str:
    return html.unescape(re.sub(r"</?mark[^>]*>", "", body.split('<div class="document-text">', 1)[1].split("</div>", 1)[0]))


def test_a_card_quote_is_highlighted_at_its_offsets_in_the_studys_text(client, store):
    card = next(t for t in client.get("/api/trials?cancer=uterine+sarcoma&city=Lyon").get_json()["trials"])
    quote = card["eligibility_quotes"][0]
    page = client.get(f"{card['record_url']}?start={quote['start']}&end={quote['end']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    body = page.get_data(as_text=True)
    assert html.unescape(body.split(MARK, 1)[1].split("</mark>", 1)[0]) == quote["quote"]
    assert shown_text(body) == text_of(store, "NCT09000001")  # verbatim, nothing added or lost
    assert '<a href="#passage">Go to the highlighted passage</a>' in body
    assert page.headers["Content-Security-Policy"] == PAGE_POLICY
    assert "<style" not in body and " style=" not in body and "<script" not in body


def test_the_page_says_what_the_record_says_and_who_decides(client, store):
    body = html.unescape(client.get("/trials/NCT09000001").get_data(as_text=True))
    row = store.get("NCT09000001")
    assert f"<h1>{row.title}</h1>" in body and MARK not in body
    assert "ClinicalTrials.gov study NCT09000001 · <strong>Recruiting</strong>" in body
    assert "Record last updated 1 October 2026" in body
    retrieved = dt.date.fromisoformat(row.stored_at[:10])
    assert f"Retrieved by this service {retrieved.day} {retrieved:%B %Y}" in body
    assert "Only the study team can say whether someone can take part." in body
    assert '<a href="https://clinicaltrials.gov/study/NCT09000001" rel="noopener noreferrer">' in body
    for fact in ("<dt>Phase</dt><dd>Phase 1</dd>", "<dt>Sex</dt><dd>Women only</dd>",
                 "<dt>Ages</dt><dd>18 years and over</dd>", "<dt>Conditions</dt><dd>Uterine Leiomyosarcoma</dd>",
                 "<dt>Study type</dt><dd>Interventional</dd>"):
        assert fact in body, fact
    assert "Sites (2)" in body and "<h3>France</h3>" in body and "Hospital in Lyon, Lyon" in body
    assert 'Study Desk, +33 4 00 00 00 00, <a href="mailto:study@example.org">study@example.org</a>' in body
    assert "<dt>Sponsor</dt>" in body


def test_the_store_being_out_of_date_or_never_synced_is_said(loaded, store, tmp_path):
    never = _client(dataclasses.replace(loaded, trial_store=store)).get("/trials/NCT09000001").get_data(as_text=True)
    assert "never completed a sync with ClinicalTrials.gov" in never
    copy = TrialStore(tmp_path / "copy.sqlite3", loaded.vocabulary)
    copy.upsert(uterine_sarcoma_studies()[:1], "ctgov-api-v2")
    client = _client(dataclasses.replace(loaded, trial_store=copy, trial_stale_days=7.0))
    copy.mark_synced(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
    stale = client.get("/trials/NCT09000001").get_data(as_text=True)
    synced = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)).date()
    assert f"last synced with ClinicalTrials.gov on {synced.day} {synced:%B %Y}, more than 7 days ago" in stale
    copy.mark_synced(dt.datetime.now(dt.timezone.utc))
    fresh = client.get("/trials/NCT09000001").get_data(as_text=True)
    assert "date-note" not in fresh


def test_registry_text_is_escaped_never_markup(client):
    body = client.get("/trials/NCT09000099").get_data(as_text=True)
    assert HOSTILE not in body and "<img" not in body and "<b>" not in body
    assert html.escape(HOSTILE, quote=False) in body or "&lt;script&gt;" in body


@pytest.mark.parametrize("query, code", [("?start=5", "invalid_range"), ("?end=5", "invalid_range"),
                                         ("?start=10&end=5", "invalid_range"), ("?start=3&end=3", "invalid_range"),
                                         ("?start=-1&end=5", "invalid_range"), ("?start=0&end=99999999", "invalid_range"),
                                         ("?start=a&end=9", "invalid_start"), ("?start=0&end=9.5", "invalid_end")])
def test_bad_ranges_are_refused_in_the_one_error_shape(client, query, code):
    response = client.get(f"/trials/NCT09000001{query}")
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("nct_id", ["NCT99999999", "nct09000001", "NCT123", "nope", "NCT090000010"])
def test_unknown_or_malformed_ids_are_404(client, nct_id):
    response = client.get(f"/trials/{nct_id}")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "trial_not_found"
    assert "NCT and 8 digits" in response.get_json()["error"]["message"]


def test_without_a_trial_store_every_study_is_404(loaded):
    assert _client(dataclasses.replace(loaded, trial_store=None)).get("/trials/NCT09000001").status_code == 404


def test_a_document_link_to_a_study_redirects_to_its_page_keeping_the_range(client, store):
    response = client.get("/documents/NCT09000001?start=10&end=20&other=x")
    assert response.status_code == 302 and response.headers["Location"] == "/trials/NCT09000001?start=10&end=20"
    assert client.get("/documents/NCT09000001").headers["Location"] == "/trials/NCT09000001"
    followed = client.get("/documents/NCT09000001?start=10&end=20", follow_redirects=True)
    marked = followed.get_data(as_text=True).split(MARK, 1)[1].split("</mark>", 1)[0]
    assert html.unescape(marked) == text_of(store, "NCT09000001")[10:20]
    assert client.get("/documents/NCT99999999").status_code == 302  # the study page says it is unknown
    assert client.get("/documents/nct09000001").status_code == 404  # not an NCT id: no document
    assert client.get("/documents/nci-irci").status_code == 200  # documents are served as before


def test_the_reference_page_has_the_trial_form_and_its_script_writes_no_markup(client, loaded):
    body = client.get("/reference").get_data(as_text=True)
    assert '<script src="/static/reference-trials.js" defer></script>' in body
    form = re.search(r'<form role="search" id="trial-form"[^>]*>', body).group(0)
    assert 'aria-label="Clinical trials"' in form and 'method="get"' in form
    for name in ("trial_cancer", "country", "city", "age", "sex", "phase", "recruiting"):
        assert f'name="{name}"' in body.split('id="trial-form"', 1)[1], name
    names = re.findall(r'<option value="([^"]*)">', body.split('<datalist id="trial-cancer-names">', 1)[1].split("</datalist>", 1)[0])
    assert len(names) == len(loaded.vocabulary) and "uterine sarcoma" in names  # every cancer, not only covered ones
    assert '<a class="skip-link" href="#trials">Skip to the clinical trials search</a>' in body
    script = client.get("/static/reference-trials.js")
    source = script.get_data(as_text=True)
    script.close()
    assert script.status_code == 200 and "/api/trials?" in source and "textContent" in source
    for forbidden in (".innerHTML", ".outerHTML", "insertAdjacentHTML(", "document.write(", "eval(", "new Function(",
                      ".setAttribute(\"style\"", "javascript:"):
        assert forbidden not in source, forbidden
