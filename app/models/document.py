"""Documents filed at a counter or through the portal: the original in the object store, its OCR text.

The full-text index is not mapped here because it differs per database (see migrations
0004_documents and 0007_search_unaccent): on PostgreSQL `document_pages.search_vector` is a
generated tsvector column (French + English, accents removed) with a GIN index; on SQLite the
external-content FTS5 table `document_pages_fts` (rowid = page id, accents removed) is kept in
step with the pages by triggers.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import BigId, UtcDateTime, utcnow

# received: stored, OCR queued -> processing: a worker reads it -> indexed | failed (with a reason);
# any of them -> disposed: original, text and index entries destroyed, the row kept as a tombstone.
DOCUMENT_STATUSES = ("received", "processing", "indexed", "failed", "disposed")
SUBJECT_TYPES = ("person", "employer")


class Document(db.Model):
    """One filed document: what it is, whose it is, where its bytes are, how far its reading went."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_subject_received", "subject", "received_at"),
        Index("ix_documents_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(10))  # "person" or "employer"
    subject: Mapped[str] = mapped_column(String(15))  # SSN or employer number
    process_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instances.id", ondelete="SET NULL"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    # Content-addressed: the storage key is the SHA-256 of the bytes (one object for identical files).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(40))  # sniffed from the bytes, never from the name
    original_name: Mapped[str] = mapped_column(String(255))  # sanitized: no directories, no control characters
    status: Mapped[str] = mapped_column(String(12), default="received")
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)  # page count, when known
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    received_by: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ocr_queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When a worker took the document or last stored a page of it: a stale value means a dead worker.
    ocr_progress_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ocr_attempts: Mapped[int] = mapped_column(Integer, default=0)
    indexed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the waiting process (if any) was told the outcome; NULL while it still has to be told.
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    retention_class: Mapped[str] = mapped_column(String(40))
    # A legal hold stops disposal until it is released (app.services.document_retention).
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    legal_hold_by: Mapped[str | None] = mapped_column(String(80))
    legal_hold_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set once the document is disposed of; sha256 and receipt_number stay for the audit trail.
    disposed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disposed_by: Mapped[str | None] = mapped_column(String(80))

    page_texts: Mapped[list[DocumentPage]] = relationship(
        back_populates="document", order_by="DocumentPage.number", cascade="all, delete-orphan",
        passive_deletes=True)


class DocumentPage(db.Model):
    """The text of one page, how it was read and how sure the reader was."""

    __tablename__ = "document_pages"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_document_pages_document_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)  # 0-100; 100 for a text layer
    method: Mapped[str] = mapped_column(String(20))  # text_layer | tesseract
    rotation: Mapped[int] = mapped_column(Integer, default=0)  # degrees turned clockwise before reading
    skew: Mapped[float] = mapped_column(Float, default=0.0)  # degrees straightened

    document: Mapped[Document] = relationship(back_populates="page_texts")
