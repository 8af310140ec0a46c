"""The HTML pages: a highlighted passage in its document, and the printable transcript."""
from __future__ import annotations

import html

import pytest

from bot.store import InMemoryStore
from server.app import create_app


@pytest.fixture(scope="module")
def client(loaded):
    app = create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "TESTING": True, "RELOAD_CHECK_SECONDS": 3600.0})
    return app.test_client()


@pytest.fixture(autouse=True)
def _reports_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))


def test_cited_passage_is_highlighted_in_its_document(client):
    reply = client.post("/api/chat", json={"session_id": "p1", "message": "What is Kaposi sarcoma?"}).get_json()
    citation = reply["messages"][0]["citations"][0]
    page = client.get(f"/documents/{citation['doc_id']}?start={citation['start']}&end={citation['end']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    body = page.get_data(as_text=True)
    marked = body.split('<mark id="passage" tabindex="-1">', 1)[1].split("</mark>", 1)[0]
    assert html.unescape(marked) == citation["quote"]
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert "frame-ancestors" in page.headers["Content-Security-Policy"]


def test_whole_document_without_a_range_has_no_highlight(client, loaded):
    document = loaded.document("nci-irci")
    body = client.get("/documents/nci-irci").get_data(as_text=True)
    main = body.split('<main class="document-text">', 1)[1].split("</main>", 1)[0]
    assert "<mark" not in main
    assert html.unescape(main) == document["text"]  # the whole text, escaped, nothing added


@pytest.mark.parametrize("query, code", [("?start=5", "invalid_range"), ("?start=10&end=5", "invalid_range"),
                                         ("?start=a&end=9", "invalid_start"), ("?start=0&end=99999999", "invalid_range")])
def test_bad_ranges_are_refused(client, query, code):
    response = client.get(f"/documents/nci-irci{query}")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code


def test_unknown_document_page(client):
    assert client.get("/documents/nope").status_code == 404


def test_export_is_a_printable_transcript_with_citations(client):
    client.post("/api/chat", json={"session_id": "exp", "message": "How is urethral cancer treated?"})
    client.post("/api/chat", json={"session_id": "exp", "message": "<script>alert(1)</script> thanks"})
    page = client.get("/api/sessions/exp/export")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "How is urethral cancer treated?" in body and "<blockquote>" in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert client.delete("/api/sessions/exp").get_json()["deleted"] is True
    assert client.get("/api/sessions/exp/export").status_code == 404


def test_stylesheet_is_served(client):
    assert client.get("/static/pages.css").status_code == 200


def test_the_cancers_page_lists_the_covered_cancers_by_family_with_their_documents(client, loaded):
    catalogue = client.get("/api/cancers").get_json()
    families = [group["family"] for group in catalogue["families"]]
    assert families[0] == "sarcoma" and len(families) == len(set(families))
    names = {c["name"]: c for group in catalogue["families"] for c in group["cancers"]}
    assert names["thymoma"]["documents"] == [{"doc_id": "nci-thymoma-and-thymic-carcinoma",
                                             "title": "Thymoma and Thymic Carcinoma",
                                             "publisher": "National Cancer Institute (cancer.gov)"}]
    assert uncovered_cancer(loaded) not in names  # recognised, not covered
    assert {d["doc_id"] for d in catalogue["general"]} >= {"nci-irci", "cruk-research-into-rare-cancers"}
    page = client.get("/cancers")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert '<a href="/documents/nci-thymoma-and-thymic-carcinoma">Thymoma and Thymic Carcinoma</a>' in body
    assert "<h2>Sarcoma</h2>" in body
    # each cancer links to the reference search of its pages
    assert '<a href="/reference?cancer=thymoma" aria-label="Search the pages about thymoma">search its pages</a>' in body
    assert '<a href="/reference?cancer=soft+tissue+sarcoma"' in body


def test_which_cancers_do_you_cover_lists_them_in_the_chat(client, loaded):
    reply = client.post("/api/chat", json={"session_id": "cover", "message": "which cancers do you cover?"}).get_json()
    assert reply["intent"] == "bot_capabilities"
    listed = reply["messages"][-1]["text"]
    catalogue = loaded.coverage.catalogue()
    covered = [c for f in catalogue["families"] for c in f["cancers"]]
    assert f"information about {len(covered)} cancers" in listed and "/cancers" in listed
    for family in catalogue["families"]:  # every group, with its best-covered cancer, in a few lines
        best = min(family["cancers"], key=lambda c: (-len(c["documents"]), c["name"].lower()))
        assert f"{family['family'].capitalize()}: {best['name']}" in listed
    assert uncovered_cancer(loaded) not in listed and len(listed) < 2500


def uncovered_cancer(loaded) -> str:
    """A cancer the vocabulary knows and no document covers (the first of them)."""
    coverage = loaded.coverage
    return next(t.name for t in coverage.vocabulary.types
                if not coverage.vocabulary.descendants(t.name) and not coverage.covered(t.name))
