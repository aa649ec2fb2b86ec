"""Documents through the API and the OCR task: filing, receipt, original, text, search, the waiting process.

The documents are made here from known text (tests/unit/ocr/conftest.py's Samples): a text-layer
PDF, a scanned page as PNG, a scanned-style PDF whose pages are a rotated and a skewed copy.
The OCR task body runs directly (no broker): workers.tasks.ocr.process_document / process_page.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.api.documents_support import file_ok, pdf_text, run_ocr, text_pdf, upload
from tests.unit.ocr.conftest import FRENCH_ENGLISH_TEXT, OTHER_TEXT, found_ratio


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
    assert before["retentionClass"] == "benefit_file" and before["legalHold"] is None

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
