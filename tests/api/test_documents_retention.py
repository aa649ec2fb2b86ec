"""Retention through the API: legal hold, disposal with a tombstone, content-addressed twins, roles, bad bodies.

What a records manager notices: a hold blocks disposal (409, saying why); disposal destroys the
original (the object file is gone, content and receipt answer 410), the text and the search
entries, and keeps who/when, sha256 and receipt number; a document with the same bytes keeps its
original; every action is in the subject's access log and in the instance's history.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.api.documents_support import file_ok, problem, run_ocr, text_pdf
from tests.api.test_documents_messages import deploy_waiting


def _content(marker: str) -> bytes:
    return text_pdf(["Attestation de la Sécurité sociale : indemnités journalières et délai de carence.",
                     f"Pièce de contrôle {marker} pour le dossier de retraite."])


def _object(app: Any, sha256: str) -> Path:
    return Path(app.config["DATA_DIR"]) / "objects" / sha256[:2] / sha256[2:4] / sha256


def _index_entries(app: Any, document_id: int) -> tuple[int, int]:
    """(pages stored, full-text entries found for `carence`) of one document."""
    from app.extensions import db

    with app.app_context():
        pages = db.session.execute(text("SELECT count(*) FROM document_pages WHERE document_id = :d"),
                                   {"d": document_id}).scalar()
        if db.engine.dialect.name == "sqlite":
            entries = db.session.execute(text(
                "SELECT count(*) FROM document_pages_fts f JOIN document_pages p ON p.id = f.rowid "
                "WHERE document_pages_fts MATCH 'carence' AND p.document_id = :d"), {"d": document_id}).scalar()
        else:
            entries = db.session.execute(text(
                "SELECT count(*) FROM document_pages WHERE document_id = :d "
                "AND search_vector @@ websearch_to_tsquery('guichet_fr', 'carence')"), {"d": document_id}).scalar()
        db.session.remove()
    return int(pages or 0), int(entries or 0)


def _purposes(app: Any, reader: str) -> list[str]:
    from app.extensions import db
    from app.models.registry import RecordAccessLog

    with app.app_context():
        rows = list(db.session.scalars(select(RecordAccessLog.purpose).where(RecordAccessLog.reader == reader)
                                       .order_by(RecordAccessLog.id)))
        db.session.remove()
    return rows


@pytest.fixture
def supervisor(login):  # type: ignore[no-untyped-def]
    return login("sue", "supervisor")


def test_a_hold_blocks_disposal_then_disposal_leaves_a_tombstone(app, agent, reg, supervisor):  # type: ignore[no-untyped-def]
    content = _content("hold")
    filed = file_ok(agent, content, reg.helene)
    doc = filed["id"]
    assert run_ocr(app, doc) == "indexed"
    assert _index_entries(app, doc) == (1, 1)
    assert [i["id"] for i in agent.get("/documents?q=carence").get_json()["items"]] == [doc]

    held = supervisor.post(f"/documents/{doc}/legal-hold", json={"reason": "  Contentieux   TASS 2024-117 "})
    assert held.status_code == 200, held.get_json()
    hold = held.get_json()["legalHold"]
    assert hold["reason"] == "Contentieux TASS 2024-117" and hold["by"] == "sue" and hold["at"].endswith("Z")
    assert agent.get(f"/documents/{doc}").get_json()["legalHold"] == hold
    again = problem(supervisor.post(f"/documents/{doc}/legal-hold", json={"reason": "other"}), 409)
    assert "already on legal hold" in again["detail"]

    refused = problem(supervisor.delete(f"/documents/{doc}"), 409)
    assert "legal hold" in refused["detail"] and "Contentieux TASS 2024-117" in refused["detail"]
    assert agent.get(f"/documents/{doc}/content").data == content and _object(app, filed["sha256"]).is_file()

    released = supervisor.delete(f"/documents/{doc}/legal-hold")
    assert released.status_code == 200 and released.get_json()["legalHold"] is None
    assert "not on legal hold" in problem(supervisor.delete(f"/documents/{doc}/legal-hold"), 409)["detail"]

    disposed = supervisor.delete(f"/documents/{doc}")
    assert disposed.status_code == 200, disposed.get_json()
    tombstone = disposed.get_json()
    assert tombstone["status"] == "disposed" and tombstone["disposedBy"] == "sue" and tombstone["disposedAt"]
    assert tombstone["sha256"] == filed["sha256"] and tombstone["receiptNumber"] == filed["receiptNumber"]
    assert tombstone["text"] is None and tombstone["pageTexts"] == [] and tombstone["legalHold"] is None
    assert agent.get(f"/documents/{doc}").get_json() == tombstone

    # The bytes, the text and the index entries are gone.
    assert not _object(app, filed["sha256"]).exists()
    gone = problem(agent.get(f"/documents/{doc}/content"), 410)
    assert "disposed" in gone["detail"]
    problem(agent.get(f"/documents/{doc}/receipt"), 410)
    assert _index_entries(app, doc) == (0, 0)
    assert agent.get("/documents?q=carence").get_json()["items"] == []
    # The tombstone is still listed with the subject's documents, and found by status.
    listed = agent.get(f"/documents?subject={reg.helene}").get_json()["items"]
    assert [(i["id"], i["status"]) for i in listed] == [(doc, "disposed")]
    assert [i["id"] for i in agent.get("/documents?status=disposed").get_json()["items"]] == [doc]

    # Nothing more can happen to it.
    assert "already disposed" in problem(supervisor.delete(f"/documents/{doc}"), 409)["detail"]
    problem(supervisor.post(f"/documents/{doc}/legal-hold", json={"reason": "late"}), 409)
    assert run_ocr(app, doc) == "skipped" and _index_entries(app, doc) == (0, 0)

    assert [p for p in _purposes(app, "sue") if ":" in p] == [
        f"legal_hold:{doc}", f"legal_hold_released:{doc}", f"disposal:{doc}"]


def test_a_document_with_the_same_bytes_keeps_its_original(app, agent, reg, supervisor):  # type: ignore[no-untyped-def]
    content = _content("twins")
    first = file_ok(agent, content, reg.helene)
    second = file_ok(agent, content, reg.jean)
    assert first["sha256"] == second["sha256"]
    for filed in (first, second):
        assert run_ocr(app, filed["id"]) == "indexed"

    assert supervisor.delete(f"/documents/{first['id']}").status_code == 200
    assert _object(app, first["sha256"]).is_file()
    kept = agent.get(f"/documents/{second['id']}/content")
    assert kept.status_code == 200 and kept.data == content
    assert agent.get(f"/documents/{first['id']}/content").status_code == 410
    assert [i["id"] for i in agent.get("/documents?q=carence").get_json()["items"]] == [second["id"]]
    assert _index_entries(app, second["id"]) == (1, 1)

    # The last holder of the bytes takes them with it.
    assert supervisor.delete(f"/documents/{second['id']}").status_code == 200
    assert not _object(app, first["sha256"]).exists()
    assert agent.get("/documents?q=carence").get_json()["items"] == []


def test_bytes_removed_by_a_concurrent_disposal_are_put_back_at_intake(app, agent, reg, supervisor,
                                                                       monkeypatch):  # type: ignore[no-untyped-def]
    """Intake stored the bytes (already there), then a disposal removed them before intake's row was visible."""
    from app.services.documents_storage import storage_for

    content = _content("race")
    disposed = file_ok(agent, content, reg.helene)
    assert supervisor.delete(f"/documents/{disposed['id']}").status_code == 200
    assert not _object(app, disposed["sha256"]).exists()

    storage = storage_for(app)
    real_put = storage.put_stream
    calls: list[str] = []

    def put_that_found_the_object(stream, *, content_type, max_bytes=None):  # type: ignore[no-untyped-def]
        calls.append("put")
        if len(calls) == 1:  # as if the object had still been there: nothing written
            import hashlib

            from app.storage import StoredObject
            data = stream.read()
            sha = hashlib.sha256(data).hexdigest()
            return StoredObject(key=sha, sha256=sha, size=len(data), content_type=content_type)
        return real_put(stream, content_type=content_type, max_bytes=max_bytes)

    monkeypatch.setattr(storage, "put_stream", put_that_found_the_object)
    twin = file_ok(agent, content, reg.jean)
    assert calls == ["put", "put"]
    assert _object(app, twin["sha256"]).is_file()
    assert agent.get(f"/documents/{twin['id']}/content").data == content


def test_only_supervisors_and_admins_and_bad_bodies_are_4xx(app, agent, reg, supervisor, admin,
                                                            analyst):  # type: ignore[no-untyped-def]
    doc = file_ok(agent, _content("roles"), reg.helene)["id"]
    for api in (agent, analyst):
        problem(api.post(f"/documents/{doc}/legal-hold", json={"reason": "x"}), 403)
        problem(api.delete(f"/documents/{doc}/legal-hold"), 403)
        problem(api.delete(f"/documents/{doc}"), 403)
    for path in ("/documents/999999/legal-hold", "/documents/999999"):
        problem(supervisor.delete(path), 404)
    problem(supervisor.post("/documents/999999/legal-hold", json={"reason": "x"}), 404)
    assert supervisor.client.delete(f"/api/v1/documents/{doc}").status_code == 401

    hold = f"/documents/{doc}/legal-hold"
    problem(supervisor.post(hold), 400)
    problem(supervisor.post(hold, data="reason=x", content_type="application/x-www-form-urlencoded"), 415)
    problem(supervisor.post(hold, data="{not json", content_type="application/json"), 400)
    problem(supervisor.post(hold, json=["reason"]), 400)
    problem(supervisor.post(hold, json={}), 400, "reason")
    problem(supervisor.post(hold, json={"reason": 42}), 400, "reason")
    problem(supervisor.post(hold, json={"reason": ""}), 422, "reason")
    problem(supervisor.post(hold, json={"reason": " \t\n "}), 422, "reason")
    problem(supervisor.post(hold, json={"reason": "x" * 1001}), 422, "reason")
    assert agent.get(f"/documents/{doc}").get_json()["legalHold"] is None

    # Admins may too; the agent still reads the document and sees the hold.
    assert admin.post(hold, json={"reason": "Réquisition du parquet"}).status_code == 200
    assert agent.get(f"/documents/{doc}").get_json()["legalHold"]["by"] == "root"
    assert supervisor.delete(hold).status_code == 200
    assert admin.delete(f"/documents/{doc}").get_json()["disposedBy"] == "root"

    spec = supervisor.get("/openapi.json").get_json()["paths"]
    assert {"post", "delete"} <= set(spec["/documents/{id}/legal-hold"])
    assert "409" in spec["/documents/{id}"]["delete"]["responses"]


def test_disposal_waits_for_the_process_instance_to_end(app, agent, analyst, reg, supervisor):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models import Job

    deploy_waiting(analyst)
    started = agent.post("/process-instances", json={"processDefinitionKey": "wait_documents",
                                                     "businessKey": "CLAIM-RET-1", "variables": {"ssn": reg.helene}})
    instance = started.get_json()["id"]
    filed = file_ok(agent, _content("instance"), "", processInstanceId=instance)
    doc = filed["id"]
    assert supervisor.post(f"/documents/{doc}/legal-hold", json={"reason": "Recours amiable"}).status_code == 200
    assert supervisor.delete(f"/documents/{doc}/legal-hold").status_code == 200

    refused = problem(supervisor.delete(f"/documents/{doc}"), 409)
    assert f"process instance {instance} (running)" in refused["detail"]
    assert supervisor.post(f"/process-instances/{instance}/suspension").status_code == 204
    assert "(suspended)" in problem(supervisor.delete(f"/documents/{doc}"), 409)["detail"]
    assert supervisor.post(f"/process-instances/{instance}/cancellation").status_code == 204

    # A letter generated by a job of the instance happens to have the same bytes: it keeps them.
    with app.app_context():
        db.session.add(Job(instance_id=instance, engine_task_id="t-1", element_id="letter", topic="pdf.letter",
                           state="done", result={"objectKey": filed["sha256"], "filename": "letter.pdf"}))
        db.session.commit()
        job_id = db.session.scalar(select(func.max(Job.id)))
        db.session.remove()
    disposed = supervisor.delete(f"/documents/{doc}")
    assert disposed.status_code == 200 and disposed.get_json()["status"] == "disposed"
    assert _object(app, filed["sha256"]).is_file()

    history = agent.get(f"/process-instances/{instance}/history").get_json()
    events = [(e["type"], e["actor"], e["details"]) for e in history if e["type"].startswith("document_")]
    assert [(t, a) for t, a, _d in events] == [("document_legal_hold_placed", "sue"),
                                               ("document_legal_hold_released", "sue"),
                                               ("document_disposed", "sue")]
    assert events[0][2]["reason"] == "Recours amiable" and events[1][2]["reason"] == "Recours amiable"
    assert events[2][2] == {"documentId": doc, "receiptNumber": filed["receiptNumber"], "sha256": filed["sha256"],
                            "objectDeleted": False, "objectKeptFor": f"job {job_id}"}
    # The instance page still lists the document, as disposed; the OCR queued at filing finds nothing to do.
    assert agent.get(f"/process-instances/{instance}").get_json()["documents"][0]["status"] == "disposed"
    assert run_ocr(app, doc) == "skipped"


def test_intake_and_disposal_of_the_same_bytes_at_once(app, agent, reg, supervisor, monkeypatch):  # type: ignore[no-untyped-def]
    """Really concurrent: intake found the object stored, then the disposal deleted it before intake's commit.

    The disposal holds the content lock (an advisory lock on PostgreSQL, the write lock on SQLite)
    until it commits; intake waits for it, sees the disposal and stores the bytes again.
    """
    import io
    import threading
    import time

    from app.extensions import db
    from app.models import User
    from app.services import document_retention
    from app.services.documents_storage import storage_for

    content = _content("concurrent")
    doomed = file_ok(agent, content, reg.helene)
    storage = storage_for(app)
    real_put = storage.put_stream
    stored, deleted = threading.Event(), threading.Event()

    def put_then_pause(stream, *, content_type, max_bytes=None):  # type: ignore[no-untyped-def]
        result = real_put(stream, content_type=content_type, max_bytes=max_bytes)
        if not stored.is_set():
            stored.set()
            assert deleted.wait(10)
        return result

    monkeypatch.setattr(storage, "put_stream", put_then_pause)
    answers: list[Any] = []
    intake = threading.Thread(target=lambda: answers.append(
        agent.client.post("/api/v1/documents", headers=agent.headers, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(content), "twin.pdf"),
                                "documentType": "medical_certificate", "subject": reg.jean})))
    intake.start()
    assert stored.wait(10)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "sue"))
        disposal = document_retention.dispose_document(doomed["id"], user)
        assert disposal.object_deleted and not _object(app, doomed["sha256"]).exists()
        deleted.set()
        time.sleep(0.5)  # intake now waits for the content lock
        assert intake.is_alive()
        db.session.commit()
        db.session.remove()
    intake.join(30)
    assert answers and answers[0].status_code == 201, answers[0].get_json()
    twin = answers[0].get_json()
    assert twin["sha256"] == doomed["sha256"]
    assert agent.get(f"/documents/{twin['id']}/content").data == content
    assert agent.get(f"/documents/{doomed['id']}").get_json()["status"] == "disposed"


def test_a_store_that_refuses_the_delete_disposes_of_nothing(app, agent, reg, supervisor,
                                                             monkeypatch):  # type: ignore[no-untyped-def]
    from app.services.documents_storage import storage_for
    from app.storage import StorageError

    content = _content("store down")
    filed = file_ok(agent, content, reg.helene)
    assert run_ocr(app, filed["id"]) == "indexed"

    def refuse(key: str) -> None:
        raise StorageError("connection refused")

    monkeypatch.setattr(storage_for(app), "delete", refuse)
    failed = problem(supervisor.delete(f"/documents/{filed['id']}"), 503)
    assert "nothing was disposed of" in failed["detail"]
    after = agent.get(f"/documents/{filed['id']}").get_json()
    assert after["status"] == "indexed" and after["disposedAt"] is None and len(after["pageTexts"]) == 1
    assert agent.get(f"/documents/{filed['id']}/content").data == content
    assert [i["id"] for i in agent.get("/documents?q=carence").get_json()["items"]] == [filed["id"]]
    assert not any(p.startswith("disposal:") for p in _purposes(app, "sue"))


def test_disposal_on_an_s3_store(app_on_s3, agent, reg, supervisor) -> None:  # type: ignore[no-untyped-def]
    """MinioStorage against a local S3 server (moto): the same key rules, the object removed from the bucket."""
    storage = app_on_s3
    content = _content("s3")
    first, second = file_ok(agent, content, reg.helene), file_ok(agent, content, reg.jean)
    assert storage.exists(first["sha256"])
    assert supervisor.delete(f"/documents/{first['id']}").status_code == 200
    assert storage.exists(first["sha256"]) and agent.get(f"/documents/{second['id']}/content").data == content
    assert supervisor.delete(f"/documents/{second['id']}").status_code == 200
    assert not storage.exists(first["sha256"])
    problem(agent.get(f"/documents/{second['id']}/content"), 410)
