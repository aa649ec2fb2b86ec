"""Receipts of filed documents: gap-free numbers per office and year, verification codes, the PDF."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from sqlalchemy import String, cast, func, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models.document import Document
from app.models.registry import RegistrySequence
from app.services.certificates import CODE_ALPHABET, format_code, format_ssn
from app.services.registry import next_in_sequence
from app.services.simple_pdf import Page, wrap, write_pdf

NUMBER_PREFIX = "REC"
CODE_LENGTH = 12  # 60 random bits, Crockford base 32 like certificates
PAGE_W, PAGE_H = A5
MARGIN = 14 * mm
BODY_FONT, BOLD_FONT, MONO_FONT = "Helvetica", "Helvetica-Bold", "Courier"
_OFFICE = re.compile(r"[^A-Z0-9]")


def office_code(raw: str) -> str:
    """The office code as printed in receipt numbers: upper-case letters and digits, at most 8."""
    return _OFFICE.sub("", (raw or "").upper())[:8] or "HQ"


def next_receipt_number(office: str, year: int) -> str:
    """REC-<office>-<year>-<n>: gap-free per office and year (the counter row is locked until commit)."""
    code = office_code(office)
    return f"{NUMBER_PREFIX}-{code}-{year}-{next_in_sequence(f'receipt-{code}', year):06d}"


def number_new_document(document: Document, office: str, year: int) -> None:
    """Insert a new document with its receipt number from the office's gap-free counter; call it last.

    The counter row stays locked until the transaction ends: every filing of the office waits for
    it, so the less happens between taking a number and the commit, the more documents an office
    files per second. On PostgreSQL the row is inserted first with a provisional number, then one
    statement bumps the counter and writes the number into it, and the commit follows. SQLite
    locks the whole database at the first write anyway: there the number is taken and the row
    inserted with it.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        document.receipt_number = next_receipt_number(office, year)
        db.session.add(document)
        db.session.flush()
        return
    document.receipt_number = f"PENDING-{secrets.token_hex(8)}"  # never committed
    db.session.add(document)
    db.session.flush()
    code = office_code(office)
    counter = (update(RegistrySequence)
               .where(RegistrySequence.name == f"receipt-{code}", RegistrySequence.year == year)
               .values(last_value=RegistrySequence.last_value + 1)
               .returning(RegistrySequence.last_value).cte("counter"))
    digits = cast(counter.c.last_value, String)
    numbered = select(literal(f"{NUMBER_PREFIX}-{code}-{year}-")
                      + func.lpad(digits, func.greatest(6, func.length(digits)), "0")).scalar_subquery()
    number = db.session.execute(
        update(Document).where(Document.id == document.id, select(counter.c.last_value).exists())
        .values(receipt_number=numbered).returning(Document.receipt_number)
        .execution_options(synchronize_session=False)).scalar()
    if number is None:  # the office's first document of the year: its counter row is created
        number = next_receipt_number(office, year)
        db.session.execute(update(Document).where(Document.id == document.id).values(receipt_number=number)
                           .execution_options(synchronize_session=False))
    set_committed_value(document, "receipt_number", number)


def new_verification_code() -> str:
    """A random code printed on the receipt (unique in practice; the column is unique anyway)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class ReceiptFacts:
    """Everything a receipt states, gathered by the documents service."""

    institution: str
    number: str
    received_at: datetime
    subject_type: str
    subject: str
    subject_name: str
    document_type: str
    document_label: str
    original_name: str
    media_type: str
    size: int
    pages: int | None
    sha256: str
    agent: str
    verification_code: str
    case_number: str | None = None
    process_instance_id: int | None = None


def _subject_line(facts: ReceiptFacts) -> tuple[str, str]:
    if facts.subject_type == "person":
        return "Insured person", f"{facts.subject_name} - SSN {format_ssn(facts.subject)}"
    return "Employer", f"{facts.subject_name} - No. {facts.subject}"


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size} bytes"


def render_receipt_pdf(facts: ReceiptFacts) -> bytes:
    """A one-page A5 receipt: institution, number, date and time, subject, document, agent, code."""
    page = Page(PAGE_W, PAGE_H)
    width = PAGE_W - 2 * MARGIN

    y = PAGE_H - MARGIN
    for line in wrap(facts.institution, BOLD_FONT, 12, width):
        page.text(MARGIN, y - 10, line, BOLD_FONT, 12)
        y -= 15
    page.line(MARGIN, y - 4, PAGE_W - MARGIN, y - 4)
    y -= 24
    page.centred_text(PAGE_W / 2, y, "Document receipt", BOLD_FONT, 15)
    y -= 16
    page.centred_text(PAGE_W / 2, y, "Accusé de réception de document", BODY_FONT, 9)
    y -= 24

    label_w = 32 * mm
    for label, value in _rows(facts):
        page.text(MARGIN, y, label, BOLD_FONT, 9)
        for line in wrap(value, BODY_FONT, 9.5, width - label_w) or [""]:
            page.text(MARGIN + label_w, y, line, BODY_FONT, 9.5)
            y -= 13
        y -= 3

    y -= 6
    page.line(MARGIN, y, PAGE_W - MARGIN, y)
    y -= 18
    page.text(MARGIN, y, f"Verification code: {format_code(facts.verification_code)}", BOLD_FONT, 11)
    y -= 14
    page.text(MARGIN, y, "Give the receipt number and this code to any office to confirm the filing.", BODY_FONT, 8)
    y -= 14
    page.text(MARGIN, y, "SHA-256 fingerprint of the file received:", BODY_FONT, 8)
    y -= 11
    page.text(MARGIN, y, facts.sha256[:32], MONO_FONT, 7.5)
    y -= 9
    page.text(MARGIN, y, facts.sha256[32:], MONO_FONT, 7.5)
    page.text(MARGIN, MARGIN - 4 * mm, "This receipt acknowledges that the document was handed over; it does not "
                                       "judge its content.", BODY_FONT, 7.5)
    return write_pdf(page, title=f"Receipt {facts.number}", author=facts.institution, subject="Document receipt",
                     created=facts.received_at)


def _rows(facts: ReceiptFacts) -> list[tuple[str, str]]:
    who_label, who = _subject_line(facts)
    rows = [
        ("Receipt number", facts.number),
        ("Received on", facts.received_at.strftime("%d/%m/%Y at %H:%M:%S UTC")),
        (who_label, who),
        ("Document", f"{facts.document_label} ({facts.document_type})"),
        ("File", facts.original_name),
        ("Format", f"{facts.media_type}, {_size(facts.size)}"),
        ("Pages", str(facts.pages) if facts.pages is not None else "not known yet"),
    ]
    if facts.case_number:
        rows.append(("Case", facts.case_number))
    if facts.process_instance_id:
        rows.append(("Process instance", str(facts.process_instance_id)))
    rows.append(("Received by", facts.agent))
    return rows
