"""Helpers of the document API tests (shared by test_documents*.py; fixtures are in conftest.py)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pdfplumber
from sqlalchemy import func, select

from tests.unit.ocr.conftest import FRENCH_ENGLISH_TEXT, Samples


def text_pdf(lines: list[str] = FRENCH_ENGLISH_TEXT, pages: int = 1) -> bytes:
    return Samples.text_pdf([lines] * pages)


def upload(api, content: bytes, name: str = "scan.pdf", document_type: str = "medical_certificate",
           **fields: Any):  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {"file": (io.BytesIO(content), name), "documentType": document_type}
    data.update({k: str(v) for k, v in fields.items()})
    return api.client.post("/api/v1/documents", headers=api.headers, data=data, content_type="multipart/form-data")


def file_ok(api, content: bytes, subject: str, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = upload(api, content, subject=subject, **kw)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def run_ocr(app, document_id: int, *, split: bool = False) -> str:  # type: ignore[no-untyped-def]
    """The OCR task body, pages of a split document read one task at a time."""
    from app.extensions import db
    from workers.tasks.ocr import process_document, process_page

    sent: list[tuple[int, list[int]]] = []
    with app.app_context():
        outcome = process_document(document_id, send_pages=(lambda d, pages: sent.append((d, pages)))
                                   if split else None)
        for doc_id, pages in sent:
            for number in pages:
                outcome = process_page(doc_id, number)
        db.session.remove()
    return outcome


def counts(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(documents, pages, objects in the store): what a refused upload must not change."""
    from app.extensions import db
    from app.models.document import Document, DocumentPage

    with app.app_context():
        docs = db.session.scalar(select(func.count(Document.id)))
        pages = db.session.scalar(select(func.count(DocumentPage.id)))
        db.session.remove()
    root = Path(app.config["DATA_DIR"]) / "objects"
    objects = sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
    return int(docs or 0), int(pages or 0), objects


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


# -- filing, receipt, original, text, search ----------------------------------------------------


def problem(response, status: int, field: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    if field is not None:
        assert any(e.get("field") == field for e in body["errors"]), body
    return body
