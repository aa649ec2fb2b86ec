"""Dialect parsing and routing: queue, form, priority, due date, topic, searchable variables, hardened XML."""
from __future__ import annotations

import pytest

from workflows import BpmnValidationError, WorkflowEngine
from workflows.parser import normalize_expression, normalize_timer
from workflows.routing import form_key_from_file, parse_duration
from workflows.secure_xml import XmlRejectedError, parse_secure_xml

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def diagram(task: str, process_ext: str = "", lanes: str = "") -> bytes:
    """A start -> (task with id T) -> end process around one task element."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="D" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">{process_ext}{lanes}
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {task}
    <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="T" />
    <bpmn:sequenceFlow id="f2" sourceRef="T" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def user_task(attrs: str = "", ext: str = "") -> str:
    body = f"<bpmn:extensionElements>{ext}</bpmn:extensionElements>" if ext else ""
    return f'<bpmn:userTask id="T" name="Task" {attrs}>{body}<bpmn:incoming>f1</bpmn:incoming>' \
           f'<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>'


def spiff_props(**props: str) -> str:
    items = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in props.items())
    return f"<spiffworkflow:properties>{items}</spiffworkflow:properties>"


def camunda_props(**props: str) -> str:
    items = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in props.items())
    return f"<camunda:properties>{items}</camunda:properties>"


def parse_one(engine: WorkflowEngine, xml: bytes):
    return engine.parse_deployment({"p.bpmn": xml})[0]


# ----- samples --------------------------------------------------------------------------------------------

def test_camunda_sample_routing(deploy) -> None:
    model = deploy("camunda_leave_request.bpmn")["camunda_leave_request"]
    submit, approve = model.user_tasks
    assert (submit.element_id, submit.queue, submit.priority, submit.due_in) == \
        ("Activity_submit", "reception", 70, "PT4H")
    assert submit.form_key == "camunda_leave_request.Activity_submit"
    # the lane wins over camunda:candidateGroups
    assert approve.queue == "backoffice" and approve.due_in == "P3D" and approve.priority == 50
    assert model.searchable_variables == ["ssn", "requestNumber"]
    assert model.name == "Leave request" and model.file == "camunda_leave_request.bpmn"


def test_camunda_form_data_becomes_json_schema(deploy) -> None:
    forms = deploy("camunda_leave_request.bpmn")["camunda_leave_request"].generated_forms
    submit = forms["camunda_leave_request.Activity_submit"]
    assert submit["type"] == "object"
    assert submit["required"] == ["reason", "days"]
    props = submit["properties"]
    assert props["reason"] == {"type": "string", "title": "Reason", "maxLength": 200}
    assert props["days"] == {"type": "integer", "title": "Number of days", "default": 1, "minimum": 1}
    assert props["startDate"] == {"type": "string", "title": "First day", "format": "date"}
    assert props["kind"]["enum"] == ["annual", "sick"]
    assert props["kind"]["oneOf"][1] == {"const": "sick", "title": "Sick leave"}
    assert props["kind"]["default"] == "annual"
    approve = forms["camunda_leave_request.Activity_approve"]
    assert approve["properties"]["approved"] == {"type": "boolean", "title": "Approved", "default": False}
    assert "required" not in approve


def test_spiff_sample_routing(deploy) -> None:
    model = deploy("spiff_document_check.bpmn")["spiff_document_check"]
    check, register = model.user_tasks
    assert (check.queue, check.form_key, check.form_file, check.ui_form_file, check.priority, check.due_in) == \
        ("counter", "document-check", "document-check-schema.json", "document-check-uischema.json", 80, "PT2H")
    assert (register.queue, register.form_key, register.form_file) == \
        ("backoffice", "register-file", "register-file.schema.json")
    assert model.searchable_variables == ["ssn", "fileNumber"]
    assert model.generated_forms == {}


def test_service_tasks_of_both_dialects(deploy) -> None:
    model = deploy("benefit_claim.bpmn", "notify_applicant.bpmn", "benefit_rate.dmn")["benefit_claim"]
    topics = {s.element_id: (s.topic, s.retries) for s in model.service_tasks}
    assert topics == {"Activity_extract": ("ocr.extract_text", 3),
                      "Activity_receipt": ("documents.render_receipt", None)}
    assert model.called_processes == ["notify_applicant"]
    assert model.decisions == ["benefit_rate"] and "benefit_rate" in model.dmn["benefit_rate"]
    assert model.messages == ["employer_confirmation"] and model.timers == ["Event_review_timeout"]
    assert model.element_ids[0] == "StartEvent_claim" and "Activity_notify" in model.element_ids
    fix = next(u for u in model.user_tasks if u.element_id == "Activity_fix_receipt")
    assert (fix.form_key, fix.priority) == ("manual_receipt", 90)


# ----- queue / form / priority rules ---------------------------------------------------------------------

def test_queue_from_candidate_groups_without_lane(engine: WorkflowEngine) -> None:
    model = parse_one(engine, diagram(user_task('camunda:candidateGroups="cashiers, managers"')))
    assert model.user_tasks[0].queue == "cashiers"


def test_queue_from_property_in_each_dialect(engine: WorkflowEngine) -> None:
    spiff = parse_one(engine, diagram(user_task(ext=spiff_props(queue="information"))))
    camunda = parse_one(engine, diagram(user_task(ext=camunda_props(queue="cash_desk"))))
    assert spiff.user_tasks[0].queue == "information" and camunda.user_tasks[0].queue == "cash_desk"


def test_lane_wins_over_everything(engine: WorkflowEngine) -> None:
    lanes = ('<bpmn:laneSet id="ls"><bpmn:lane id="L" name="reception"><bpmn:flowNodeRef>T</bpmn:flowNodeRef>'
             '</bpmn:lane></bpmn:laneSet>')
    xml = diagram(user_task('camunda:candidateGroups="x"', camunda_props(queue="y")), lanes=lanes)
    assert parse_one(engine, xml).user_tasks[0].queue == "reception"


def test_no_queue_at_all(engine: WorkflowEngine) -> None:
    info = parse_one(engine, diagram(user_task())).user_tasks[0]
    assert (info.queue, info.form_key, info.priority, info.due_in) == (None, None, 50, None)


def test_camunda_form_key_and_priority_attribute(engine: WorkflowEngine) -> None:
    info = parse_one(engine, diagram(user_task('camunda:formKey="embedded:app:forms/claim.html" '
                                               'camunda:priority="75"'))).user_tasks[0]
    assert info.form_key == "embedded:app:forms/claim.html" and info.priority == 75


def test_form_key_property_and_bad_priority(engine: WorkflowEngine) -> None:
    info = parse_one(engine, diagram(user_task(ext=spiff_props(formKey="cash_payment", priority="high"))))
    assert info.user_tasks[0].form_key == "cash_payment" and info.user_tasks[0].priority == 50


def test_manual_tasks_are_routed_too(engine: WorkflowEngine) -> None:
    task = ('<bpmn:manualTask id="T" name="Hand over card"><bpmn:extensionElements>'
            + camunda_props(queue="counter") + '</bpmn:extensionElements>'
            '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:manualTask>')
    assert parse_one(engine, diagram(task)).user_tasks[0].queue == "counter"


@pytest.mark.parametrize("name,key", [("document-check-schema.json", "document-check"),
                                      ("review_claim.schema.json", "review_claim"),
                                      ("forms/plain.json", "plain"), ("noext", "noext")])
def test_form_key_from_file(name: str, key: str) -> None:
    assert form_key_from_file(name) == key


def test_durations() -> None:
    assert parse_duration("P3D").total_seconds() == 3 * 86400
    assert parse_duration("PT4H").total_seconds() == 4 * 3600
    assert parse_duration("P1DT12H30M").total_seconds() == 86400 + 12 * 3600 + 1800
    assert parse_duration("P2W").days == 14
    for bad in ("P", "PT", "3D", "P1M", "nonsense"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_topic_property_and_missing_topic(engine: WorkflowEngine) -> None:
    task = ('<bpmn:serviceTask id="T" name="Pay"><bpmn:extensionElements>' + spiff_props(topic="payments.send")
            + '</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
            '</bpmn:serviceTask>')
    assert parse_one(engine, diagram(task)).service_tasks[0].topic == "payments.send"
    bare = ('<bpmn:serviceTask id="T" name="Pay"><bpmn:incoming>f1</bpmn:incoming>'
            '<bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    with pytest.raises(BpmnValidationError) as info:
        parse_one(engine, diagram(bare))
    assert info.value.issues[0].element_id == "T" and "topic" in info.value.issues[0].message


def test_plain_task_with_topic_is_a_job(engine: WorkflowEngine) -> None:
    task = ('<bpmn:task id="T" name="Print" camunda:type="external" camunda:topic="documents.print">'
            '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>')
    assert parse_one(engine, diagram(task)).service_tasks[0].topic == "documents.print"
    plain = '<bpmn:task id="T"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>'
    assert parse_one(engine, diagram(plain)).service_tasks == []


def test_camunda_external_send_task_is_a_job(engine: WorkflowEngine) -> None:
    task = ('<bpmn:sendTask id="T" name="Mail" camunda:type="external" camunda:topic="notifications.mail">'
            '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:sendTask>')
    assert parse_one(engine, diagram(task)).service_tasks[0].topic == "notifications.mail"


def test_searchable_variables_on_camunda_process(engine: WorkflowEngine) -> None:
    ext = '<bpmn:extensionElements>' + camunda_props(searchableVariables=" ssn , caseNumber,") + \
          '</bpmn:extensionElements>'
    assert parse_one(engine, diagram(user_task(), process_ext=ext)).searchable_variables == ["ssn", "caseNumber"]


# ----- expressions -------------------------------------------------------------------------------------

@pytest.mark.parametrize("juel,python", [
    ("${approved}", "approved"),
    ("${!approved}", "not approved"),
    ("${days > 3 && kind == 'sick'}", "days > 3  and  kind == 'sick'"),
    ("${a || b}", "a  or  b"),
    ("${x != 1}", "x != 1"),
    ("${name == 'a&&b'}", "name == 'a&&b'"),
    ("amount > 0", "amount > 0"),
])
def test_juel_conditions_become_python(juel: str, python: str) -> None:
    assert normalize_expression(juel) == python


@pytest.mark.parametrize("timer,expr", [("PT48H", "'PT48H'"), ("2024-06-01T10:00:00Z", "'2024-06-01T10:00:00Z'"),
                                        ("R3/PT10M", "'R3/PT10M'"), ('"PT1H"', '"PT1H"'),
                                        ("${delay}", "delay")])
def test_bare_iso_timers_are_quoted(timer: str, expr: str) -> None:
    assert normalize_timer(timer) == expr


# ----- hardened XML ----------------------------------------------------------------------------------------

def test_external_entity_is_rejected() -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    with pytest.raises(XmlRejectedError, match="DOCTYPE"):
        parse_secure_xml(xxe)


def test_billion_laughs_is_rejected() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>'
    with pytest.raises(XmlRejectedError):
        parse_secure_xml(bomb)


def test_external_dtd_is_rejected() -> None:
    with pytest.raises(XmlRejectedError):
        parse_secure_xml(b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://example.com/d.dtd"><d/>')


def test_malformed_xml_reports_its_line() -> None:
    with pytest.raises(XmlRejectedError) as info:
        parse_secure_xml(b"<a>\n<b>\n</a>")
    assert info.value.line == 3


def test_plain_documents_parse_from_str_and_bytes() -> None:
    assert parse_secure_xml('<?xml version="1.0" encoding="UTF-8"?><a x="é"/>').get("x") == "é"
    assert parse_secure_xml(b"<a/>").tag == "a"
