"""Documents: bad input, limits, failures and retries of the OCR task, the requeue sweeper."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.documents_support import counts, file_ok, problem, run_ocr, text_pdf, upload
from tests.unit.ocr.conftest import FRENCH_ENGLISH_TEXT, Samples


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
