"""The Flask app factory: `create_app(config=None)`.

Each worker process builds one app, loading the model and index once. Settings come from the one
settings table (index/settings.py); `config` overrides them, and tests pass their own resources and
store so they run on temporary folders.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify, request

from bot.engine import Engine
from bot.resources import Resources
from index import settings
from server import access_log, backends, cors, errors
from server.api import api
from server.errors import ApiError
from server.index_reload import IndexReloader, ReloadingMiddleware
from server.openapi import openapi
from server.pages import pages
from server.rate_limit import is_forwarded, parse_exempt_addresses
from server.reference import reference
from server.trial_pages import trial_pages
from server.trials_api import trials_api
from server.widget import widget

log = logging.getLogger("server")


@dataclass
class State:
    """What a worker holds: the dialogue resources and engine, and the index reloader."""

    resources: Resources
    engine: Engine
    reloader: IndexReloader


RATE_LIMITED = frozenset({"api.chat", "api.rasa_rest_webhook", "api.search", "api.feedback", "trials_api.trials"})


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.get("max_body_bytes"), MESSAGE_MAX_CHARS=settings.get("message_max_chars"),
        DATABASE=settings.get("database"), SESSION_RETENTION_DAYS=settings.get("session_retention_days"),
        RELOAD_CHECK_SECONDS=settings.get("reload_check_seconds"), CORS_ORIGINS=settings.get("cors_origins"),
        RATE_LIMIT_PER_MINUTE=settings.get("rate_limit_per_minute"), TRUSTED_PROXIES=settings.get("trusted_proxies"),
        RATE_LIMIT_EXEMPT=settings.get("rate_limit_exempt"),
        REDIS_URL=settings.get("redis_url"),
    )
    app.config.update(config or {})
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])  # type: ignore[method-assign]
    resources = app.config.get("RESOURCES") or Resources.from_settings()
    resources.searcher.embedder.encode_query("ready")  # load the model now, not on the first question
    store = app.config.get("STORE") or backends.make_store(app.config)
    limiter = app.config["RATE_LIMITER"] if "RATE_LIMITER" in app.config else backends.make_rate_limiter(app.config)
    engine = Engine(resources, store, app.config["MESSAGE_MAX_CHARS"])
    reloader = IndexReloader(resources.searcher, app.config["RELOAD_CHECK_SECONDS"])
    app.extensions["rca"] = State(resources, engine, reloader)
    app.wsgi_app = ReloadingMiddleware(app.wsgi_app, reloader)  # type: ignore[method-assign]
    errors.register(app)
    access_log.install(app)
    try:
        allowed_origins = cors.parse_origins(app.config["CORS_ORIGINS"])
    except ValueError as exc:
        raise SystemExit(f"{exc}. Fix or unset it.") from exc
    cors.install(app, allowed_origins)
    try:
        exempt = parse_exempt_addresses(app.config["RATE_LIMIT_EXEMPT"])
    except ValueError as exc:
        raise SystemExit(f"{exc}. Fix or unset it.") from exc
    for blueprint in (api, pages, openapi, widget, reference, trials_api, trial_pages):
        app.register_blueprint(blueprint)

    @app.before_request
    def rate_limit() -> None:
        if limiter is None or request.method == "OPTIONS" or request.endpoint not in RATE_LIMITED:
            return
        if request.remote_addr in exempt and not is_forwarded(request.headers):
            return
        wait = limiter.hit(request.remote_addr or "unknown")
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise ApiError(429, "rate_limited", f"Too many requests. Please wait {seconds} seconds and try again.",
                           headers={"Retry-After": str(seconds)})

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():  # type: ignore[no-untyped-def]
        state = app.extensions["rca"]
        snapshot = state.resources.searcher.snapshot
        return jsonify({"status": "ready", "index_build": snapshot.build_id, "passages": len(snapshot.passages),
                        "worker": os.getpid()})

    return app
