"""Retention over REST: legal hold on a document, and its disposal (supervisors and admins).

Each answers with the document as `GET /documents/{id}` shows it; a disposed document stays
readable as a tombstone, its content and receipt answer 410 Gone.
"""
from __future__ import annotations

from flask import jsonify

from app.api import api_bp
from app.api.documents import document_json
from app.api.helpers import current_user, in_transaction, json_body, str_field
from app.api.openapi import EXTRA_PATHS, SCHEMAS, STR, obj, op, path_id, ref
from app.services import document_retention, documents
from app.services.permissions import RETENTION_ROLES, require_role


@api_bp.post("/documents/<int:document_id>/legal-hold")
def place_legal_hold(document_id: int):  # type: ignore[no-untyped-def]
    user = current_user()
    require_role(user, RETENTION_ROLES, "place legal holds")
    reason = str_field(json_body(), "reason", required=True)
    document = in_transaction(lambda: document_retention.place_legal_hold(document_id, reason, user))
    return jsonify(document_json(document, documents.page_texts(document_id)))


@api_bp.delete("/documents/<int:document_id>/legal-hold")
def release_legal_hold(document_id: int):  # type: ignore[no-untyped-def]
    document = in_transaction(lambda: document_retention.release_legal_hold(document_id, current_user()))
    return jsonify(document_json(document, documents.page_texts(document_id)))


@api_bp.delete("/documents/<int:document_id>")
def dispose_document(document_id: int):  # type: ignore[no-untyped-def]
    disposal = in_transaction(lambda: document_retention.dispose_document(document_id, current_user()))
    return jsonify(document_json(disposal.document, []))


# -- OpenAPI ------------------------------------------------------------------------------------

SCHEMAS["LegalHoldRequest"] = obj({"reason": {**STR, "minLength": 1,
                                              "maxLength": document_retention.MAX_REASON}}, ["reason"])
_did = [path_id("id")]
EXTRA_PATHS["/documents/{id}"]["delete"] = op(
    "Dispose of a document (supervisors, admins): original, text and index entries destroyed, a tombstone "
    "kept (status disposed); 409 while on legal hold or while its process instance has not ended",
    ref("Document"), params=_did, errors=(403, 404, 409, 503), tag="documents")
EXTRA_PATHS["/documents/{id}/legal-hold"] = {
    "post": op("Put a document on legal hold (supervisors, admins): it cannot be disposed of until released",
               ref("Document"), params=_did, body=ref("LegalHoldRequest"), errors=(403, 404, 409, 415, 422),
               tag="documents"),
    "delete": op("Release a document's legal hold (supervisors, admins)", ref("Document"), params=_did,
                 errors=(403, 404, 409), tag="documents"),
}
