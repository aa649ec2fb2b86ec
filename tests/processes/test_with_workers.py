"""The shipped processes with real Celery workers (PostgreSQL, Redis): nothing is run in-process here.

document_submission: the documents filed through the API are read by the worker's OCR task, whose
`documents_indexed` wakes the instance; the case operations and the filing receipt run as jobs on
the worker; the back office validates and the worker closes the case. first_level_inquiry: the
escalation's due-date timer is fired by beat (the sweeper) and the task moves to the supervisors.
"""
from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.models.registry import Case
from tests.conftest import Api
from tests.integration import conftest as integration
from tests.integration.conftest import Env, Workers
from tests.integration.support import wait_until
from tests.processes.conftest import shipped_files, text_pdf
from tests.registry_data import make_registry

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]
# The fixtures of tests/integration (their own PostgreSQL database, Redis, worker processes), by name.
pg_url, redis_url, integration_env = integration.pg_url, integration.redis_url, integration.integration_env
env, workers = integration.env, integration.workers

AGENTS = {"carla": ("agent", ["counter"]), "bruno": ("agent", ["backoffice"]), "theo": ("agent", ["technical"]),
          "sonia": ("supervisor", ["supervisors"])}


def agents(env: Env) -> dict[str, Api]:
    from app.services.users import create_user

    with env.app.app_context():
        for name, (role, queues) in AGENTS.items():
            create_user(name, "pw-secret", role, queues, None)
        db.session.commit()
        db.session.remove()
    client = env.app.test_client()
    apis = {}
    for name in AGENTS:
        token = client.post("/api/v1/auth/token", json={"username": name, "password": "pw-secret"}).get_json()
        apis[name] = Api(client, token["access_token"])
    return apis


def open_tasks(instance_id: int) -> list[str]:
    rows = db.session.scalars(select(HumanTask.element_id).where(HumanTask.instance_id == instance_id,
                                                                 HumanTask.state == "open"))
    found = sorted(rows)
    db.session.rollback()
    return found


def instance_status(instance_id: int) -> str:
    status = db.session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == instance_id)
                               .execution_options(populate_existing=True))
    db.session.rollback()
    return str(status)


def do_task(api: Api, instance_id: int, element_id: str, **variables: Any) -> None:
    [task] = [t for t in api.get(f"/process-instances/{instance_id}").get_json()["openTasks"]
              if t["elementId"] == element_id]
    assert api.post(f"/tasks/{task['id']}/assignment").status_code == 200
    done = api.post(f"/tasks/{task['id']}/completion", json={"variables": variables})
    assert done.status_code == 200, done.get_json()


def file_document(api: Api, case_number: str, document_type: str) -> dict[str, Any]:
    response = api.client.post("/api/v1/documents", headers=api.headers, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(text_pdf(f"Pièce {document_type}")), f"{document_type}.pdf"),
                                     "documentType": document_type, "caseNumber": case_number})
    assert response.status_code == 201, response.get_json()
    response.close()  # as a WSGI server does once the answer is out: then the OCR task is queued
    return response.get_json()  # type: ignore[no-any-return]


def test_a_document_submission_runs_on_the_workers(env: Env, workers: Workers) -> None:
    reg = make_registry(env.app)
    assert env.api("ana").deploy(*shipped_files()).status_code == 201
    people = agents(env)
    workers.start("processes", concurrency=2, beat=True)

    opened = people["carla"].post("/cases", json={"processDefinitionKey": "document_submission",
                                                  "subject": reg.jean, "caseType": "change_bank_details",
                                                  "channel": "counter", "variables": {"ocr_poll_after": "PT2S"}})
    assert opened.status_code == 201, opened.get_json()
    number, iid = opened.get_json()["case"]["number"], opened.get_json()["processInstance"]["id"]
    for document_type in ("id_card", "bank_details"):
        file_document(people["carla"], number, document_type)
    do_task(people["carla"], iid, "Activity_file_documents", documents_filed=2)

    # Listing, receipt, OCR of both documents and the checklist all happen on the worker. A document read
    # while the instance was not yet waiting for it is caught by the look-again timer (beat).
    wait_until(lambda: open_tasks(iid) == ["Activity_validate_documents"], timeout=90,
               message="documents read and checked")
    variables = people["bruno"].get(f"/process-instances/{iid}").get_json()["variables"]
    assert variables["filed"]["types"] == ["bank_details", "id_card"] and variables["missing_documents"] == []
    assert variables["filing_receipt"]["contentType"] == "application/pdf"
    do_task(people["bruno"], iid, "Activity_validate_documents", documents_valid=True)
    wait_until(lambda: instance_status(iid) == "completed", timeout=60, message="case updated")
    status = db.session.scalar(select(Case.status).where(Case.number == number))
    db.session.rollback()
    assert status == "closed"


def test_an_overdue_escalation_moves_to_the_supervisors_on_beat(env: Env, workers: Workers) -> None:
    reg = make_registry(env.app)
    assert env.api("ana").deploy(*shipped_files()).status_code == 201
    people = agents(env)
    workers.start("clock", concurrency=1, beat=True)

    opened = people["carla"].post("/cases", json={
        "processDefinitionKey": "first_level_inquiry", "subject": reg.helene, "channel": "phone",
        "variables": {"question": "Mon plafond est-il bien proratisé ?", "escalation_due_in": "PT2S"}})
    assert opened.status_code == 201, opened.get_json()
    iid = opened.get_json()["processInstance"]["id"]
    do_task(people["bruno"], iid, "Activity_answer_inquiry", answer="Transmis.", resolved=False,
            complex=False)
    assert open_tasks(iid) == ["Activity_technical_answer"]
    wait_until(lambda: open_tasks(iid) == ["Activity_supervisor_answer"], timeout=30,
               message="escalation moved to the supervisors")
    do_task(people["sonia"], iid, "Activity_supervisor_answer", technical_answer="Oui, proratisé.")
    wait_until(lambda: instance_status(iid) == "completed", timeout=60, message="answer letter and case closed")
    variables = people["sonia"].get(f"/process-instances/{iid}").get_json()["variables"]
    assert variables["escalated_to_supervisor"] is True and variables["answer_letter"]["pages"] >= 1
