"""Deployments: versions, checksums, all-or-nothing, and every kind of bad BPMN answered with 4xx."""
from __future__ import annotations

import json

import pytest

from tests.conftest import DATA

BPMN = DATA / "bpmn"

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="{pid}" name="{name}" isExecutable="true">
    {body}
  </bpmn:process>
</bpmn:definitions>"""

LINEAR = """<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:userTask id="task" name="Do it"/><bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""


def bpmn(pid: str = "p", name: str = "P", body: str = LINEAR) -> bytes:
    return MINIMAL.format(pid=pid, name=name, body=body).encode()


def test_new_version_only_when_the_diagram_changes(analyst):  # type: ignore[no-untyped-def]
    first = analyst.deploy(("p.bpmn", bpmn())).get_json()
    again = analyst.deploy(("p.bpmn", bpmn())).get_json()
    changed = analyst.deploy(("p.bpmn", bpmn(name="P renamed"))).get_json()
    assert [d["version"] for d in (first["definitions"][0], again["definitions"][0], changed["definitions"][0])] \
        == [1, 1, 2]
    listed = analyst.get("/process-definitions?key=p").get_json()
    assert [d["version"] for d in listed] == [2, 1]
    xml = analyst.get(f"/process-definitions/{listed[0]['id']}/xml")
    assert xml.status_code == 200 and b"P renamed" in xml.data


def test_deployment_is_all_or_nothing(analyst):  # type: ignore[no-untyped-def]
    response = analyst.deploy(("good.bpmn", bpmn("good")), ("bad.bpmn", b"<bpmn:definitions"))
    assert response.status_code == 422
    assert any(e["file"] == "bad.bpmn" for e in response.get_json()["errors"])
    assert analyst.get("/process-definitions?key=good").get_json() == []


DANGLING = LINEAR.replace('targetRef="end"', 'targetRef="nowhere"')
NO_START = """<bpmn:userTask id="task"/><bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
UNKNOWN_CALL = """<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:callActivity id="call" calledElement="does_not_exist"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/><bpmn:endEvent id="end"/>"""
BAD_SCRIPT = """<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="s"/>
    <bpmn:scriptTask id="s"><bpmn:script>x = = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="s" targetRef="end"/><bpmn:endEvent id="end"/>"""


@pytest.mark.parametrize("body, element", [(DANGLING, "f2"), (UNKNOWN_CALL, "call"), (BAD_SCRIPT, "s")])
def test_invalid_bpmn_names_the_element(analyst, body, element):  # type: ignore[no-untyped-def]
    response = analyst.deploy(("p.bpmn", bpmn(body=body)))
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert element in [e.get("elementId") for e in response.get_json()["errors"]]


def test_no_start_event_is_refused(analyst):  # type: ignore[no-untyped-def]
    response = analyst.deploy(("p.bpmn", bpmn(body=NO_START)))
    assert response.status_code == 422
    assert "start" in json.dumps(response.get_json()["errors"]).lower()


@pytest.mark.parametrize("content", [
    b"",
    b"not xml at all",
    b"<?xml version='1.0'?><a><b></a>",
    b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>""",
    b"""<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><x>&b;</x>""",
    b"<definitions xmlns='http://www.omg.org/spec/BPMN/20100524/MODEL'/>",
    "<?xml version='1.0'?><x>\udcff</x>".encode("utf-8", "surrogateescape"),
])
def test_malformed_or_hostile_xml_is_a_4xx(analyst, content):  # type: ignore[no-untyped-def]
    response = analyst.deploy(("p.bpmn", content))
    assert 400 <= response.status_code < 500, response.get_json()
    assert "passwd" not in response.get_data(as_text=True) or "root:" not in response.get_data(as_text=True)


def test_file_types_and_forms_are_checked(analyst):  # type: ignore[no-untyped-def]
    assert analyst.deploy(("notes.txt", b"hello")).status_code == 422
    bad_json = analyst.deploy(("f.schema.json", b"{not json"))
    assert bad_json.status_code == 422 and bad_json.get_json()["errors"][0]["file"] == "f.schema.json"
    bad_schema = analyst.deploy(("f.schema.json", json.dumps({"type": "nonsense"}).encode()))
    assert bad_schema.status_code == 422


def test_user_task_naming_a_missing_form_is_refused(analyst):  # type: ignore[no-untyped-def]
    response = analyst.deploy(BPMN / "six_node.bpmn")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["elementId"] == "Activity_review"


def test_only_analysts_and_admins_deploy(login):  # type: ignore[no-untyped-def]
    agent = login("al", "agent", ["agents"])
    response = agent.deploy(("p.bpmn", bpmn()))
    assert response.status_code == 403


def test_deployment_request_shape_errors(analyst, client):  # type: ignore[no-untyped-def]
    assert analyst.post("/deployments", json={"files": []}).status_code == 400
    empty = analyst.client.post("/api/v1/deployments", headers=analyst.headers, data={},
                                content_type="multipart/form-data")
    assert empty.status_code == 400
    assert client.post("/api/v1/deployments").status_code == 401


def test_oversized_deployment_is_413(app, analyst):  # type: ignore[no-untyped-def]
    limit = app.config["MAX_DEPLOYMENT_BYTES"]
    response = analyst.deploy(("big.bpmn", b"<x>" + b" " * (limit + 10) + b"</x>"))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_unknown_definition_and_key(analyst):  # type: ignore[no-untyped-def]
    assert analyst.get("/process-definitions/999999").status_code == 404
    response = analyst.post("/process-instances", json={"processDefinitionKey": "nope"})
    assert response.status_code == 404 and "nope" in response.get_json()["detail"]


def test_due_date_that_is_not_a_duration_is_refused(analyst):  # type: ignore[no-untyped-def]
    body = LINEAR.replace('<bpmn:userTask id="task" name="Do it"/>', '''<bpmn:userTask id="task" name="Do it">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="dueIn" value="next week" />
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>''')
    xml = bpmn(body=body).replace(b'xmlns:bpmn=', b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:bpmn=')
    response = analyst.deploy(("p.bpmn", xml))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["errors"][0]
    assert error["elementId"] == "task" and "dueIn" in error["message"]
