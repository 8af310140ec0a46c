"""The Flask app factory: `create_app(config=None)`.

Each worker process builds one app, loading the model and index once. Settings come from the one
settings table (index/settings.py); `config` overrides them, and tests pass their own resources and
store so they run on temporary folders.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify

from bot.engine import Engine
from bot.resources import Resources
from bot.store import ConversationStore
from index import settings
from index.store import IndexError_
from server import errors
from server.api import api
from server.pages import pages

log = logging.getLogger("server")


@dataclass
class State:
    """What a worker holds: the dialogue resources and engine, and when it last looked for a new index."""

    resources: Resources
    engine: Engine
    reload_every: float
    last_check: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reload_if_due(self) -> None:
        now = time.monotonic()
        if now - self.last_check < self.reload_every:
            return
        with self.lock:
            if now - self.last_check < self.reload_every:
                return
            self.last_check = now
        try:
            if self.resources.searcher.reload_if_changed():
                log.info("switched to index build %s", self.resources.searcher.snapshot.build_id)
        except IndexError_ as exc:  # a broken new build never replaces a working one
            log.error("new index build not loaded: %s", exc)


def _default_store(config: dict[str, Any]) -> ConversationStore:
    from server.sqlite_store import SqliteStore

    return SqliteStore(config["DATABASE"], retention_days=config["SESSION_RETENTION_DAYS"])


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.get("max_body_bytes"), MESSAGE_MAX_CHARS=settings.get("message_max_chars"),
        DATABASE=settings.get("database"), SESSION_RETENTION_DAYS=settings.get("session_retention_days"),
        RELOAD_CHECK_SECONDS=settings.get("reload_check_seconds"), JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    resources = app.config.get("RESOURCES") or Resources.from_settings()
    resources.searcher.embedder.encode_query("ready")  # load the model now, not on the first question
    store = app.config.get("STORE") or _default_store(app.config)
    engine = Engine(resources, store, app.config["MESSAGE_MAX_CHARS"])
    app.extensions["rca"] = State(resources, engine, app.config["RELOAD_CHECK_SECONDS"])
    errors.register(app)
    app.register_blueprint(api)
    app.register_blueprint(pages)

    @app.before_request
    def look_for_new_index() -> None:
        app.extensions["rca"].reload_if_due()

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
        return jsonify({"status": "ready", "index_build": snapshot.build_id, "passages": len(snapshot.passages)})

    return app
