"""Request parsing and the one commit at the end of a request."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from sqlalchemy.orm.exc import StaleDataError

from app.errors import BadRequestError, ConflictError, PayloadTooLargeError, UnsupportedMediaTypeError
from app.models import User
from app.services.dispatch import commit_once

T = TypeVar("T")


def current_user() -> User:
    """The authenticated caller of this API request."""
    return g.user  # type: ignore[no-any-return]


def json_body(*, allow_empty: bool = False) -> dict[str, Any]:
    """The request's JSON object; 415 for another media type, 400 when malformed or not an object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return {}
        raise BadRequestError("a JSON body is required")
    if len(raw) > current_app.config["MAX_JSON_BYTES"]:
        raise PayloadTooLargeError(f"JSON bodies are limited to {current_app.config['MAX_JSON_BYTES']} bytes")
    if not request.is_json:
        raise UnsupportedMediaTypeError("send Content-Type: application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequestError("the body is not valid JSON")
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    return body


def int_field(body: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    """An integer member of a JSON body, 400 otherwise."""
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequestError(f"{name} is required", [{"field": name, "message": "required"}])
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequestError(f"{name} must be an integer", [{"field": name, "message": "integer"}])
    return value


def str_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """A string member of a JSON body, 400 otherwise."""
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequestError(f"{name} is required", [{"field": name, "message": "required"}])
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{name} must be a string", [{"field": name, "message": "string"}])
    return value


def in_transaction(work: Callable[[], T]) -> T:
    """Run a unit of work and commit once; roll back on any error (a stale write becomes a 409)."""
    try:
        return commit_once(work)
    except StaleDataError as exc:
        raise ConflictError("the instance changed meanwhile; try again") from exc
