"""Documents read by real Celery workers (PostgreSQL, Redis): intake queues the OCR, page tasks spread a scan.

A scanned three-page PDF is filed through the API; the worker takes `ocr.extract_text`, hands each
scanned page to an `ocr.extract_page` task, and the last page makes the document indexed and
searchable. A text-layer PDF filed alongside is read in one task.
"""
from __future__ import annotations

import io
import re

import pytest

from app.extensions import db
from app.models.document import Document
from tests.integration.conftest import Env, Workers
from tests.integration.support import wait_until
from tests.registry_data import make_registry
from tests.unit.ocr.conftest import FRENCH_ENGLISH_TEXT, OTHER_TEXT, Samples, find_font, found_ratio

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


def status_of(document_id: int) -> str | None:
    document = db.session.get(Document, document_id, populate_existing=True)
    db.session.rollback()
    return document.status if document is not None and document.status in ("indexed", "failed") else None


def test_workers_read_a_scan_page_by_page_and_index_it(env: Env, workers: Workers) -> None:
    from workers.ocr import tesseract_available

    font = find_font()
    if font is None or not tesseract_available():
        pytest.skip("needs a TrueType font and tesseract")
    samples = Samples(font)
    registry = make_registry(env.app)
    api = env.api("root")
    scan = samples.scanned_pdf([samples.page(FRENCH_ENGLISH_TEXT), samples.page(OTHER_TEXT),
                                samples.rotated(samples.page(FRENCH_ENGLISH_TEXT[:4]), 90)])
    workers.start("ocr", concurrency=2)

    def post(content: bytes, name: str) -> dict:  # type: ignore[type-arg]
        response = api.client.post("/api/v1/documents", headers=api.headers, content_type="multipart/form-data",
                                    data={"file": (io.BytesIO(content), name), "documentType": "medical_certificate",
                                          "subject": registry.helene})
        assert response.status_code == 201, response.get_json()
        response.close()  # a WSGI server closes the answer once sent; then the OCR task is queued
        return response.get_json()  # type: ignore[no-any-return]

    scanned = post(scan, "scan.pdf")
    text = post(Samples.text_pdf([FRENCH_ENGLISH_TEXT, OTHER_TEXT]), "text.pdf")
    assert wait_until(lambda: status_of(text["id"]), timeout=60, message="text PDF indexed") == "indexed"
    assert wait_until(lambda: status_of(scanned["id"]), timeout=180, message="scan indexed") == "indexed", \
        workers.logs()

    body = api.get(f"/documents/{scanned['id']}").get_json()
    pages = body["pageTexts"]
    assert [p["number"] for p in pages] == [1, 2, 3] and all(p["method"] == "tesseract" for p in pages)
    assert found_ratio(FRENCH_ENGLISH_TEXT, pages[0]["text"]) > 0.85
    assert found_ratio(OTHER_TEXT, pages[1]["text"]) > 0.8
    assert pages[2]["rotation"] in (90, 270)
    logs = "".join(log.read_text(errors="replace") for _proc, log in workers.procs)
    assert len(re.findall(r"Task ocr\.extract_page\[[^\]]+\] succeeded", logs)) == 3, workers.logs()
    hits = {h["id"]: h for h in api.get("/documents?q=gestionnaire").get_json()["items"]}
    assert set(hits) == {scanned["id"], text["id"]} and hits[scanned["id"]]["matchedPage"] == 2
    assert api.get(f"/documents/{text['id']}").get_json()["pageTexts"][0]["method"] == "text_layer"
