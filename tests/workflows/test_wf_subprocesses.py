"""Embedded subprocesses, call activities waiting inside the child, parallel joins, error bubbling."""
from __future__ import annotations

import pytest

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')

PARENT = f"""<bpmn:definitions {NS} id="D1" targetNamespace="x">
<bpmn:error id="Err" name="Bad" errorCode="BAD" />
<bpmn:process id="parent" isExecutable="true">
<bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:parallelGateway id="Fork"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
  <bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
<bpmn:callActivity id="Call" calledElement="child"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
  </bpmn:callActivity>
<bpmn:boundaryEvent id="CallFailed" attachedToRef="Call"><bpmn:outgoing>f9</bpmn:outgoing>
  <bpmn:errorEventDefinition errorRef="Err"/></bpmn:boundaryEvent>
<bpmn:endEvent id="EFail"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
<bpmn:subProcess id="Embedded"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
  <bpmn:startEvent id="ES"><bpmn:outgoing>e1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="EmbeddedTask" name="Inner"><bpmn:extensionElements><camunda:formData>
    <camunda:formField id="note" type="string" /></camunda:formData></bpmn:extensionElements>
    <bpmn:incoming>e1</bpmn:incoming><bpmn:outgoing>e2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="EE"><bpmn:incoming>e2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="e1" sourceRef="ES" targetRef="EmbeddedTask"/>
  <bpmn:sequenceFlow id="e2" sourceRef="EmbeddedTask" targetRef="EE"/>
</bpmn:subProcess>
<bpmn:parallelGateway id="Join"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming>
  <bpmn:outgoing>f6</bpmn:outgoing></bpmn:parallelGateway>
<bpmn:endEvent id="E"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Fork"/><bpmn:sequenceFlow id="f2" sourceRef="Fork" targetRef="Call"/>
<bpmn:sequenceFlow id="f3" sourceRef="Fork" targetRef="Embedded"/><bpmn:sequenceFlow id="f4" sourceRef="Call" targetRef="Join"/>
<bpmn:sequenceFlow id="f5" sourceRef="Embedded" targetRef="Join"/><bpmn:sequenceFlow id="f6" sourceRef="Join" targetRef="E"/>
<bpmn:sequenceFlow id="f9" sourceRef="CallFailed" targetRef="EFail"/>
</bpmn:process></bpmn:definitions>""".encode()

CHILD = f"""<bpmn:definitions {NS} id="D2" targetNamespace="x">
<bpmn:process id="child" isExecutable="true">
<bpmn:startEvent id="CS"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
<bpmn:serviceTask id="ChildJob"><bpmn:extensionElements><spiffworkflow:properties>
  <spiffworkflow:property name="topic" value="child.work"/></spiffworkflow:properties></bpmn:extensionElements>
  <bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing></bpmn:serviceTask>
<bpmn:userTask id="ChildTask" name="Child task" camunda:candidateGroups="backoffice"><bpmn:incoming>c2</bpmn:incoming>
  <bpmn:outgoing>c3</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="CE"><bpmn:incoming>c3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="c1" sourceRef="CS" targetRef="ChildJob"/>
<bpmn:sequenceFlow id="c2" sourceRef="ChildJob" targetRef="ChildTask"/>
<bpmn:sequenceFlow id="c3" sourceRef="ChildTask" targetRef="CE"/>
</bpmn:process></bpmn:definitions>""".encode()


@pytest.fixture()
def parent(engine):
    models = {m.key: m for m in engine.parse_deployment({"parent.bpmn": PARENT, "child.bpmn": CHILD})}
    assert models["parent"].called_processes == ["child"]
    assert "EmbeddedTask" in models["parent"].element_ids
    assert list(models["parent"].generated_forms) == ["parent.EmbeddedTask"]
    return engine.load_spec(models["parent"].spec, called={"child": models["child"].spec})


def test_waits_inside_call_activity_and_embedded_subprocess(engine, parent, advance) -> None:
    ex, snap = advance(parent, engine.start(parent, {"x": 1}))
    assert [(j.element_id, j.topic, j.input) for j in snap.jobs] == [("ChildJob", "child.work", {"x": 1})]
    (inner,) = snap.user_tasks
    assert (inner.element_id, inner.process_id, inner.form_key) == ("EmbeddedTask", "parent", "parent.EmbeddedTask")
    assert "CallFailed" not in snap.active_element_ids  # a waiting boundary event is no active element
    assert {"Call", "Embedded", "EmbeddedTask", "ChildJob"} <= set(snap.active_element_ids)
    ex.deliver_job_result(snap.jobs[0].task_id, {"y": 2})
    ex, snap = advance(parent, ex)
    by_id = {u.element_id: u for u in snap.user_tasks}
    assert set(by_id) == {"EmbeddedTask", "ChildTask"}
    assert (by_id["ChildTask"].process_id, by_id["ChildTask"].queue) == ("child", "backoffice")
    assert by_id["ChildTask"].data == {"x": 1, "y": 2}
    ex.complete_user_task(by_id["ChildTask"].task_id, {"child_done": True})
    ex, snap = advance(parent, ex)
    assert [u.element_id for u in snap.user_tasks] == ["EmbeddedTask"] and not snap.completed
    ex.complete_user_task(snap.user_tasks[0].task_id, {"note": "ok"})
    ex, snap = advance(parent, ex)
    assert snap.completed
    assert snap.variables == {"x": 1, "y": 2, "child_done": True, "note": "ok"}
    assert "Join" in snap.completed_element_ids and "EFail" not in snap.completed_element_ids


def test_job_error_in_child_bubbles_to_the_call_activity_boundary(engine, parent, advance) -> None:
    ex, snap = advance(parent, engine.start(parent, {"x": 1}))
    assert ex.fail_job(snap.jobs[0].task_id, "BAD", "child failed")
    ex, snap = advance(parent, ex)
    assert snap.jobs == [] and "Call" not in snap.active_element_ids
    assert "CallFailed" in snap.completed_element_ids and "EFail" in snap.completed_element_ids
    assert [u.element_id for u in snap.user_tasks] == ["EmbeddedTask"]  # the other branch goes on


def test_state_with_subprocesses_restores_identically(engine, parent, advance) -> None:
    ex, snap = advance(parent, engine.start(parent, {"x": 1}))
    ex.deliver_job_result(snap.jobs[0].task_id, {"y": 2})
    ex, snap = advance(parent, ex)
    again = engine.restore(parent, snap.state).snapshot()
    assert again.state == snap.state
    assert [u.task_id for u in again.user_tasks] == [u.task_id for u in snap.user_tasks]
