"""The OpenAPI description (server/openapi.json) is valid, complete, and true of the running app.

* the document itself validates against the OpenAPI 3.1 schema;
* every route in the app's url_map is described, and every described path and method exists;
* the limits and enums it states are the ones the code enforces;
* real responses from the Flask test client, for every route and each error status, match the
  response documented for their status code: body schema (with `additionalProperties: false`, so a
  new or missing field fails here), media type and required headers.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.engine import INTENT_ACTIONS
from bot.store import InMemoryStore
from index import settings
from knowledge.organisations import KINDS
from knowledge.trials import STATUSES
from server import api as api_module
from server import trials_api
from server.app import RATE_LIMITED, create_app
from server.backends import StoreUnavailable
from server.openapi import SPEC, SPEC_PATH

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BASE = "urn:rca-openapi"
REGISTRY = Registry().with_resource(BASE, Resource.from_contents(SPEC, default_specification=DRAFT202012))
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
# Endpoints that load or save a conversation, so may answer 503 when its store is down.
STORE_ENDPOINTS = {"api.chat", "api.rasa_rest_webhook", "pages.export", "api.delete_session"}


# --------------------------------------------------------------------------- helpers


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _resolve(node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
    """Follows a local `$ref` (responses, parameters); returns the target and its JSON pointer."""
    while "$ref" in node:
        pointer = node["$ref"].lstrip("#")
        node = SPEC
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, pointer


def documented_response(path: str, method: str, status: int) -> tuple[dict[str, Any], str]:
    responses = SPEC["paths"][path][method]["responses"]
    key = str(status) if str(status) in responses else f"{str(status)[0]}XX" if f"{str(status)[0]}XX" in responses else "default"
    assert key in responses, f"{method.upper()} {path} answered {status}, which the spec does not document"
    return _resolve(responses[key], "/" + _pointer("paths", path, method, "responses", key))


def validator_at(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{BASE}#{pointer}"}, registry=REGISTRY)


def schema_errors(instance: Any, pointer: str) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator_at(pointer).iter_errors(instance)]


def check(response, path: str, method: str = "get") -> Any:  # type: ignore[no-untyped-def]
    """Asserts that `response` is one the spec documents for `method path`; returns its JSON body (or text)."""
    documented, pointer = documented_response(path, method, response.status_code)
    content = documented.get("content", {})
    if not content:
        assert not response.get_data(), f"{method.upper()} {path} {response.status_code} should have no body"
        return None
    assert response.mimetype in content, \
        f"{method.upper()} {path} {response.status_code}: {response.mimetype} is not documented ({sorted(content)})"
    for name, header in documented.get("headers", {}).items():
        header, header_pointer = _resolve(header, f"{pointer}/headers/{_pointer(name)}")
        if header.get("required"):
            assert name in response.headers, f"{method.upper()} {path} {response.status_code}: no {name} header"
            assert not schema_errors(response.headers[name], f"{header_pointer}/schema")
    if response.mimetype != "application/json":
        return response.get_data(as_text=True)
    body = response.get_json()
    errors = schema_errors(body, f"{pointer}/content/{_pointer('application/json')}/schema")
    assert not errors, f"{method.upper()} {path} {response.status_code} does not match the spec:\n" + "\n".join(errors)
    return body


def check_error(response, path: str, method: str, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert check(response, path, method)["error"]["code"] == code


def app_routes(app) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    """{(OpenAPI path, method): endpoint} for every rule; HEAD and OPTIONS are Flask's own additions."""
    routes = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes[(path, method.lower())] = rule.endpoint
    return routes


def spec_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in SPEC["paths"].items() for method in item if method in HTTP_METHODS}


# --------------------------------------------------------------------------- fixtures


def _app(loaded, **config):  # type: ignore[no-untyped-def]
    return create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "TESTING": True, "RELOAD_CHECK_SECONDS": 3600.0,
                       "RATE_LIMITER": None, **config})


@pytest.fixture(scope="module")
def app(loaded):  # type: ignore[no-untyped-def]
    return _app(loaded, CORS_ORIGINS="https://host.example")


@pytest.fixture(scope="module")
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture(autouse=True)
def _reports_in_tmp(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))


# --------------------------------------------------------------------------- the document


def test_spec_is_a_valid_openapi_31_document():
    assert SPEC["openapi"].startswith("3.1.")
    validate_openapi(SPEC)
    for name in SPEC["components"]["schemas"]:  # each schema is itself valid JSON Schema 2020-12
        Draft202012Validator.check_schema(SPEC["components"]["schemas"][name])


def test_served_as_json_with_cors(client):
    response = client.get("/api/openapi.json", headers={"Origin": "https://host.example"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_data() == SPEC_PATH.read_bytes() and response.get_json() == SPEC
    assert response.headers["Access-Control-Allow-Origin"] == "https://host.example"
    assert "Access-Control-Allow-Origin" not in client.get("/api/openapi.json", headers={"Origin": "https://evil.example"}).headers
    check(response, "/api/openapi.json")


def test_every_route_is_documented_and_every_documented_route_exists(app):
    routes = app_routes(app)
    undocumented = sorted(set(routes) - spec_operations())
    assert not undocumented, f"routes missing from server/openapi.json: {undocumented}"
    missing = sorted(spec_operations() - set(routes))
    assert not missing, f"documented in server/openapi.json but not served: {missing}"


def test_documented_errors_follow_the_app(app):
    routes = app_routes(app)
    for (path, method), endpoint in routes.items():
        responses = SPEC["paths"][path][method]["responses"]
        assert "500" in responses, f"{method.upper()} {path} must document 500"
        assert ("429" in responses) == (endpoint in RATE_LIMITED), f"{method.upper()} {path}: 429 iff rate limited"
        assert ("503" in responses) == (endpoint in STORE_ENDPOINTS), f"{method.upper()} {path}: 503 iff it uses the store"
        assert ("413" in responses) == ("requestBody" in SPEC["paths"][path][method]), f"{method.upper()} {path}: 413"
        if "{" in path:
            assert "404" in responses, f"{method.upper()} {path}: a path parameter can miss (404)"
        for status in ("429", "503"):
            if status in responses:
                response, _ = _resolve(responses[status], "")
                assert response["headers"]["Retry-After"]["required"] is True


def test_limits_and_enums_match_the_code():
    schemas = SPEC["components"]["schemas"]
    assert schemas["SessionId"]["pattern"] == api_module.SESSION_ID.pattern
    assert schemas["UserMessage"]["maxLength"] == settings.get("message_max_chars", {}) == 1000
    assert schemas["FeedbackRequest"]["properties"]["comment"]["maxLength"] == 1000
    search = {p["name"]: p["schema"] for p in SPEC["paths"]["/api/search"]["get"]["parameters"]}
    assert search["k"]["maximum"] == api_module.MAX_K and search["q"]["maxLength"] == 1000
    assert schemas["SearchResponse"]["properties"]["results"]["maxItems"] == api_module.MAX_K
    trials = {p["name"]: p["schema"] for p in SPEC["paths"]["/api/trials"]["get"]["parameters"]}
    assert trials["limit"]["maximum"] == trials_api.MAX_LIMIT == schemas["TrialSearchResponse"]["properties"]["trials"]["maxItems"]
    assert trials["age"]["maximum"] == trials_api.MAX_AGE and trials["country"]["maxLength"] == trials_api.MAX_PLACE_CHARS
    assert set(schemas["Intent"]["enum"]) == set(INTENT_ACTIONS)
    assert set(schemas["Trial"]["properties"]["status"]["enum"]) == set(STATUSES)
    assert set(schemas["Organisation"]["properties"]["kind"]["enum"]) == set(KINDS)
    assert "16384" in SPEC["components"]["responses"]["PayloadTooLarge"]["description"]
    assert settings.get("max_body_bytes", {}) == 16384


def test_docs_describe_every_path():
    guide = DOCS.read_text(encoding="utf-8")
    for path, method in spec_operations():
        assert f"{method.upper()} {path}" in guide, f"docs/api.md does not describe {method.upper()} {path}"


# --------------------------------------------------------------------------- real responses


@pytest.mark.parametrize("message, intent", [
    ("hello", "greet"),
    ("What is thymoma?", "ask_question"),
    ("trials for uterine sarcoma", "find_trial"),
    ("recruiting trials for penile cancer", "find_trial"),
    ("support groups for sarcoma", "find_organisation"),
    ("I have crushing chest pain", "emergency"),
    ("what is the weather on mars", "out_of_scope"),
    ("talk to a human", "human_handoff"),
    ("what can you do", "bot_capabilities"),
    ("thanks", "thanks"),
    ("bye", "goodbye"),
    ("/no_such_intent", "out_of_scope"),
])
def test_chat_replies_match(client, message, intent):
    body = check(client.post("/api/chat", json={"session_id": f"chat-{intent}", "message": message}), "/api/chat", "post")
    assert body["intent"] == intent


def test_chat_forms_with_records_match(client):
    """The trial and organisation forms: button payloads, then answers filling the form, listing records."""
    replies = [check(client.post("/api/chat", json={"session_id": session, "message": text}), "/api/chat", "post")
               for session, text in [("trial-form", "/find_trial"), ("trial-form", "penile cancer"),
                                     ("organisation-form", "Find a patient organisation"), ("organisation-form", "Slovenia")]]
    assert any(m["buttons"] for m in replies[0]["messages"])
    assert any(m["trials"] for m in replies[1]["messages"])
    organisations = [o for m in replies[3]["messages"] for o in m["organisations"]]
    assert organisations and any(o["website"] is None or o["contact"] is None for o in organisations)


def test_not_sure_fallback_matches(loaded):
    cautious = _app(dataclasses.replace(loaded, answer_threshold=0.99)).test_client()
    body = check(cautious.post("/api/chat", json={"session_id": "unsure", "message": "What is the outlook for thymoma?"}),
                 "/api/chat", "post")
    assert body["messages"][0]["text"].startswith("I'm not sure")


@pytest.mark.parametrize("body, code", [
    ({"message": "hi"}, "invalid_field"),
    ({"session_id": "a b", "message": "hi"}, "invalid_session_id"),
    ({"session_id": "ok", "message": 5}, "invalid_field"),
    ({"session_id": "ok", "message": "   "}, "invalid_message"),
    ({"session_id": "ok", "message": "x" * 1001}, "invalid_message"),
    (["not", "an", "object"], "invalid_json"),
])
def test_chat_and_webhook_errors_match(client, body, code):
    check_error(client.post("/api/chat", json=body), "/api/chat", "post", 400, code)
    if isinstance(body, dict) and "session_id" in body:
        body = {"sender": body.pop("session_id"), **body}
    check_error(client.post("/webhooks/rest/webhook", json=body), "/webhooks/rest/webhook", "post", 400, code)


def test_not_json_and_oversized_bodies_match(client):
    for path in ("/api/chat", "/webhooks/rest/webhook", "/api/feedback"):
        check_error(client.post(path, data="hello", content_type="text/plain"), path, "post", 400, "invalid_json")
        check_error(client.post(path, data="{not json", content_type="application/json"), path, "post", 400, "invalid_json")
        check_error(client.post(path, data="x" * 16385, content_type="application/json"), path, "post", 413,
                    "request_entity_too_large")


@pytest.mark.parametrize("message", ["hello", "any trial for penile cancer?", "support groups in Slovenia",
                                     "I can't breathe"])
def test_rasa_webhook_matches(client, message):
    items = check(client.post("/webhooks/rest/webhook", json={"sender": "rasa-user", "message": message,
                                                              "metadata": {"channel": "test"}}),
                  "/webhooks/rest/webhook", "post")
    assert all(item["recipient_id"] == "rasa-user" for item in items)


def test_search_matches(client):
    body = check(client.get("/api/search?q=ewing+sarcoma+treatment&k=20"), "/api/search")
    assert len(body["results"]) == 20
    check(client.get("/api/search?q=thymoma"), "/api/search")
    assert check(client.get("/api/search?q=treatment&cancer=sarcoma"), "/api/search")["cancer"] == "sarcoma"
    check_error(client.get("/api/search?q=x&cancer=zorblaxoma"), "/api/search", "get", 400, "unknown_cancer")
    for url, code in [("/api/search", "missing_query"), ("/api/search?q=+++", "missing_query"),
                      ("/api/search?q=x&k=0", "invalid_k"), ("/api/search?q=x&k=21", "invalid_k"),
                      ("/api/search?q=x&k=abc", "invalid_k"), ("/api/search?q=" + "x" * 1001, "query_too_long")]:
        check_error(client.get(url), "/api/search", "get", 400, code)


def test_documents_and_pages_match(client):
    body = check(client.get("/api/documents/nci-irci"), "/api/documents/{doc_id}")
    assert body["doc_id"] == "nci-irci"
    check_error(client.get("/api/documents/nope"), "/api/documents/{doc_id}", "get", 404, "document_not_found")
    check_error(client.get("/api/documents/a/b"), "/api/documents/{doc_id}", "get", 404, "not_found")
    check(client.get("/documents/nci-irci?start=0&end=10"), "/documents/{doc_id}")
    check(client.get("/documents/nci-irci"), "/documents/{doc_id}")
    for query, code in [("start=x&end=2", "invalid_start"), ("start=0&end=y", "invalid_end"),
                        ("start=0", "invalid_range"), ("start=5&end=5", "invalid_range"), ("start=0&end=99999999", "invalid_range")]:
        check_error(client.get(f"/documents/nci-irci?{query}"), "/documents/{doc_id}", "get", 400, code)
    check_error(client.get("/documents/nope"), "/documents/{doc_id}", "get", 404, "document_not_found")
    check(client.get("/reference?q=thymoma"), "/reference")
    catalogue = check(client.get("/api/cancers"), "/api/cancers")
    assert catalogue["families"] and catalogue["general"]
    check(client.get("/cancers"), "/cancers")
    check(client.get("/static/pages.css"), "/static/{filename}")
    check_error(client.get("/static/nope.css"), "/static/{filename}", "get", 404, "not_found")


def test_demo_page_and_widget_files_match(client):
    assert "widget.js" in check(client.get("/"), "/")
    for path, url in [("/widget.js", "/widget.js"), ("/widget.css", "/widget.css"), ("/static/{filename}", "/static/pages.css")]:
        whole = client.get(url)
        assert check(whole, path)
        assert check(client.get(url, headers={"If-None-Match": whole.headers["ETag"]}), path) is None
        assert check(client.get(url, headers={"Range": "bytes=0-9"}), path) == whole.get_data(as_text=True)[:10]
        check_error(client.get(url, headers={"Range": "bytes=99999999-"}), path, "get", 416, "requested_range_not_satisfiable")


def test_trial_search_and_study_pages_match(client):
    body = check(client.get("/api/trials?cancer=melanoma&limit=100"), "/api/trials")
    assert {t["origin"] for t in body["trials"]} == {"registry"} and body["cancer"] == "melanoma"
    assert {t["origin"] for t in check(client.get("/api/trials?cancer=penile+cancer"), "/api/trials")["trials"]} == {"curated"}
    check(client.get("/api/trials?cancer=melanoma&country=France&age=45&sex=female&phase=2&recruiting=true"), "/api/trials")
    check(client.get("/api/trials?cancer=head+and+neck+cancer&city=Denver&q=ignored"), "/api/trials")
    check(client.get("/api/trials"), "/api/trials")
    for query, code in [("cancer=zorblaxoma", "unknown_cancer"), ("country=123", "invalid_country"),
                        ("city=" + "x" * 101, "invalid_city"), ("recruiting=maybe", "invalid_recruiting"),
                        ("age=200", "invalid_age"), ("sex=x", "invalid_sex"), ("phase=7", "invalid_phase"),
                        ("limit=0", "invalid_limit")]:
        check_error(client.get(f"/api/trials?{query}"), "/api/trials", "get", 400, code)
    assert "Only the study team" in check(client.get("/trials/NCT02576665?start=0&end=10"), "/trials/{nct_id}")
    for url, code in [("/trials/NCT02576665?start=0", "invalid_range"), ("/trials/NCT02576665?start=x&end=2", "invalid_start")]:
        check_error(client.get(url), "/trials/{nct_id}", "get", 400, code)
    for url in ("/trials/NCT99999999", "/trials/nope"):
        check_error(client.get(url), "/trials/{nct_id}", "get", 404, "trial_not_found")
    check_error(client.get("/trials/a/b"), "/trials/{nct_id}", "get", 404, "not_found")
    redirect = client.get("/documents/NCT02576665?start=0&end=10")
    assert redirect.status_code == 302 and redirect.headers["Location"] == "/trials/NCT02576665?start=0&end=10"
    check(redirect, "/documents/{doc_id}")


def test_feedback_matches(client):
    for rating in ("up", "down"):
        check(client.post("/api/feedback", json={"session_id": "fb", "message_id": "m1", "rating": rating,
                                                 "comment": "wrong answer"}), "/api/feedback", "post")
    check(client.post("/api/feedback", json={"session_id": "fb", "message_id": "m1", "rating": "up", "comment": None}),
          "/api/feedback", "post")
    for body, code in [({"session_id": "fb", "message_id": "m1", "rating": "meh"}, "invalid_rating"),
                       ({"session_id": "fb", "rating": "up"}, "invalid_field"),
                       ({"session_id": "f b", "message_id": "m1", "rating": "up"}, "invalid_session_id"),
                       ({"session_id": "fb", "message_id": "m1", "rating": "up", "comment": 3}, "invalid_field"),
                       ({"session_id": "fb", "message_id": "m1", "rating": "up", "comment": "x" * 1001}, "comment_too_long")]:
        check_error(client.post("/api/feedback", json=body), "/api/feedback", "post", 400, code)


def test_sessions_export_and_delete_match(client):
    check(client.post("/api/chat", json={"session_id": "gone", "message": "What is thymoma?"}), "/api/chat", "post")
    assert "thymus" in check(client.get("/api/sessions/gone/export"), "/api/sessions/{session_id}/export")
    assert check(client.delete("/api/sessions/gone"), "/api/sessions/{session_id}", "delete")["deleted"] is True
    assert check(client.delete("/api/sessions/gone"), "/api/sessions/{session_id}", "delete")["deleted"] is False
    check_error(client.get("/api/sessions/gone/export"), "/api/sessions/{session_id}/export", "get", 404,
                "session_not_found")
    check_error(client.delete("/api/sessions/" + "x" * 129), "/api/sessions/{session_id}", "delete", 400,
                "invalid_session_id")
    check_error(client.get("/api/sessions/a%20b/export"), "/api/sessions/{session_id}/export", "get", 400,
                "invalid_session_id")


def test_health_and_readiness_match(client):
    check(client.get("/healthz"), "/healthz")
    assert check(client.get("/readyz"), "/readyz")["passages"] > 1000


def test_unknown_routes_and_methods_use_the_error_shape(client):
    for response, status in [(client.get("/no/such/page"), 404), (client.put("/api/chat"), 405),
                             (client.get("/api/chat"), 405), (client.post("/api/search"), 405)]:
        assert response.status_code == status and response.mimetype == "application/json"
        documented = "/components/responses/" + ("RouteNotFound" if status == 404 else "MethodNotAllowed")
        assert not schema_errors(response.get_json(), f"{documented}/content/application~1json/schema")


class _Limited:
    def hit(self, key: str) -> float:
        return 2.5


class _DownStore:
    def load(self, session_id: str) -> dict[str, Any]:
        raise StoreUnavailable("test")

    save = delete = load  # type: ignore[assignment]


class _BrokenStore(_DownStore):
    def load(self, session_id: str) -> dict[str, Any]:
        raise RuntimeError("a bug")

    save = delete = load  # type: ignore[assignment]


def test_rate_limited_responses_match(loaded):
    limited = _app(loaded, RATE_LIMITER=_Limited(), RATE_LIMIT_EXEMPT="none").test_client()
    requests = [("/api/chat", "post", {"session_id": "s", "message": "hi"}),
                ("/webhooks/rest/webhook", "post", {"sender": "s", "message": "hi"}),
                ("/api/feedback", "post", {"session_id": "s", "message_id": "m", "rating": "up"}),
                ("/api/search?q=thymoma", "get", None), ("/api/trials?cancer=melanoma", "get", None)]
    for url, method, body in requests:
        response = limited.open(url, method=method.upper(), json=body)
        check_error(response, url.split("?")[0], method, 429, "rate_limited")
        assert response.headers["Retry-After"] == "3"
    assert limited.get("/api/documents/nci-irci").status_code == 200, "documents are not rate limited"


def test_store_outage_and_unexpected_errors_match(loaded):
    for store, status, code in [(_DownStore(), 503, "store_unavailable"), (_BrokenStore(), 500, "internal_error")]:
        broken = _app(loaded, STORE=store).test_client()
        check_error(broken.post("/api/chat", json={"session_id": "s", "message": "hi"}), "/api/chat", "post", status, code)
        check_error(broken.post("/webhooks/rest/webhook", json={"sender": "s", "message": "hi"}),
                    "/webhooks/rest/webhook", "post", status, code)
        check_error(broken.get("/api/sessions/s/export"), "/api/sessions/{session_id}/export", "get", status, code)
        check_error(broken.delete("/api/sessions/s"), "/api/sessions/{session_id}", "delete", status, code)
        if status == 503:
            assert broken.post("/api/chat", json={"session_id": "s", "message": "hi"}).headers["Retry-After"] == "5"


def test_the_schemas_catch_drift():
    """A field added, removed or retyped in a reply fails the checks above."""
    message = {"id": "0123456789abcdef", "text": "Hello.", "citations": [], "buttons": [], "trials": [],
               "organisations": []}
    reply = {"session_id": "s", "intent": "greet", "confidence": 0.9, "answer_status": None, "cancer_type": None,
             "messages": [message]}
    pointer = "/components/schemas/ChatReply"
    assert not schema_errors(reply, pointer)
    assert not schema_errors({**reply, "answer_status": "not_covered", "cancer_type": "chordoma"}, pointer)
    assert schema_errors({**reply, "answer_status": "maybe"}, pointer)
    assert schema_errors({k: v for k, v in reply.items() if k != "answer_status"}, pointer)
    assert schema_errors({**reply, "debug": True}, pointer)
    assert schema_errors({k: v for k, v in reply.items() if k != "confidence"}, pointer)
    assert schema_errors({**reply, "messages": [{**message, "citations": [{"doc_id": "x"}]}]}, pointer)
    assert schema_errors({**reply, "intent": "chitchat"}, pointer)
    assert schema_errors({"error": {"code": "x", "message": "y", "detail": "z"}}, "/components/schemas/Error")


def test_session_id_with_a_trailing_newline_is_rejected(client):
    check_error(client.post("/api/chat", json={"session_id": "abc\n", "message": "hello"}), "/api/chat", "post", 400,
                "invalid_session_id")
