"""The OpenAPI 3.1 description of the HTTP API, served at `GET /api/openapi.json`.

The description is the hand-written `server/openapi.json` beside this file, read once at import and
served byte for byte (key order kept for readers). tests/server/test_openapi.py holds the app to it:
every route must be described, and real responses must match the schemas; tests/server/test_api_fuzz.py
fuzzes the JSON endpoints from it. A readable guide with examples is docs/api.md.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app

SPEC_PATH = Path(__file__).resolve().parent / "openapi.json"
_SPEC_BYTES = SPEC_PATH.read_bytes()
SPEC: dict[str, Any] = json.loads(_SPEC_BYTES)  # fails at import, not on a request, if the file is broken

openapi = Blueprint("openapi", __name__)


@openapi.get("/api/openapi.json")
def document():  # type: ignore[no-untyped-def]
    response = current_app.response_class(_SPEC_BYTES, mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    return response
