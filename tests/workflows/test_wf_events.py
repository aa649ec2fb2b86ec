"""Receive tasks, event-based gateways, message variables, cycle timers and terminate end events."""
from __future__ import annotations

import pytest

from workflows import NoTimerWaitingError

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')
XML = f"""<bpmn:definitions {NS} id="D1" targetNamespace="x">
<bpmn:message id="M1" name="documents_received"/>
<bpmn:message id="M2" name="payment_done"/>
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:receiveTask id="Receive" name="Wait documents" messageRef="M1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:receiveTask>
<bpmn:eventBasedGateway id="Race"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:eventBasedGateway>
<bpmn:intermediateCatchEvent id="Paid"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
 <bpmn:messageEventDefinition messageRef="M2"><bpmn:extensionElements><spiffworkflow:messageVariable>payment</spiffworkflow:messageVariable></bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="Late"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
 <bpmn:timerEventDefinition><bpmn:timeDuration>P30D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="Remind" name="Remind"><bpmn:incoming>f7</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing></bpmn:userTask>
<bpmn:boundaryEvent id="Every" attachedToRef="Remind" cancelActivity="false"><bpmn:outgoing>f7b</bpmn:outgoing>
 <bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:scriptTask id="Log"><bpmn:incoming>f7b</bpmn:incoming><bpmn:outgoing>f7c</bpmn:outgoing><bpmn:script>reminders = 1</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="ELog"><bpmn:incoming>f7c</bpmn:incoming></bpmn:endEvent>
<bpmn:endEvent id="EPaid"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
<bpmn:scriptTask id="Mark"><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing><bpmn:script>late = True</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="ETerm"><bpmn:incoming>f8</bpmn:incoming><bpmn:terminateEventDefinition/></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Receive"/><bpmn:sequenceFlow id="f2" sourceRef="Receive" targetRef="Race"/>
<bpmn:sequenceFlow id="f3" sourceRef="Race" targetRef="Paid"/><bpmn:sequenceFlow id="f4" sourceRef="Race" targetRef="Late"/>
<bpmn:sequenceFlow id="f5" sourceRef="Paid" targetRef="EPaid"/><bpmn:sequenceFlow id="f6" sourceRef="Late" targetRef="Mark"/>
<bpmn:sequenceFlow id="f7" sourceRef="Mark" targetRef="Remind"/><bpmn:sequenceFlow id="f8" sourceRef="Remind" targetRef="ETerm"/>
<bpmn:sequenceFlow id="f7b" sourceRef="Every" targetRef="Log"/><bpmn:sequenceFlow id="f7c" sourceRef="Log" targetRef="ELog"/>
</bpmn:process></bpmn:definitions>""".encode()


@pytest.fixture()
def spec(engine):
    return engine.load_spec(engine.parse_deployment({"p.bpmn": XML})[0].spec)


def wait_at_race(engine, spec, advance):
    ex, snap = advance(spec, engine.start(spec, {}))
    assert [(w.type, w.name, w.element_id) for w in snap.waiting] == [("message", "documents_received", "Receive")]
    assert ex.correlate_message("documents_received", {"docs": 3})
    ex, snap = advance(spec, ex)
    assert [(w.type, w.name, w.element_id) for w in snap.waiting] == \
        [("message", "payment_done", "Paid"), ("timer", "Late", "Late")]
    assert snap.variables == {"docs": 3} and snap.active_element_ids == ["Race"]
    return ex, snap


def test_event_based_gateway_message_wins(engine, spec, advance) -> None:
    ex, snap = wait_at_race(engine, spec, advance)
    assert ex.correlate_message("payment_done", {"amount": "12.50"})
    ex, snap = advance(spec, ex)
    assert snap.completed and snap.variables == {"docs": 3, "payment": {"amount": "12.50"}}
    assert "Paid" in snap.completed_element_ids and "Late" not in snap.completed_element_ids


def test_event_based_gateway_timer_wins_then_cycle_reminders(engine, spec, advance) -> None:
    ex, snap = wait_at_race(engine, spec, advance)
    ex.fire_timer("Late")
    ex, snap = advance(spec, ex)
    assert [u.element_id for u in snap.user_tasks] == ["Remind"] and snap.variables["late"] is True
    assert not ex.correlate_message("payment_done", {})  # the race is over
    for expected in (1, 1):
        assert [w.element_id for w in snap.waiting] == ["Every"]
        ex.fire_timer("Every")
        ex, snap = advance(spec, ex)
        assert [u.element_id for u in snap.user_tasks] == ["Remind"]  # non-interrupting
        assert snap.completed_element_ids.count("Log") >= 1
    with pytest.raises(NoTimerWaitingError):  # R2: two cycles only
        ex.fire_timer("Every")
    ex.complete_user_task(snap.user_tasks[0].task_id, {})
    ex, snap = advance(spec, ex)
    assert snap.completed and "ETerm" in snap.completed_element_ids
