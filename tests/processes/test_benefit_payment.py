"""benefit_payment end to end: claim, documents (call activity), eligibility table, amount by the rules on a
worker, preparation and a second agent's approval (enforced), payment order, pain.001 transfer file or cash
payout, notification; refusals on every path; bad input refused with a 4xx naming the problem."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models.registry import Case, Payment
from app.services.benefit_rules import daily_sickness_allowance, merge_months
from app.services.pain001 import check_batch
from app.services.registry import get_person, monthly_record
from app.storage import build_storage
from tests.processes.conftest import do_task, file_document, instance_of, open_case, open_task

PROCESS = "benefit_payment"
PENSION_DOCUMENTS = ("id_card", "birth_certificate", "bank_details")
SICKNESS_DOCUMENTS = ("sick_leave", "payslip")


def topics(ran: list[tuple[str, str]]) -> list[str]:
    return [t for t, _ in ran]


def complete_documents(agents: Any, automation: Any, number: str, iid: int, types: tuple[str, ...]) -> list[str]:
    """The called document_submission: file, read, validate; the topics of the jobs run after validation."""
    filed = [file_document(agents.counter, number, t) for t in types]
    do_task(agents.counter, iid, "Activity_file_documents", documents_filed=len(types))
    automation.run_jobs(iid)
    for document in filed:
        automation.ocr(document["id"])
        automation.run_jobs(iid)
    do_task(agents.backoffice, iid, "Activity_validate_documents", documents_valid=True)
    return topics(automation.run_jobs(iid))


def record_claim(api: Any, iid: int, **variables: Any) -> Any:
    task = open_task(api, iid, "Activity_record_claim")
    assert task["queue"] == "counter"
    assert api.post(f"/tasks/{task['id']}/assignment").status_code == 200
    return api.post(f"/tasks/{task['id']}/completion", json={"variables": variables})


def complete(api: Any, task_id: int, **variables: Any) -> Any:
    return api.post(f"/tasks/{task_id}/completion", json={"variables": variables})


def rows(app: Any, model: Any, *conditions: Any) -> list[Any]:
    with app.app_context():
        found = list(db.session.scalars(select(model).where(*conditions)))
        for row in found:
            db.session.expunge(row)
        db.session.remove()
    return found


def test_a_pension_is_prepared_approved_by_a_second_agent_and_paid_by_a_transfer_file(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    opened = open_case(agents.counter, PROCESS, people.paul, "old_age_pension")
    number, iid = opened["case"]["number"], opened["processInstance"]["id"]

    bad_iban = record_claim(agents.counter, iid, payment_method="transfer", iban="FR7630006000011234567890188")
    assert bad_iban.status_code == 422
    assert bad_iban.get_json()["errors"] == [{"field": "iban", "message": bad_iban.get_json()["errors"][0]["message"]}]
    assert "not a valid IBAN" in bad_iban.get_json()["detail"]
    done = agents.counter.post(f"/tasks/{open_task(agents.counter, iid, 'Activity_record_claim')['id']}/completion",
                               json={"variables": {"payment_method": "transfer"}})  # the account on record
    assert done.status_code == 200, done.get_json()

    # Documents through the called process, then the record, the table and the amount on workers.
    ran = complete_documents(agents, automation, number, iid, PENSION_DOCUMENTS)
    assert ran == ["cases.update", "benefits.facts", "benefits.amount"]
    variables = instance_of(agents.backoffice, iid)["variables"]
    assert variables["claim_facts"]["contribution_days"] == 3960 and variables["claim_facts"]["age"] >= 60
    assert variables["eligible"] is True
    calculation = variables["calculation"]
    # 3,960 days: 50 % + 3 x 1 % (720 days above 3,240 = 3 x 216 + 72); average capped wage 300,000.
    assert calculation["amount"] == "159000.00" and calculation["period"] == "month"
    assert calculation["details"]["rate"] == "0.53" and "53 %" in calculation["basis"]
    case = rows(app, Case, Case.number == number)[0]
    assert case.status == "open"  # the called document_submission does not close a benefit's case

    # Preparation: an amount other than the rules' is refused, naming the rules' amount.
    prepare = open_task(agents.backoffice, iid, "Activity_prepare_payment")
    assert prepare["queue"] == "backoffice"
    agents.backoffice.post(f"/tasks/{prepare['id']}/assignment")
    wrong = complete(agents.backoffice, prepare["id"], amount="160000")
    assert wrong.status_code == 422
    problem = wrong.get_json()
    assert problem["errors"][0]["field"] == "amount" and "159000.00" in problem["detail"]
    assert "does not match the rules" in problem["detail"]
    assert open_task(agents.backoffice, iid, "Activity_prepare_payment")["id"] == prepare["id"]  # nothing lost
    assert complete(agents.backoffice, prepare["id"], amount=159000).status_code == 200

    # The preparer may not approve: neither claim nor be assigned nor complete (even as the assignee).
    approve = open_task(agents.backoffice, iid, "Activity_approve_payment")
    refused = agents.backoffice.post(f"/tasks/{approve['id']}/assignment")
    assert refused.status_code == 403
    assert "four-eyes" in refused.get_json()["detail"] and "bruno" in refused.get_json()["detail"]
    assigned = agents.supervisor.post(f"/tasks/{approve['id']}/assignment", json={"assignee": "bruno"})
    assert assigned.status_code == 409 and "four-eyes" in assigned.get_json()["detail"]

    # The second agent sends it back; she prepares it again herself, so now she may not approve it.
    assert agents.backoffice2.post(f"/tasks/{approve['id']}/assignment").status_code == 200
    assert complete(agents.backoffice2, approve["id"], approved=False, approval_remarks="recheck").status_code == 200
    do_task(agents.backoffice2, iid, "Activity_prepare_payment", amount="159 000,00")
    approve = open_task(agents.backoffice, iid, "Activity_approve_payment")
    assert agents.backoffice2.post(f"/tasks/{approve['id']}/assignment").status_code == 403
    # The first preparer, whose preparation was replaced, may approve the new one.
    do_task(agents.backoffice, iid, "Activity_approve_payment", approved=True)

    # Payment order, transfer file, notice (no e-mail address for Paul), case closed.
    ran = topics(automation.run_jobs(iid))
    assert ran == ["payments.order", "payments.transfer_file", "pdf.render", "cases.update"]
    body = instance_of(agents.backoffice, iid)
    assert body["status"] == "completed"
    assert "Event_benefit_paid" in body["completedElementIds"]
    assert "Activity_notify_payment" not in body["completedElementIds"]
    order, transfer = body["variables"]["payment_order"], body["variables"]["transfer_file"]
    assert order["method"] == "transfer" and order["amount"] == "159000.00"
    assert order["iban"] == "FR7630006000011234567890189" and order["reference"] == f"PAY-{number}"
    [payment] = rows(app, Payment, Payment.reference == f"PAY-{number}")
    assert payment.status == "paid" and payment.amount == Decimal("159000.00") and payment.kind == "old_age_pension"

    with app.app_context():
        data = build_storage(app.config).read(transfer["objectKey"])
    summary = check_batch(data)
    assert summary.number_of_transactions == 1 and summary.control_sum == Decimal("159000.00")
    assert summary.end_to_end_ids == [f"PAY-{number}"] and transfer["messageId"] == summary.message_id
    assert b"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03" in data
    assert b"<CtrlSum>159000.00</CtrlSum>" in data and b"FR7630006000011234567890189" in data
    assert rows(app, Case, Case.number == number)[0].status == "closed"


def expected_allowance(app: Any, ssn: str, first: date, last: date) -> str:
    with app.app_context():
        months = merge_months(monthly_record(get_person(ssn).id))
        db.session.remove()
    return str(daily_sickness_allowance(months, first, last).amount)


def test_a_sickness_allowance_is_paid_out_at_the_cash_desk_and_notified_by_e_mail(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation, smtp):
    opened = open_case(agents.counter, PROCESS, people.reg.helene, "sickness_allowance")
    number, iid = opened["case"]["number"], opened["processInstance"]["id"]
    first, last = date.today() - timedelta(days=9), date.today()

    reversed_leave = record_claim(agents.counter, iid, payment_method="cash", leave_start=last.isoformat(),
                                  leave_end=first.isoformat())
    assert reversed_leave.status_code == 422
    assert reversed_leave.get_json()["errors"][0] == {"field": "leave_end", "message": "the leave ends before it starts"}
    no_dates = complete(agents.counter, open_task(agents.counter, iid, "Activity_record_claim")["id"],
                        payment_method="cash")
    assert no_dates.status_code == 422 and no_dates.get_json()["errors"][0]["field"] == "leave_start"
    ok = complete(agents.counter, open_task(agents.counter, iid, "Activity_record_claim")["id"], payment_method="cash",
                  leave_start=first.isoformat(), leave_end=last.isoformat())
    assert ok.status_code == 200, ok.get_json()

    assert complete_documents(agents, automation, number, iid, SICKNESS_DOCUMENTS) == [
        "cases.update", "benefits.facts", "benefits.amount"]
    variables = instance_of(agents.backoffice, iid)["variables"]
    assert variables["claim_facts"]["sick_days"] == 10 and variables["claim_facts"]["reference_days"] == 90
    amount = expected_allowance(app, people.reg.helene, first, last)
    assert variables["calculation"]["amount"] == amount and Decimal(amount) > 0
    assert variables["calculation"]["details"]["paid_days"] == 7

    # An admin may complete any task without claiming it, but not approve what they prepared.
    prepare = open_task(agents.admin, iid, "Activity_prepare_payment")
    assert complete(agents.admin, prepare["id"], amount=amount).status_code == 200
    approve = open_task(agents.admin, iid, "Activity_approve_payment")
    refused = complete(agents.admin, approve["id"], approved=True)
    assert refused.status_code == 403 and "root" in refused.get_json()["detail"]
    do_task(agents.backoffice, iid, "Activity_approve_payment", approved=True)

    # The order is paid out at the cash desk: the cashier checks the identity first.
    assert topics(automation.run_jobs(iid)) == ["payments.order"]
    payout = open_task(agents.cashier, iid, "Activity_cash_payout")
    assert payout["queue"] == "cash_desk"
    assert agents.backoffice.get(f"/tasks/{payout['id']}").status_code == 403
    agents.cashier.post(f"/tasks/{payout['id']}/assignment")
    unchecked = complete(agents.cashier, payout["id"], identity_checked=False, identity_document="X")
    assert unchecked.status_code == 422 and unchecked.get_json()["errors"][0]["field"] == "identity_checked"
    assert complete(agents.cashier, payout["id"], identity_checked=True,
                    identity_document="CNI 123456").status_code == 200
    assert topics(automation.run_jobs(iid)) == ["payments.payout", "pdf.render", "notify", "cases.update"]

    body = instance_of(agents.cashier, iid)
    assert body["status"] == "completed" and "Activity_transfer_file" not in body["completedElementIds"]
    [payment] = rows(app, Payment, Payment.reference == f"PAY-{number}")
    assert (payment.method, payment.status, str(payment.amount), payment.iban) == ("cash", "paid", amount, None)
    [(recipients, message)] = smtp.messages
    assert recipients == ["helene.dupre@example.org"] and amount in message["Subject"]
    assert "remis au guichet" in message.get_content()
    assert rows(app, Case, Case.number == number)[0].status == "closed"


def test_claims_are_refused_when_not_eligible_by_the_table_by_the_rules_or_for_missing_documents(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    from tests.processes.test_inquiry_and_escalation import letter_text

    # Jean has no contribution on record: the eligibility table says no.
    jean = open_case(agents.counter, PROCESS, people.reg.jean, "old_age_pension")
    j_number, j_iid = jean["case"]["number"], jean["processInstance"]["id"]
    assert record_claim(agents.counter, j_iid, payment_method="cash").status_code == 200
    assert complete_documents(agents, automation, j_number, j_iid, PENSION_DOCUMENTS) == [
        "cases.update", "benefits.facts", "pdf.render", "cases.update"]
    body = instance_of(agents.counter, j_iid)
    assert body["variables"]["eligible"] is False
    assert body["variables"]["eligibility_reason"] == "fewer than 3,240 contribution days"
    assert "Event_claim_refused" in body["completedElementIds"]
    assert "fewer than 3,240 contribution days" in letter_text(app, body["variables"]["refusal_letter"])
    assert rows(app, Case, Case.number == j_number)[0].status == "closed"

    # Rose has the days and the age, but nothing in the last 96 months: the rules refuse (BPMN error).
    rose = open_case(agents.counter, PROCESS, people.rose, "old_age_pension")
    r_number, r_iid = rose["case"]["number"], rose["processInstance"]["id"]
    assert record_claim(agents.counter, r_iid, payment_method="transfer").status_code == 200
    ran = complete_documents(agents, automation, r_number, r_iid, PENSION_DOCUMENTS)
    assert ran == ["cases.update", "benefits.facts", "benefits.amount", "pdf.render", "cases.update"]
    body = instance_of(agents.counter, r_iid)
    assert body["variables"]["eligible"] is True and body["variables"]["errorCode"] == "NOT_ELIGIBLE"
    assert "96 months" in body["variables"]["errorMessage"]
    assert "Event_claim_refused" in body["completedElementIds"] and body["incidents"] == []
    assert rows(app, Payment, Payment.reference == f"PAY-{r_number}") == []

    # Hélène never brings her documents: the deadline of the called process ends the claim.
    helene = open_case(agents.counter, PROCESS, people.reg.helene, "sickness_allowance")
    h_iid = helene["processInstance"]["id"]
    assert record_claim(agents.counter, h_iid, payment_method="cash", leave_start=date.today().isoformat(),
                        leave_end=date.today().isoformat()).status_code == 200
    do_task(agents.counter, h_iid, "Activity_file_documents", documents_filed=0)
    assert topics(automation.run_jobs(h_iid)) == ["cases.documents", "pdf.render", "pdf.render"]
    fired = agents.supervisor.post(f"/process-instances/{h_iid}/timer-firing", json={"elementId": "Event_deadline"})
    assert fired.status_code == 200
    assert topics(automation.run_jobs(h_iid)) == ["cases.update", "pdf.render", "cases.update"]
    body = instance_of(agents.counter, h_iid)
    assert body["status"] == "completed" and body["variables"]["documents_complete"] is False
    text = letter_text(app, body["variables"]["refusal_letter"])
    assert "sick_leave" in text and "payslip" in text
    history = agents.counter.get(f"/process-instances/{h_iid}/history").get_json()
    outcomes = [e["details"]["outcome"] for e in history if e["type"] == "case_updated"]
    assert outcomes[-1] == "refused: documents missing"


def test_a_benefit_case_is_for_a_person_and_a_benefit_the_rules_know(  # type: ignore[no-untyped-def]
        app, deployed, people, agents):
    def post(subject: str, case_type: str) -> Any:
        return agents.counter.post("/cases", json={"processDefinitionKey": PROCESS, "channel": "counter",
                                                   "subject": subject, "caseType": case_type})

    employer_claim = post(people.reg.employer, "old_age_pension")
    assert employer_claim.status_code == 422 and "person" in employer_claim.get_json()["detail"]
    housing = post(people.reg.jean, "housing")
    assert housing.status_code == 422 and "old_age_pension" in housing.get_json()["detail"]
    assert rows(app, Case) == []
