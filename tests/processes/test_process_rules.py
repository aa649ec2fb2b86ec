"""The pieces the processes rely on, alone: the pain.001 builder and its checks, the benefit checks, dueIn
expressions, and the task rules on a small inline diagram."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.errors import ValidationFailedError
from app.services import benefits
from app.services.pain001 import BatchError, CreditTransfer, Debtor, build_batch, check_batch
from workflows.routing import due_in_problem

DEBTOR = Debtor(name="Caisse <Nationale> & Co", iban="FR7630001007941234567890185", bic="BDFEFRPPCCT")
HELENE_IBAN = "FR7630006000011234567890189"


def transfers(*amounts: str) -> list[CreditTransfer]:
    return [CreditTransfer(end_to_end_id=f"PAY-{n}", amount=Decimal(a), creditor_name="Hélène Dupré",
                           creditor_iban=HELENE_IBAN, remittance=f"Pension de vieillesse - dossier {n}")
            for n, a in enumerate(amounts, 1)]


def test_a_batch_has_its_counts_and_control_sums_and_passes_its_checks() -> None:
    data = build_batch("TRF-2026-0001", datetime(2026, 11, 21, 10, 30, 15, 123), date(2026, 11, 23), DEBTOR,
                       transfers("159000.00", "65333.31", "0.01"))
    summary = check_batch(data)
    assert summary.number_of_transactions == 3 and summary.control_sum == Decimal("224333.32")
    assert summary.end_to_end_ids == ["PAY-1", "PAY-2", "PAY-3"] and summary.execution_date == "2026-11-23"
    text = data.decode()
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    assert text.count("<CtrlSum>224333.32</CtrlSum>") == 2 and text.count("<NbOfTxs>3</NbOfTxs>") == 2
    assert "<CreDtTm>2026-11-21T10:30:15</CreDtTm>" in text and '<InstdAmt Ccy="EUR">0.01</InstdAmt>' in text
    # Markup characters are dropped from names (banks refuse them), spaces collapsed.
    assert text.count("<Nm>Caisse Nationale Co</Nm>") == 2 and "&lt;" not in text and "&amp;" not in text


@pytest.mark.parametrize("tamper, message", [
    (lambda x: x.replace(b"<CtrlSum>159065.33</CtrlSum>", b"<CtrlSum>159065.34</CtrlSum>", 1), "CtrlSum"),
    (lambda x: x.replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>", 1), "NbOfTxs"),
    (lambda x: x.replace(HELENE_IBAN.encode(), b"FR7630006000011234567890188", 1), "IBAN"),
    (lambda x: x.replace(b">0.33<", b">-0.33<", 1), "positive"),
    (lambda x: x.replace(b"PAY-2", b"PAY-1"), "unique"),
    (lambda x: x.replace(b"</Document>", b""), "well-formed"),
    (lambda x: x.replace(b"pain.001.001.03", b"pain.001.001.09"), "pain.001.001.03"),
])
def test_a_tampered_batch_is_refused_naming_what_is_wrong(tamper: Any, message: str) -> None:
    data = build_batch("TRF-1", datetime(2026, 1, 1), date(2026, 1, 2), DEBTOR, transfers("159065.00", "0.33"))
    check_batch(data)
    with pytest.raises(BatchError, match=message):
        check_batch(tamper(data))


def test_a_batch_is_not_built_from_bad_payments() -> None:
    with pytest.raises(BatchError, match="at least one"):
        build_batch("TRF-1", datetime(2026, 1, 1), date(2026, 1, 2), DEBTOR, [])
    with pytest.raises(BatchError, match="two decimals"):
        build_batch("TRF-1", datetime(2026, 1, 1), date(2026, 1, 2), DEBTOR, transfers("10.001"))
    with pytest.raises(BatchError, match="unique"):
        build_batch("TRF-1", datetime(2026, 1, 1), date(2026, 1, 2), DEBTOR, transfers("1", "2")[:1] * 2)
    with pytest.raises(BatchError, match="message id"):
        build_batch("X" * 36, datetime(2026, 1, 1), date(2026, 1, 2), DEBTOR, transfers("1"))


def test_the_prepared_amount_must_be_the_rules_one_to_the_cent() -> None:
    variables = {"calculation": {"amount": "65333.31", "basis": "7 paid day(s) x 9333.33"}}
    for ok in ("65333.31", 65333.31, "65 333,31", "65333.310"):
        benefits.check_prepared_amount(variables, {"amount": ok})
    for wrong, field_message in (("65333.32", "does not match the rules: 65333.31 (7 paid day(s)"),
                                 ("abc", "a number"), (True, "a number"), (None, "a number")):
        with pytest.raises(ValidationFailedError) as caught:
            benefits.check_prepared_amount(variables, {"amount": wrong})
        assert caught.value.errors[0]["field"] == "amount" and field_message in caught.value.errors[0]["message"]
    with pytest.raises(ValidationFailedError, match="no amount was computed"):
        benefits.check_prepared_amount({}, {"amount": "1"})


def test_due_in_is_a_duration_or_an_expression_never_a_typo() -> None:
    assert due_in_problem("P3D") is None and due_in_problem("PT4H30M") is None
    assert due_in_problem("answer_due_in") is None and due_in_problem('escalation_due_in or "P3D"') is None
    for bad in ("P3X", "PT", "next week", "P"):
        assert due_in_problem(bad), bad


INLINE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="four_eyes" isExecutable="true">
    <bpmn:laneSet id="LS"><bpmn:lane id="L" name="backoffice">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>a</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>b</bpmn:flowNodeRef><bpmn:flowNodeRef>c</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="a" name="Draft"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="dueIn" value="task_due_in" />
    </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="b" name="Check"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="c" name="Sign"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="separateFrom" value="a, b" />
      <spiffworkflow:property name="completionCheck" value="no_such_check" />
    </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a" /><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b" />
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="c" /><bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


def test_separate_from_several_tasks_and_an_unknown_completion_check(analyst, login) -> None:  # type: ignore[no-untyped-def]
    from tests.processes.conftest import do_task, open_task

    assert analyst.deploy(("four_eyes.bpmn", INLINE.encode())).status_code == 201
    first, second, third = (login(n, "agent", ["backoffice"]) for n in ("ann", "bob", "cat"))
    started = first.post("/process-instances", json={"processDefinitionKey": "four_eyes",
                                                      "variables": {"task_due_in": "PT2H"}}).get_json()
    iid = started["id"]
    draft = open_task(first, iid, "a")
    delay = datetime.fromisoformat(draft["dueAt"]) - datetime.fromisoformat(draft["createdAt"])
    assert abs(delay.total_seconds() - 7200) < 5  # the dueIn came from the variable
    do_task(first, iid, "a")
    do_task(second, iid, "b")
    sign = open_task(third, iid, "c")
    for api, name in ((first, "ann"), (second, "bob")):
        refused = api.post(f"/tasks/{sign['id']}/assignment")
        assert refused.status_code == 403 and name in refused.get_json()["detail"]
    assert third.post(f"/tasks/{sign['id']}/assignment").status_code == 200
    unknown = third.post(f"/tasks/{sign['id']}/completion", json={"variables": {}})
    assert unknown.status_code == 422 and "no_such_check" in unknown.get_json()["detail"]
    assert open_task(third, iid, "c")["state"] == "open"


def waiting_for_signature(analyst: Any, login: Any) -> tuple[Any, Any, Any, int, dict[str, Any]]:
    """four_eyes deployed; ann drafted (a), bob checked (b); cat sees the signature task (c) waiting."""
    from tests.processes.conftest import do_task, open_task

    assert analyst.deploy(("four_eyes.bpmn", INLINE.encode())).status_code == 201
    ann, bob, cat = (login(n, "agent", ["backoffice"]) for n in ("ann", "bob", "cat"))
    iid = ann.post("/process-instances", json={"processDefinitionKey": "four_eyes",
                                                "variables": {"task_due_in": "PT2H"}}).get_json()["id"]
    do_task(ann, iid, "a")
    do_task(bob, iid, "b")
    return ann, bob, cat, iid, open_task(cat, iid, "c")


def test_tasks_keep_their_rules_and_rows_older_than_the_copy_still_obey_them(app, analyst, login) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from app.extensions import db
    from app.models import HumanTask

    _ann, second, third, _iid, sign = waiting_for_signature(analyst, login)
    with app.app_context():
        row = db.session.get(HumanTask, sign["id"])
        assert row is not None and row.rules == {"separateFrom": "a, b", "completionCheck": "no_such_check"}
        # A row made before migration 0009 has no copy: the rules come from the deployed definition.
        db.session.execute(update(HumanTask).where(HumanTask.id == sign["id"]).values(rules=None))
        db.session.commit()
        db.session.remove()
    refused = second.post(f"/tasks/{sign['id']}/assignment")
    assert refused.status_code == 403 and "bob" in refused.get_json()["detail"]
    assert third.post(f"/tasks/{sign['id']}/assignment").status_code == 200
    unknown = third.post(f"/tasks/{sign['id']}/completion", json={"variables": {}})
    assert unknown.status_code == 422 and "no_such_check" in unknown.get_json()["detail"]


def test_a_work_list_leaves_out_the_task_the_four_eyes_rule_keeps_you_off(analyst, login) -> None:  # type: ignore[no-untyped-def]
    first, second, third, iid, sign = waiting_for_signature(analyst, login)

    def work_list(api: Any) -> list[int]:
        found = api.post("/tasks/search", json={"filter": {"queue": "backoffice"}})
        assert found.status_code == 200
        items = [t["id"] for t in found.get_json()["items"]]
        assert found.get_json()["page"]["totalItems"] == len(items)  # the total counts what is listed
        return items

    assert sign["id"] not in work_list(first) and sign["id"] not in work_list(second)
    assert sign["id"] in work_list(third)
    # The instance's own list still shows every task, to everyone who may see it.
    listed = first.post("/tasks/search", json={"filter": {"processInstanceId": iid}}).get_json()["items"]
    assert [t["elementId"] for t in listed] == ["c"]
