"""Interactive API documentation at /api/docs, rendered from the OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.api.openapi import build_spec

docs_bp = Blueprint("docs", __name__)


@docs_bp.get("/api/docs")
def api_docs():  # type: ignore[no-untyped-def]
    return render_template("api_docs.html", spec=build_spec())
