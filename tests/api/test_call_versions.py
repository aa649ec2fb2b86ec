"""Call activities take the latest deployed version of the called process, or the one they are pinned to."""
from __future__ import annotations

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def child(result: str) -> bytes:
    return f"""<bpmn:definitions {NS} id="c" targetNamespace="t"><bpmn:process id="child" isExecutable="true">
<bpmn:startEvent id="cs"/><bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="work"/>
<bpmn:scriptTask id="work"><bpmn:script>result = "{result}"</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="c2" sourceRef="work" targetRef="ce"/><bpmn:endEvent id="ce"/>
</bpmn:process></bpmn:definitions>""".encode()


def parent(pid: str, binding: str) -> bytes:
    return f"""<bpmn:definitions {NS} id="p" targetNamespace="t"><bpmn:process id="{pid}" isExecutable="true">
<bpmn:startEvent id="ps"/><bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="call"/>
<bpmn:callActivity id="call" calledElement="child" {binding}/>
<bpmn:sequenceFlow id="p2" sourceRef="call" targetRef="pe"/><bpmn:endEvent id="pe"/>
</bpmn:process></bpmn:definitions>""".encode()


PINNED_CAMUNDA = 'camunda:calledElementBinding="version" camunda:calledElementVersion="1"'


def test_latest_or_pinned_version(analyst, login):  # type: ignore[no-untyped-def]
    boss = login("sue", "supervisor")
    assert analyst.deploy(("child.bpmn", child("one"))).status_code == 201
    assert analyst.deploy(("child.bpmn", child("two"))).get_json()["definitions"][0]["version"] == 2
    assert analyst.deploy(("latest.bpmn", parent("latest", "")),
                          ("pinned.bpmn", parent("pinned", PINNED_CAMUNDA))).status_code == 201

    latest = boss.post("/process-instances", json={"processDefinitionKey": "latest"}).get_json()
    pinned = boss.post("/process-instances", json={"processDefinitionKey": "pinned"}).get_json()
    assert latest["status"] == pinned["status"] == "completed"
    assert latest["variables"]["result"] == "two"
    assert pinned["variables"]["result"] == "one"


def test_pinned_by_property_and_bad_pins(analyst):  # type: ignore[no-untyped-def]
    analyst.deploy(("child.bpmn", child("one")))
    prop = ('><bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="calledVersion" '
            'value="{v}"/></spiffworkflow:properties></bpmn:extensionElements></bpmn:callActivity>')

    def with_property(value: str) -> bytes:
        return parent("prop", "").replace(b"/>\n<bpmn:sequenceFlow id=\"p2\"",
                                          prop.format(v=value).encode() + b"\n<bpmn:sequenceFlow id=\"p2\"", 1)

    assert analyst.deploy(("prop.bpmn", with_property("1"))).status_code == 201
    missing = analyst.deploy(("prop.bpmn", with_property("9")))
    assert missing.status_code == 422 and "child version 9" in missing.get_json()["errors"][0]["message"]
    assert analyst.get("/process-definitions?key=prop").get_json()[0]["version"] == 1  # nothing half-deployed
    words = analyst.deploy(("prop.bpmn", with_property("two")))
    assert words.status_code == 422 and words.get_json()["errors"][0]["elementId"] == "call"
    no_number = analyst.deploy(("c.bpmn", parent("bound", 'camunda:calledElementBinding="version"')))
    assert no_number.status_code == 422 and "calledElementVersion" in no_number.get_json()["errors"][0]["message"]
