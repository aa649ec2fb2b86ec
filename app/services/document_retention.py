"""Retention of filed documents: legal holds, and disposal that leaves a tombstone.

Rules (supervisors and admins only, `permissions.RETENTION_ROLES`):
- a legal hold has a reason, a holder and a time; it stops disposal until it is released;
- disposal is refused while the document is on hold or belongs to a process instance that has
  not ended (running, suspended, or failed with an incident still to resolve);
- disposal destroys the original in the object store, the OCR text of every page and so the
  search index entries (the FTS5 triggers on SQLite, the generated column on PostgreSQL), and
  keeps the row as a tombstone: status `disposed`, who and when, sha256, receipt number, type,
  subject; its content and receipt then answer 410 Gone;
- objects are content-addressed (the key is the SHA-256 of the bytes): the object is kept when
  another live document has the same bytes, or when a job's result (a generated letter, a
  transfer file) names the same key.

Every action is written where the records already keep their trail: a line of the subject's
record access log (`legal_hold:<id>`, `legal_hold_released:<id>`, `disposal:<id>`), and an event
in the history of the process instance the document belongs to, if any.

Ordering: the object is deleted inside the transaction, after the tombstone is flushed and
under the content lock, just before the request commits. A failing object store rolls
everything back (503, nothing changed). A commit failing after the delete leaves a live row
without its bytes: disposing of it again completes the disposal. A document filed with the same
bytes at the same time takes the same content lock and puts its bytes back if the disposal
removed them (`secure_original`, called by intake), so a twin never loses its original.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, delete, select, text

from app.errors import ConflictError, GoneError, NotFoundError, ValidationFailedError
from app.extensions import db
from app.models import Job, ProcessInstance, User
from app.models._types import utcnow
from app.models.document import Document, DocumentPage
from app.models.registry import Case
from app.services import projections, registry
from app.services.document_ocr import lock_document
from app.services.documents_storage import get_storage
from app.services.permissions import RETENTION_ROLES, require_role
from app.storage import StorageError

log = logging.getLogger(__name__)

MAX_REASON = 1000
# An instance in one of these has not ended: its documents may still be needed by its steps.
OPEN_INSTANCE_STATUSES = ("running", "suspended", "failed")
# Namespace of the PostgreSQL advisory locks on a content hash ("gdoc").
_CONTENT_LOCK_SPACE = 0x67646F63


@dataclass(frozen=True)
class Disposal:
    """What a disposal did to the stored bytes."""

    document: Document
    object_deleted: bool
    kept_for: str | None  # why the object was kept: "document 12", "job 34"


# -- checks ------------------------------------------------------------------------------------

def check_reason(reason: str | None) -> str:
    """A non-empty reason of at most MAX_REASON characters, else 422."""
    cleaned = " ".join((reason or "").split())
    if not cleaned:
        raise ValidationFailedError("a legal hold needs a reason",
                                    [{"field": "reason", "message": "required"}])
    if len(cleaned) > MAX_REASON:
        raise ValidationFailedError(f"the reason is limited to {MAX_REASON} characters",
                                    [{"field": "reason", "message": f"at most {MAX_REASON} characters"}])
    return cleaned


def ensure_not_disposed(document: Document) -> None:
    """410 Gone for the bytes (original, receipt) of a disposed document."""
    if document.status == "disposed":
        raise GoneError(f"document {document.id} was disposed of on {_day(document)}: "
                        "its original is destroyed")


def _day(document: Document) -> str:
    return document.disposed_at.date().isoformat() if document.disposed_at else "an earlier date"


def _locked(document_id: int) -> Document:
    document = lock_document(document_id)
    if document is None:
        raise NotFoundError(f"no document {document_id}")
    if document.status == "disposed":
        raise ConflictError(f"document {document_id} was already disposed of on {_day(document)} "
                            f"by {document.disposed_by}")
    return document


def linked_instances(document: Document) -> list[ProcessInstance]:
    """The process instances the document belongs to: its own, and its case's."""
    ids: set[int] = set()
    if document.process_instance_id is not None:
        ids.add(document.process_instance_id)
    if document.case_id is not None:
        case_instance = db.session.scalar(select(Case.process_instance_id).where(Case.id == document.case_id))
        if case_instance is not None:
            ids.add(case_instance)
    if not ids:
        return []
    return list(db.session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))
                                   .order_by(ProcessInstance.id)))


def _audit(document: Document, actor: User, purpose: str, event: str, instances: list[ProcessInstance],
           details: dict[str, Any]) -> None:
    registry.log_record_access(actor, document.subject_type, document.subject, f"{purpose}:{document.id}")
    for instance in instances:
        projections.record_event(instance.id, event, actor.username, details={
            "documentId": document.id, "receiptNumber": document.receipt_number, **details})


# -- legal hold --------------------------------------------------------------------------------

def place_legal_hold(document_id: int, reason: str | None, actor: User) -> Document:
    """Put a document on legal hold (409 when it already is, or was disposed of)."""
    require_role(actor, RETENTION_ROLES, "place legal holds")
    document = _locked(document_id)
    cleaned = check_reason(reason)
    if document.legal_hold:
        raise ConflictError(f"document {document_id} is already on legal hold since "
                            f"{document.legal_hold_at.date().isoformat() if document.legal_hold_at else '?'} "
                            f"(by {document.legal_hold_by}); release it first to change the reason")
    document.legal_hold = True
    document.legal_hold_reason = cleaned
    document.legal_hold_by = actor.username
    document.legal_hold_at = utcnow()
    _audit(document, actor, "legal_hold", "document_legal_hold_placed", linked_instances(document),
           {"reason": cleaned})
    db.session.flush()
    log.info("document %s put on legal hold by %s", document.id, actor.username)
    return document


def release_legal_hold(document_id: int, actor: User) -> Document:
    """Release a document's legal hold (409 when there is none)."""
    require_role(actor, RETENTION_ROLES, "release legal holds")
    document = _locked(document_id)
    if not document.legal_hold:
        raise ConflictError(f"document {document_id} is not on legal hold")
    details = {"reason": document.legal_hold_reason, "heldBy": document.legal_hold_by,
               "heldSince": document.legal_hold_at.isoformat() if document.legal_hold_at else None}
    document.legal_hold = False
    document.legal_hold_reason = document.legal_hold_by = None
    document.legal_hold_at = None
    _audit(document, actor, "legal_hold_released", "document_legal_hold_released", linked_instances(document),
           details)
    db.session.flush()
    log.info("legal hold on document %s released by %s", document.id, actor.username)
    return document


# -- disposal ----------------------------------------------------------------------------------

def dispose_document(document_id: int, actor: User) -> Disposal:
    """Destroy a document's original, text and index entries, keeping a tombstone; the caller commits."""
    require_role(actor, RETENTION_ROLES, "dispose of documents")
    document = _locked(document_id)
    if document.legal_hold:
        raise ConflictError(f"document {document_id} is on legal hold ({document.legal_hold_reason}), "
                            f"placed by {document.legal_hold_by}: release the hold before disposing of it")
    instances = linked_instances(document)
    open_ones = [i for i in instances if i.status in OPEN_INSTANCE_STATUSES]
    if open_ones:
        described = ", ".join(f"{i.id} ({i.status})" for i in open_ones)
        raise ConflictError(f"document {document_id} belongs to process instance {described}, which has not "
                            f"ended: dispose of it once the instance is completed or cancelled")
    db.session.execute(delete(DocumentPage).where(DocumentPage.document_id == document.id)
                       .execution_options(synchronize_session=False))
    document.status = "disposed"
    document.disposed_at = utcnow()
    document.disposed_by = actor.username
    db.session.flush()
    lock_content(document.sha256)
    kept_for = object_still_used(document.storage_key, document.id)
    if kept_for is None:
        try:
            get_storage().delete(document.storage_key)
        except StorageError as exc:
            log.error("disposal of document %s: the object store refused the delete: %s", document.id,
                      type(exc).__name__)
            from app.services.documents import StorageUnavailableError

            raise StorageUnavailableError("the object store is unavailable; nothing was disposed of, "
                                          "try again") from exc
    _audit(document, actor, "disposal", "document_disposed", instances,
           {"sha256": document.sha256, "objectDeleted": kept_for is None, "objectKeptFor": kept_for})
    log.info("document %s disposed of by %s (object %s)", document.id, actor.username,
             "deleted" if kept_for is None else f"kept for {kept_for}")
    return Disposal(document, kept_for is None, kept_for)


def object_still_used(key: str, document_id: int) -> str | None:
    """What else still needs the object under this key (a live twin document, a job's result), or None."""
    twin = db.session.scalar(select(Document.id).where(
        Document.sha256 == key, Document.id != document_id, Document.status != "disposed")
        .order_by(Document.id).limit(1))
    if twin is not None:
        return f"document {twin}"
    # Letters and transfer files are stored by the same content-addressed store; their job keeps the key.
    job = db.session.scalar(select(Job.id).where(Job.result.is_not(None),
                                                 cast(Job.result, String).contains(key))
                            .order_by(Job.id).limit(1))
    if job is not None:
        return f"job {job}"
    return None


def lock_content(sha256: str) -> None:
    """Serialise disposal and intake of the same bytes until commit.

    PostgreSQL: a transaction-level advisory lock on the hash. SQLite: nothing to do, both already
    hold the database write lock (a flushed row) until they commit.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                           {"space": _CONTENT_LOCK_SPACE, "key": int(sha256[:8], 16) - 2**31})


def secure_original(document: Document, data: bytes) -> None:
    """For intake, once the new row is flushed: put the bytes back if a concurrent disposal removed them."""
    lock_content(document.sha256)
    disposed = db.session.scalar(select(Document.id).where(
        Document.sha256 == document.sha256, Document.status == "disposed").limit(1))
    if disposed is None:
        return
    storage = get_storage()
    try:
        if storage.exists(document.storage_key):
            return
        storage.put_stream(io.BytesIO(data), content_type=document.media_type)
    except StorageError as exc:
        from app.services.documents import StorageUnavailableError

        raise StorageUnavailableError("the object store is unavailable; nothing was filed, "
                                      "try again") from exc
    log.warning("document %s: its bytes were removed by the disposal of document %s; stored again",
                document.id, disposed)
