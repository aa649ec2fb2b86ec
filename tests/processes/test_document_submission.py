"""document_submission end to end through the API: filing with receipts, OCR, the checklist, the request
letter and the wait for documents_received (reminder, deadline), back-office validation, the case updated."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.models.registry import Case
from tests.processes.conftest import do_task, file_document, instance_of, open_case, open_task

PROCESS = "document_submission"


def case_row(app: Any, number: str) -> Case:
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.number == number))
        db.session.expunge(case)
        db.session.remove()
    return case


def test_a_complete_file_is_read_checked_validated_and_the_case_closed(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    opened = open_case(agents.counter, PROCESS, people.reg.helene, "sickness_allowance")
    case, instance = opened["case"], opened["processInstance"]
    number, iid = case["number"], instance["id"]
    assert instance["businessKey"] == number and case["processKey"] == PROCESS
    variables = instance["variables"]
    assert variables["case_type"] == "sickness_allowance" and variables["ssn"] == people.reg.helene
    assert variables["subject_name"] == "Hélène Dupré" and variables["contact_email"] == "helene.dupre@example.org"
    task = open_task(agents.counter, iid, "Activity_file_documents")
    assert task["queue"] == "counter" and task["dueAt"]

    # The counter agent files two documents on the case: a receipt for each.
    filed = [file_document(agents.counter, number, t) for t in ("sick_leave", "payslip")]
    assert all(f["receiptNumber"] for f in filed)
    do_task(agents.counter, iid, "Activity_file_documents", documents_filed=2)

    # The list of documents and the filing receipt run on a worker; nothing is read yet: it waits.
    ran = automation.run_jobs(iid)
    assert [t for t, _ in ran] == ["cases.documents", "pdf.render"]
    body = instance_of(agents.counter, iid)
    assert body["variables"]["filed"]["pending"] == 2
    assert body["variables"]["filing_receipt"]["contentType"] == "application/pdf"
    waiting = {w["elementId"]: w for w in body["waitingFor"]}
    assert waiting["Event_document_indexed"]["correlationKey"] == number

    # OCR of the first document: documents_indexed wakes the instance, which looks again (one still pending).
    automation.ocr(filed[0]["id"])
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.documents"]
    assert instance_of(agents.counter, iid)["variables"]["filed"]["pending"] == 1
    automation.ocr(filed[1]["id"])
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.documents"]

    # Everything on the checklist: validation by the back office, then the case is closed.
    body = instance_of(agents.backoffice, iid)
    assert body["variables"]["required_documents"] == ["sick_leave", "payslip"]
    assert body["variables"]["missing_documents"] == [] and body["variables"]["documents_complete"] is True
    assert open_task(agents.backoffice, iid, "Activity_validate_documents")["queue"] == "backoffice"
    do_task(agents.backoffice, iid, "Activity_validate_documents", documents_valid=True)
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.update"]
    assert instance_of(agents.backoffice, iid)["status"] == "completed"
    closed = case_row(app, number)
    assert closed.status == "closed" and closed.closed_at is not None
