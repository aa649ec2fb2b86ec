"""Timers fired by the sweeper, and messages and signals between instances (through the outbox)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, MessageSubscription, Timer
from app.models._types import utcnow
from app.services import jobs, sweeper
from tests.integration.support import deploy, events, instance, jobs_of, open_task_elements, open_tasks, start


@pytest.fixture
def ctx(app: Any) -> Any:
    with app.app_context():
        yield app
        db.session.remove()


def run_all_internal_jobs() -> list[str]:
    """Run every pending/sent job of the `bpmn.*` topics, as a worker would (until none is left)."""
    outcomes = []
    for _ in range(10):
        ids = list(db.session.scalars(select(Job.id).where(Job.topic.like("bpmn.%"),
                                                           Job.state.in_(("pending", "sent"))).order_by(Job.id)))
        db.session.rollback()
        if not ids:
            break
        for job_id in ids:
            outcomes.append(jobs.run_job(job_id, worker="test"))
            db.session.remove()
    return outcomes


def timer_rows(instance_id: int) -> dict[str, Any]:
    rows = {t.element_id: t.due_at for t in db.session.scalars(select(Timer).where(Timer.instance_id == instance_id))}
    db.session.rollback()
    return rows


def test_boundary_timers_escalate_a_review_and_remind_twice(ctx, analyst, admin):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_timers.bpmn")
    started = start(admin, "automation_timers")
    t0 = utcnow()
    dues = timer_rows(started["id"])
    assert set(dues) == {"Event_deadline", "Event_reminder"}
    assert 2.5 < (dues["Event_deadline"] - t0).total_seconds() <= 3.0
    assert 0.5 < (dues["Event_reminder"] - t0).total_seconds() <= 1.0
    waiting = {w["elementId"]: w for w in admin.get(f"/process-instances/{started['id']}").get_json()["waitingFor"]}
    assert waiting["Event_deadline"]["type"] == "timer" and waiting["Event_deadline"]["dueAt"]

    small = timedelta(seconds=0.05)
    assert sweeper.sweep(dues["Event_reminder"] - small).timers_fired == 0  # nothing due yet
    fired_from = utcnow()
    assert sweeper.sweep(dues["Event_reminder"] + small).timers_fired == 1
    fired_by = utcnow()
    assert open_task_elements(started["id"]) == ["Activity_review", "Activity_reminded"]
    # The cycle's next due time is one period after this firing (however long the firing took).
    second = timer_rows(started["id"])["Event_reminder"]
    period = timedelta(seconds=1)
    assert fired_from + period - small <= second <= fired_by + period, (fired_from, second, fired_by)
    assert sweeper.sweep(second - small).timers_fired == 0
    assert sweeper.sweep(second + small).timers_fired == 1
    assert open_task_elements(started["id"]) == ["Activity_review", "Activity_reminded", "Activity_reminded"]
    assert "Event_reminder" not in timer_rows(started["id"])  # R2: two cycles, then done

    assert sweeper.sweep(dues["Event_deadline"] - small).timers_fired == 0
    assert sweeper.sweep(dues["Event_deadline"] + small).timers_fired == 1
    tasks = open_tasks(started["id"])
    assert [t.element_id for t in tasks] == ["Activity_reminded", "Activity_reminded", "Activity_escalated"]
    assert tasks[-1].queue == "supervisors"
    assert timer_rows(started["id"]) == {}
    fired = [e.element_id for e in events(started["id"], "timer_fired")]
    assert fired == ["Event_reminder", "Event_reminder", "Event_deadline"]
    cancelled = events(started["id"], "task_cancelled")
    assert [e.element_id for e in cancelled] == ["Activity_review"]


def test_timers_of_a_suspended_instance_wait(ctx, analyst, admin):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_timers.bpmn")
    started = start(admin, "automation_timers")
    assert admin.post(f"/process-instances/{started['id']}/suspension").status_code == 204
    assert sweeper.sweep(utcnow() + timedelta(seconds=10)).timers_fired == 0
    assert admin.post(f"/process-instances/{started['id']}/resumption").status_code == 204
    assert sweeper.sweep(utcnow() + timedelta(seconds=10)).timers_fired >= 2


def test_a_thrown_message_starts_a_process_whose_answer_reaches_the_waiting_case(  # type: ignore[no-untyped-def]
        ctx, analyst, admin):
    deploy(analyst, "automation_messages.bpmn")
    case = start(admin, "automation_case", business_key="C-1", case_number="C-1")
    other = start(admin, "automation_case", business_key="C-2", case_number="C-2")
    subscriptions = {s.instance_id: s.correlation_key for s in db.session.scalars(select(MessageSubscription))}
    db.session.rollback()
    assert subscriptions == {case["id"]: "C-1", other["id"]: "C-2"}  # from the correlationKey property
    waiting = admin.get(f"/process-instances/{case['id']}").get_json()["waitingFor"]
    assert waiting == [{"type": "message", "name": "documents_checked", "elementId": "Event_checked",
                        "correlationKey": "C-1"}]
    thrown = [j for j in jobs_of(case["id"]) if j.topic == "bpmn.message"]
    assert [(j.input["name"], j.input["correlationKey"], j.input["payload"]) for j in thrown] == [
        ("check_documents", "C-1", {"case_number": "C-1"})]

    assert run_all_internal_jobs() == ["done", "done", "done", "done"]
    # Each case started its own checker, whose answer came back to that case only.
    assert open_task_elements(case["id"]) == ["Activity_decide"]
    assert open_task_elements(other["id"]) == ["Activity_decide"]
    assert instance(case["id"]).variables["checked_case"] == "C-1"
    assert instance(other["id"]).variables["checked_case"] == "C-2"
    checkers = admin.post("/process-instances/search",
                          json={"filter": {"processDefinitionKey": "automation_checker"}}).get_json()["items"]
    assert sorted(c["businessKey"] for c in checkers) == ["C-1", "C-2"]
    assert {c["status"] for c in checkers} == {"completed"}
    started_by = events(checkers[0]["id"], "instance_started")[0]
    assert started_by.details["trigger"] == {"type": "message", "name": "check_documents"}
    assert len(events(case["id"], "message_correlated")) == 1


def test_a_message_nobody_waits_for_is_retried_then_an_incident(ctx, app, analyst, admin):  # type: ignore[no-untyped-def]
    deploy(analyst, "notify_applicant.bpmn")
    started = start(admin, "notify_applicant", ssn="1850775123456", rate=1)
    [job] = [j for j in jobs_of(started["id"]) if j.topic == "bpmn.message"]
    assert job.input["name"] == "applicant_notified"
    assert jobs.run_job(job.id) == "retry"
    db.session.remove()
    [job] = jobs_of(started["id"])
    assert job.error_code == "NOT_CORRELATED" and job.max_retries == 5


def test_messages_and_signals_from_the_api_reach_start_events(ctx, analyst, admin):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_messages.bpmn")
    response = admin.post("/messages", json={"name": "check_documents", "correlationKey": "C-9",
                                             "variables": {"case_number": "C-9"}})
    assert response.status_code == 200, response.get_json()
    checker = instance(response.get_json()["processInstanceId"])
    assert checker.definition_key == "automation_checker" and checker.business_key == "C-9"
    assert checker.status == "completed"
    assert admin.post("/messages", json={"name": "nobody_listens"}).status_code == 404

    response = admin.post("/signals", json={"name": "audit_requested", "variables": {"reason": "yearly"}})
    assert response.status_code == 200, response.get_json()
    [audit_id] = response.get_json()["processInstanceIds"]
    assert open_task_elements(audit_id) == ["Activity_audit"]
    assert instance(audit_id).variables["reason"] == "yearly"
    assert instance(audit_id).definition_key == "automation_audit"


CALLS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="calls_a_job" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="Activity_call" calledElement="job_in_child">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:userTask id="Activity_after" camunda:candidateGroups="agents">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="F2" sourceRef="Activity_call" targetRef="Activity_after" />
    <bpmn:sequenceFlow id="F3" sourceRef="Activity_after" targetRef="EndEvent_1" />
  </bpmn:process>
  <bpmn:process id="job_in_child" isExecutable="true">
    <bpmn:startEvent id="StartEvent_2"><bpmn:outgoing>G1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Activity_child_job" camunda:type="external" camunda:topic="noop">
      <bpmn:incoming>G1</bpmn:incoming><bpmn:outgoing>G2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="EndEvent_2"><bpmn:incoming>G2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="G1" sourceRef="StartEvent_2" targetRef="Activity_child_job" />
    <bpmn:sequenceFlow id="G2" sourceRef="Activity_child_job" targetRef="EndEvent_2" />
  </bpmn:process>
  <bpmn:process id="starts_on_a_timer" isExecutable="true">
    <bpmn:startEvent id="StartEvent_timer"><bpmn:outgoing>H1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_timed" camunda:candidateGroups="agents">
      <bpmn:incoming>H1</bpmn:incoming><bpmn:outgoing>H2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_3"><bpmn:incoming>H2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="H1" sourceRef="StartEvent_timer" targetRef="Activity_timed" />
    <bpmn:sequenceFlow id="H2" sourceRef="Activity_timed" targetRef="EndEvent_3" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_job_inside_a_called_process_and_a_timer_start_event(ctx, analyst, admin):  # type: ignore[no-untyped-def]
    deploy(analyst, ("calls.bpmn", CALLS))
    parent = start(admin, "calls_a_job")
    [job] = jobs_of(parent["id"])
    assert (job.topic, job.element_id) == ("noop", "Activity_child_job")
    assert jobs.run_job(job.id) == "done"
    db.session.remove()
    assert open_task_elements(parent["id"]) == ["Activity_after"]

    timed = start(admin, "starts_on_a_timer")
    assert open_task_elements(timed["id"]) == [] and timer_rows(timed["id"]).keys() == {"StartEvent_timer"}
    due = timer_rows(timed["id"])["StartEvent_timer"]
    assert sweeper.sweep(due + timedelta(seconds=0.05)).timers_fired == 1
    assert open_task_elements(timed["id"]) == ["Activity_timed"]
