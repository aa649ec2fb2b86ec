"""workflows/correlation.py: subscription keys, thrown message keys and start triggers."""
from __future__ import annotations

from workflows import ThrownEvent, WorkflowEngine
from workflows.correlation import fill_correlation_keys, start_triggers, thrown_key

SPIFF_CORRELATED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="P1" processRef="correlated_case" />
    <bpmn:correlationKey name="case_key">
      <bpmn:correlationPropertyRef>case_id</bpmn:correlationPropertyRef>
    </bpmn:correlationKey>
  </bpmn:collaboration>
  <bpmn:correlationProperty id="case_id" name="Case id">
    <bpmn:correlationPropertyRetrievalExpression messageRef="Message_answer">
      <bpmn:formalExpression>case_id</bpmn:formalExpression>
    </bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty>
  <bpmn:message id="Message_answer" name="answer">
    <bpmn:extensionElements>
      <spiffworkflow:messagePayload>{"case_id": case_id, "ok": True}</spiffworkflow:messagePayload>
    </bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="correlated_case" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateThrowEvent id="Event_send"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Message_answer" /></bpmn:intermediateThrowEvent>
    <bpmn:receiveTask id="Activity_receive" messageRef="Message_answer">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:receiveTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Event_send" />
    <bpmn:sequenceFlow id="F2" sourceRef="Event_send" targetRef="Activity_receive" />
    <bpmn:sequenceFlow id="F3" sourceRef="Activity_receive" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""


def _models(engine: WorkflowEngine, files: dict[str, bytes]) -> dict[str, object]:
    return {m.key: engine.load_spec(m.spec) for m in engine.parse_deployment(files)}


def test_a_correlation_key_property_is_evaluated_on_the_waiting_task(engine, files):  # type: ignore[no-untyped-def]
    specs = _models(engine, files("automation_messages.bpmn"))
    ex = engine.start(specs["automation_case"], {"case_number": "C-42"})
    ex.run()
    snap = ex.snapshot()
    assert [w.correlation_key for w in snap.waiting] == [None]  # the engine leaves it empty
    fill_correlation_keys(ex, snap.waiting)
    assert [(w.name, w.correlation_key) for w in snap.waiting] == [("documents_checked", "C-42")]


def test_a_missing_variable_means_no_key(engine, files):  # type: ignore[no-untyped-def]
    specs = _models(engine, files("automation_messages.bpmn"))
    ex = engine.start(specs["automation_case"], {"case_number": "C-1"})
    ex.run()
    snap = ex.snapshot()
    for task in ex.all_tasks():
        task.data.pop("case_number", None)
    fill_correlation_keys(ex, snap.waiting)
    assert snap.waiting[0].correlation_key is None


def test_spiff_correlation_properties_give_the_keys_of_both_sides(engine):  # type: ignore[no-untyped-def]
    specs = _models(engine, {"correlated.bpmn": SPIFF_CORRELATED})
    ex = engine.start(specs["correlated_case"], {"case_id": 7})
    ex.run()
    snap = ex.snapshot()
    # The throw set the instance's correlation; the receive task waits with the same key.
    fill_correlation_keys(ex, snap.waiting)
    assert [(w.element_id, w.correlation_key) for w in snap.waiting] == [("Activity_receive", "7")]
    [event] = snap.thrown
    assert event.payload == {"case_id": 7, "ok": True}
    assert thrown_key(specs["correlated_case"], event, engine.script_engine) == "7"


def test_a_payload_may_name_its_key(engine, files):  # type: ignore[no-untyped-def]
    specs = _models(engine, files("automation_messages.bpmn"))
    event = ThrownEvent("message", "documents_checked", {"correlationKey": "K-1", "x": 1})
    assert thrown_key(specs["automation_checker"], event, engine.script_engine) == "K-1"
    assert thrown_key(specs["automation_checker"], ThrownEvent("message", "documents_checked", {}),
                      engine.script_engine) is None


def test_start_triggers_list_message_and_signal_start_events(engine, files):  # type: ignore[no-untyped-def]
    specs = _models(engine, files("automation_messages.bpmn", "six_node.bpmn"))
    assert [(t.type, t.name, t.element_id) for t in start_triggers(specs["automation_checker"])] == [
        ("message", "check_documents", "StartEvent_checker")]
    assert [(t.type, t.name) for t in start_triggers(specs["automation_audit"])] == [("signal", "audit_requested")]
    assert start_triggers(specs["automation_case"]) == []
    assert start_triggers(specs["six_node"]) == []
