"""Documents over REST: file one against a receipt, read it, its original, its receipt; search the text."""
from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, jsonify, request, url_for

from app.api import api_bp
from app.api.helpers import current_user, in_transaction
from app.api.openapi import DT, EXTRA_PATHS, INT, NSTR, SCHEMAS, STR, obj, op, path_id, ref
from app.api.views import iso
from app.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from app.models.document import DOCUMENT_STATUSES, Document, DocumentPage
from app.multipart import read_multipart_form
from app.services import document_search, documents, receipts
from app.services.permissions import require_role

# Room for the multipart envelope and the small fields around the file.
MULTIPART_SLACK = 64 * 1024


def _urls(d: Document) -> dict[str, str]:
    return {"receiptUrl": url_for("api.get_document_receipt", document_id=d.id, _external=True),
            "contentUrl": url_for("api.get_document_content", document_id=d.id, _external=True)}


def document_summary_json(d: Document) -> dict[str, Any]:
    return {"id": d.id, "status": d.status, "documentType": d.document_type, "subject": d.subject,
            "subjectType": d.subject_type, "processInstanceId": d.process_instance_id, "pages": d.pages,
            "originalName": d.original_name, "mediaType": d.media_type, "size": d.size, "sha256": d.sha256,
            "receiptNumber": d.receipt_number, "receivedAt": iso(d.received_at), "receivedBy": d.received_by,
            "indexedAt": iso(d.indexed_at), "failureReason": d.failure_reason, **_urls(d)}


def page_json(p: DocumentPage) -> dict[str, Any]:
    return {"number": p.number, "text": p.text, "confidence": p.confidence, "method": p.method,
            "rotation": p.rotation, "skew": p.skew}


def document_json(d: Document, pages: list[DocumentPage]) -> dict[str, Any]:
    body = document_summary_json(d)
    body.update({"text": "\f".join(p.text for p in pages) if pages else None,
                 "pageTexts": [page_json(p) for p in pages], "failureCode": d.failure_code,
                 "caseId": d.case_id, "retentionClass": d.retention_class, "legalHold": legal_hold_json(d),
                 "disposedAt": iso(d.disposed_at), "disposedBy": d.disposed_by,
                 "verificationCode": receipts.format_code(d.verification_code)})
    return body


def legal_hold_json(d: Document) -> dict[str, Any] | None:
    if not d.legal_hold:
        return None
    return {"reason": d.legal_hold_reason, "by": d.legal_hold_by, "at": iso(d.legal_hold_at)}


def _optional_int(name: str, raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequestError(f"{name} must be an integer", [{"field": name, "message": "integer"}]) from None


@api_bp.post("/documents")
def file_document():  # type: ignore[no-untyped-def]
    limit = int(current_app.config["MAX_UPLOAD_BYTES"])
    # Refuse an announced oversized body before reading a byte of it; a body without a length is
    # cut off at the same bound while it is read.
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise PayloadTooLargeError(f"documents are limited to {limit} bytes")
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaTypeError("send multipart/form-data with a `file` part")
    try:
        form = read_multipart_form(request, limit + MULTIPART_SLACK)
    except PayloadTooLargeError:
        raise PayloadTooLargeError(f"documents are limited to {limit} bytes") from None
    upload = form.files.get("file")
    if upload is None:
        raise BadRequestError("the `file` part is missing", [{"field": "file", "message": "required"}])
    fields = form.fields
    instance_id = _optional_int("processInstanceId", fields.get("processInstanceId"))
    document = in_transaction(lambda: documents.file_document(
        documents.Upload(io.BytesIO(upload.data), upload.filename), fields.get("documentType"), current_user(),
        subject=fields.get("subject") or None, process_instance_id=instance_id,
        case_number=fields.get("caseNumber") or None, max_bytes=limit))
    body = {"id": document.id, "sha256": document.sha256, "status": document.status,
            "receiptNumber": document.receipt_number, **_urls(document)}
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_document", document_id=document.id, _external=True)
    # The document is committed: the OCR task is sent once the answer is out, so the counter never
    # waits for the broker (if this process dies first, the sweeper sends it).
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response.call_on_close(lambda: documents.queue_ocr([document.id], app))
    return response


@api_bp.get("/documents/<int:document_id>")
def get_document(document_id: int):  # type: ignore[no-untyped-def]
    document = in_transaction(lambda: documents.read_document(document_id, current_user(), "document"))
    return jsonify(document_json(document, documents.page_texts(document_id)))


@api_bp.get("/documents/<int:document_id>/content")
def get_document_content(document_id: int):  # type: ignore[no-untyped-def]
    document = in_transaction(lambda: documents.read_document(document_id, current_user(), "document_content"))
    stream = documents.open_content(document)
    response = Response(_chunks(stream), mimetype=document.media_type, direct_passthrough=True)
    response.headers["Content-Length"] = str(document.size)
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(document.original_name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A PDF viewer may run scripts embedded in the file: never with this origin's rights.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.set_etag(document.sha256)
    return response


def _chunks(stream: Any, size: int = 256 * 1024):  # type: ignore[no-untyped-def]
    try:
        while chunk := stream.read(size):
            yield chunk
    finally:
        stream.close()


@api_bp.get("/documents/<int:document_id>/receipt")
def get_document_receipt(document_id: int):  # type: ignore[no-untyped-def]
    # The receipt names the person: its printing is logged like any read of the record.
    facts = in_transaction(lambda: documents.read_receipt(document_id, current_user()))
    pdf = receipts.render_receipt_pdf(facts)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{facts.number}.pdf"', "Cache-Control": "private, no-store"})


@api_bp.get("/documents")
def list_documents():  # type: ignore[no-untyped-def]
    require_role(current_user(), documents.DOCUMENT_ROLES, "search documents")
    flt = document_search.DocumentFilter(
        subject=request.args.get("subject") or None,
        process_instance_id=_optional_int("processInstanceId", request.args.get("processInstanceId")),
        document_type=request.args.get("documentType") or None, status=request.args.get("status") or None,
        verification_code=request.args.get("verificationCode") or None)
    limit = _optional_int("limit", request.args.get("limit"))
    limit = document_search.DEFAULT_LIMIT if limit is None else limit
    after = request.args.get("after") or None
    q = (request.args.get("q") or "").strip()
    if q:
        page = document_search.search_documents(q, flt, limit, after)
    else:
        page = document_search.list_documents(flt, limit, after)
    items = []
    for hit in page.items:
        item = document_summary_json(hit.document)
        item.update({"snippet": hit.snippet, "rank": hit.rank, "matchedPage": hit.page})
        items.append(item)
    return jsonify({"items": items, "page": {"totalItems": page.total, "endCursor": page.end_cursor}})


# -- OpenAPI ------------------------------------------------------------------------------------

NINT = {"type": "integer", "nullable": True}
SCHEMAS.update({
    "DocumentFiled": obj({"id": INT, "sha256": STR, "status": STR, "receiptNumber": STR, "receiptUrl": STR,
                          "contentUrl": STR}),
    "DocumentSummary": obj({
        "id": INT, "status": {"type": "string", "enum": list(DOCUMENT_STATUSES)},
        "documentType": STR, "subject": STR, "subjectType": {"type": "string", "enum": ["person", "employer"]},
        "processInstanceId": NINT, "pages": NINT, "originalName": STR, "mediaType": STR, "size": INT,
        "sha256": STR, "receiptNumber": STR, "receivedAt": DT, "receivedBy": STR, "indexedAt": DT,
        "failureReason": NSTR, "receiptUrl": STR, "contentUrl": STR}),
    "DocumentPageText": obj({"number": INT, "text": STR, "confidence": {"type": "number"}, "method": STR,
                             "rotation": INT, "skew": {"type": "number"}}),
    "Document": {"allOf": [ref("DocumentSummary"), obj({
        "text": NSTR, "pageTexts": {"type": "array", "items": ref("DocumentPageText")}, "failureCode": NSTR,
        "caseId": NINT, "retentionClass": STR, "legalHold": {"nullable": True, "allOf": [ref("LegalHold")]},
        "disposedAt": DT, "disposedBy": NSTR, "verificationCode": STR})]},
    "LegalHold": obj({"reason": STR, "by": STR, "at": DT}),
    "DocumentHit": {"allOf": [ref("DocumentSummary"), obj({
        "snippet": {**NSTR, "description": "HTML-escaped text, matched words in <mark>"},
        "rank": {"type": "number", "nullable": True}, "matchedPage": NINT})]},
    "DocumentSearchPage": obj({"items": {"type": "array", "items": ref("DocumentHit")}, "page": ref("PageInfo")}),
    "DocumentUpload": obj({
        "file": {"type": "string", "format": "binary"},
        "documentType": {"type": "string", "enum": list(documents.DOCUMENT_TYPES)},
        "subject": {"type": "string", "description": "SSN (15 characters) or employer number"},
        "processInstanceId": INT, "caseNumber": STR}, ["file", "documentType"]),
})
# The instance page lists the instance's documents (app.api.views.instance_json).
SCHEMAS["Instance"]["allOf"].append(obj({"documents": {"type": "array", "items": ref("DocumentSummary")}}))

_did = [path_id("id")]
_query = [{"name": name, "in": "query", "schema": schema} for name, schema in (
    ("q", STR), ("subject", STR), ("processInstanceId", INT), ("documentType", STR), ("status", STR),
    ("verificationCode", STR), ("limit", INT), ("after", STR))]


def _file_op(summary: str, media_type: str) -> dict[str, Any]:
    """An operation answering with a file of that media type."""
    operation = op(summary, None, params=_did, errors=(403, 404, 410), tag="documents")
    operation["responses"]["200"] = {"description": "OK", "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}}}
    return operation


EXTRA_PATHS.update({
    "/documents": {
        "post": op("File a document (stored at once, OCR queued); answers with its receipt", ref("DocumentFiled"),
                   status=201, body=ref("DocumentUpload"), body_type="multipart/form-data",
                   errors=(403, 413, 415, 422), tag="documents"),
        "get": op("Search documents by words of their text (q), or list them by subject, instance, type...",
                  ref("DocumentSearchPage"), params=_query, errors=(400, 403), tag="documents"),
    },
    "/documents/{id}": {"get": op("A document with its text, page by page", ref("Document"), params=_did,
                                  errors=(403, 404), tag="documents")},
    "/documents/{id}/content": {"get": _file_op("The original bytes, with their media type",
                                                "application/octet-stream")},
    "/documents/{id}/receipt": {"get": _file_op("The printable PDF receipt", "application/pdf")},
})
