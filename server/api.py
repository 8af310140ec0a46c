"""The JSON API: chat, search, documents, feedback, sessions, and Rasa's REST channel."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot import report
from bot.engine import InvalidMessage
from bot.scope import Coverage
from bot.trial_cards import study_as_document
from knowledge.document_format import currency
from knowledge.trials import NCT_PATTERN
from server.errors import ApiError

api = Blueprint("api", __name__)
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_K = 20


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    # A chunked body has no Content-Length for werkzeug to check: it stops reading at the limit
    # without a word, so look for one more byte (read past its own limit it would refuse even a
    # body of exactly the limit).
    if request.content_length is None and limit is not None and len(raw) >= limit \
            and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # JSON nested thousands deep: not a body anyone means to send
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return data


def _text(data: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"'{name}' must be a string.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800": no text can hold it
        raise ApiError(400, "invalid_field", f"'{name}' must be valid Unicode text.") from exc
    return value


def _session_id(value: str | None) -> str:
    if value is None or not SESSION_ID.fullmatch(value):  # match() lets 'id\n' through `$`
        raise ApiError(400, "invalid_session_id", "session_id must be 1-128 letters, digits or . _ : -")
    return value


def _chat(session_id: str, message: str) -> dict[str, Any]:
    engine = current_app.extensions["rca"].engine
    try:
        return engine.handle(session_id, message)
    except InvalidMessage as exc:
        raise ApiError(400, "invalid_message", str(exc)) from exc


@api.post("/api/chat")
def chat():  # type: ignore[no-untyped-def]
    data = _body()
    return jsonify(_chat(_session_id(_text(data, "session_id")), _text(data, "message") or ""))


@api.post("/webhooks/rest/webhook")
def rasa_rest_webhook():  # type: ignore[no-untyped-def]
    """Rasa's REST channel: [{recipient_id, text, buttons, custom}] with citations in `custom`."""
    data = _body()
    sender = _session_id(_text(data, "sender"))
    reply = _chat(sender, _text(data, "message") or "")
    out = []
    for message in reply["messages"]:
        item: dict[str, Any] = {"recipient_id": sender, "text": message["text"],
                                "custom": {"intent": reply["intent"], "message_id": message["id"],
                                           "citations": message["citations"], "trials": message["trials"],
                                           "organisations": message["organisations"],
                                           "answer_status": reply["answer_status"], "cancer_type": reply["cancer_type"]}}
        if message["buttons"]:
            item["buttons"] = message["buttons"]
        out.append(item)
    return jsonify(out)


@api.get("/api/search")
def search():  # type: ignore[no-untyped-def]
    query = request.args.get("q", "").strip()
    if not query:
        raise ApiError(400, "missing_query", "Give a query as ?q=...")
    if len(query) > current_app.config["MESSAGE_MAX_CHARS"]:
        raise ApiError(400, "query_too_long", "The query is too long.")
    try:
        k = int(request.args.get("k", "5"))
    except ValueError as exc:
        raise ApiError(400, "invalid_k", f"k must be a whole number from 1 to {MAX_K}.") from exc
    if not 1 <= k <= MAX_K:
        raise ApiError(400, "invalid_k", f"k must be a whole number from 1 to {MAX_K}.")
    resources = current_app.extensions["rca"].resources
    cancer, doc_ids = cancer_filter(resources.coverage, request.args.get("cancer"))
    results = resources.searcher.search(query, k=k, doc_ids=doc_ids)
    return jsonify({"query": query, "cancer": cancer, "results": [r.to_dict() for r in results]})


def cancer_filter(coverage: Coverage, name: str | None) -> tuple[str | None, frozenset[str] | None]:
    """`?cancer=`: (its canonical name, the documents about it or any narrower cancer it includes), or
    (None, None) for no filter. General pages are not included: the filter asks for pages about a cancer.
    A name the vocabulary doesn't know is a 400; a known one no document covers gives no results."""
    if name is None or not name.strip():
        return None, None
    canonical = coverage.vocabulary.canonical(name.strip())
    if canonical is None:
        raise ApiError(400, "unknown_cancer", "No cancer in the vocabulary has this name. Use a canonical name "
                                              "from GET /api/cancers, e.g. cancer=thymoma, or leave cancer out.")
    names = [canonical, *coverage.vocabulary.descendants(canonical)]
    return canonical, frozenset(d for n in names for d in coverage.by_cancer.get(n, ()))


@api.get("/api/documents/<doc_id>")
def document(doc_id: str):  # type: ignore[no-untyped-def]
    resources = current_app.extensions["rca"].resources
    found = resources.document(doc_id)
    if found is None and NCT_PATTERN.match(doc_id) and resources.trial_store is not None:
        row = resources.trial_store.get(doc_id)  # a registry study a trial card quotes
        found = study_as_document(row) if row else None
    if found is None:
        raise ApiError(404, "document_not_found", "No document has this id.")
    fields = ("title", "url", "publisher", "licence")
    body = {"doc_id": doc_id, **{f: found.get(f, "") for f in fields}, **currency(found),
            "cancer_types": list(found.get("cancer_types") or []), "text": found["text"]}
    return jsonify(body)


@api.get("/api/cancers")
def cancers():  # type: ignore[no-untyped-def]
    """The cancers the sources cover, by family, with their documents; and the general pages."""
    return jsonify(current_app.extensions["rca"].resources.coverage.catalogue())


@api.post("/api/feedback")
def feedback():  # type: ignore[no-untyped-def]
    data = _body()
    session_id = _session_id(_text(data, "session_id"))
    message_id = _text(data, "message_id") or ""
    rating = _text(data, "rating")
    if rating not in ("up", "down"):
        raise ApiError(400, "invalid_rating", "rating must be 'up' or 'down'.")
    comment = _text(data, "comment", required=False) or ""
    if len(comment) > current_app.config["MESSAGE_MAX_CHARS"]:
        raise ApiError(400, "comment_too_long", "The comment is too long.")
    if rating == "down":
        report.record("feedback", comment, rating="down", message_id=message_id[:64], session=session_id[:8])
    return jsonify({"status": "recorded"})


@api.delete("/api/sessions/<session_id>")
def delete_session(session_id: str):  # type: ignore[no-untyped-def]
    deleted = current_app.extensions["rca"].engine.store.delete(_session_id(session_id))
    return jsonify({"session_id": session_id, "deleted": deleted})
