"""POST /auth/token: bearer tokens for username + password."""
from __future__ import annotations

from flask import jsonify

from app.api import api_bp
from app.api.helpers import json_body, str_field
from app.services import users as user_service


@api_bp.post("/auth/token")
def issue_token():  # type: ignore[no-untyped-def]
    body = json_body()
    user = user_service.authenticate(str_field(body, "username", required=True) or "",
                                     str_field(body, "password", required=True) or "")
    token, ttl = user_service.issue_token(user)
    return jsonify({"access_token": token, "token_type": "Bearer", "expires_in": ttl})



