"""REST API v1 (JSON; problem+json errors). Routes are thin: parse, call one service, shape the answer."""
from __future__ import annotations

from flask import Blueprint, g, request

from app.errors import AuthenticationError
from app.services.users import user_from_token

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi_spec"}


@api_bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("send Authorization: Bearer <token> (POST /api/v1/auth/token to get one)")
    g.user = user_from_token(token.strip())


from app.api import (  # noqa: F401  # noqa: E402,F401
    auth,
    cases,
    certificates,
    definitions,
    document_retention,
    documents,
    incidents,
    instances,
    messages,
    openapi,
    registry,
    tasks,
)
