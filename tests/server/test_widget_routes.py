"""The widget's files and the demo page, through Flask's test client (the browser tests drive them for real)."""
from __future__ import annotations

import re

import pytest

from bot.store import InMemoryStore
from server.app import create_app

WIDGET_JS = "server/static/widget.js"
FORBIDDEN_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   "setAttribute(\"style\"", ".style.", "javascript:")


@pytest.fixture(scope="module")
def client(loaded):
    app = create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "TESTING": True, "RELOAD_CHECK_SECONDS": 3600.0,
                      "CORS_ORIGINS": "https://host.example"})
    return app.test_client()


@pytest.mark.parametrize("path, content_type", [
    ("/widget.js", "application/javascript; charset=utf-8"),
    ("/widget.css", "text/css; charset=utf-8"),
])
def test_widget_files_can_be_loaded_by_any_site(client, path, content_type):
    response = client.get(path, headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert set(response.headers["Cache-Control"].replace(" ", "").split(",")) == {"public", "max-age=300"}
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.get_data()) > 1000


def test_widget_files_revalidate_with_etags(client):
    first = client.get("/widget.js")
    again = client.get("/widget.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_widget_script_never_parses_markup(client):
    source = client.get("/widget.js").get_data(as_text=True)
    for sink in FORBIDDEN_SINKS:
        assert sink not in source, f"widget.js uses {sink}"
    assert source.lstrip().startswith("/*") and "(function () {" in source and source.rstrip().endswith("})();")
    assert "document.currentScript" in source and 'attachShadow({ mode: "open" })' in source
    assert "/webhooks/rest/webhook" in source and "textContent" in source


def test_widget_styles_need_no_inline_style_and_use_px(client):
    css = client.get("/widget.css").get_data(as_text=True)
    assert ":host" in css and "@media (max-width: 480px)" in css
    assert not re.search(r"\d rem\b|\drem\b", css), "rem follows the host page's root font size; use px"


def test_demo_page_embeds_the_widget_with_one_tag(client):
    response = client.get("/", base_url="https://assistant.example")
    assert response.status_code == 200 and response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", body)
    assert scripts == ['<script src="/widget.js" data-server="https://assistant.example">']
    assert 'href="/reference"' in body
    assert "not medical advice" in body


def test_demo_page_has_a_strict_policy_without_inline_code(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and "unsafe" not in policy
    body = response.get_data(as_text=True)
    assert "<style" not in body and " style=" not in body and not re.search(r"\son[a-z]+=", body)
    assert re.findall(r"<script\b[^>]*>\s*</script>", body)  # every script is an empty tag with a src
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', body).group(1)
    assert client.get(stylesheet).status_code == 200


def test_demo_page_escapes_the_host_header(client):
    response = client.get("/", headers={"Host": 'evil.example"><script>alert(1)</script>'})
    body = response.get_data(as_text=True)
    assert "<script>alert(1)" not in body
