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


def fire(api, instance_id: int, element_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = api.post(f"/process-instances/{instance_id}/timer-firing", json={"elementId": element_id})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_missing_documents_are_asked_for_reminded_received_rejected_and_the_deadline_closes_the_case(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation, smtp):
    opened = open_case(agents.counter, PROCESS, people.reg.helene, "change_bank_details", channel="mail")
    number, iid = opened["case"]["number"], opened["processInstance"]["id"]
    identity = file_document(agents.counter, number, "id_card")
    do_task(agents.counter, iid, "Activity_file_documents", documents_filed=1)
    automation.run_jobs(iid)
    automation.ocr(identity["id"])
    ran = automation.run_jobs(iid)
    # Read, checked against the checklist: the bank details are missing, a request letter is rendered.
    assert [t for t, _ in ran] == ["cases.documents", "pdf.render"]
    body = instance_of(agents.backoffice, iid)
    assert body["variables"]["missing_documents"] == ["bank_details"]
    assert body["variables"]["request_letter"]["filename"] == f"document-request-{number}.pdf"
    waiting = {w["elementId"]: w for w in body["waitingFor"]}
    assert waiting["Activity_wait_documents"]["name"] == "documents_received"
    assert waiting["Activity_wait_documents"]["correlationKey"] == number
    assert {"Event_reminder", "Event_deadline"} <= set(waiting)

    # Messages for a case that waits for nothing, or for another message, are refused; nothing moves.
    wrong = agents.counter.post("/messages", json={"name": "documents_received", "correlationKey": "DOS-1999-999999"})
    assert wrong.status_code == 404 and "DOS-1999-999999" in wrong.get_json()["detail"]
    other = agents.counter.post("/messages", json={"name": "documents_indexed", "correlationKey": number})
    assert other.status_code == 404 and "documents_indexed" in other.get_json()["detail"]
    assert instance_of(agents.counter, iid)["activeElementIds"] == body["activeElementIds"]

    # The reminder (the applicant has an e-mail address) goes by e-mail; the wait goes on.
    fire(agents.supervisor, iid, "Event_reminder")
    assert [t for t, _ in automation.run_jobs(iid)] == ["notify"]
    [(recipients, message)] = smtp.messages
    assert recipients == ["helene.dupre@example.org"] and number in message["Subject"]
    assert "bank_details" in message.get_content()
    assert "Activity_wait_documents" in instance_of(agents.counter, iid)["activeElementIds"]

    # The applicant brings the bank details: filed on the case, read, then documents_received.
    bank = file_document(agents.counter, number, "bank_details")
    automation.ocr(bank["id"])  # nobody waits for documents_indexed now: nothing happens
    received = agents.counter.post("/messages", json={"name": "documents_received", "correlationKey": number})
    assert received.status_code == 200 and received.get_json()["processInstanceId"] == iid
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.documents"]
    assert instance_of(agents.counter, iid)["variables"]["documents_complete"] is True

    # The back office rejects the bank details (naming them is required), a new request goes out.
    task = open_task(agents.backoffice, iid, "Activity_validate_documents")
    agents.backoffice.post(f"/tasks/{task['id']}/assignment")
    refused = agents.backoffice.post(f"/tasks/{task['id']}/completion", json={"variables": {"documents_valid": False}})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "missing_documents"
    done = agents.backoffice.post(f"/tasks/{task['id']}/completion", json={"variables": {
        "documents_valid": False, "missing_documents": ["bank_details"], "remarks": "RIB illisible"}})
    assert done.status_code == 200, done.get_json()
    assert [t for t, _ in automation.run_jobs(iid)] == ["pdf.render"]
    assert "Activity_wait_documents" in instance_of(agents.counter, iid)["activeElementIds"]

    # Nothing comes before the deadline: the case is closed as incomplete.
    fire(agents.supervisor, iid, "Event_deadline")
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.update"]
    body = instance_of(agents.counter, iid)
    assert body["status"] == "completed" and "Event_closed_incomplete" in body["completedElementIds"]
    closed = case_row(app, number)
    assert closed.status == "closed"
    history = agents.counter.get(f"/process-instances/{iid}/history").get_json()
    [update] = [e for e in history if e["type"] == "case_updated"]
    assert "documents missing" in update["details"]["outcome"]


def test_without_an_e_mail_address_the_reminder_is_a_phone_task_and_a_slow_reading_is_looked_at_again(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    # Jean has no e-mail address. The reading check comes back on a timer when no message arrives.
    opened = open_case(agents.counter, PROCESS, people.reg.jean, "employment_declaration", channel="counter")
    number, iid = opened["case"]["number"], opened["processInstance"]["id"]
    assert opened["processInstance"]["variables"]["contact_email"] is None
    other = file_document(agents.counter, number, "other")
    do_task(agents.counter, iid, "Activity_file_documents", documents_filed=1)
    automation.run_jobs(iid)
    assert "Event_look_again" in {w["elementId"] for w in instance_of(agents.counter, iid)["waitingFor"]}
    # The look-again timer fires (an operator fires it now; the sweeper would within a minute): the documents
    # are listed again, still unread, and the wait resumes.
    fire(agents.supervisor, iid, "Event_look_again")
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.documents"]
    assert instance_of(agents.counter, iid)["variables"]["filed"]["pending"] == 1
    automation.ocr(other["id"])
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.documents", "pdf.render"]
    assert instance_of(agents.counter, iid)["variables"]["missing_documents"] == ["employment_contract"]

    fire(agents.supervisor, iid, "Event_reminder")
    task = open_task(agents.backoffice, iid, "Activity_remind_by_phone")
    assert task["queue"] == "backoffice"
    do_task(agents.backoffice, iid, "Activity_remind_by_phone", reminder_channel="phone")
    body = instance_of(agents.counter, iid)
    assert "Event_reminded_by_phone" in body["completedElementIds"]
    assert "Activity_wait_documents" in body["activeElementIds"] and body["status"] == "running"
    with app.app_context():
        assert db.session.scalar(select(Notification.id)) is None
        db.session.remove()


def test_bad_subjects_and_cases_are_refused_naming_the_problem_and_nothing_is_opened(  # type: ignore[no-untyped-def]
        app, deployed, people, agents):
    from tests.registry_data import full_employer, full_ssn, wrong_key

    def count_cases() -> int:
        with app.app_context():
            n = len(db.session.scalars(select(Case.id)).all())
            db.session.remove()
        return n

    def post(**body: Any) -> Any:
        return agents.counter.post("/cases", json={"processDefinitionKey": PROCESS, "channel": "counter",
                                                   "caseType": "other", **body})

    before = count_cases()
    bad_key = post(subject=wrong_key(people.reg.helene))
    assert bad_key.status_code == 400
    problem = bad_key.get_json()
    assert problem["errors"][0]["field"] == "subject" and "key" in problem["detail"]
    assert f"the key of {people.reg.helene[:13]} is {people.reg.helene[13:]}" in problem["detail"]
    unknown_person = post(subject=full_ssn("1991299123456"))
    assert unknown_person.status_code == 422
    assert "no person with social security number" in unknown_person.get_json()["detail"]
    bad_employer_key = post(subject=wrong_key(people.reg.employer))
    assert bad_employer_key.status_code == 400 and "key" in bad_employer_key.get_json()["detail"]
    unknown_employer = post(subject=full_employer("7654320"))
    assert unknown_employer.status_code == 422
    assert "no employer" in unknown_employer.get_json()["detail"]
    assert post(subject=people.reg.helene, channel="fax").status_code == 422
    assert post(subject=people.reg.helene, caseType="Bad Type").status_code == 422
    missing = agents.counter.post("/cases", json={"processDefinitionKey": "no_such_process", "channel": "counter",
                                                   "subject": people.reg.helene, "caseType": "other"})
    assert missing.status_code == 404
    assert count_cases() == before

    # An employer's case works, with its number as the subject; GET /cases shows where it stands.
    opened = open_case(agents.counter, PROCESS, people.reg.employer, "employer_registration")
    assert opened["processInstance"]["variables"]["employer_number"] == people.reg.employer
    case = agents.counter.get(f"/cases/{opened['case']['number']}").get_json()
    assert case["subject"] == people.reg.employer and case["subjectType"] == "employer"
    assert [s["elementId"] for s in case["currentSteps"]] == ["Activity_file_documents"]
    assert agents.counter.get("/cases/DOS-1999-000001").status_code == 404
