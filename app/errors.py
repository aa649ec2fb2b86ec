"""AppError hierarchy, rendered as RFC 7807 problem+json on the API and as HTML pages in the UI."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base of every error a user can cause; carries its HTTP status and a problem title."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class BadRequestError(AppError):
    status, title = 400, "Malformed request"


class AuthenticationError(AppError):
    status, title = 401, "Not authenticated"


class PermissionDeniedError(AppError):
    status, title = 403, "Not allowed"


class NotFoundError(AppError):
    status, title = 404, "Not found"


class ConflictError(AppError):
    status, title = 409, "Conflict"


class GoneError(AppError):
    status, title = 410, "Gone"


class PayloadTooLargeError(AppError):
    status, title = 413, "Payload too large"


class UnsupportedMediaTypeError(AppError):
    status, title = 415, "Unsupported media type"


class ValidationFailedError(AppError):
    status, title = 422, "Validation failed"


def problem(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> Response:
    """Build an application/problem+json response."""
    body = {
        "type": f"about:blank#{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="guichet"'
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    """Map AppError, HTTP errors and unexpected exceptions to problem+json or HTML."""

    @app.errorhandler(AppError)
    def _app_error(exc: AppError):  # type: ignore[no-untyped-def]
        if _wants_json():
            return problem(exc.status, exc.title, exc.detail, exc.errors)
        return render_template("error.html", status=exc.status, title=exc.title, detail=exc.detail,
                               errors=exc.errors), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        detail = exc.description or exc.name
        if status == 413:
            detail = "The request body is larger than allowed."
        if _wants_json():
            return problem(status, exc.name, detail)
        return render_template("error.html", status=status, title=exc.name, detail=detail, errors=[]), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")
        return render_template("error.html", status=500, title="Internal error",
                               detail="An unexpected error occurred; it has been logged.", errors=[]), 500
