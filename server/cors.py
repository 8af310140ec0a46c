"""CORS: only the host pages listed in the `cors_origins` setting may call the API from a browser.

Origins are compared exactly (scheme, host and port), so look-alikes such as
`https://example.org.evil.net` or `http://example.org` for `https://example.org` never match.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "Content-Type"


def normalise_origin(origin: str) -> str | None:
    """'scheme://host[:port]' in lowercase with default ports dropped; None if it is not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        return None
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def parse_origins(value: str) -> frozenset[str]:
    """The allow-list from the setting; raises ValueError naming a malformed entry."""
    origins = set()
    for entry in (item.strip() for item in value.split(",")):
        if not entry:
            continue
        origin = normalise_origin(entry)
        if origin is None:
            raise ValueError(f"RCA_CORS_ORIGINS entry {entry!r} is not an origin like https://example.org[:port]")
        origins.add(origin)
    return frozenset(origins)


def install(app: Flask, allowed: frozenset[str]) -> None:
    @app.after_request
    def cors_headers(response: Response) -> Response:
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin and normalise_origin(origin) in allowed and request.path.startswith(("/api/", "/webhooks/")):
            response.headers["Access-Control-Allow-Origin"] = origin
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        return response
