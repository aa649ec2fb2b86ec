"""Intake paths made faster: the multipart body read whole, the end-of-file check, the receipt printed directly."""
from __future__ import annotations

import hashlib
import io

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from tests.api.documents_support import counts, file_ok, pdf_text, problem, text_pdf, upload


def incremental_update_adding_a_page(original: bytes) -> bytes:
    """The original with an incremental update (a new xref section with /Prev) that appends a page."""
    document = pdfium.PdfDocument(original)
    try:
        document.new_page(595, 842)
        out = io.BytesIO()
        document.save(out, flags=pdfium_c.FPDF_INCREMENTAL)
    finally:
        document.close()
    updated = out.getvalue()
    assert updated.startswith(original) and updated.count(b"startxref") == 2
    return updated


def test_pages_of_an_incremental_update_and_the_receipt_that_states_them(app, agent, reg):  # type: ignore[no-untyped-def]
    content = incremental_update_adding_a_page(text_pdf(pages=2))
    filed = file_ok(agent, content, reg.helene, document_type="sick_leave")
    document = agent.get(f"/documents/{filed['id']}").get_json()
    assert document["pages"] == 3
    printed = pdf_text(agent.get(f"/documents/{filed['id']}/receipt").data)
    for expected in (f"Receipt number {filed['receiptNumber']}", f"Verification code: {document['verificationCode']}",
                     "Document Sick leave notice (sick_leave)", "Pages 3", filed["sha256"][32:]):
        assert expected in printed, (expected, printed)


def test_the_end_of_file_marker_is_looked_for_in_the_last_megabyte(app, agent, reg):  # type: ignore[no-untyped-def]
    pdf = text_pdf()
    # A comment after the marker (as some scanners and the intake bench write) is fine.
    file_ok(agent, pdf + b"\n%scanner 4.2\n", reg.helene)
    before = counts(app)
    # A marker followed by more than a megabyte of anything is no end of file: the file was cut.
    cut = problem(upload(agent, pdf + b"\n%" + b"x" * (1024 * 1024), subject=reg.helene), 422, "file")
    assert "truncated" in cut["detail"]
    assert counts(app) == before


def test_a_body_sent_in_chunks_without_a_length_is_filed(app, agent, reg, live_server):  # type: ignore[no-untyped-def]
    import requests

    pdf = text_pdf(pages=2)
    boundary = "chunky"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"documentType\"\r\n\r\npayslip\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n{reg.helene}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chunks.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()

    def body():  # type: ignore[no-untyped-def]
        yield head
        for start in range(0, len(pdf), 1000):
            yield pdf[start : start + 1000]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = requests.post(f"{live_server.url}/api/v1/documents", data=body(), timeout=30,
                             headers={**agent.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert agent.get(f"/documents/{response.json()['id']}/content").data == pdf


def test_multipart_with_bare_line_feeds_is_still_read(app, agent, reg):  # type: ignore[no-untyped-def]
    pdf = text_pdf()
    boundary = "lf-only"
    data = (f"--{boundary}\nContent-Disposition: form-data; name=\"documentType\"\n\nother\n"
            f"--{boundary}\nContent-Disposition: form-data; name=\"subject\"\n\n{reg.helene}\n"
            f"--{boundary}\nContent-Disposition: form-data; name=\"file\"; filename=\"lf.pdf\"\n\n").encode()
    data += pdf + f"\n--{boundary}--\n".encode()
    response = agent.client.post("/api/v1/documents", data=data, headers={
        **agent.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["sha256"] == hashlib.sha256(pdf).hexdigest()


def test_a_malformed_multipart_body_is_a_400_and_files_nothing(app, agent, reg):  # type: ignore[no-untyped-def]
    before = counts(app)
    data = b"--b\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--b--\r\n"
    response = agent.client.post("/api/v1/documents", data=data, headers={
        **agent.headers, "Content-Type": "multipart/form-data; boundary=b"})
    problem(response, 400, "file")
    no_boundary = agent.client.post("/api/v1/documents", data=data, headers={
        **agent.headers, "Content-Type": "multipart/form-data"})
    problem(no_boundary, 400)
    assert counts(app) == before


def test_a_number_taken_by_a_filing_that_fails_is_given_to_the_next(app, agent, reg, monkeypatch):  # type: ignore[no-untyped-def]
    from app.errors import ValidationFailedError
    from app.services import receipts

    first = file_ok(agent, text_pdf(["Première pièce du dossier de la caisse"] * 3), reg.helene)["receiptNumber"]
    second = file_ok(agent, text_pdf(["Deuxième pièce du dossier de la caisse"] * 3), reg.helene)["receiptNumber"]
    numbering = receipts.number_new_document

    def numbered_then_failed(document, office, year):  # type: ignore[no-untyped-def]
        numbering(document, office, year)
        assert document.receipt_number.startswith("REC-")  # the real number, not the provisional one
        raise ValidationFailedError("failed after numbering")

    monkeypatch.setattr(receipts, "number_new_document", numbered_then_failed)
    before = counts(app)[0]
    problem(upload(agent, text_pdf(["Pièce refusée après numérotation"] * 3), subject=reg.helene), 422)
    assert counts(app)[0] == before
    monkeypatch.setattr(receipts, "number_new_document", numbering)
    third = file_ok(agent, text_pdf(["Troisième pièce du dossier de la caisse"] * 3), reg.helene)["receiptNumber"]
    assert [int(n.rsplit("-", 1)[1]) for n in (first, second, third)] == [1, 2, 3]
    listed = agent.get(f"/documents?subject={reg.helene}").get_json()["items"]
    assert sorted(item["receiptNumber"] for item in listed) == sorted([first, second, third])
