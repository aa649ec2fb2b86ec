"""Documents through the API and the OCR task: filing, receipt, original, text, search, the waiting process.

The documents are made here from known text (tests/unit/ocr/conftest.py's Samples): a text-layer
PDF, a scanned page as PNG, a scanned-style PDF whose pages are a rotated and a skewed copy.
The OCR task body runs directly (no broker): workers.tasks.ocr.process_document / process_page.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from sqlalchemy import func, select, text

from tests.api.test_deployments import MINIMAL
from tests.registry_data import Registry, make_registry
from tests.unit.ocr.conftest import FRENCH_ENGLISH_TEXT, OTHER_TEXT, Samples, find_font, found_ratio

# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def reg(app) -> Registry:  # type: ignore[no-untyped-def]
    return make_registry(app)


@pytest.fixture
def agent(login):  # type: ignore[no-untyped-def]
    return login("alice", "agent", ["counter"])


@pytest.fixture(scope="session")
def samples() -> Samples:
    path = find_font()
    if path is None:
        pytest.skip("no TrueType font to render test pages")
    return Samples(path)


@pytest.fixture(scope="session")
def tesseract() -> None:
    from workers.ocr import tesseract_available

    if not tesseract_available():
        pytest.skip("tesseract is not installed")


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

def test_a_text_pdf_is_filed_with_a_receipt_read_and_found(app, agent, reg):  # type: ignore[no-untyped-def]
    content = text_pdf(pages=2)
    filed = file_ok(agent, content, reg.helene, name="attestation droits.pdf")
    assert filed["status"] == "received"
    assert re.fullmatch(r"REC-HQ-\d{4}-000001", filed["receiptNumber"])
    import hashlib
    assert filed["sha256"] == hashlib.sha256(content).hexdigest()
    assert filed["receiptUrl"].endswith(f"/api/v1/documents/{filed['id']}/receipt")

    before = agent.get(f"/documents/{filed['id']}").get_json()
    assert before["status"] == "received" and before["text"] is None and before["pages"] == 2
    assert before["mediaType"] == "application/pdf" and before["originalName"] == "attestation droits.pdf"
    assert before["subject"] == reg.helene and before["subjectType"] == "person"
    assert before["retentionClass"] == "benefit_file" and before["legalHold"] is False

    original = agent.get(f"/documents/{filed['id']}/content")
    assert original.status_code == 200 and original.data == content
    assert original.mimetype == "application/pdf"
    assert original.headers["X-Content-Type-Options"] == "nosniff"

    receipt = agent.get(f"/documents/{filed['id']}/receipt")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    printed = pdf_text(receipt.data)
    for expected in (app.config["INSTITUTION_NAME"], filed["receiptNumber"], "Hélène Dupré", "Medical certificate",
                     "alice", before["verificationCode"], "Pages 2", filed["sha256"][:32]):
        assert expected in printed, (expected, printed)
    assert re.search(r"\d\d/\d\d/\d{4} at \d\d:\d\d:\d\d UTC", printed)

    assert run_ocr(app, filed["id"]) == "indexed"
    after = agent.get(f"/documents/{filed['id']}").get_json()
    assert after["status"] == "indexed" and after["indexedAt"] and after["pages"] == 2
    assert [p["number"] for p in after["pageTexts"]] == [1, 2]
    assert all(p["method"] == "text_layer" and p["confidence"] == 100.0 for p in after["pageTexts"])
    assert found_ratio(FRENCH_ENGLISH_TEXT, after["text"]) > 0.95
    # A second delivery of the same task finds the work done.
    assert run_ocr(app, filed["id"]) == "skipped"

    found = agent.get("/documents?q=indemnités carence").get_json()
    assert found["page"]["totalItems"] == 1
    hit = found["items"][0]
    assert hit["id"] == filed["id"] and hit["rank"] > 0 and hit["matchedPage"] in (1, 2)
    assert "<mark>" in hit["snippet"] and "carence" in hit["snippet"].lower()
    english = agent.get("/documents?q=certificate+forty-eight+hours").get_json()
    assert [i["id"] for i in english["items"]] == [filed["id"]]
    assert agent.get("/documents?q=tuberculose").get_json()["items"] == []


def test_search_ranks_filters_and_pages(app, agent, reg):  # type: ignore[no-untyped-def]
    often = ["Les cotisations sont dues. Les cotisations patronales et les cotisations salariales."] * 3
    once = ["Relevé annuel : les cotisations sont réglées, le compte est soldé pour l'exercice."]
    other = OTHER_TEXT[2:]
    ids = [file_ok(agent, text_pdf(lines + [f"Document number {n} for the search test."] * 2),
                   subject, document_type="payslip")["id"]
           for n, (lines, subject) in enumerate([(often, reg.helene), (once, reg.jean), (other, reg.helene)])]
    for document_id in ids:
        assert run_ocr(app, document_id) == "indexed"
    found = agent.get("/documents?q=cotisations").get_json()
    assert [i["id"] for i in found["items"]] == ids[:2]  # more occurrences rank first
    assert found["items"][0]["rank"] >= found["items"][1]["rank"]
    only_jean = agent.get(f"/documents?q=cotisations&subject={reg.jean}").get_json()
    assert [i["id"] for i in only_jean["items"]] == [ids[1]]
    first = agent.get("/documents?q=cotisations&limit=1").get_json()
    assert len(first["items"]) == 1 and first["page"]["totalItems"] == 2 and first["page"]["endCursor"]
    second = agent.get(f"/documents?q=cotisations&limit=1&after={first['page']['endCursor']}").get_json()
    assert [i["id"] for i in second["items"]] == [ids[1]] and second["page"]["endCursor"] is None
    # Without q: the subject's documents, newest first, with keyset paging.
    listed = agent.get(f"/documents?subject={reg.helene}&limit=1").get_json()
    assert [i["id"] for i in listed["items"]] == [ids[2]] and listed["page"]["totalItems"] == 2
    rest = agent.get(f"/documents?subject={reg.helene}&after={listed['page']['endCursor']}").get_json()
    assert [i["id"] for i in rest["items"]] == [ids[0]]
    # Operators and quotes of either search syntax never break the query.
    for q in ('"cotisations', "cotisations AND (", "NEAR(x y", "*", "-", "cotisations OR", "' OR 1=1 --"):
        response = agent.get("/documents", query_string={"q": q})
        assert response.status_code == 200, (q, response.get_json())
    assert agent.get("/documents?limit=0").status_code == 400
    assert agent.get("/documents?status=lost").status_code == 400
    assert agent.get("/documents?after=garbage").status_code == 400


def test_snippets_are_escaped_html(app, agent, reg):  # type: ignore[no-untyped-def]
    lines = ["Attestation <script>alert(1)</script> & pension de retraite versée chaque mois au bénéficiaire."] * 3
    filed = file_ok(agent, text_pdf(lines), reg.jean, document_type="pension_claim")
    run_ocr(app, filed["id"])
    hit = agent.get("/documents?q=retraite").get_json()["items"][0]
    # The only markup is <mark>: the text's own "<script>" is escaped (SQLite) or dropped as a tag (ts_headline).
    assert "<" not in hit["snippet"].replace("<mark>", "").replace("</mark>", "")
    assert "&amp;" in hit["snippet"]
    assert re.search(r"<mark>retraite</mark>", hit["snippet"], re.IGNORECASE)


def test_receipt_numbers_are_gap_free_and_refusals_take_none(app, agent, reg):  # type: ignore[no-untyped-def]
    numbers = [file_ok(agent, text_pdf([f"Pièce numéro {n} du dossier de la caisse"] * 3), reg.helene)["receiptNumber"]
               for n in range(2)]
    assert upload(agent, b"", subject=reg.helene).status_code == 422
    assert upload(agent, text_pdf(), subject=reg.helene, document_type="nonsense").status_code == 422
    numbers.append(file_ok(agent, text_pdf(["Encore une pièce pour le dossier de la caisse"] * 3),
                           reg.employer)["receiptNumber"])
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3]
    assert len({n.rsplit("-", 1)[0] for n in numbers}) == 1


def test_an_employer_document_by_number_with_establishment_suffix(app, agent, reg):  # type: ignore[no-untyped-def]
    filed = file_ok(agent, text_pdf(), f"{reg.employer}/000", document_type="contribution_declaration")
    body = agent.get(f"/documents/{filed['id']}").get_json()
    assert body["subject"] == reg.employer and body["subjectType"] == "employer"
    assert "Boulangerie Mercier SARL" in pdf_text(agent.get(f"/documents/{filed['id']}/receipt").data)


def test_reading_a_document_is_logged_and_analysts_may_not(app, agent, reg, analyst):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models.registry import RecordAccessLog

    filed = file_ok(agent, text_pdf(), reg.helene)
    agent.get(f"/documents/{filed['id']}")
    agent.get(f"/documents/{filed['id']}/content")
    with app.app_context():
        purposes = set(db.session.scalars(select(RecordAccessLog.purpose).where(
            RecordAccessLog.subject == reg.helene, RecordAccessLog.reader == "alice")))
        db.session.remove()
    assert {"document", "document_content"} <= purposes
    agent.get(f"/documents/{filed['id']}/receipt")
    with app.app_context():
        assert db.session.scalar(select(func.count(RecordAccessLog.id)).where(
            RecordAccessLog.purpose == "document_receipt")) == 1
        db.session.remove()
    assert upload(analyst, text_pdf(), subject=reg.helene).status_code == 403
    for path in (f"/documents/{filed['id']}", f"/documents/{filed['id']}/content", f"/documents/{filed['id']}/receipt",
                 "/documents?q=caisse"):
        assert analyst.get(path).status_code == 403, path
    assert agent.get("/documents/999999").status_code == 404
    assert agent.get("/documents/999999/receipt").status_code == 404
    assert agent.client.get(f"/api/v1/documents/{filed['id']}").status_code == 401


# -- scans: OCR of images and image-only PDFs ---------------------------------------------------

def test_a_scanned_png_is_read_by_ocr_and_found(app, agent, reg, samples, tesseract):  # type: ignore[no-untyped-def]
    scan = samples.png(samples.scan_like(samples.page()))
    filed = file_ok(agent, scan, reg.helene, name="scan.png", document_type="sick_leave")
    assert run_ocr(app, filed["id"]) == "indexed"
    body = agent.get(f"/documents/{filed['id']}").get_json()
    assert body["mediaType"] == "image/png" and body["pages"] == 1
    page = body["pageTexts"][0]
    assert page["method"] == "tesseract" and page["confidence"] > 60
    assert found_ratio(FRENCH_ENGLISH_TEXT, body["text"]) > 0.85
    hit = agent.get("/documents?q=journalières").get_json()["items"]
    assert [h["id"] for h in hit] == [filed["id"]] and "<mark>" in hit[0]["snippet"]


def test_a_scanned_pdf_with_a_rotated_and_a_skewed_page_is_read_page_by_page(
        app, agent, reg, samples, tesseract):  # type: ignore[no-untyped-def]
    straight = samples.page()
    other = samples.page(OTHER_TEXT + FRENCH_ENGLISH_TEXT[5:])
    pdf = samples.scanned_pdf([samples.rotated(straight, 90), samples.scan_like(samples.rotated(other, 4))])
    filed = file_ok(agent, pdf, reg.helene, name="dossier.pdf")
    assert agent.get(f"/documents/{filed['id']}").get_json()["pages"] == 2
    # Split: each scanned page goes to its own page task; the last one indexes the document.
    assert run_ocr(app, filed["id"], split=True) == "indexed"
    body = agent.get(f"/documents/{filed['id']}").get_json()
    assert body["status"] == "indexed"
    first, second = body["pageTexts"]
    assert first["method"] == second["method"] == "tesseract"
    assert first["rotation"] in (90, 270) and abs(second["skew"]) > 2
    assert found_ratio(FRENCH_ENGLISH_TEXT, first["text"]) > 0.85
    assert found_ratio(OTHER_TEXT, second["text"]) > 0.8
    hits = agent.get("/documents?q=gestionnaire disposition").get_json()["items"]
    assert [(h["id"], h["matchedPage"]) for h in hits] == [(filed["id"], 2)]


def test_a_png_named_pdf_is_taken_for_what_it_is(app, agent, reg, samples, tesseract):  # type: ignore[no-untyped-def]
    filed = file_ok(agent, samples.png(samples.page()), reg.helene, name="facture.pdf")
    body = agent.get(f"/documents/{filed['id']}").get_json()
    assert body["mediaType"] == "image/png" and body["originalName"] == "facture.pdf"
    assert agent.get(f"/documents/{filed['id']}/content").mimetype == "image/png"
    assert run_ocr(app, filed["id"]) == "indexed"


# -- bad input ----------------------------------------------------------------------------------

def problem(response, status: int, field: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    if field is not None:
        assert any(e.get("field") == field for e in body["errors"]), body
    return body


def test_unreadable_files_are_refused_before_anything_is_stored(app, agent, reg, samples):  # type: ignore[no-untyped-def]
    from tests.unit.ocr.conftest import png_claiming

    good = text_pdf()
    encrypted = Samples.text_pdf([FRENCH_ENGLISH_TEXT], encrypt="secret")
    before = counts(app)
    problem(upload(agent, b"", subject=reg.helene), 422, "file")
    problem(upload(agent, good[: len(good) // 2], subject=reg.helene), 422, "file")
    assert "password" in problem(upload(agent, encrypted, subject=reg.helene), 422)["detail"]
    bomb = problem(upload(agent, png_claiming(60000, 60000), "bomb.png", subject=reg.helene), 422)
    assert bomb["errors"][0]["message"] == "decompression_bomb"
    text_named_pdf = problem(upload(agent, b"%!PS-Adobe-3.0 not a pdf at all\n" * 40, "letter.pdf",
                                    subject=reg.helene), 415)
    assert "content decides" in text_named_pdf["detail"]
    problem(upload(agent, b"<html><body>hello</body></html>", "page.png", subject=reg.helene), 415)
    assert counts(app) == before


def test_wrong_fields_are_clear_4xx(app, agent, reg):  # type: ignore[no-untyped-def]
    from tests.registry_data import wrong_key
    from workflows.helpers import ssn_key

    pdf = text_pdf()
    before = counts(app)
    unknown = "1991275123999"
    assert "unknown subject" in str(problem(upload(agent, pdf, subject=unknown + ssn_key(unknown)), 422, "subject"))
    problem(upload(agent, pdf, subject=wrong_key(reg.helene)), 422, "subject")
    problem(upload(agent, pdf, subject="hello"), 422, "subject")
    problem(upload(agent, pdf, subject="9999999/000"), 422, "subject")
    problem(upload(agent, pdf), 422, "subject")  # no subject, no instance, no case
    problem(upload(agent, pdf, subject=reg.helene, document_type="selfie"), 422, "documentType")
    problem(upload(agent, pdf, subject=reg.helene, document_type=""), 422, "documentType")
    problem(upload(agent, pdf, subject=reg.helene, processInstanceId=424242), 422, "processInstanceId")
    problem(upload(agent, pdf, subject=reg.helene, processInstanceId="abc"), 400, "processInstanceId")
    problem(upload(agent, pdf, subject=reg.helene, caseNumber="DOS-1999-000001"), 422, "caseNumber")
    no_file = agent.client.post("/api/v1/documents", headers=agent.headers, data={"documentType": "other"},
                                content_type="multipart/form-data")
    problem(no_file, 400, "file")
    problem(agent.post("/documents", json={"documentType": "other"}), 415)
    assert counts(app) == before


def test_path_tricks_in_file_names_are_reduced_to_a_plain_name(app, agent, reg):  # type: ignore[no-untyped-def]
    names = {
        "../../../../etc/passwd.pdf": "passwd.pdf",
        # Multipart unquoting eats the backslashes before the name reaches the service.
        "..\\..\\windows\\system32\\evil.pdf": "windowssystem32evil.pdf",
        "C:\\Users\\agent\\scan.pdf": "C_Usersagentscan.pdf",
        "\u202efdp.exe": "fdp.exe",
        "/absolute/path/x.pdf": "x.pdf",
        "..": "document",
        ".hidden.pdf": "hidden.pdf",
        "a<b>|c?*.pdf": "a_b__c__.pdf",
    }
    pdf = text_pdf()
    data_dir = Path(app.config["DATA_DIR"])
    for raw, expected in names.items():
        filed = file_ok(agent, pdf, reg.helene, name=raw)
        kept = agent.get(f"/documents/{filed['id']}").get_json()["originalName"]
        assert kept == expected and "/" not in kept and "\\" not in kept and not kept.startswith("."), raw
    # One object for identical content, named by its hash, under the store's root only.
    stored = [p for p in (data_dir / "objects").rglob("*") if p.is_file()]
    assert filed["sha256"] in {p.name for p in stored}
    assert all(re.fullmatch(r"[0-9a-f]{64}", p.name) for p in stored)
    assert not (data_dir.parent / "etc").exists()


def test_an_oversized_upload_is_413_and_stores_nothing(app, agent, reg, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 4096)
    before = counts(app)
    # Over the limit but within the multipart slack: refused while reading the part.
    problem(upload(agent, b"%PDF-1.4\n" + b"0" * 10_000 + b"\n%%EOF", subject=reg.helene), 413)
    # Announced larger than limit + slack: refused before the body is read.
    problem(upload(agent, b"%PDF-1.4\n" + b"0" * 100_000 + b"\n%%EOF", subject=reg.helene), 413)
    assert counts(app) == before


def test_a_2gb_body_is_refused_from_its_length_without_reading_it(app, agent, reg, live_server):  # type: ignore[no-untyped-def]
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.putrequest("POST", "/api/v1/documents")
    conn.putheader("Authorization", agent.headers["Authorization"])
    conn.putheader("Content-Type", "multipart/form-data; boundary=xyz")
    conn.putheader("Content-Length", str(2 * 1024 ** 3))
    conn.endheaders()
    conn.send(b"--xyz\r\n" + b"0" * 65536)
    response = conn.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    conn.close()


def test_a_body_without_length_is_cut_at_the_limit(app, agent, reg, live_server, monkeypatch):  # type: ignore[no-untyped-def]
    import requests

    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 100_000)
    before = counts(app)
    boundary = "b0undary"
    sent = {"bytes": 0}

    def body():  # type: ignore[no-untyped-def]
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"documentType\"\r\n\r\nother\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n{reg.helene}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
                "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()
        yield head
        chunk = b"0" * 65536
        while sent["bytes"] < 50 * 1024 * 1024:  # 50 MB that the server refuses to keep past 100 kB
            sent["bytes"] += len(chunk)
            yield chunk

    try:
        response = requests.post(f"{live_server.url}/api/v1/documents", data=body(), timeout=30,
                                 headers={**agent.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert response.status_code == 413
    except requests.exceptions.ConnectionError:
        pass  # the server answered 413 and closed while the client was still sending
    assert counts(app) == before


# -- OCR failures -------------------------------------------------------------------------------

def test_bad_content_found_while_reading_fails_the_document_with_its_reason(app, agent, reg, monkeypatch):  # type: ignore[no-untyped-def]
    from app.services import document_ocr
    from workers.ocr import CorruptDocumentError

    filed = file_ok(agent, text_pdf(), reg.helene)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise CorruptDocumentError("page 1 cannot be rendered: Data format error")

    monkeypatch.setattr(document_ocr, "read_document", broken)
    assert run_ocr(app, filed["id"]) == "failed"
    body = agent.get(f"/documents/{filed['id']}").get_json()
    assert body["status"] == "failed" and body["failureCode"] == "corrupt_document"
    assert "cannot be rendered" in body["failureReason"] and body["pageTexts"] == []
    assert agent.get("/documents?status=failed").get_json()["items"][0]["id"] == filed["id"]


def test_a_transient_failure_is_retried_then_fails_after_the_last_attempt(app, agent, reg, monkeypatch):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.services import document_ocr
    from workers.ocr import OcrEngineError
    from workers.tasks.ocr import RetryLater, process_document

    filed = file_ok(agent, text_pdf(), reg.helene)
    calls = []

    def crashing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise OcrEngineError("tesseract crashed (signal 11)")

    monkeypatch.setattr(document_ocr, "read_document", crashing)
    with app.app_context():
        with pytest.raises(RetryLater):
            process_document(filed["id"], last_attempt=False)
        db.session.remove()
    retrying = agent.get(f"/documents/{filed['id']}").get_json()
    assert retrying["status"] == "received" and "retrying after: tesseract crashed" in retrying["failureReason"]
    with app.app_context():
        assert process_document(filed["id"], last_attempt=True) == "failed"
        db.session.remove()
    failed = agent.get(f"/documents/{filed['id']}").get_json()
    assert failed["status"] == "failed" and failed["failureCode"] == "ocr_engine_failed" and len(calls) == 2


def test_documents_never_sent_or_abandoned_are_sent_again(app, agent, reg):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from app.extensions import db
    from app.models._types import utcnow
    from app.models.document import Document
    from app.services.documents import stale_documents

    fresh = file_ok(agent, text_pdf(), reg.helene)["id"]
    lost = file_ok(agent, text_pdf(), reg.helene)["id"]
    abandoned = file_ok(agent, text_pdf(), reg.helene)["id"]
    with app.app_context():
        old = utcnow() - timedelta(hours=1)
        db.session.get(Document, lost).ocr_queued_at = old
        stuck = db.session.get(Document, abandoned)
        stuck.status, stuck.ocr_progress_at = "processing", old
        db.session.commit()
        assert stale_documents() == [lost, abandoned]
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Document, abandoned).status == "received"
        assert stale_documents() == []
        db.session.remove()
    assert run_ocr(app, abandoned) == "indexed" and run_ocr(app, fresh) == "indexed"


# -- the process that waits ---------------------------------------------------------------------

WAIT_FOR_DOCUMENTS = """
<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_docs"/>
<bpmn:intermediateCatchEvent id="wait_docs" name="Documents indexed">
  <bpmn:messageEventDefinition messageRef="msg_indexed"/>
</bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f2" sourceRef="wait_docs" targetRef="check"/>
<bpmn:userTask id="check" name="Check the documents"/>
<bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
<bpmn:endEvent id="end"/>
"""


def deploy_waiting(api):  # type: ignore[no-untyped-def]
    xml = MINIMAL.format(pid="wait_documents", name="Wait for documents", body=WAIT_FOR_DOCUMENTS).replace(
        "</bpmn:definitions>", '<bpmn:message id="msg_indexed" name="documents_indexed"/></bpmn:definitions>')
    response = api.deploy(("wait_documents.bpmn", xml.encode()))
    assert response.status_code == 201, response.get_json()


def test_the_waiting_instance_is_told_and_lists_its_documents(app, agent, analyst, reg):  # type: ignore[no-untyped-def]
    deploy_waiting(analyst)
    started = agent.post("/process-instances", json={"processDefinitionKey": "wait_documents",
                                                     "businessKey": "CLAIM-7", "variables": {"ssn": reg.helene}})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    other = agent.post("/process-instances", json={"processDefinitionKey": "wait_documents",
                                                   "businessKey": "CLAIM-8"}).get_json()
    # The subject comes from the instance's variables when not given.
    filed = file_ok(agent, text_pdf(), "", processInstanceId=instance["id"])
    view = agent.get(f"/process-instances/{instance['id']}").get_json()
    assert [d["id"] for d in view["documents"]] == [filed["id"]]
    assert view["documents"][0]["status"] == "received" and view["documents"][0]["subject"] == reg.helene
    assert view["activeElementIds"] == ["wait_docs"]

    assert run_ocr(app, filed["id"]) == "indexed"
    after = agent.get(f"/process-instances/{instance['id']}").get_json()
    assert [t["elementId"] for t in after["openTasks"]] == ["check"]
    assert after["variables"]["document_id"] == filed["id"]
    assert after["variables"]["document_status"] == "indexed"
    assert after["documents"][0]["status"] == "indexed"
    untouched = agent.get(f"/process-instances/{other['id']}").get_json()
    assert untouched["activeElementIds"] == ["wait_docs"] and untouched["documents"] == []
    history = agent.get(f"/process-instances/{instance['id']}/history").get_json()
    assert any(e["type"] == "message_correlated" and e["actor"] == "ocr-worker" for e in history)
    assert [d["id"] for d in agent.get(f"/documents?processInstanceId={instance['id']}").get_json()["items"]] \
        == [filed["id"]]


def test_no_waiting_instance_is_not_an_error(app, agent, analyst, reg):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models.document import Document

    deploy_waiting(analyst)
    instance = agent.post("/process-instances", json={"processDefinitionKey": "wait_documents",
                                                      "businessKey": "CLAIM-9"}).get_json()
    first = file_ok(agent, text_pdf(), reg.helene, processInstanceId=instance["id"])
    second = file_ok(agent, text_pdf(["Une deuxième pièce pour le même dossier de demande"] * 2), reg.helene,
                     processInstanceId=instance["id"])
    assert run_ocr(app, first["id"]) == "indexed"
    # The instance no longer waits: the second document is indexed all the same.
    assert run_ocr(app, second["id"]) == "indexed"
    with app.app_context():
        assert db.session.get(Document, second["id"]).notified_at is not None
        db.session.remove()
    lonely = file_ok(agent, text_pdf(), reg.jean)
    assert run_ocr(app, lonely["id"]) == "indexed"


def test_failure_is_told_too(app, agent, analyst, reg, monkeypatch):  # type: ignore[no-untyped-def]
    from app.services import document_ocr
    from workers.ocr import EncryptedDocumentError

    xml = MINIMAL.format(pid="wait_failure", name="Wait failure", body=WAIT_FOR_DOCUMENTS).replace(
        "</bpmn:definitions>", '<bpmn:message id="msg_indexed" name="documents_failed"/></bpmn:definitions>')
    assert analyst.deploy(("wait_failure.bpmn", xml.encode())).status_code == 201
    instance = agent.post("/process-instances", json={"processDefinitionKey": "wait_failure",
                                                      "variables": {"ssn": reg.helene}}).get_json()
    filed = file_ok(agent, text_pdf(), reg.helene, processInstanceId=instance["id"])

    def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise EncryptedDocumentError("PDF is protected by a password")

    monkeypatch.setattr(document_ocr, "read_document", locked)
    assert run_ocr(app, filed["id"]) == "failed"
    after = agent.get(f"/process-instances/{instance['id']}").get_json()
    assert [t["elementId"] for t in after["openTasks"]] == ["check"]
    assert after["variables"]["document_failure"] == "encrypted_document"


def test_full_text_index_follows_the_pages(app, agent, reg):  # type: ignore[no-untyped-def]
    """The database's own index (FTS5 table or tsvector column) holds one entry per stored page."""
    from app.extensions import db

    filed = file_ok(agent, text_pdf(pages=3), reg.helene)
    run_ocr(app, filed["id"])
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            entries = db.session.execute(text(
                "SELECT count(*) FROM document_pages_fts WHERE document_pages_fts MATCH 'carence'")).scalar()
        else:
            entries = db.session.execute(text(
                "SELECT count(*) FROM document_pages WHERE search_vector @@ to_tsquery('french', 'carence')")).scalar()
        db.session.remove()
    assert entries == 3


def test_the_ocr_task_is_sent_once_the_answer_is_out(app, agent, reg, monkeypatch):  # type: ignore[no-untyped-def]
    celery_app = app.extensions["celery"]
    sent: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args, **kw: sent.append((name, args)))
    response = upload(agent, text_pdf(), subject=reg.helene)
    response.close()
    assert sent == [("ocr.extract_text", [response.get_json()["id"]])]
    refused = upload(agent, b"", subject=reg.helene)
    refused.close()
    assert len(sent) == 1

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(celery_app, "send_task", down)
    filed = upload(agent, text_pdf(), subject=reg.helene)
    filed.close()
    assert filed.status_code == 201  # filed all the same; the sweeper sends it later
