"""The embeddable chat widget (`/widget.js`, `/widget.css`) and the demo page at `/` that embeds it.

A host page embeds the widget with one tag, `<script src="https://HOST/widget.js" data-server="https://HOST">`.
Both files are served from fixed paths (not /static/...) with a short cache and a cross-origin resource
policy, so any site may load them; what the widget may call is decided by CORS (server/cors.py).
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, send_from_directory

widget = Blueprint("widget", __name__)

ASSET_MAX_AGE = 300  # seconds: short, so a fixed widget reaches every embedding site within minutes
ASSETS = {"widget.js": "application/javascript; charset=utf-8", "widget.css": "text/css; charset=utf-8"}
DEMO_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _asset(name: str):  # type: ignore[no-untyped-def]
    response = send_from_directory(current_app.static_folder or "static", name, max_age=ASSET_MAX_AGE)
    response.headers["Content-Type"] = ASSETS[name]
    response.headers.pop("Content-Disposition", None)
    response.cache_control.public = True
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@widget.get("/widget.js")
def widget_js():  # type: ignore[no-untyped-def]
    return _asset("widget.js")


@widget.get("/widget.css")
def widget_css():  # type: ignore[no-untyped-def]
    return _asset("widget.css")


@widget.get("/")
def demo():  # type: ignore[no-untyped-def]
    """A short page for patients that embeds the widget exactly as another site would."""
    days = current_app.config.get("SESSION_RETENTION_DAYS")
    response = current_app.make_response(render_template(
        "demo.html", server=request.host_url.rstrip("/"), retention_days=f"{days:g}" if days else ""))
    response.headers["Content-Security-Policy"] = DEMO_POLICY
    return response
