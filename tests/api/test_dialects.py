"""A Camunda Modeler diagram and a spiff-arena diagram, deployed and run to completion through the API."""
from __future__ import annotations

from tests.conftest import DATA

BPMN = DATA / "bpmn"
SSN = "185077512345608"


def claim_and_complete(api, task_id, variables):  # type: ignore[no-untyped-def]
    assert api.post(f"/tasks/{task_id}/assignment").status_code == 200
    response = api.post(f"/tasks/{task_id}/completion", json={"variables": variables})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["processInstance"]


def test_camunda_diagram_queues_formdata_and_gateway(analyst, login):  # type: ignore[no-untyped-def]
    assert analyst.deploy(BPMN / "camunda_leave_request.bpmn").status_code == 201
    reception = login("rita", "agent", ["reception"])
    manager = login("max", "agent", ["backoffice"])
    instance = reception.post("/process-instances", json={
        "processDefinitionKey": "camunda_leave_request", "variables": {"ssn": SSN, "requestNumber": "R-7"}}).get_json()
    task = instance["openTasks"][0]
    assert task["queue"] == "reception" and task["priority"] == 70

    # The manager's queue does not see the reception task.
    assert manager.post("/tasks/search", json={"filter": {}}).get_json()["items"] == []
    assert manager.get(f"/tasks/{task['id']}").status_code == 403

    form = reception.get(f"/tasks/{task['id']}").get_json()["form"]["schema"]
    assert set(form["required"]) == {"reason", "days"}
    reception.post(f"/tasks/{task['id']}/assignment")
    bad = reception.post(f"/tasks/{task['id']}/completion", json={"variables": {"reason": "rest", "days": "two"}})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "days"

    instance = claim_and_complete(reception, task["id"], {"reason": "rest", "days": 3, "kind": "annual"})
    approve = instance["openTasks"][0]
    assert approve["queue"] == "backoffice" and approve["elementId"] == "Activity_approve"
    instance = claim_and_complete(manager, approve["id"], {"approved": True, "comment": "ok"})
    assert instance["status"] == "completed"
    assert instance["variables"]["remaining_days"] == 22
    assert "Activity_record" in instance["completedElementIds"]

    # Searchable variables find the instance.
    found = manager.post("/process-instances/search", json={"filter": {"variables": {"requestNumber": "R-7"}}})
    assert [i["id"] for i in found.get_json()["items"]] == [instance["id"]]


def test_camunda_rejection_takes_the_other_branch(analyst, login):  # type: ignore[no-untyped-def]
    analyst.deploy(BPMN / "camunda_leave_request.bpmn")
    agent = login("ann", "agent", ["reception", "backoffice"])
    instance = agent.post("/process-instances", json={"processDefinitionKey": "camunda_leave_request"}).get_json()
    instance = claim_and_complete(agent, instance["openTasks"][0]["id"], {"reason": "trip", "days": 2})
    instance = claim_and_complete(agent, instance["openTasks"][0]["id"], {"approved": False})
    assert instance["status"] == "completed"
    assert "Activity_record" not in instance["completedElementIds"]


def test_spiff_diagram_with_json_schema_form_and_script(analyst, login):  # type: ignore[no-untyped-def]
    deployed = analyst.deploy(BPMN / "spiff_document_check.bpmn", BPMN / "document-check-schema.json",
                              BPMN / "document-check-uischema.json", BPMN / "register-file.schema.json")
    assert deployed.status_code == 201, deployed.get_json()
    counter = login("carl", "agent", ["counter"])
    back = login("bea", "agent", ["backoffice"])
    instance = counter.post("/process-instances", json={"processDefinitionKey": "spiff_document_check",
                                                        "businessKey": "FILE-9"}).get_json()
    task = instance["openTasks"][0]
    assert task["queue"] == "counter" and task["formKey"] == "document-check"
    detail = counter.get(f"/tasks/{task['id']}").get_json()
    assert detail["form"]["uiSchema"] is not None and "payslip_count" in detail["form"]["schema"]["properties"]

    counter.post(f"/tasks/{task['id']}/assignment")
    bad = counter.post(f"/tasks/{task['id']}/completion", json={"variables": {"ssn": SSN}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"documents_ok", "id_document_type", "payslip_count"}

    instance = claim_and_complete(counter, task["id"], {"ssn": SSN, "documents_ok": True,
                                                         "id_document_type": "id_card", "payslip_count": 3})
    assert instance["variables"]["complete"] is True
    register = instance["openTasks"][0]
    assert register["queue"] == "backoffice"
    schema = back.get(f"/tasks/{register['id']}").get_json()["form"]["schema"]
    required = schema.get("required", [])
    values = {name: _sample(schema["properties"][name]) for name in required}
    instance = claim_and_complete(back, register["id"], values)
    assert instance["status"] == "completed"


def _sample(prop):  # type: ignore[no-untyped-def]
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return prop.get("minimum", 1)
    if prop.get("format") == "date":
        return "2026-01-15"
    return "x" * max(1, prop.get("minLength", 1))


def test_spiff_incomplete_file_is_returned(analyst, login):  # type: ignore[no-untyped-def]
    analyst.deploy(BPMN / "spiff_document_check.bpmn", BPMN / "document-check-schema.json",
                   BPMN / "document-check-uischema.json", BPMN / "register-file.schema.json")
    counter = login("carl", "agent", ["counter"])
    instance = counter.post("/process-instances", json={"processDefinitionKey": "spiff_document_check"}).get_json()
    instance = claim_and_complete(counter, instance["openTasks"][0]["id"], {
        "ssn": SSN, "documents_ok": True, "id_document_type": "passport", "payslip_count": 1})
    assert instance["status"] == "completed"
    assert instance["variables"]["missing"] == ["payslips"]
    assert "Event_returned" in instance["completedElementIds"]
