"""The nurse reference page, `GET /reference[?q=...]`: fast search over the source documents.

The page is a static shell; static/reference.js runs the search through `GET /api/search` (same
origin), shows each passage with its best-matching sentence highlighted, filters by document, copies
citations and links to the passage highlighted in its document (`/documents/<doc_id>?start=&end=#passage`).
`?q=` makes a search linkable; the query is echoed only into the search box, escaped by Jinja.
`?cancer=` (a canonical name, as `/api/search` takes it) restricts the search to pages about that cancer;
the control lists the covered cancers by family, from the same catalogue as `/api/cancers`; `?doc=`
shows one document's passages of the results.

Below it, static/reference-trials.js runs the "Clinical trials" search through `GET /api/trials` (the
assistant's own trial search) and lists the studies, each linked to its page (`/trials/<NCT id>`). Its
cancer box suggests every name of the cancer vocabulary (trials cover more cancers than the documents);
`?trial_cancer=&country=&city=&recruiting=&age=&sex=&phase=` make a trial search linkable.
No inline script or style: the Content-Security-Policy below forbids them.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

reference = Blueprint("reference", __name__)
REFERENCE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
RESULTS_PER_SEARCH = 20  # the API's maximum k


@reference.get("/reference")
def page():  # type: ignore[no-untyped-def]
    max_chars = current_app.config["MESSAGE_MAX_CHARS"]
    query = request.args.get("q", "")[:max_chars]
    resources = current_app.extensions["rca"].resources
    response = current_app.make_response(render_template(
        "reference.html", query=query, max_chars=max_chars, k=RESULTS_PER_SEARCH,
        weak_below=resources.answer_threshold, catalogue=resources.coverage.catalogue(),
        trial_cancers=sorted((t.name for t in resources.vocabulary.types), key=str.casefold)))
    response.headers["Content-Security-Policy"] = REFERENCE_POLICY
    response.headers["Cache-Control"] = "no-cache"
    return response
