"""Streaming a case document to the pages' viewer, for the people who may see the case."""
from __future__ import annotations

import importlib
from typing import Any

from flask import Response, stream_with_context

from app.errors import NotFoundError
from app.web.common import actor, in_transaction


def _service() -> Any:
    try:
        return importlib.import_module("app.services.documents")
    except ImportError as exc:
        raise NotFoundError("documents are not available in this installation") from exc


def document_response(document_id: int, instance_id: int, purpose: str) -> Response:
    """The original of a document of this instance, inline; the read is logged by the documents service."""
    service = _service()
    if document_id not in {d.id for d in service.documents_of_instance(instance_id)}:
        raise NotFoundError(f"no document {document_id} in case #{instance_id}")
    document = in_transaction(lambda: service.read_document(document_id, actor(), purpose))
    stream = service.open_content(document)

    def chunks() -> Any:
        try:
            while block := stream.read(64 * 1024):
                yield block
        finally:
            stream.close()

    response = Response(stream_with_context(chunks()), mimetype=document.media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{document.original_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response
