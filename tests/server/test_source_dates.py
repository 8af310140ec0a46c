"""Each date of a source is served and shown for what it is: last_reviewed (the publisher's review),
last_updated (a registry record's update), retrieved (when the copy was fetched), date_note (a sentence,
when no date says how current the text is); and the search filter by cancer takes in the narrower
cancers a cancer includes and nothing else. On a small index of fixture documents."""
from __future__ import annotations

import re

import pytest

from bot.resources import Resources
from bot.store import InMemoryStore
from index.build import IndexBuilder
from index.chunker import Chunker
from index.search import Searcher
from index.store import load_current
from server.app import create_app
from server.dates import date_labels, date_note, format_date

NOTE = "Text collected for the MedQuAD dataset (2019); it may be out of date. Check the publisher's current page."
DATES = ("last_reviewed", "last_updated", "retrieved", "date_note")


def document(doc_id: str, title: str, dates: str, cancer_types: str, body: str) -> str:
    return (f"---\nid: {doc_id}\ntitle: {title}\npublisher: Test Publisher\nurl: https://example.org/{doc_id}\n"
            f"language: en\ncancer_types: {cancer_types}\n{dates}\nlicence: CC BY 4.0\n---\n# {title}\n\n{body}\n")


DOCUMENTS = {
    "noted": document("noted", "Thymoma", f'date_note: "{NOTE}"', "[thymoma]",
                      "## About thymoma\n\nThymoma is a tumour of the thymus. Thymoma treatment options include surgery."),
    "reviewed": document("reviewed", "Rare cancers", "last_reviewed: 2024-05-03", "[]",
                         "## About rare cancers\n\nRare cancer treatment options are discussed by expert teams."),
    "trial": document("trial", "A soft tissue sarcoma trial", "last_updated: 2017-12-11", "[soft tissue sarcoma]",
                      "## Summary\n\nThis trial studies treatment options for soft tissue sarcoma."),
    "fetched": document("fetched", "Sarcoma", "retrieved: 2026-08-11", "[sarcoma]",
                        "## About sarcoma\n\nSarcoma treatment options include surgery and radiotherapy."),
}


@pytest.fixture(scope="module")
def client(loaded, embedder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dated-documents")
    for name, text in DOCUMENTS.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("dated-index")
    IndexBuilder(folder, index_dir, embedder, Chunker(), progress=None, vocabulary=loaded.vocabulary).run()
    resources = Resources(Searcher(load_current(index_dir), embedder), loaded.nlu, loaded.entities, loaded.intents,
                          loaded.vocabulary)
    app = create_app({"RESOURCES": resources, "STORE": InMemoryStore(), "TESTING": True,
                      "RELOAD_CHECK_SECONDS": 3600.0})
    return app.test_client()


@pytest.fixture(autouse=True)
def _reports_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))


EXPECTED = {
    "noted": {"last_reviewed": "", "last_updated": "", "retrieved": "", "date_note": NOTE},
    "reviewed": {"last_reviewed": "2024-05-03", "last_updated": "", "retrieved": "", "date_note": ""},
    "trial": {"last_reviewed": "", "last_updated": "2017-12-11", "retrieved": "", "date_note": ""},
    "fetched": {"last_reviewed": "", "last_updated": "", "retrieved": "2026-08-11", "date_note": ""},
}


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_documents_serve_each_date_under_its_own_name(client, doc_id):
    body = client.get(f"/api/documents/{doc_id}").get_json()
    assert {d: body[d] for d in DATES} == EXPECTED[doc_id]


def test_search_results_serve_each_date_under_its_own_name(client):
    results = client.get("/api/search?q=treatment+options&k=20").get_json()["results"]
    assert {r["doc_id"] for r in results} == set(EXPECTED)
    for result in results:
        assert {d: result[d] for d in DATES} == EXPECTED[result["doc_id"]]
        assert result["publisher"] == "Test Publisher"


def test_chat_citations_and_the_rasa_payload_carry_the_date_note(client):
    reply = client.post("/api/chat", json={"session_id": "dates", "message": "What is thymoma?"}).get_json()
    citations = [c for m in reply["messages"] for c in m["citations"]]
    assert citations and {c["doc_id"] for c in citations} <= {"noted", "reviewed"}
    cited = next(c for c in citations if c["doc_id"] == "noted")
    assert {d: cited[d] for d in DATES} == EXPECTED["noted"]
    items = client.post("/webhooks/rest/webhook", json={"sender": "dates-rasa", "message": "What is thymoma?"}).get_json()
    custom = [c for item in items for c in item["custom"]["citations"] if c["doc_id"] == "noted"]
    assert custom and {d: custom[0][d] for d in DATES} == EXPECTED["noted"]


def test_the_document_page_labels_each_date_and_links_the_note_to_the_publisher(client):
    noted = client.get("/documents/noted").get_data(as_text=True)
    assert ('<p class="date-note">Text collected for the MedQuAD dataset (2019); it may be out of date. '
            '<a href="https://example.org/noted" rel="noopener noreferrer">Check the publisher&#39;s current page</a>.</p>'
            ) in noted
    assert "Last reviewed" not in noted and "Retrieved" not in noted
    assert '<span class="dates">Last reviewed 3 May 2024</span>' in client.get("/documents/reviewed").get_data(as_text=True)
    trial = client.get("/documents/trial").get_data(as_text=True)
    assert '<span class="dates">Record last updated 11 December 2017</span>' in trial and "reviewed" not in trial
    assert '<span class="dates">Retrieved 11 August 2026</span>' in client.get("/documents/fetched").get_data(as_text=True)


def test_the_export_labels_each_citation_date(client):
    client.post("/api/chat", json={"session_id": "dated-export", "message": "What is thymoma?"})
    body = client.get("/api/sessions/dated-export/export").get_data(as_text=True)
    citations = body.split('<ol class="citations">', 1)[1].split("</ol>", 1)[0]
    assert "Text collected for the MedQuAD dataset (2019); it may be out of date. <a" in citations
    assert '<a href="https://example.org/noted" rel="noopener noreferrer">Check the publisher&#39;s current page</a>.' in citations
    assert not re.search(r"\(Test Publisher, \d{4}-", citations)  # no bare date standing for who knows what


def test_labels_and_notes_in_words():
    assert format_date("2024-05-03") == "3 May 2024" and format_date("soon") == "soon"
    assert date_labels({"last_reviewed": "2024-05-03", "retrieved": "2026-08-11", "last_updated": "2017-12-11"}) == [
        "Last reviewed 3 May 2024", "Record last updated 11 December 2017", "Retrieved 11 August 2026"]
    assert date_labels({}) == [] and date_note({}) is None
    linked = date_note({"date_note": NOTE, "url": "https://example.org/x"})
    assert (linked.before, linked.link, linked.after) == (NOTE.split("Check")[0], "Check the publisher's current page", ".")
    added = date_note({"date_note": "Collected in 2019.", "url": "https://example.org/x"})
    assert (added.before, added.link, added.after) == ("Collected in 2019. ", "Check the publisher's current page", ".")
    unlinked = date_note({"date_note": "Collected in 2019.", "url": "javascript:alert(1)"})
    assert (unlinked.before, unlinked.link) == ("Collected in 2019.", "")


@pytest.mark.parametrize("cancer, expected", [
    ("sarcoma", {"fetched", "trial"}),  # and soft tissue sarcoma, a kind of sarcoma
    ("soft tissue sarcoma", {"trial"}),  # not its broader cancer
    ("thymoma", {"noted"}),
    ("thymic epithelial tumor", {"noted"}),  # thymoma is a kind of it
    ("", set(EXPECTED)),  # no filter: general pages too
])
def test_search_by_cancer_takes_in_narrower_cancers_and_leaves_out_general_pages(client, cancer, expected):
    body = client.get("/api/search", query_string={"q": "treatment options", "k": 20, "cancer": cancer}).get_json()
    assert {r["doc_id"] for r in body["results"]} == expected
    assert body["cancer"] == (cancer or None)
