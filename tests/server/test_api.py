"""The JSON API on an app built by each test module from temporary folders (Flask's test client)."""
from __future__ import annotations

import pytest

from bot.store import InMemoryStore
from server.app import create_app


@pytest.fixture(scope="module")
def client(loaded, tmp_path_factory):
    app = create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "TESTING": True,
                      "RELOAD_CHECK_SECONDS": 3600.0})
    return app.test_client()


@pytest.fixture(autouse=True)
def _reports_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))


DATES = ("last_reviewed", "last_updated", "retrieved", "date_note")


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]["code"]


def test_chat_answers_with_verbatim_citations(client, loaded):
    response = client.post("/api/chat", json={"session_id": "abc", "message": "How is penile cancer diagnosed?"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"session_id", "intent", "confidence", "answer_status", "cancer_type", "messages"}
    assert body["intent"] == "ask_question" and body["answer_status"] == "answered"
    citation = body["messages"][0]["citations"][0]
    document = client.get(f"/api/documents/{citation['doc_id']}").get_json()
    assert document["text"][citation["start"]:citation["end"]] == citation["quote"]
    assert {"doc_id", "title", "url", "publisher", "licence", "cancer_types", "text", *DATES} == set(document)
    assert body["cancer_type"] in document["cancer_types"]
    assert {"doc_id", "title", "url", "publisher", "section", "quote", "start", "end", *DATES} == set(citation)
    assert {d: citation[d] for d in DATES} == {d: document[d] for d in DATES}  # each date under its own name


def test_chat_keeps_the_conversation(client):
    client.post("/api/chat", json={"session_id": "conv", "message": "What is thymoma?"})
    reply = client.post("/api/chat", json={"session_id": "conv", "message": "how is it treated?"}).get_json()
    assert reply["messages"][0]["citations"][0]["doc_id"] == "nci-thymoma-and-thymic-carcinoma"


@pytest.mark.parametrize("body, code", [
    ({"message": "hi"}, "invalid_field"),
    ({"session_id": "a b", "message": "hi"}, "invalid_session_id"),
    ({"session_id": "ok", "message": 5}, "invalid_field"),
    ({"session_id": "ok", "message": "   "}, "invalid_message"),
    ({"session_id": "ok", "message": "x" * 5000}, "invalid_message"),
    (["not", "an", "object"], "invalid_json"),
])
def test_chat_rejects_bad_bodies_with_one_error_shape(client, body, code):
    response = client.post("/api/chat", json=body)
    assert response.status_code == 400 and error_of(response) == code
    assert "x" * 100 not in response.get_data(as_text=True)  # never echoes the request


def test_not_json_and_oversized_bodies(client):
    assert client.post("/api/chat", data="hello", content_type="text/plain").status_code == 400
    response = client.post("/api/chat", data="x" * 20000, content_type="application/json")
    assert response.status_code == 413 and error_of(response) == "request_entity_too_large"


def test_search(client):
    body = client.get("/api/search?q=ewing+sarcoma+treatment&k=2").get_json()
    assert body["query"] == "ewing sarcoma treatment" and len(body["results"]) == 2
    assert {"doc_id", "title", "url", "publisher", "section", "quote", "start", "end", "score", *DATES} <= set(body["results"][0])
    assert body["cancer"] is None
    for url, code in [("/api/search", "missing_query"), ("/api/search?q=x&k=0", "invalid_k"),
                      ("/api/search?q=x&k=abc", "invalid_k")]:
        response = client.get(url)
        assert response.status_code == 400 and error_of(response) == code


def test_a_trial_record_citation_says_when_the_record_was_updated_never_reviewed(client):
    reply = client.post("/api/chat", json={"session_id": "trial-dates", "message": "any trial for adenoid cystic carcinoma?"})
    messages = reply.get_json()["messages"]
    assert "NCT01065844" in {t["nct_id"] for m in messages for t in m["trials"]}
    (citation,) = {c["doc_id"]: c for m in messages for c in m["citations"]
                   if c["doc_id"] == "ctgov-nct01065844"}.values()
    assert {d: citation[d] for d in DATES} == {"last_reviewed": "", "last_updated": "2017-12-11", "retrieved": "",
                                               "date_note": ""}
    document = client.get("/api/documents/ctgov-nct01065844").get_json()
    assert {d: document[d] for d in DATES} == {d: citation[d] for d in DATES}


def test_search_by_cancer_keeps_to_its_pages_and_the_narrower_cancers_it_includes(client, loaded):
    vocabulary = loaded.coverage.vocabulary
    catalogue = client.get("/api/cancers").get_json()
    listed = {c["name"] for f in catalogue["families"] for c in f["cancers"]}
    assert "soft tissue sarcoma" in listed and "sarcoma" in vocabulary.ancestors("soft tissue sarcoma")
    body = client.get("/api/search?q=treatment+options&k=20&cancer=Sarcoma").get_json()
    assert body["cancer"] == "sarcoma" and body["results"]  # case ignored, the canonical name given back
    for result in body["results"]:
        types = client.get(f"/api/documents/{result['doc_id']}").get_json()["cancer_types"]
        assert {"sarcoma", *vocabulary.descendants("sarcoma")} & set(types)  # no general page, no other cancer
    narrow = client.get("/api/search?q=treatment+options&k=20&cancer=thymoma").get_json()
    assert {r["doc_id"] for r in narrow["results"]} == {"nci-thymoma-and-thymic-carcinoma"}
    everything = client.get("/api/search?q=treatment+options&k=20&cancer=").get_json()
    assert everything["cancer"] is None and len({r["doc_id"] for r in everything["results"]}) > 2


def test_search_by_a_cancer_no_document_covers_finds_nothing(client, loaded):
    coverage = loaded.coverage
    uncovered = next(t.name for t in coverage.vocabulary.types
                     if not coverage.vocabulary.descendants(t.name) and not coverage.covered(t.name))
    body = client.get("/api/search", query_string={"q": "treatment", "cancer": uncovered.upper()}).get_json()
    assert body == {"query": "treatment", "cancer": uncovered, "results": []}


def test_search_by_an_unknown_cancer_says_how_to_name_one(client):
    response = client.get("/api/search?q=treatment&cancer=zorblaxoma")
    assert response.status_code == 400 and error_of(response) == "unknown_cancer"
    message = response.get_json()["error"]["message"]
    assert "/api/cancers" in message and "zorblaxoma" not in message  # the fix, never the request


def test_unknown_document_and_route(client):
    assert error_of(client.get("/api/documents/nope")) == "document_not_found"
    assert client.get("/no/such/page").status_code == 404


def test_rasa_rest_channel(client):
    reply = client.post("/webhooks/rest/webhook", json={"sender": "rasa-user", "message": "any trial for penile cancer?"})
    items = reply.get_json()
    assert reply.status_code == 200 and items
    assert all(item["recipient_id"] == "rasa-user" and item["custom"]["intent"] == "find_trial" for item in items)
    assert any(item["custom"]["trials"] for item in items)


def test_feedback_and_session_deletion(client):
    client.post("/api/chat", json={"session_id": "gone", "message": "hello"})
    ok = client.post("/api/feedback", json={"session_id": "gone", "message_id": "m1", "rating": "down",
                                            "comment": "wrong answer"})
    assert ok.status_code == 200
    assert error_of(client.post("/api/feedback", json={"session_id": "gone", "message_id": "m1",
                                                       "rating": "meh"})) == "invalid_rating"
    assert client.delete("/api/sessions/gone").get_json()["deleted"] is True
    assert client.delete("/api/sessions/gone").get_json()["deleted"] is False


def test_health_readiness_and_headers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["passages"] > 1000
    assert ready.headers["X-Content-Type-Options"] == "nosniff"
