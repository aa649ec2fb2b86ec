"""Problems found by running public BPMN projects' diagrams through the API, each reproduced with a
diagram written for the test: never a 500, 422 naming the element, nothing saved when a step is refused."""
from __future__ import annotations

import json
from itertools import pairwise

from workflows import WorkflowError

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">')


def diagram(pid: str, body: str, extra: str = "") -> tuple[str, bytes]:
    return f"{pid}.bpmn", (f'{HEAD}{extra}<bpmn:process id="{pid}" isExecutable="true">{body}</bpmn:process>'
                           '</bpmn:definitions>').encode()


def chain(*elements: str) -> str:
    ids = ["start"] + [f"e{i}" for i in range(1, len(elements) + 1)] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(pairwise(ids)))
    return '<bpmn:startEvent id="start"/>' + "".join(elements) + '<bpmn:endEvent id="end"/>' + flows


def start(api, key, **variables):  # type: ignore[no-untyped-def]
    response = api.post("/process-instances", json={"processDefinitionKey": key, "variables": variables})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def claim_and_complete(api, task_id, variables):  # type: ignore[no-untyped-def]
    assert api.post(f"/tasks/{task_id}/assignment").status_code == 200
    return api.post(f"/tasks/{task_id}/completion", json={"variables": variables})


def test_a_completion_the_engine_refuses_is_a_422_and_changes_nothing(analyst, admin):  # type: ignore[no-untyped-def]
    # A multi-instance task whose output item the submitted data lacks (was a 500).
    body = chain('<bpmn:userTask id="e1"><bpmn:multiInstanceLoopCharacteristics>'
                 '<bpmn:loopCardinality>1</bpmn:loopCardinality><bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>'
                 '<bpmn:outputDataItem id="result"/></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')
    assert analyst.deploy(diagram("collect", body)).status_code == 201
    instance = start(admin, "collect")
    [task] = instance["openTasks"]
    refused = claim_and_complete(admin, task["id"], {"note": "no result"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["errors"][0]["elementId"] == "e1"
    assert admin.get(f"/tasks/{task['id']}").get_json()["state"] == "open"
    assert admin.get(f"/process-instances/{instance['id']}").get_json()["status"] == "running"
    done = admin.post(f"/tasks/{task['id']}/completion", json={"variables": {"result": 42}})
    assert done.status_code == 200
    assert done.get_json()["processInstance"]["status"] == "completed"
    assert done.get_json()["processInstance"]["variables"]["results"] == [42]


CORRELATED = """<bpmn:collaboration id="c"><bpmn:participant id="pp" processRef="await_reply"/>
  <bpmn:correlationKey name="order"><bpmn:correlationPropertyRef>order_no</bpmn:correlationPropertyRef>
  </bpmn:correlationKey></bpmn:collaboration>
  <bpmn:correlationProperty id="order_no" name="Order number">
    <bpmn:correlationPropertyRetrievalExpression messageRef="reply">
      <bpmn:formalExpression>order_no</bpmn:formalExpression></bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty><bpmn:message id="reply" name="Reply"/>"""


def test_a_message_missing_its_correlation_properties_is_a_422(analyst, admin):  # type: ignore[no-untyped-def]
    body = chain('<bpmn:intermediateCatchEvent id="e1"><bpmn:messageEventDefinition messageRef="reply"/>'
                 '</bpmn:intermediateCatchEvent>')
    assert analyst.deploy(diagram("await_reply", body, CORRELATED)).status_code == 201
    instance = start(admin, "await_reply")
    refused = admin.post("/messages", json={"name": "Reply", "variables": {}})
    assert refused.status_code == 422, refused.get_json()
    assert "order_no" in refused.get_json()["detail"]
    assert admin.get(f"/process-instances/{instance['id']}").get_json()["waitingFor"][0]["elementId"] == "e1"
    assert admin.post("/messages", json={"name": "Reply", "variables": {"order_no": 7}}).status_code == 200
    assert admin.get(f"/process-instances/{instance['id']}").get_json()["status"] == "completed"


SPIFF_FORM_TASK = chain(
    '<bpmn:userTask id="e1"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formJsonSchemaFilename" value="invoice_form.json"/>'
    '<spiffworkflow:property name="formUiSchemaFilename" value="invoice_ui.json"/>'
    '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')
INVOICE_SCHEMA = {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}}


def test_spiff_form_files_named_by_a_user_task_deploy_whatever_their_name(analyst, admin):  # type: ignore[no-untyped-def]
    files = [diagram("invoice", SPIFF_FORM_TASK), ("invoice_form.json", json.dumps(INVOICE_SCHEMA).encode()),
             ("invoice_ui.json", b'{"amount": {"ui:autofocus": true}}')]
    stray = analyst.deploy(*files, ("notes.json", b"{}"))
    assert stray.status_code == 422 and [e["file"] for e in stray.get_json()["errors"]] == ["notes.json"]
    assert analyst.get("/process-definitions").get_json() == []

    assert analyst.deploy(*files).status_code == 201
    [task] = start(admin, "invoice")["openTasks"]
    assert task["formKey"] == "invoice_form"
    form = admin.get(f"/tasks/{task['id']}").get_json()["form"]
    assert form["schema"] == INVOICE_SCHEMA and form["uiSchema"] == {"amount": {"ui:autofocus": True}}
    assert claim_and_complete(admin, task["id"], {}).status_code == 422
    assert admin.post(f"/tasks/{task['id']}/completion", json={"variables": {"amount": 3.5}}).status_code == 200


def test_spiff_arena_dynamic_options_come_from_the_instance_variables(analyst, admin):  # type: ignore[no-untyped-def]
    schema = {"type": "object", "required": ["color"],
              "properties": {"color": {"type": "string", "anyOf": ["options_from_task_data_var:colors"]}}}
    body = chain('<bpmn:scriptTask id="e1"><bpmn:script>colors = [{"value": "b", "label": "Blue"}, '
                 '{"value": "g", "label": "Green"}]</bpmn:script></bpmn:scriptTask>',
                 '<bpmn:userTask id="e2"><bpmn:extensionElements><spiffworkflow:properties>'
                 '<spiffworkflow:property name="formJsonSchemaFilename" value="color.json"/>'
                 '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')
    assert analyst.deploy(diagram("pick", body), ("color.json", json.dumps(schema).encode())).status_code == 201
    [task] = start(admin, "pick")["openTasks"]
    shown = admin.get(f"/tasks/{task['id']}").get_json()["form"]["schema"]
    assert shown["properties"]["color"]["anyOf"] == [{"const": "b", "title": "Blue"}, {"const": "g", "title": "Green"}]
    refused = claim_and_complete(admin, task["id"], {"color": "red"})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "color"
    assert admin.post(f"/tasks/{task['id']}/completion", json={"variables": {"color": "g"}}).status_code == 200


def test_camunda8_job_workers_are_jobs(analyst, admin):  # type: ignore[no-untyped-def]
    body = chain('<bpmn:serviceTask id="e1"><bpmn:extensionElements><zeebe:taskDefinition type="noop"/>'
                 '</bpmn:extensionElements></bpmn:serviceTask>')
    assert analyst.deploy(diagram("c8_job", body)).status_code == 201
    instance = start(admin, "c8_job")
    assert instance["status"] == "running" and instance["activeElementIds"] == ["e1"]


def test_a_diagram_the_engine_cannot_instantiate_is_refused_at_deploy(analyst):  # type: ignore[no-untyped-def]
    body = ('<bpmn:startEvent id="start"/><bpmn:task id="calm"/><bpmn:intermediateCatchEvent id="ask">'
            '<bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="calm"/>'
            '<bpmn:sequenceFlow id="f3" sourceRef="calm" targetRef="ask"/>')
    refused = analyst.deploy(diagram("pizza_vendor", body, '<bpmn:message id="m" name="where is my pizza"/>'))
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["elementId"] == "pizza_vendor"
    assert analyst.get("/process-definitions").get_json() == []


def test_a_start_the_engine_refuses_is_a_422(analyst, admin, monkeypatch):  # type: ignore[no-untyped-def]
    assert analyst.deploy(diagram("plain", chain('<bpmn:userTask id="e1"/>'))).status_code == 201
    from app.services import processes

    class Refusing:
        def start(self, spec, variables):  # type: ignore[no-untyped-def]
            raise WorkflowError("process plain cannot be instantiated: RecursionError")

    monkeypatch.setattr(processes, "get_engine", lambda: Refusing())
    refused = admin.post("/process-instances", json={"processDefinitionKey": "plain"})
    assert refused.status_code == 422 and "cannot be instantiated" in refused.get_json()["detail"]
    assert admin.post("/process-instances/search", json={}).get_json()["items"] == []


def test_a_runaway_script_becomes_an_incident_not_a_hung_request(analyst, admin):  # type: ignore[no-untyped-def]
    body = chain('<bpmn:scriptTask id="e1"><bpmn:script>while True:\n    pass</bpmn:script></bpmn:scriptTask>')
    assert analyst.deploy(diagram("spin", body)).status_code == 201
    response = admin.post("/process-instances", json={"processDefinitionKey": "spin"})
    assert response.status_code == 201
    instance = response.get_json()
    assert instance["status"] == "failed"
    [incident] = instance["incidents"]
    assert incident["elementId"] == "e1" and "loop iterations" in incident["message"]
