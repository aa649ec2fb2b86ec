"""Documents and processes: the waiting instance is told (documents_indexed / documents_failed), the index follows the pages."""
from __future__ import annotations

from sqlalchemy import text

from tests.api.documents_support import file_ok, run_ocr, text_pdf, upload
from tests.api.test_deployments import MINIMAL

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
