"""CORS: only the host pages listed in the `cors_origins` setting may call the API from a browser.

Origins are compared exactly (scheme, host and port), so look-alikes such as
`https://example.org.evil.net` or `http://example.org` for `https://example.org` never match.
"""
from __future__ import annotations

import ipaddress
import re

from flask import Flask, Response, request

ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "Content-Type"


# The serialised origin (RFC 6454 section 6.2): scheme "://" host [":" port], nothing else. Checked
# character by character: urlsplit silently drops tabs and newlines and takes spaces in a host.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(rf"(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])"
                     r"(?::(?P<port>[0-9]{1,5}))?/?", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(origin: str) -> str | None:
    """'scheme://host[:port]' in lowercase with default ports dropped; None if it is not an origin.

    Hosts are ASCII (browsers send internationalised names in punycode); the port is 1-65535.
    """
    match = _ORIGIN.fullmatch(origin.strip(" \t"))
    if match is None:
        return None
    scheme, host = match["scheme"].lower(), match["host"].lower()
    port = int(match["port"]) if match["port"] is not None else DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        return None
    if host.startswith("["):
        try:
            host = f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    return f"{scheme}://{host}" + (f":{port}" if port != DEFAULT_PORTS[scheme] else "")


def parse_origins(value: str) -> frozenset[str]:
    """The allow-list from the setting; raises ValueError naming a malformed entry."""
    origins = set()
    for entry in (item.strip() for item in value.split(",")):
        if not entry:
            continue
        origin = normalise_origin(entry)
        if origin is None:
            raise ValueError(f"RCA_CORS_ORIGINS entry {entry!r} is not an origin like https://example.org[:port] "
                             "(an internationalised host name goes in punycode, xn--...)")
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
