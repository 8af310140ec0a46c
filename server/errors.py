"""One JSON error shape everywhere: {"error": {"code", "message"}}. It never echoes the request."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):  # type: ignore[no-untyped-def]
        return jsonify(error_body(error.code, error.message)), error.status, error.headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = (error.name or "error").lower().replace(" ", "_")
        messages = {413: "The request body is too large.", 404: "Not found.", 405: "Method not allowed.",
                    400: "The request is not valid JSON or misses a field."}
        response = jsonify(error_body(code, messages.get(error.code or 500, error.name or "Error")))
        # A 405 must say which methods the resource has (RFC 9110 15.5.6); werkzeug knows them.
        allowed = getattr(error, "valid_methods", None)
        headers = {"Allow": ", ".join(sorted(allowed))} if allowed else {}
        return response, error.code or 500, headers

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error: %s", type(error).__name__)
        return jsonify(error_body("internal_error", "Something went wrong on our side. Please try again.")), 500
