"""Filing documents: check what was handed over, store the original, number the receipt, queue the reading.

Intake refuses at once (nothing stored, no row) what can never be read: an empty file (422), a type
other than PDF, PNG, JPEG or TIFF whatever its name (415), an encrypted or truncated PDF, an image
claiming more pixels than the limit, more pages than the limit (422). What only shows while
reading (a page that cannot be rendered, tesseract failing after retries) gives status `failed`
with the reason. The original is in the object store before the row is committed, and the OCR
task is sent only after the commit (`queue_ocr`).
"""
from __future__ import annotations

import io
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import bindparam, or_, select, update

from app.errors import (
    AppError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)
from app.extensions import db
from app.models import ProcessInstance, User
from app.models._types import utcnow
from app.models.document import Document, DocumentPage
from app.models.registry import Case
from app.services import document_retention, receipts, registry
from app.services.documents_storage import get_storage
from app.services.permissions import require_role
from app.storage import EmptyObjectError, ObjectTooLargeError, StorageError

log = logging.getLogger(__name__)

# Who may file and read documents: the roles that read records (analysts design processes).
DOCUMENT_ROLES = registry.READ_RECORD_ROLES


@dataclass(frozen=True)
class DocumentType:
    label: str
    retention_class: str


DOCUMENT_TYPES: dict[str, DocumentType] = {
    "id_card": DocumentType("Identity document", "identity"),
    "birth_certificate": DocumentType("Birth certificate", "civil_status"),
    "death_certificate": DocumentType("Death certificate", "civil_status"),
    "payslip": DocumentType("Payslip", "contribution_record"),
    "employment_contract": DocumentType("Employment contract", "contribution_record"),
    "contribution_declaration": DocumentType("Contribution declaration", "contribution_record"),
    "medical_certificate": DocumentType("Medical certificate", "benefit_file"),
    "sick_leave": DocumentType("Sick leave notice", "benefit_file"),
    "bank_details": DocumentType("Bank details", "payment_details"),
    "pension_claim": DocumentType("Pension claim", "pension_file"),
    "proof_of_life": DocumentType("Proof of life", "pension_file"),
    "other": DocumentType("Other document", "general"),
}
# How long each class is kept (disposal is a scheduled job; a legal hold stops it).
RETENTION_CLASSES = {
    "identity": "5 years after the file is closed",
    "civil_status": "10 years after the last payment",
    "contribution_record": "the whole career, then 10 years",
    "benefit_file": "5 years after the case is closed",
    "payment_details": "5 years after the account is replaced",
    "pension_file": "10 years after the last payment",
    "general": "5 years after receipt",
}

MAX_NAME_LENGTH = 200
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")
# A document still `received` this long after it was queued was probably never sent (broker down).
REQUEUE_AFTER = timedelta(minutes=5)
# A document `processing` with no progress for this long lost its worker: it is read again.
PROCESSING_LEASE = timedelta(minutes=15)
# pdfium may not be called from two threads at once (the web server runs threads).
_PDFIUM_LOCK = threading.Lock()


class StorageUnavailableError(AppError):
    status, title = 503, "Object store unavailable"


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its stream (the request's spooled part) and the name the client gave."""

    stream: BinaryIO
    filename: str | None


@dataclass(frozen=True)
class Subject:
    type: str  # person | employer
    value: str
    name: str


# -- checks -------------------------------------------------------------------------------------

def sanitize_filename(raw: str | None) -> str:
    """The last path component, without control or reserved characters, never empty or hidden."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Invisible format characters (a right-to-left override turns "fdp.exe" into "exe.pdf" on screen) go.
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cf", "Cs", "Cn"))
    name = _UNSAFE_NAME.sub("_", name).strip().lstrip(".").strip()
    if name in ("", ".", ".."):
        return "document"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def _invalid(field: str, message: str, detail: str | None = None) -> ValidationFailedError:
    return ValidationFailedError(detail or f"{field}: {message}", [{"field": field, "message": message}])


def check_document_type(value: str | None) -> str:
    """A known document type, else 422 listing the known ones."""
    if not value:
        raise _invalid("documentType", "required")
    if value not in DOCUMENT_TYPES:
        raise _invalid("documentType", f"unknown type; one of {', '.join(DOCUMENT_TYPES)}",
                       f"unknown documentType {value[:40]!r}")
    return value


def resolve_subject(raw: str) -> Subject:
    """A person (SSN) or employer (number) of the registry, else 422 saying what is wrong."""
    compact = re.sub(r"[\s.\-]", "", raw)
    try:
        if len(compact) == 15:
            person = registry.get_person(registry.clean_ssn(raw, "subject"))
            return Subject("person", person.ssn, person.full_name)
        number, _suffix = registry.clean_employer_number(raw, "subject")
        employer = registry.get_employer(number)
        return Subject("employer", employer.number, employer.legal_name)
    except NotFoundError as exc:
        raise _invalid("subject", "unknown subject", exc.detail) from None
    except AppError as exc:  # a malformed number or a wrong key
        message = exc.errors[0]["message"] if exc.errors else exc.detail
        raise _invalid("subject", message, exc.detail) from None


def subject_name(subject_type: str, subject: str) -> str:
    """The person's or employer's name as the registry knows it (the identifier when gone)."""
    try:
        if subject_type == "person":
            return registry.get_person(subject).full_name
        return registry.get_employer(subject).legal_name
    except NotFoundError:
        return subject


@dataclass(frozen=True)
class Links:
    subject: Subject
    process_instance_id: int | None
    case_id: int | None


def resolve_links(subject_raw: str | None, process_instance_id: int | None, case_number: str | None) -> Links:
    """Subject, process instance and case of a new document, checked against each other."""
    case: Case | None = None
    if case_number:
        case = db.session.scalar(select(Case).where(Case.number == case_number.strip()))
        if case is None:
            raise _invalid("caseNumber", "unknown case", f"no case {case_number[:40]!r}")
    instance: ProcessInstance | None = None
    if process_instance_id is not None:
        instance = db.session.get(ProcessInstance, process_instance_id)
        if instance is None:
            raise _invalid("processInstanceId", "unknown process instance",
                           f"no process instance {process_instance_id}")
        if case is None:
            case = db.session.scalar(select(Case).where(Case.process_instance_id == instance.id)
                                     .order_by(Case.id).limit(1))
        elif case.process_instance_id not in (None, instance.id):
            raise _invalid("processInstanceId", "the case belongs to another process instance")
    elif case is not None and case.process_instance_id is not None:
        process_instance_id = case.process_instance_id
    if subject_raw:
        subject = resolve_subject(subject_raw)
        if case is not None and case.subject != subject.value:
            raise _invalid("subject", f"the case {case.number} is about another subject")
    elif case is not None:
        subject = Subject(case.subject_type, case.subject, subject_name(case.subject_type, case.subject))
    elif instance is not None and _subject_variable(instance):
        subject = resolve_subject(_subject_variable(instance) or "")
    else:
        raise _invalid("subject", "required (an SSN or an employer number) unless the process instance or "
                                  "case names it")
    return Links(subject, process_instance_id, case.id if case is not None else None)


def _subject_variable(instance: ProcessInstance) -> str | None:
    variables = instance.variables or {}
    for name in ("ssn", "employer_number", "employerNumber", "subject"):
        value = variables.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


def read_upload(upload: Upload, max_bytes: int) -> bytes:
    """The bytes of the upload, refusing more than max_bytes (413) without reading past the limit."""
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"documents are limited to {max_bytes} bytes",
                                   [{"field": "file", "message": f"larger than {max_bytes} bytes"}])
    if not data:
        raise _invalid("file", "the file is empty (0 bytes)")
    return data


def inspect_content(data: bytes) -> tuple[str, int]:
    """(media type sniffed from the bytes, page count); 415 or 422 for what can never be read."""
    from workers.ocr import MAX_PAGES, OcrError, sniff_media_type
    from workers.ocr.sniff import PDF, SNIFF_BYTES
    from workers.ocr.sources import ImageSource, PdfSource

    media_type = sniff_media_type(data[:SNIFF_BYTES])
    if media_type is None:
        raise UnsupportedMediaTypeError("the file is not a PDF, PNG, JPEG or TIFF (its content decides, not its name)",
                                        [{"field": "file", "message": "unsupported media type"}])
    try:
        # Opening reads the structure only (header, page tree): encryption, truncation and
        # decompression bombs are caught here, before anything is stored.
        if media_type == PDF:
            with _PDFIUM_LOCK:
                source: Any = PdfSource(data)
                try:
                    pages = source.page_count
                finally:
                    source.close()
        else:
            source = ImageSource(data, media_type)
            try:
                pages = source.page_count
            finally:
                source.close()
    except OcrError as exc:
        raise ValidationFailedError(f"the file cannot be read: {exc.reason}",
                                    [{"field": "file", "message": exc.code}]) from None
    if pages > MAX_PAGES:
        raise _invalid("file", f"{pages} pages; at most {MAX_PAGES} are accepted")
    return media_type, pages


# -- intake -------------------------------------------------------------------------------------

def file_document(upload: Upload, document_type: str | None, actor: User, *, subject: str | None = None,
                  process_instance_id: int | None = None, case_number: str | None = None,
                  max_bytes: int | None = None) -> Document:
    """Check, store and record a handed-over document with its receipt number; the caller commits."""
    require_role(actor, DOCUMENT_ROLES, "file documents")
    document_type = check_document_type(document_type)
    links = resolve_links(subject, process_instance_id, case_number)
    limit = max_bytes if max_bytes is not None else int(current_app.config["MAX_UPLOAD_BYTES"])
    data = read_upload(upload, limit)
    media_type, pages = inspect_content(data)
    try:
        stored = get_storage().put_stream(io.BytesIO(data), content_type=media_type, max_bytes=limit)
    except ObjectTooLargeError:
        raise PayloadTooLargeError(f"documents are limited to {limit} bytes") from None
    except EmptyObjectError:
        raise _invalid("file", "the file is empty (0 bytes)") from None
    except StorageError as exc:
        log.error("object store refused a document: %s", type(exc).__name__)
        raise StorageUnavailableError("the object store is unavailable; nothing was filed, try again") from exc
    now = utcnow()
    document = Document(
        document_type=document_type, subject_type=links.subject.type, subject=links.subject.value,
        process_instance_id=links.process_instance_id, case_id=links.case_id, sha256=stored.sha256,
        storage_key=stored.key, size=stored.size, media_type=media_type,
        original_name=sanitize_filename(upload.filename), status="received", pages=pages,
        verification_code=receipts.new_verification_code(), received_by=actor.username, received_at=now,
        ocr_queued_at=now, ocr_attempts=0, retention_class=DOCUMENT_TYPES[document_type].retention_class,
        legal_hold=False,
    )
    # Last, so the receipt counter's row lock is held as briefly as possible before the commit.
    receipts.number_new_document(document, current_app.config["OFFICE_CODE"], now.year)
    document_retention.secure_original(document, data)
    log.info("document %s filed (%s, %d bytes, %s pages) by %s", document.id, media_type, stored.size, pages,
             actor.username)
    return document


def queue_ocr(document_ids: list[int], app: Any = None) -> None:
    """Send the OCR task of committed documents; a broker failure is left to the sweeper.

    `app` lets a caller send after the response has gone (no app context left by then).
    """
    celery_app = (app or current_app).extensions.get("celery")
    if celery_app is None:
        return
    for document_id in document_ids:
        try:
            celery_app.send_task("ocr.extract_text", args=[document_id], retry=True,
                                 retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2,
                                               "interval_max": 0.5})
        except Exception:
            log.warning("could not queue OCR of document %s now; the sweeper will", document_id, exc_info=True)


def stale_documents(now: datetime | None = None, limit: int = 100) -> list[int]:
    """Documents to send to OCR again: never taken (broker down) or abandoned by a dead worker.

    Marks them queued again (the caller commits, then queue_ocr's them).
    """
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(Document.id).where(or_(
            (Document.status == "received") & (Document.ocr_queued_at < now - REQUEUE_AFTER),
            (Document.status == "processing") & (Document.ocr_progress_at < now - PROCESSING_LEASE),
        )).order_by(Document.id).limit(limit)))
    if ids:
        db.session.execute(update(Document).where(Document.id.in_(ids))
                           .values(status="received", ocr_queued_at=now)
                           .execution_options(synchronize_session=False))
    return ids


# -- reading ------------------------------------------------------------------------------------

def get_document(document_id: int) -> Document:
    """A document by id, else 404."""
    document = db.session.get(Document, document_id)
    if document is None:
        raise NotFoundError(f"no document {document_id}")
    return document


def read_document(document_id: int, reader: User, purpose: str) -> Document:
    """A document for a reader allowed to see it; the read is logged against the subject's record."""
    require_role(reader, DOCUMENT_ROLES, "read documents")
    document = get_document(document_id)
    registry.log_record_access(reader, document.subject_type, document.subject, purpose)
    return document


def page_texts(document_id: int) -> list[DocumentPage]:
    """The pages read so far, in order."""
    return list(db.session.scalars(select(DocumentPage).where(DocumentPage.document_id == document_id)
                                   .order_by(DocumentPage.number)))


def open_content(document: Document) -> BinaryIO:
    """The original bytes as a stream (the caller closes it); 410 once the document is disposed of."""
    document_retention.ensure_not_disposed(document)
    try:
        return get_storage().open(document.storage_key)
    except StorageError as exc:
        log.error("original of document %s unavailable: %s", document.id, type(exc).__name__)
        raise StorageUnavailableError("the original cannot be read from the object store right now") from exc


# Built once: every instance answer runs it, and a statement object reused keeps its cache key.
_DOCUMENTS_OF_INSTANCE = (
    select(Document).where(or_(
        Document.process_instance_id == bindparam("instance_id"),
        Document.case_id.in_(select(Case.id).where(Case.process_instance_id == bindparam("instance_id"))
                             .scalar_subquery())))
    .order_by(Document.received_at, Document.id).limit(bindparam("limit")))


def documents_of_instance(instance_id: int, limit: int = 100) -> list[Document]:
    """Documents filed for a process instance (directly or through its case), oldest first."""
    return list(db.session.scalars(_DOCUMENTS_OF_INSTANCE, {"instance_id": instance_id, "limit": limit}))


def read_receipt(document_id: int, reader: User) -> receipts.ReceiptFacts:
    """What a document's receipt states, for a reader allowed to print it (logged like any read)."""
    return receipt_facts(read_document(document_id, reader, "document_receipt"), reader)


def receipt_facts(document: Document, reader: User | None = None) -> receipts.ReceiptFacts:
    """What the document's receipt states (names looked up now; identifiers as filed).

    `reader` is who prints it: usually the agent who filed the document, then not looked up again.
    """
    document_retention.ensure_not_disposed(document)
    if reader is not None and reader.username == document.received_by:
        agent: User | None = reader
    else:
        agent = db.session.scalar(select(User).where(User.username == document.received_by))
    case_number = (db.session.scalar(select(Case.number).where(Case.id == document.case_id))
                   if document.case_id else None)
    kind = DOCUMENT_TYPES.get(document.document_type)
    return receipts.ReceiptFacts(
        institution=current_app.config["INSTITUTION_NAME"], number=document.receipt_number,
        received_at=document.received_at, subject_type=document.subject_type, subject=document.subject,
        subject_name=subject_name(document.subject_type, document.subject), document_type=document.document_type,
        document_label=kind.label if kind else document.document_type, original_name=document.original_name,
        media_type=document.media_type, size=document.size, pages=document.pages, sha256=document.sha256,
        agent=(agent.full_name or agent.username) if agent is not None else document.received_by,
        verification_code=document.verification_code, case_number=case_number,
        process_instance_id=document.process_instance_id)
