"""The receipt PDF written directly (app/services/simple_pdf.py): a real PDF that says everything."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime

import pdfplumber
import pypdfium2 as pdfium

from app.services.receipts import PAGE_H, PAGE_W, ReceiptFacts, render_receipt_pdf
from app.services.simple_pdf import Page, printable, write_pdf

FACTS = ReceiptFacts(
    institution="Caisse Nationale de Sécurité Sociale", number="REC-LYON3-2026-000123",
    received_at=datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC), subject_type="person",
    subject="285077512345655", subject_name="Hélène Dupré", document_type="sick_leave",
    document_label="Sick leave notice", original_name="arrêt (copie) \\ scan.pdf", media_type="application/pdf",
    size=2_097_152, pages=3, sha256="0123456789abcdef" * 4, agent="Alice Martin",
    verification_code="ABCDEFGHJKMN")


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 1
        return doc.pages[0].extract_text()


def test_the_receipt_states_number_code_type_pages_and_the_rest() -> None:
    printed = text_of(render_receipt_pdf(FACTS))
    for expected in ("Caisse Nationale de Sécurité Sociale", "Document receipt", "Accusé de réception de document",
                     "Receipt number REC-LYON3-2026-000123", "Received on 21/11/2026 at 09:30:05 UTC",
                     "Insured person Hélène Dupré - SSN 2 85 07 75 123 456 55",
                     "Document Sick leave notice (sick_leave)", "File arrêt (copie) \\ scan.pdf",
                     "Format application/pdf, 2.0 MB", "Pages 3", "Received by Alice Martin",
                     "Verification code: ABCD-EFGH-JKMN", "0123456789abcdef0123456789abcdef"):
        assert expected in printed, (expected, printed)
    assert "Case" not in printed and "Process instance" not in printed
    employer = text_of(render_receipt_pdf(replace(FACTS, subject_type="employer", subject="123456749",
                                                  subject_name="Boulangerie (SARL)", pages=None,
                                                  case_number="DOS-2026-000007", process_instance_id=42)))
    for expected in ("Employer Boulangerie (SARL) - No. 123456749", "Pages not known yet", "Case DOS-2026-000007",
                     "Process instance 42"):
        assert expected in employer, (expected, employer)


def test_it_is_a_well_formed_printable_pdf() -> None:
    pdf = render_receipt_pdf(FACTS)
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.rstrip().endswith(b"%%EOF")
    # Every cross-reference entry points at its object, and startxref at the table.
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[startxref:].startswith(b"xref\n0 ")
    entries = re.findall(rb"(\d{10}) 00000 n\r\n", pdf[startxref:])
    assert len(entries) == 8
    for number, offset in enumerate(entries, start=1):
        assert pdf[int(offset):].startswith(b"%d 0 obj\n" % number)
    length = int(re.search(rb"<< /Length (\d+) >>\nstream\n", pdf).group(1))  # type: ignore[union-attr]
    stream_at = pdf.index(b"stream\n") + len(b"stream\n")
    assert pdf[stream_at + length:].startswith(b"\nendstream")
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) == 1
        page = document[0]
        assert (round(page.get_width()), round(page.get_height())) == (round(PAGE_W), round(PAGE_H))  # A5
        image = page.render(scale=1).to_pil().convert("L")
        assert image.getextrema()[0] < 50  # something dark was drawn
        assert document.get_metadata_dict()["Title"] == "Receipt REC-LYON3-2026-000123"
    finally:
        document.close()


def test_long_values_wrap_and_foreign_letters_degrade_gracefully() -> None:
    long_name = "Établissement public de coopération intercommunale des caisses de la région " * 2
    printed = text_of(render_receipt_pdf(replace(FACTS, subject_name="Łukasz Nguyễn 山田", agent=long_name.strip())))
    assert "Lukasz Nguyen ??" in printed
    lines = [line for line in printed.splitlines() if "Établissement" in line or "intercommunale" in line]
    assert len(lines) >= 2  # wrapped over several lines within the page


def test_text_with_pdf_delimiters_and_non_ascii_round_trips() -> None:
    page = Page(200, 100)
    text = "a (b) \\c\\ é€ ‰"
    page.text(10, 50, text, "Helvetica", 10)
    page.centred_text(100, 20, "centre", "Courier", 8)
    pdf = write_pdf(page, title="T (1)", author="Ça", subject="s", created=datetime(2026, 1, 1, tzinfo=UTC))
    printed = text_of(pdf)
    assert text in printed and "centre" in printed
    assert printable("ß Ærø ħ") == "ß Ærø h"
