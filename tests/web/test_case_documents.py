"""Case documents on the task and instance pages: listed, and shown inline to those who may see the case."""
from __future__ import annotations

import io

import pytest

from tests.web.conftest import deploy_six_node, start_case

pytest.importorskip("app.services.documents")


def file_pdf(api, subject: str, instance_id: int) -> int:  # type: ignore[no-untyped-def]
    from tests.unit.ocr.conftest import Samples
    pdf = Samples.text_pdf([["Certificat médical", "Arrêt de travail de trois jours"]])
    response = api.client.post("/api/v1/documents", headers=api.headers, content_type="multipart/form-data", data={
        "file": (io.BytesIO(pdf), "arret.pdf"), "documentType": "medical_certificate", "subject": subject,
        "processInstanceId": str(instance_id)})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_documents_are_listed_and_viewed_from_the_case(app, client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    from tests.registry_data import make_registry
    reg = make_registry(app)
    deploy_six_node(analyst)
    alice = login("alice", "agent", ["agents"])
    instance = start_case(alice, "CASE-D", ssn=reg.helene)
    other = start_case(alice, "CASE-E")
    document_id = file_pdf(alice, reg.helene, instance["id"])
    task_id = instance["openTasks"][0]["id"]

    web_login("alice", create=False)
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Medical certificate" in page and f'data-doc-view="/tasks/{task_id}/documents/{document_id}"' in page
    original = client.get(f"/tasks/{task_id}/documents/{document_id}")
    assert original.status_code == 200 and original.mimetype == "application/pdf"
    assert original.data.startswith(b"%PDF") and original.headers["X-Content-Type-Options"] == "nosniff"
    other_task = other["openTasks"][0]["id"]
    assert client.get(f"/tasks/{other_task}/documents/{document_id}").status_code == 404

    web_login("sue", "supervisor")
    assert f"/monitor/instances/{instance['id']}/documents/{document_id}" in \
        client.get(f"/monitor/instances/{instance['id']}").get_data(as_text=True)
    assert client.get(f"/monitor/instances/{instance['id']}/documents/{document_id}").data.startswith(b"%PDF")


def test_a_disposed_document_is_listed_without_its_original(app, client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    from tests.registry_data import make_registry
    reg = make_registry(app)
    deploy_six_node(analyst)
    alice = login("alice", "agent", ["agents"])
    boss = login("sue", "supervisor")
    instance = start_case(alice, "CASE-F", ssn=reg.helene)
    document_id = file_pdf(alice, reg.helene, instance["id"])
    assert boss.post(f"/process-instances/{instance['id']}/cancellation").status_code == 204
    assert boss.delete(f"/documents/{document_id}").status_code == 200

    web_login("sue", create=False)
    page = client.get(f"/monitor/instances/{instance['id']}").get_data(as_text=True)
    assert ">disposed</span>" in page and f"/documents/{document_id}\"" not in page
    assert client.get(f"/monitor/instances/{instance['id']}/documents/{document_id}").status_code == 410
