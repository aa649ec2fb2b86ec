"""The documents services below the API: names, receipts, the search query, storage wiring, page tasks."""
from __future__ import annotations

import io
import re
import threading
from datetime import UTC

import pdfplumber
import pytest

from app.services.document_search import _mark, fts5_query
from app.services.documents import sanitize_filename
from app.services.receipts import ReceiptFacts, office_code, render_receipt_pdf


@pytest.mark.parametrize("raw, expected", [
    ("scan.pdf", "scan.pdf"),
    ("../../../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\System32\\evil.pdf", "evil.pdf"),
    ("C:\\Users\\agent\\Desktop\\bulletin de paie.pdf", "bulletin de paie.pdf"),
    ("/", "document"),
    ("..", "document"),
    ("", "document"),
    (None, "document"),
    ("...hidden", "hidden"),
    ('quo"te<>|?*:.pdf', "quo_te______.pdf"),
    ("new\nline\r\x00tab\t.pdf", "new_line__tab_.pdf"),
    ("\u202efdp.exe", "fdp.exe"),
    ("zero\u200bwidth.pdf", "zerowidth.pdf"),
    ("Attestation sécurité sociale.pdf", "Attestation sécurité sociale.pdf"),
    ("e\u0301te\u0301.pdf", "été.pdf"),  # NFC
])
def test_sanitize_filename(raw, expected):  # type: ignore[no-untyped-def]
    assert sanitize_filename(raw) == expected


def test_long_names_keep_their_extension() -> None:
    name = sanitize_filename("a" * 500 + ".pdf")
    assert len(name) == 200 and name.endswith(".pdf")
    assert len(sanitize_filename("b" * 500)) == 200


def test_fts5_query_quotes_every_word() -> None:
    assert fts5_query("indemnités journalières") == '"indemnités" "journalières"'
    assert fts5_query('a" OR b NEAR(c') == '"a" "OR" "b" "NEAR" "c"'
    assert fts5_query("*** --- ()") is None
    assert fts5_query(" ".join(f"w{n}" for n in range(100))).count('"') == 64


def test_snippet_marks_after_escaping() -> None:
    assert _mark("a <b>\x02word\x03</b> &  c") == "a &lt;b&gt;<mark>word</mark>&lt;/b&gt; &amp; c"
    assert _mark(None) is None


def test_office_codes() -> None:
    assert office_code("hq") == "HQ"
    assert office_code("Lyon-3 / annexe") == "LYON3ANN"
    assert office_code("") == "HQ"


def test_receipt_pdf_states_everything_on_one_page() -> None:
    from datetime import datetime

    facts = ReceiptFacts(
        institution="Caisse Nationale de Sécurité Sociale", number="REC-HQ-2026-000042",
        received_at=datetime(2026, 3, 9, 14, 5, 7, tzinfo=UTC), subject_type="person",
        subject="285077512345655", subject_name="Hélène Dupré", document_type="payslip", document_label="Payslip",
        original_name="bulletin mars.pdf", media_type="application/pdf", size=2_345_678, pages=3, sha256="ab" * 32,
        agent="Alice Martin", verification_code="7K2M9QXR4T1W", case_number="DOS-2026-000007",
        process_instance_id=12)
    pdf = render_receipt_pdf(facts)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 1
        printed = doc.pages[0].extract_text()
    for expected in ("Caisse Nationale de Sécurité Sociale", "REC-HQ-2026-000042", "09/03/2026 at 14:05:07 UTC",
                     "Hélène Dupré - SSN 2 85 07 75 123 456 55", "Payslip (payslip)", "bulletin mars.pdf",
                     "2.2 MB", "Pages 3", "DOS-2026-000007", "Alice Martin", "7K2M-9QXR-4T1W", "ab" * 16):
        assert expected in printed, expected
    unknown = render_receipt_pdf(ReceiptFacts(**{**facts.__dict__, "pages": None, "subject_type": "employer",
                                                  "subject": "123456749", "subject_name": "Boulangerie"}))
    with pdfplumber.open(io.BytesIO(unknown)) as doc:
        printed = doc.pages[0].extract_text()
    assert "not known yet" in printed and "Employer Boulangerie - No. 123456749" in printed


def test_one_storage_per_app_built_from_its_config(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app import create_app
    from app.services.documents_storage import get_storage, set_storage, storage_for
    from app.storage import FilesystemStorage

    with app.app_context():
        first = get_storage()
        assert first is get_storage() and isinstance(first, FilesystemStorage)
        assert str(first.root).startswith(app.config["DATA_DIR"])
    other = create_app(DATA_DIR=str(tmp_path), BROKER_URL="memory://", DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(storage_for(other))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in seen}) == 1 and seen[0] is not first
    set_storage(other, None)
    assert storage_for(other) is not seen[0]


def test_healthz_reports_the_object_store(app, client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.services.documents_storage import set_storage

    assert client.get("/healthz").get_json()["objectStore"] == "up"

    class Down:
        def check(self) -> bool:
            return False

    set_storage(app, Down())  # type: ignore[arg-type]
    try:
        assert client.get("/healthz").get_json()["objectStore"] == "down"
    finally:
        set_storage(app, None)


def test_a_store_that_is_down_files_nothing(app, login, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models.document import Document
    from app.services.documents_storage import set_storage
    from app.storage import StorageError
    from tests.registry_data import make_registry
    from tests.unit.ocr.conftest import Samples

    reg = make_registry(app)
    agent = login("bob", "agent")

    class Broken:
        def put_stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise StorageError("connection refused")

    set_storage(app, Broken())  # type: ignore[arg-type]
    try:
        response = agent.client.post("/api/v1/documents", headers=agent.headers, content_type="multipart/form-data",
                                     data={"file": (io.BytesIO(Samples.text_pdf([["Une pièce du dossier"] * 3])), "a.pdf"),
                                           "documentType": "other", "subject": reg.jean})
    finally:
        set_storage(app, None)
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    with app.app_context():
        assert db.session.query(Document).count() == 0
        db.session.remove()
    # The receipt number was not used up either.
    from tests.unit.ocr.conftest import Samples as S

    ok = agent.client.post("/api/v1/documents", headers=agent.headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(S.text_pdf([["Une autre pièce du dossier"] * 3])), "b.pdf"),
                                 "documentType": "other", "subject": reg.jean})
    assert ok.status_code == 201 and re.search(r"-000001$", ok.get_json()["receiptNumber"])


def test_page_tasks_stored_twice_or_out_of_order_index_once(app, login) -> None:  # type: ignore[no-untyped-def]
    """Pages arriving in any order, one of them twice: one row per page, indexed by the last new one."""
    from app.extensions import db
    from app.models._types import utcnow
    from app.models.document import Document, DocumentPage
    from app.services import document_ocr
    from tests.registry_data import make_registry
    from workers.ocr import PageText
    from workers.tasks.ocr import unit_of_work

    reg = make_registry(app)
    with app.app_context():
        doc = Document(document_type="other", subject_type="person", subject=reg.jean, sha256="0" * 64,
                       storage_key="0" * 64, size=1, media_type="application/pdf", original_name="x.pdf",
                       status="processing", pages=3, receipt_number="REC-T-1", verification_code="V" * 12,
                       received_by="t", received_at=utcnow(), ocr_attempts=1, retention_class="general",
                       legal_hold=False)
        db.session.add(doc)
        db.session.commit()
        doc_id = doc.id

        def page(n: int, text: str) -> PageText:
            return PageText(number=n, text=text, confidence=80.0, method="tesseract")

        assert unit_of_work(lambda: document_ocr.save_pages(doc_id, [page(3, "trois")], 3)) is False
        assert unit_of_work(lambda: document_ocr.save_pages(doc_id, [page(1, "un")], 3)) is False
        assert unit_of_work(lambda: document_ocr.save_pages(doc_id, [page(1, "un bis")], 3)) is False
        assert unit_of_work(lambda: document_ocr.save_pages(doc_id, [page(2, "deux")], 3)) is True
        # Late duplicate after indexing: ignored.
        assert unit_of_work(lambda: document_ocr.save_pages(doc_id, [page(2, "deux bis")], 3)) is False
        texts = [p.text for p in db.session.query(DocumentPage).filter_by(document_id=doc_id)
                 .order_by(DocumentPage.number)]
        assert texts == ["un bis", "deux", "trois"]
        db.session.expire_all()
        assert db.session.get(Document, doc_id).status == "indexed"
        # Failing an indexed document does nothing.
        assert unit_of_work(lambda: document_ocr.fail_ocr(doc_id, "x", "late failure")) is False
        db.session.remove()


def test_documents_on_an_s3_store(app, app_on_s3, login) -> None:  # type: ignore[no-untyped-def]
    """The same filing, reading and OCR with MinioStorage against a local S3 server (moto)."""
    from tests.registry_data import make_registry
    from tests.unit.ocr.conftest import FRENCH_ENGLISH_TEXT, Samples
    from workers.tasks.ocr import process_document

    storage = app_on_s3
    reg = make_registry(app)
    agent = login("sam", "agent")
    content = Samples.text_pdf([FRENCH_ENGLISH_TEXT])
    filed = agent.client.post("/api/v1/documents", headers=agent.headers, content_type="multipart/form-data",
                              data={"file": (io.BytesIO(content), "s3.pdf"), "documentType": "other",
                                    "subject": reg.helene})
    assert filed.status_code == 201, filed.get_json()
    doc_id = filed.get_json()["id"]
    assert storage.read(filed.get_json()["sha256"]) == content
    assert agent.get(f"/documents/{doc_id}/content").data == content
    with app.app_context():
        assert process_document(doc_id) == "indexed"
    assert "carence" in agent.get(f"/documents/{doc_id}").get_json()["text"]
