"""An access log that holds no personal data: the route pattern (never the path or query, which can
carry a session id or a question), the status and the time taken. Message text is never logged.
The time taken is also sent as a `Server-Timing` header."""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("server.access")


def install(app: Flask) -> None:
    server_log = logging.getLogger("server")
    if not server_log.handlers:  # under gunicorn, nothing else prints INFO lines of ours
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"))
        server_log.addHandler(handler)
        server_log.setLevel(logging.INFO)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info("%s %s %d %.1fms", request.method, route, response.status_code, elapsed)
        response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"  # read by bench/load.py
        return response
