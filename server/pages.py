"""HTML pages: a document with a cited passage highlighted, the cancers the sources cover, and a
printable conversation transcript.

Pages use no inline script or style (the Content-Security-Policy forbids them); text is escaped by
Jinja's autoescaping and never inserted as markup. The highlighted passage is `<mark id="passage">`,
so a link ending in `#passage` scrolls it into view without any script.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from bot.safety import DISCLAIMER
from knowledge.trials import NCT_PATTERN
from server.api import _session_id
from server.dates import date_labels, date_note
from server.errors import ApiError

pages = Blueprint("pages", __name__)
pages.add_app_template_global(date_labels)
pages.add_app_template_global(date_note)
PAGE_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"


def _offset(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(400, f"invalid_{name}", f"{name} must be a whole number of characters.") from exc


@pages.get("/documents/<doc_id>")
def document(doc_id: str):  # type: ignore[no-untyped-def]
    found = current_app.extensions["rca"].resources.document(doc_id)
    if found is None and NCT_PATTERN.match(doc_id):
        # A trial card's quote cites a registry study by its NCT id: its text is on the study's page.
        # A redirect keeps the link's #passage; start and end mean the same there.
        kept = {name: request.args[name] for name in ("start", "end") if name in request.args}
        return redirect(url_for("trial_pages.study", nct_id=doc_id, **kept), 302)
    if found is None:
        raise ApiError(404, "document_not_found", "No document has this id.")
    text = found["text"]
    start, end = _offset("start", None), _offset("end", None)
    if (start is None) != (end is None) or (start is not None and not 0 <= start < end <= len(text)):  # type: ignore[operator]
        raise ApiError(400, "invalid_range", f"start and end must satisfy 0 <= start < end <= {len(text)}.")
    parts = (text[:start], text[start:end], text[end:]) if start is not None else (text, "", "")
    response = current_app.make_response(render_template("document.html", document=found, doc_id=doc_id,
                                                         before=parts[0], passage=parts[1], after=parts[2]))
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


@pages.get("/cancers")
def cancers():  # type: ignore[no-untyped-def]
    """The cancers the sources cover, by family, each linking to its documents."""
    catalogue = current_app.extensions["rca"].resources.coverage.catalogue()
    response = current_app.make_response(render_template("cancers.html", catalogue=catalogue))
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


@pages.get("/api/sessions/<session_id>/export")
def export(session_id: str):  # type: ignore[no-untyped-def]
    state = current_app.extensions["rca"].engine.store.load(_session_id(session_id))
    turns = state.get("history", [])
    if not turns:
        raise ApiError(404, "session_not_found", "There is no conversation with this id (it may have been deleted).")
    for turn in turns:
        turn["when"] = dt.datetime.fromtimestamp(turn.get("time", 0), dt.timezone.utc).strftime("%d %b %Y %H:%M UTC")
    response = current_app.make_response(render_template("export.html", turns=turns, disclaimer=DISCLAIMER))
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response
