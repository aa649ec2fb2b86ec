"""OCR tasks: read a filed document on a worker, store its text, tell the waiting process.

`ocr.extract_text` (document id) takes the document (status processing, committed at once so
the long reading is visible), reads every text layer itself, and hands each scanned page to its
own `ocr.extract_page` task when there are two or more, so the pages of a long scan spread over
the workers; the last page stored makes the document `indexed`. Bad input fails the document at
once with its reason; a failure that may pass (tesseract crashed, object store down) is retried
with backoff, and fails the document after the last retry. Both tasks are idempotent by
document id (and page number): a repeated delivery finds the work done and stops.

`process_document` / `process_page` are the task bodies without Celery; tests call them directly.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

from celery import current_app as current_celery
from celery import shared_task
from flask import current_app

from app.services import document_ocr, documents
from app.services.dispatch import commit_once
from app.services.documents_storage import get_storage
from app.storage import StorageError
from workers.ocr import OcrError

# One thread per tesseract process: parallelism comes from worker processes (and page tasks).
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_RETRIES = 3
RETRY_BASE_SECONDS = 10
REQUEUE_INTERVAL_SECONDS = 60.0
PageSender = Callable[[int, list[int]], None]


class RetryLater(Exception):
    """A transient failure: run the task again later."""


def unit_of_work(work: Callable[[], T]) -> T:
    """Run one short unit of work and commit it; roll back on any error; send the jobs it created."""
    return commit_once(work)


def _languages() -> str:
    return str(current_app.config.get("OCR_LANGUAGES") or "fra+eng")


def _reason(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, OcrError):
        return exc.code, exc.reason
    if isinstance(exc, StorageError):
        return "storage_unavailable", f"object store: {exc}"
    return "ocr_failed", f"{type(exc).__name__}: {exc}"


def _give_up_or_retry(document_id: int, exc: BaseException, *, last_attempt: bool, page: int | None) -> str:
    code, reason = _reason(exc)
    if page is not None:
        reason = f"page {page}: {reason}"
    permanent = isinstance(exc, OcrError) and exc.permanent
    if permanent or last_attempt:
        if unit_of_work(lambda: document_ocr.fail_ocr(document_id, code, reason)):
            notify(document_id)
        return "failed"
    if page is None:
        unit_of_work(lambda: document_ocr.release_for_retry(document_id, code, reason))
    raise RetryLater(reason) from exc


def notify(document_id: int) -> str:
    """Tell the waiting process (its own unit of work, after the outcome is committed)."""
    return unit_of_work(lambda: document_ocr.notify_outcome(document_id))


def process_document(document_id: int, *, send_pages: PageSender | None = None, last_attempt: bool = True) -> str:
    """Read a document; with send_pages, scanned pages (two or more) go to page tasks."""
    plan = unit_of_work(lambda: document_ocr.begin_ocr(document_id))
    if plan is None:
        notify(document_id)  # a repeated delivery after a crash between indexing and telling
        return "skipped"
    try:
        data = get_storage().read(plan.storage_key)
        reading = document_ocr.read_document(data, _languages(), split=send_pages is not None)
    except (OcrError, StorageError, OSError) as exc:
        return _give_up_or_retry(document_id, exc, last_attempt=last_attempt, page=None)
    indexed = unit_of_work(lambda: document_ocr.save_pages(document_id, reading.pages, reading.page_count))
    if reading.pending and send_pages is not None:
        send_pages(document_id, reading.pending)
        return f"split into {len(reading.pending)} page tasks"
    if indexed:
        notify(document_id)
        return "indexed"
    return "incomplete"


def process_page(document_id: int, number: int, *, last_attempt: bool = True) -> str:
    """Read one scanned page of a document being read; the last page makes it indexed."""
    plan = unit_of_work(lambda: document_ocr.page_plan(document_id))
    if plan is None or plan.pages is None:
        return "skipped"
    if number in unit_of_work(lambda: document_ocr.stored_page_numbers(document_id)):
        return "already read"
    try:
        data = get_storage().read(plan.storage_key)
        result = document_ocr.read_page(data, number, _languages())
    except (OcrError, StorageError, OSError) as exc:
        return _give_up_or_retry(document_id, exc, last_attempt=last_attempt, page=number)
    page_count = plan.pages
    indexed = unit_of_work(lambda: document_ocr.save_pages(document_id, result.pages, page_count))
    if indexed:
        notify(document_id)
        return "indexed"
    return "page stored"


def send_page_tasks(document_id: int, numbers: list[int]) -> None:
    """One ocr.extract_page task per page."""
    for number in numbers:
        extract_page_task.apply_async(args=[document_id, number])


def _countdown(retries: int) -> int:
    return RETRY_BASE_SECONDS * (3 ** retries)


@shared_task(name="ocr.extract_text", bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def extract_text_task(self, document_id: int) -> str:  # type: ignore[no-untyped-def]
    """Read a document by id (idempotent)."""
    try:
        return process_document(int(document_id), send_pages=send_page_tasks,
                                last_attempt=self.request.retries >= self.max_retries)
    except RetryLater as exc:
        raise self.retry(countdown=_countdown(self.request.retries), exc=exc) from None


@shared_task(name="ocr.extract_page", bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def extract_page_task(self, document_id: int, number: int) -> str:  # type: ignore[no-untyped-def]
    """Read one page of a document (idempotent by document id and page number)."""
    try:
        return process_page(int(document_id), int(number), last_attempt=self.request.retries >= self.max_retries)
    except RetryLater as exc:
        raise self.retry(countdown=_countdown(self.request.retries), exc=exc) from None


@shared_task(name="documents.requeue_stale", acks_late=False, ignore_result=True)
def requeue_stale_task() -> int:
    """Send OCR again for documents never taken (broker down at intake) or left by a dead worker."""
    ids = unit_of_work(documents.stale_documents)
    documents.queue_ocr(ids)
    return len(ids)


def _schedule_requeue() -> None:
    # Added to whatever schedule the app already has (the automation sweep), not replacing it.
    schedule = current_celery.conf.beat_schedule
    if "documents-requeue" not in schedule:
        schedule["documents-requeue"] = {"task": "documents.requeue_stale", "schedule": REQUEUE_INTERVAL_SECONDS,
                                         "options": {"expires": REQUEUE_INTERVAL_SECONDS}}


_schedule_requeue()
