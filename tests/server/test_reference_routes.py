"""The nurse reference page's routes (Flask's test client): the page shell, its policy, its assets, and
the API contract its script relies on. The behaviour in a browser is in tests/browser/test_reference.py."""
from __future__ import annotations

import html
import re

import pytest

from bot.store import InMemoryStore
from server.app import create_app
from server.reference import REFERENCE_POLICY

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
          "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@pytest.fixture(scope="module")
def client(loaded):
    app = create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "TESTING": True, "RELOAD_CHECK_SECONDS": 3600.0,
                      "RATE_LIMITER": None})
    return app.test_client()


@pytest.fixture(autouse=True)
def _reports_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))


def test_page_is_a_search_form_with_a_labelled_box(client):
    response = client.get("/reference")
    assert response.status_code == 200 and response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    form = re.search(r'<form role="search"[^>]*>', body)
    assert form and 'action="/reference"' in form.group(0) and 'method="get"' in form.group(0)
    assert '<label for="q"' in body and re.search(r'<input type="search" id="q" name="q" value=""', body)
    assert '<select id="doc-filter">' in body and 'role="status"' in body
    assert '<script src="/static/reference.js" defer></script>' in body
    assert '<link rel="stylesheet" href="/static/reference.css">' in body


def test_page_has_its_own_strict_policy_and_no_inline_code(client):
    response = client.get("/reference")
    assert REFERENCE_POLICY == POLICY
    assert response.headers["Content-Security-Policy"] == POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_data(as_text=True)
    assert "<style" not in body and " style=" not in body and not re.search(r"\son[a-z]+=", body)
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", body))  # every script is a file


def test_query_in_the_url_fills_the_box_escaped(client):
    query = '"><img src=x onerror=alert(1)> penile cancer'
    response = client.get("/reference", query_string={"q": query})
    body = response.get_data(as_text=True)
    assert "<img src=x" not in body
    value = re.search(r'<input type="search" id="q" name="q" value="([^"]*)"', body).group(1)
    assert html.unescape(value) == query
    title = body.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and html.unescape(title).startswith(query)


def test_an_overlong_query_is_cut_to_the_message_limit(client):
    body = client.get("/reference", query_string={"q": "x" * 5000}).get_data(as_text=True)
    value = re.search(r'id="q" name="q" value="(x*)"', body).group(1)
    limit = int(re.search(r'maxlength="(\d+)"', body).group(1))
    assert len(value) == limit == client.application.config["MESSAGE_MAX_CHARS"]


@pytest.mark.parametrize("path, mimetype", [("/static/reference.js", "text/javascript"),
                                             ("/static/reference.css", "text/css")])
def test_assets_are_served(client, path, mimetype):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == mimetype
    response.close()


def test_script_never_writes_markup_or_evaluates_strings(client):
    response = client.get("/static/reference.js")
    script = response.get_data(as_text=True)
    response.close()
    for forbidden in (".innerHTML", ".outerHTML", "insertAdjacentHTML(", "document.write(", "eval(", "new Function(",
                      ".setAttribute(\"style\"", "javascript:"):
        assert forbidden not in script, forbidden
    assert "textContent" in script and "/api/search?" in script


def test_the_cancer_control_lists_the_covered_cancers_by_family(client, loaded):
    body = client.get("/reference").get_data(as_text=True)
    control = body.split('<select id="cancer" name="cancer"', 1)[1].split("</select>", 1)[0]
    assert '<option value="">All cancers and general pages</option>' in control
    catalogue = loaded.coverage.catalogue()
    for group in catalogue["families"]:
        assert f'<optgroup label="{group["family"].capitalize()}">' in control
    names = [html.unescape(n) for n in re.findall(r'<option value="([^"]+)">', control)]
    assert names == [c["name"] for group in catalogue["families"] for c in group["cancers"]]
    assert '<label for="cancer">Cancer</label>' in body


def test_search_gives_what_the_page_shows(client):
    body = client.get("/api/search", query_string={"q": "how is penile cancer diagnosed", "k": 20}).get_json()
    results = body["results"]
    assert 1 < len(results) <= 20
    for result in results:
        assert {"doc_id", "title", "url", "section", "quote", "start", "end", "confidence"} <= set(result)
        assert isinstance(result["start"], int) and result["start"] < result["end"]
    first = results[0]
    # "Open in context" goes to the document page with the passage marked
    page = client.get(f"/documents/{first['doc_id']}?start={first['start']}&end={first['end']}")
    marked = page.get_data(as_text=True).split('<mark id="passage" tabindex="-1">', 1)[1].split("</mark>", 1)[0]
    assert html.unescape(marked) == first["quote"]
    # the publisher and the dates come with each result, as the document gives them
    document = client.get(f"/api/documents/{first['doc_id']}").get_json()
    assert document["publisher"] == first["publisher"] and document["title"] == first["title"]
    for date in ("last_reviewed", "last_updated", "retrieved", "date_note"):
        assert first[date] == document[date]


@pytest.mark.parametrize("query_string, code", [({"q": ""}, "missing_query"), ({"q": "x" * 5000}, "query_too_long"),
                                                ({"q": "sarcoma", "k": "21"}, "invalid_k"),
                                                ({"q": "sarcoma", "cancer": "zorblaxoma"}, "unknown_cancer")])
def test_search_errors_have_the_shape_the_page_reads(client, query_string, code):
    response = client.get("/api/search", query_string=query_string)
    body = response.get_json()
    assert response.status_code == 400 and body["error"]["code"] == code and body["error"]["message"]
