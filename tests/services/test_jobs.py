"""Jobs in-process: claim, exactly-once delivery, retries with backoff, incidents, BPMN errors, leases, sweeper.

The worker's entry point (`jobs.run_job`) is called directly; the real-worker versions of these
scenarios are in tests/integration.
"""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

import tests.integration.operations as test_ops
from app.extensions import db
from app.models import ElementCounter, Job
from app.models._types import utcnow
from app.services import dispatch, jobs, sweeper
from app.services.dispatch import set_job_sender
from app.services.job_retries import backoff_delay, retry_policy
from tests.integration.support import (
    count,
    deploy,
    events,
    incidents_of,
    instance,
    jobs_of,
    open_task_elements,
    start,
)

INLINE_HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
                 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">')


def one_task_process(key: str, topic: str, extra: str = "") -> tuple[str, bytes]:
    """A start -> service task (topic) -> user task -> end diagram, as a deployable file."""
    xml = f"""{INLINE_HEADER}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Activity_job" camunda:type="external" camunda:topic="{topic}">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:serviceTask>
    {extra}
    <bpmn:userTask id="Activity_after" camunda:candidateGroups="agents">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>F3</bpmn:incoming><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Activity_job" />
    <bpmn:sequenceFlow id="F2" sourceRef="Activity_job" targetRef="Activity_after" />
    <bpmn:sequenceFlow id="F3" sourceRef="Activity_after" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""
    return f"{key}.bpmn", xml.encode()


@pytest.fixture
def ctx(app: Any) -> Any:
    """An app context with the test operations' tables empty."""
    with app.app_context():
        test_ops.clear_tables(db.engine)
        yield app
        db.session.remove()
        test_ops.clear_tables(db.engine)


@pytest.fixture
def sent(app: Any) -> Any:
    """Record the job ids handed to the broker instead of sending them."""
    recorded: list[int] = []
    previous = app.extensions.get("guichet_job_sender")

    def sender(job_ids: list[int]) -> None:
        recorded.extend(job_ids)
        dispatch.mark_sent(job_ids)

    set_job_sender(app, sender)
    yield recorded
    set_job_sender(app, previous)


def run(job_id: int) -> str:
    outcome = jobs.run_job(job_id, worker="test")
    db.session.remove()
    return outcome


def assert_backoff(job: Job, before: Any, seconds: float) -> None:
    """The retry is planned `seconds` (+-10 % jitter) after the failure, which happened after `before`."""
    assert before + timedelta(seconds=seconds * 0.9) <= job.next_run_at <= utcnow() + timedelta(seconds=seconds * 1.1)


def make_due(job_id: int) -> None:
    """Skip a retry's backoff."""
    db.session.execute(update(Job).where(Job.id == job_id).values(next_run_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_a_job_runs_once_and_the_instance_moves_on(ctx, analyst, admin, sent):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_effect.bpmn")
    started = start(admin, "automation_effect")
    assert started["openTasks"] == [] and started["activeElementIds"] == ["Activity_effect"]
    [job] = jobs_of(started["id"])
    assert (job.topic, job.element_id, job.state) == ("test.effect", "Activity_effect", "sent")
    assert sent == [job.id]

    assert run(job.id) == "done"
    assert open_task_elements(started["id"]) == ["Activity_after"]
    [job] = jobs_of(started["id"])
    assert job.state == "done" and job.attempts == 1 and job.result == {"effect": "applied"}
    assert job.lease_token is None and job.completed_at is not None

    # A redelivered message finds the job done: no second run, no second completion.
    assert run(job.id) == "skipped"
    assert count(test_ops.attempts) == 1 and count(test_ops.effects) == 1
    assert len(events(started["id"], "element_completed", "Activity_effect")) == 1
    assert len(events(started["id"], "job_completed")) == 1
    assert instance(started["id"]).variables["effect"] == "applied"


def test_a_deployment_naming_an_unknown_topic_is_refused(analyst):  # type: ignore[no-untyped-def]
    response = analyst.deploy(one_task_process("unknown_topic", "nobody.runs.this"))
    assert response.status_code == 422
    [error] = response.get_json()["errors"]
    assert error["elementId"] == "Activity_job" and "nobody.runs.this" in error["message"]


def test_failures_retry_with_backoff_then_an_incident_then_a_retry_continues(  # type: ignore[no-untyped-def]
        ctx, analyst, admin, sent, login):
    test_ops.set_switch(db.engine, "flaky", "broken")
    deploy(analyst, "automation_flaky.bpmn")
    started = start(admin, "automation_flaky")
    [job] = jobs_of(started["id"])

    before = utcnow()
    assert run(job.id) == "retry"
    [job] = jobs_of(started["id"])
    assert job.state == "pending" and job.attempts == 1 and job.max_retries == 2  # the diagram's retries
    assert job.error_code == "JOB_FAILED" and "partner service down" in job.last_error
    assert_backoff(job, before, 0.2)  # the operation's base
    assert run(job.id) == "skipped"  # not due yet: an early message does not run it

    make_due(job.id)
    before = utcnow()
    assert run(job.id) == "retry"
    [job] = jobs_of(started["id"])
    assert_backoff(job, before, 0.4)  # doubled
    make_due(job.id)
    assert run(job.id) == "incident"

    [job] = jobs_of(started["id"])
    assert job.state == "failed" and job.attempts == 3 and count(test_ops.attempts) == 3
    [incident] = incidents_of(started["id"])
    assert (incident.state, incident.job_id, incident.element_id, incident.topic, incident.error_code) == (
        "open", job.id, "Activity_flaky", "test.flaky", "JOB_FAILED")
    assert instance(started["id"]).status == "running"  # an incident stops the job, not the instance
    body = admin.get(f"/process-instances/{started['id']}").get_json()
    assert [i["id"] for i in body["incidents"]] == [incident.id]
    found = admin.post("/incidents/search", json={"filter": {"state": "open", "topic": "test.flaky"}}).get_json()
    assert [i["id"] for i in found["items"]] == [incident.id] and found["page"]["totalItems"] == 1
    stats = {s["elementId"]: s for s in admin.get(
        f"/process-definitions/{instance(started['id']).definition_id}/statistics").get_json()}
    assert stats["Activity_flaky"]["incidents"] == 1

    # Operators only; agents may not even look.
    agent = login("agent7", "agent", ["agents"])
    assert agent.post("/incidents/search", json={}).status_code == 403
    assert agent.post(f"/incidents/{incident.id}/retry").status_code == 403

    test_ops.set_switch(db.engine, "flaky", None)
    retried = admin.post(f"/incidents/{incident.id}/retry")
    assert retried.status_code == 202, retried.get_json()
    assert retried.get_json()["state"] == "resolved" and retried.get_json()["resolvedBy"] == "root"
    assert admin.post(f"/incidents/{incident.id}/retry").status_code == 409
    [job] = jobs_of(started["id"])
    assert job.state == "sent" and job.attempts == 0 and sent[-1] == job.id
    assert run(job.id) == "done"
    assert open_task_elements(started["id"]) == ["Activity_after"]
    assert instance(started["id"]).variables["answer"] == 42
    assert db.session.scalar(select(ElementCounter.incidents).where(
        ElementCounter.element_id == "Activity_flaky")) == 0
    assert [e.type for e in events(started["id"]) if e.type.startswith(("job_", "incident_"))] == [
        "job_failed", "job_failed", "incident_raised", "incident_resolved", "job_completed"]


def test_a_business_error_takes_the_error_boundary_path(ctx, analyst, admin, sent):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_error_boundary.bpmn")
    started = start(admin, "automation_error_boundary")
    [job] = jobs_of(started["id"])
    assert run(job.id) == "error"
    assert open_task_elements(started["id"]) == ["Activity_rejected"]
    [job] = jobs_of(started["id"])
    assert job.state == "error" and job.error_code == "REJECTED" and job.attempts == 1
    assert incidents_of(started["id"]) == []
    variables = instance(started["id"]).variables
    assert variables["errorCode"] == "REJECTED" and "refused" in variables["errorMessage"]


def test_an_uncaught_business_error_is_an_incident_at_once(ctx, analyst, admin, sent):  # type: ignore[no-untyped-def]
    deploy(analyst, one_task_process("uncaught_reject", "test.reject"))
    started = start(admin, "uncaught_reject")
    [job] = jobs_of(started["id"])
    assert run(job.id) == "incident"  # business errors are not retried
    [incident] = incidents_of(started["id"])
    assert incident.error_code == "REJECTED" and count(test_ops.attempts) == 1
    test_ops.set_switch(db.engine, "reject", "off")
    assert admin.post(f"/incidents/{incident.id}/retry").status_code == 202
    assert run(job.id) == "done"
    assert open_task_elements(started["id"]) == ["Activity_after"]


def test_a_dead_workers_job_is_recovered_and_its_late_result_refused(  # type: ignore[no-untyped-def]
        ctx, analyst, admin, sent):
    deploy(analyst, "automation_effect.bpmn")
    started = start(admin, "automation_effect")
    [job] = jobs_of(started["id"])
    lost = jobs.claim_job(job.id, "worker-that-dies")
    assert lost is not None and lost.attempt == 1
    assert jobs.claim_job(job.id, "another") is None  # claimed once
    db.session.remove()

    # Still leased: the sweeper leaves it alone.
    assert sweeper.sweep().jobs_recovered == 0
    db.session.execute(update(Job).where(Job.id == job.id).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    report = sweeper.sweep(utcnow() + timedelta(seconds=1))
    assert report.jobs_recovered == 1 and report.jobs_sent == 1
    [job] = jobs_of(started["id"])
    assert job.state == "sent" and job.error_code == "WORKER_LOST" and job.lease_token is None

    make_due(job.id)  # the sweep above ran one second ahead of the clock
    assert run(job.id) == "done"
    # The dead worker comes back with its old claim: its result is refused, nothing happens twice.
    assert jobs.deliver_result(lost, {"effect": "late"}) == "superseded"
    assert instance(started["id"]).variables["effect"] == "applied"
    assert open_task_elements(started["id"]) == ["Activity_after"]
    assert len(events(started["id"], "element_completed", "Activity_effect")) == 1


def test_the_sweeper_sends_what_the_broker_did_not_take(ctx, app, analyst, admin):  # type: ignore[no-untyped-def]
    def broken(job_ids: list[int]) -> None:
        raise ConnectionError("broker down")

    previous = app.extensions.get("guichet_job_sender")
    set_job_sender(app, broken)
    try:
        started = [start(admin, "automation_effect") for _ in range(3)] if deploy(
            analyst, "automation_effect.bpmn") else []
        ids = [jobs_of(s["id"])[0].id for s in started]
        assert {j.state for i in started for j in jobs_of(i["id"])} == {"pending"}  # still in the outbox

        recorded: list[int] = []
        set_job_sender(app, lambda job_ids: recorded.extend(job_ids))
        assert sweeper.sweep().jobs_sent == 0  # within the dispatch grace: the request may still send them
        later = utcnow() + timedelta(seconds=app.config["JOB_DISPATCH_GRACE_SECONDS"] + 1)
        assert sweeper.sweep(later).jobs_sent == 3
        assert sorted(recorded) == sorted(ids)
        assert {j.state for i in started for j in jobs_of(i["id"])} == {"sent"}

        # Sent but never taken (a broker that lost them): sent again after the send timeout only.
        assert sweeper.sweep(later).jobs_sent == 0
        much_later = later + timedelta(seconds=app.config["JOB_SEND_TIMEOUT_SECONDS"] + 1)
        assert sweeper.sweep(much_later).jobs_sent == 3
        for job_id in ids:
            assert run(job_id) == "done"
        assert all(open_task_elements(s["id"]) == ["Activity_after"] for s in started)
    finally:
        set_job_sender(app, previous)


def test_two_branch_results_at_once_both_kept_and_the_join_fires_once(  # type: ignore[no-untyped-def]
        ctx, app, analyst, admin, sent):
    deploy(analyst, "automation_parallel.bpmn")
    started = start(admin, "automation_parallel")
    job_ids = [j.id for j in jobs_of(started["id"])]
    assert len(job_ids) == 2
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def worker(job_id: int) -> None:
        with app.app_context():
            barrier.wait()
            outcomes.append(jobs.run_job(job_id, worker=f"thread-{job_id}"))
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(job_id,)) for job_id in job_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["done", "done"]
    variables = instance(started["id"]).variables
    assert variables["done_Activity_a"] is True and variables["done_Activity_b"] is True
    assert open_task_elements(started["id"]) == ["Activity_after"]
    assert len(events(started["id"], "element_completed", "Gateway_join")) == 1
    assert len(events(started["id"], "element_completed", "Activity_count")) == 1


def test_a_result_for_a_suspended_instance_waits_for_its_resumption(  # type: ignore[no-untyped-def]
        ctx, analyst, admin, sent):
    deploy(analyst, "automation_effect.bpmn")
    started = start(admin, "automation_effect")
    [job] = jobs_of(started["id"])
    claim = jobs.claim_job(job.id, "w")
    assert claim is not None
    db.session.remove()
    assert admin.post(f"/process-instances/{started['id']}/suspension").status_code == 204
    assert jobs.deliver_result(claim, {"effect": "computed"}) == "parked"
    [job] = jobs_of(started["id"])
    assert job.state == "pending" and job.result == {"effect": "computed"} and job.result_at is not None
    later = utcnow() + timedelta(seconds=60)
    assert sweeper.sweep(later).jobs_sent == 0  # a suspended instance's jobs wait
    assert run(job.id) == "skipped"

    assert admin.post(f"/process-instances/{started['id']}/resumption").status_code == 204
    assert sweeper.sweep(later).jobs_sent == 1
    assert run(job.id) == "done"
    assert count(test_ops.attempts) == 0  # delivered without running the operation again
    assert instance(started["id"]).variables["effect"] == "computed"


def test_jobs_of_a_cancelled_instance_never_run(ctx, analyst, admin, sent):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_effect.bpmn")
    started = start(admin, "automation_effect")
    [job] = jobs_of(started["id"])
    assert admin.post(f"/process-instances/{started['id']}/cancellation").status_code == 204
    assert run(job.id) == "skipped"
    assert jobs_of(started["id"])[0].state == "cancelled" and count(test_ops.attempts) == 0


def test_a_job_whose_task_an_event_interrupted_is_cancelled(ctx, analyst, admin, sent):  # type: ignore[no-untyped-def]
    boundary = """<bpmn:boundaryEvent id="Event_timeout" attachedToRef="Activity_job">
      <bpmn:outgoing>F4</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="F4" sourceRef="Event_timeout" targetRef="EndEvent_1" />"""
    deploy(analyst, one_task_process("job_with_deadline", "test.effect", boundary))
    started = start(admin, "job_with_deadline")
    [job] = jobs_of(started["id"])
    fired = admin.post(f"/process-instances/{started['id']}/timer-firing", json={"elementId": "Event_timeout"})
    assert fired.status_code == 200, fired.get_json()
    assert fired.get_json()["status"] == "completed"
    assert jobs_of(started["id"])[0].state == "cancelled"
    assert run(job.id) == "skipped" and count(test_ops.attempts) == 0


def test_retry_policy_and_backoff(ctx, analyst):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_flaky.bpmn", "automation_effect.bpmn")
    from app.services.runtime import latest_definition

    flaky, effect = latest_definition("automation_flaky"), latest_definition("automation_effect")
    assert retry_policy("test.flaky", flaky.id, "Activity_flaky") == (2, 0.2)  # the diagram says 2
    assert retry_policy("test.effect", effect.id, "Activity_effect") == (3, 0.2)  # the operation's default
    assert retry_policy("notify", None, "x") == (5, 30.0)
    assert retry_policy("bpmn.message", None, "x") == (5, 1.0)
    assert retry_policy("no.such.topic", None, "x") == (3, 10.0)
    delays = [backoff_delay(10, attempt) for attempt in (1, 2, 3, 4)]
    for delay, expected in zip(delays, (10, 20, 40, 80)):
        assert expected * 0.9 <= delay <= expected * 1.1
    assert backoff_delay(10, 30) <= 3600 * 1.1


def test_incident_search_validates_its_filter(admin):  # type: ignore[no-untyped-def]
    assert admin.post("/incidents/search", json={"filter": {"colour": "red"}}).status_code == 400
    assert admin.post("/incidents/search", json={"filter": {"state": "closed"}}).status_code == 400
    assert admin.post("/incidents/search", json={"filter": {"processInstanceId": "1"}}).status_code == 400
    assert admin.post("/incidents/search", json={}).get_json() == {"items": [], "page": {"totalItems": 0,
                                                                                         "endCursor": None}}
    assert admin.post("/incidents/999/retry").status_code == 404
    spec = admin.get("/openapi.json").get_json()
    assert "/incidents/search" in spec["paths"] and "202" in spec["paths"]["/incidents/{id}/retry"]["post"][
        "responses"]


def test_a_result_that_is_not_an_object_of_variables_is_an_incident(ctx, analyst, admin, sent):  # type: ignore[no-untyped-def]
    from app.services.operations import operation, unregister_operation

    operation("test.scalar", retries=0)(lambda job: 42)
    try:
        deploy(analyst, one_task_process("scalar_result", "test.scalar"))
        started = start(admin, "scalar_result")
        assert run(jobs_of(started["id"])[0].id) == "incident"
        [incident] = incidents_of(started["id"])
        assert incident.error_code == "BAD_RESULT" and "object of variables" in incident.message
    finally:
        unregister_operation("test.scalar")
