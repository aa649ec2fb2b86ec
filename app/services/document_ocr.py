"""Reading a filed document: the steps the OCR tasks chain, each a short transaction of its own.

received -> processing (`begin_ocr`, committed before the long reading starts) -> pages stored
(`save_pages`, possibly by several page tasks) -> indexed once every page is there; or failed with
a reason (`fail_ocr`). Every step locks the document row, so concurrent page tasks and a repeated
delivery of the same task neither lose nor double a page: the work is idempotent by document id
(and page number). Once indexed or failed, the waiting process (if any) is told (`notify_outcome`).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from app.errors import ConflictError, NotFoundError
from app.extensions import db
from app.models import MessageSubscription, ProcessInstance, User
from app.models._types import utcnow
from app.models.document import Document, DocumentPage
from app.models.registry import Case
from app.services import messages, processes, projections
from workers.ocr import OcrResult, PageText

log = logging.getLogger(__name__)

INDEXED_MESSAGE = "documents_indexed"
FAILED_MESSAGE = "documents_failed"
SYSTEM_ACTOR = "ocr-worker"
MAX_REASON = 2000


@dataclass(frozen=True)
class OcrPlan:
    """What a worker needs to read a document, taken from its row when it starts."""

    document_id: int
    storage_key: str
    media_type: str
    pages: int | None
    attempt: int


@dataclass
class Reading:
    """Pages read by the first task; `pending` pages are left to one task each."""

    page_count: int
    pages: list[PageText] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)


def lock_document(document_id: int) -> Document | None:
    """The document row, locked until commit (FOR UPDATE; the write lock on SQLite)."""
    if db.session.get_bind().dialect.name == "sqlite":
        result = db.session.execute(update(Document).where(Document.id == document_id)
                                    .values(ocr_attempts=Document.ocr_attempts)
                                    .execution_options(synchronize_session=False))
        if result.rowcount == 0:
            return None
        stmt = select(Document).where(Document.id == document_id)
    else:
        stmt = select(Document).where(Document.id == document_id).with_for_update()
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def begin_ocr(document_id: int) -> OcrPlan | None:
    """Take a received document for reading (status processing); None when there is nothing to do."""
    document = lock_document(document_id)
    if document is None:
        log.warning("OCR of document %s: no such document", document_id)
        return None
    if document.status != "received":
        # indexed or failed: done; processing: another worker has it (the sweeper hands back
        # documents whose worker died).
        return None
    document.status = "processing"
    document.ocr_progress_at = utcnow()
    document.ocr_attempts += 1
    return OcrPlan(document.id, document.storage_key, document.media_type, document.pages, document.ocr_attempts)


def page_plan(document_id: int) -> OcrPlan | None:
    """What a page task needs, while the document is still being read; None otherwise."""
    document = db.session.get(Document, document_id)
    if document is None or document.status != "processing":
        return None
    return OcrPlan(document.id, document.storage_key, document.media_type, document.pages, document.ocr_attempts)


def stored_page_numbers(document_id: int) -> set[int]:
    """Numbers of the pages already stored."""
    return set(db.session.scalars(select(DocumentPage.number).where(DocumentPage.document_id == document_id)))


def read_document(data: bytes, languages: str, *, split: bool) -> Reading:
    """Read the document: every page now, or (split) text layers now and each scanned page later.

    Splitting only pays with at least two pages to OCR; a single scanned page is read at once.
    Raises workers.ocr.OcrError for unreadable input.
    """
    from workers.ocr import extract_text
    from workers.ocr.sniff import PDF, SNIFF_BYTES, sniff_media_type
    from workers.ocr.sources import ImageSource, PageSource, PdfSource

    media_type = sniff_media_type(data[:SNIFF_BYTES])
    if not split or media_type is None:
        result = extract_text(data, languages=languages)  # raises the reason for what it cannot read
        return Reading(len(result.pages), list(result.pages))
    pages: list[PageText] = []
    to_ocr: list[int] = []
    source: PageSource = PdfSource(data) if media_type == PDF else ImageSource(data, media_type)
    try:
        count = source.page_count
        for index in range(count):
            # Images have no text layer; a PDF page without a usable one is read by OCR.
            text = source.text_layer(index)
            if text is None:
                to_ocr.append(index + 1)
            else:
                pages.append(PageText(number=index + 1, text=text, confidence=100.0, method="text_layer"))
    finally:
        source.close()
    if len(to_ocr) <= 1:
        if to_ocr:
            pages.extend(extract_text(data, languages=languages, pages=to_ocr).pages)
        return Reading(count, sorted(pages, key=lambda p: p.number))
    return Reading(count, pages, to_ocr)


def read_page(data: bytes, number: int, languages: str) -> OcrResult:
    """One page of the document (for a page task)."""
    from workers.ocr import extract_text

    return extract_text(data, languages=languages, pages=[number])


def save_pages(document_id: int, pages: Iterable[PageText], page_count: int) -> bool:
    """Store (or replace) pages of a document being read; True when this made it indexed."""
    document = lock_document(document_id)
    if document is None or document.status != "processing":
        return False
    existing = {p.number: p for p in db.session.scalars(
        select(DocumentPage).where(DocumentPage.document_id == document_id))}
    for page in pages:
        row = existing.get(page.number)
        if row is None:
            row = DocumentPage(document_id=document_id, number=page.number)
            db.session.add(row)
            existing[page.number] = row
        # NUL cannot be stored in PostgreSQL text; tesseract output never needs it.
        row.text = page.text.replace("\x00", "")
        row.confidence = round(float(page.confidence), 2)
        row.method = page.method
        row.rotation = int(page.rotation)
        row.skew = round(float(page.skew), 2)
    now = utcnow()
    document.pages = page_count
    document.ocr_progress_at = now
    db.session.flush()
    if len(existing) < page_count:
        return False
    document.status = "indexed"
    document.indexed_at = now
    document.failure_code = None
    document.failure_reason = None
    log.info("document %s indexed (%d pages)", document.id, page_count)
    return True


def fail_ocr(document_id: int, code: str, reason: str) -> bool:
    """Give up reading: status failed with the reason; True when this call failed it."""
    document = lock_document(document_id)
    if document is None or document.status not in ("received", "processing"):
        return False
    document.status = "failed"
    document.failure_code = code[:40]
    document.failure_reason = reason[:MAX_REASON]
    document.ocr_progress_at = utcnow()
    log.warning("document %s failed: %s", document.id, code)
    return True


def release_for_retry(document_id: int, code: str, reason: str) -> None:
    """A transient failure: back to received (the task retries), the reason kept for the record."""
    document = lock_document(document_id)
    if document is None or document.status != "processing":
        return
    document.status = "received"
    document.ocr_queued_at = utcnow()
    document.failure_code = code[:40]
    document.failure_reason = f"retrying after: {reason}"[:MAX_REASON]


# -- telling the process ------------------------------------------------------------------------

def correlation_key(document: Document) -> str | None:
    """The process instance's business key, else the number of the document's case."""
    if document.process_instance_id is not None:
        key = db.session.scalar(select(ProcessInstance.business_key)
                                .where(ProcessInstance.id == document.process_instance_id))
        if key:
            return key
    if document.case_id is not None:
        return db.session.scalar(select(Case.number).where(Case.id == document.case_id))
    return None


def notify_outcome(document_id: int) -> str:
    """Send documents_indexed (or documents_failed) to the instance waiting for it, once.

    No waiting instance is not an error: the outcome is recorded and nothing is sent. Returns
    what happened: "delivered", "nobody_waiting", "ambiguous", "not_linked" or "not_due".
    """
    document = lock_document(document_id)
    if document is None or document.status not in ("indexed", "failed") or document.notified_at is not None:
        return "not_due"
    name = INDEXED_MESSAGE if document.status == "indexed" else FAILED_MESSAGE
    variables = {"document_id": document.id, "document_type": document.document_type,
                 "document_status": document.status, "document_pages": document.pages}
    if document.status == "failed":
        variables["document_failure"] = document.failure_code
    key = correlation_key(document)
    outcome = "not_linked"
    actor = User(username=SYSTEM_ACTOR, role="worker")  # transient: only its name is recorded
    try:
        if key is not None:
            messages.correlate_message(name, key, variables, actor)
            outcome = "delivered"
        elif document.process_instance_id is not None:
            outcome = _deliver_to_instance(document.process_instance_id, name, variables)
    except NotFoundError:
        outcome = "nobody_waiting"
    except ConflictError as exc:
        # Several instances wait with that key: guessing would be worse than not telling.
        log.warning("document %s: message %s not delivered (%s)", document.id, name, exc.detail)
        outcome = "ambiguous"
    document.notified_at = utcnow()
    log.info("document %s: %s %s", document.id, name, outcome)
    return outcome


def _deliver_to_instance(instance_id: int, name: str, variables: dict[str, object]) -> str:
    """The instance has no business key and no case: deliver to it only if it waits for the message."""
    waiting = db.session.scalar(select(MessageSubscription.id).where(
        MessageSubscription.instance_id == instance_id, MessageSubscription.type == "message",
        MessageSubscription.name == name).limit(1))
    if waiting is None:
        return "nobody_waiting"

    def _deliver(execution, instance):  # type: ignore[no-untyped-def]
        if not execution.correlate_message(name, variables):
            raise NotFoundError(f"instance {instance.id} no longer waits for message {name!r}")
        projections.record_event(instance.id, "message_correlated", SYSTEM_ACTOR, details={"name": name})

    processes.advance_instance(instance_id, SYSTEM_ACTOR, _deliver)
    return "delivered"
