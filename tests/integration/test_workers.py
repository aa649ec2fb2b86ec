"""Automated steps with real worker processes, PostgreSQL and Redis: crashes, broker outages, races, failures, timers.

Each test starts its own `celery worker` processes (see conftest.py) and stops them at the end.
"""
from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import tests.integration.operations as test_ops
from app.extensions import db
from app.models import HumanTask, Incident, InstanceEvent, Job
from tests.integration.conftest import Env, Workers, make_app
from tests.integration.support import (
    count,
    deploy,
    events,
    incidents_of,
    instance,
    jobs_of,
    open_task_elements,
    open_tasks,
    start,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


def all_moved_on(instance_ids: list[int], element: str = "Activity_after") -> bool:
    return all(open_task_elements(i) == [element] for i in instance_ids)


def test_a_worker_killed_while_it_runs_jobs_loses_nothing_and_duplicates_nothing(  # type: ignore[no-untyped-def]
        env: Env, workers: Workers):
    api, analyst = env.api("root"), env.api("ana")
    deploy(analyst, "automation_effect.bpmn")
    doomed = workers.start("doomed", concurrency=4, beat=True)
    ids = [start(api, "automation_effect", sleep=1.5)["id"] for _ in range(8)]

    # Kill -9 the worker (and its pool) while it runs jobs, some effects applied, some not.
    wait_until(lambda: count(Job, Job.state == "running") >= 3, timeout=20, message="jobs running")
    time.sleep(0.5)
    workers.kill(doomed)
    assert count(Job, Job.state == "done") < 8  # it died with work in its hands

    workers.start("rescuer", concurrency=4, beat=True)
    wait_until(lambda: all_moved_on(ids), timeout=40, message="every instance past its job")

    for instance_id in ids:
        [job] = jobs_of(instance_id)
        assert job.state == "done"
        assert len(open_tasks(instance_id)) == 1
        assert len(events(instance_id, "element_completed", "Activity_effect")) == 1
        assert len(events(instance_id, "job_completed")) == 1
        assert instance(instance_id).variables["effect"] == "applied"
    # Every effect applied once, although some operations ran twice (the killed ones).
    assert count(test_ops.effects) == 8
    assert count(test_ops.attempts) > 8
    assert count(HumanTask, HumanTask.element_id == "Activity_after") == 8
    assert count(Incident) == 0
    recovered = db.session.scalar(select(func.count()).select_from(InstanceEvent).where(
        InstanceEvent.type == "job_failed"))
    db.session.rollback()
    assert recovered >= 1  # the lost attempts were counted, then retried


def test_jobs_wait_in_the_outbox_while_the_broker_is_unreachable(  # type: ignore[no-untyped-def]
        env: Env, workers: Workers, tmp_path):
    from tests.conftest import free_port

    deploy(env.api("ana"), "automation_effect.bpmn")
    # The web process sees no broker (a closed port): starting instances still works, quickly.
    cut_off = make_app(env.database_url, f"redis://127.0.0.1:{free_port()}/0", tmp_path)
    from tests.conftest import Api

    client = cut_off.test_client()
    api = Api(client, env.tokens["root"])
    began = time.monotonic()
    with cut_off.app_context():
        ids = [start(api, "automation_effect")["id"] for _ in range(5)]
        db.session.remove()
    assert time.monotonic() - began < 10
    assert {j.state for i in ids for j in jobs_of(i)} == {"pending"}
    assert all(open_task_elements(i) == [] for i in ids)

    # The broker is back for the workers: the sweeper sends what the requests could not.
    workers.start("sweeping", concurrency=2, beat=True)
    wait_until(lambda: all_moved_on(ids), timeout=30, message="outbox jobs delivered")
    assert {j.state for i in ids for j in jobs_of(i)} == {"done"}
    assert count(test_ops.effects) == 5 and count(test_ops.attempts) == 5


def test_two_branch_results_delivered_at_once_by_two_workers(env: Env, workers: Workers):  # type: ignore[no-untyped-def]
    api = env.api("root")
    deploy(env.api("ana"), "automation_parallel.bpmn")
    workers.start("left", concurrency=1)
    workers.start("right", concurrency=1)
    ids = []
    for _ in range(4):
        ids.append(start(api, "automation_parallel")["id"])
        # One instance at a time: both workers hold one branch each, and deliver together.
        wait_until(lambda: all_moved_on(ids), timeout=30, message="both branches joined")

    for instance_id in ids:
        branch_jobs = jobs_of(instance_id)
        assert [j.state for j in branch_jobs] == ["done", "done"]
        assert len({j.worker.split(":")[0] for j in branch_jobs}) >= 1
        variables = instance(instance_id).variables
        assert variables["done_Activity_a"] is True and variables["done_Activity_b"] is True
        assert len(events(instance_id, "element_completed", "Gateway_join")) == 1
        assert len(events(instance_id, "element_completed", "Activity_count")) == 1
        assert len(open_tasks(instance_id)) == 1
    # The two jobs of an instance ran in different worker processes, at the same time.
    workers_seen = {tuple(sorted(j.worker for j in jobs_of(i))) for i in ids}
    assert all(len(set(pair)) == 2 for pair in workers_seen)
    assert count(Incident) == 0


def test_a_failing_operation_retries_then_raises_an_incident_and_a_retry_continues(  # type: ignore[no-untyped-def]
        env: Env, workers: Workers):
    api = env.api("root")
    deploy(env.api("ana"), "automation_flaky.bpmn")
    test_ops.set_switch(db.engine, "flaky", "broken")
    workers.start("flaky", concurrency=2, beat=True)
    started = start(api, "automation_flaky")
    [incident] = wait_until(lambda: incidents_of(started["id"]), timeout=30, message="an incident")
    [job] = jobs_of(started["id"])
    assert job.state == "failed" and job.attempts == 3  # retries=2 in the diagram: three attempts
    assert count(test_ops.attempts) == 3
    failures = events(started["id"], "job_failed")
    assert [e.details["attempt"] for e in failures] == [1, 2]
    # Backoff base 0.2 s doubling, +-10 % jitter: 0.2 s before the second attempt, 0.4 s before the third.
    delays = [e.details["retryInSeconds"] for e in failures]
    assert 0.17 <= delays[0] <= 0.23 and 0.35 <= delays[1] <= 0.45, delays
    # ...and the worker kept to it: the second attempt did not run before its backoff was over.
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(failures)]
    assert gaps[0] >= delays[0] - 0.05, (gaps, delays)
    found = api.post("/incidents/search", json={"filter": {"processInstanceId": started["id"]}}).get_json()
    assert [i["id"] for i in found["items"]] == [incident.id]

    test_ops.set_switch(db.engine, "flaky", None)
    assert api.post(f"/incidents/{incident.id}/retry").status_code == 202
    wait_until(lambda: open_task_elements(started["id"]) == ["Activity_after"], timeout=20, message="retried job")
    assert instance(started["id"]).variables["answer"] == 42
    assert incidents_of(started["id"])[0].state == "resolved"


def test_timers_fire_within_seconds_a_boundary_escalates_and_a_cycle_fires_twice(  # type: ignore[no-untyped-def]
        env: Env, workers: Workers):
    api = env.api("root")
    deploy(env.api("ana"), "automation_timers.bpmn")
    workers.start("clock", concurrency=1, beat=True)
    started = start(api, "automation_timers")
    dues = {w["elementId"]: w["dueAt"] for w in started["waitingFor"]}
    wait_until(lambda: "Activity_escalated" in open_task_elements(started["id"]), timeout=20,
               message="the escalation")
    tasks = open_tasks(started["id"])
    assert [t.element_id for t in tasks] == ["Activity_reminded", "Activity_reminded", "Activity_escalated"]
    assert tasks[-1].queue == "supervisors"
    fired = events(started["id"], "timer_fired")
    assert [e.element_id for e in fired] == ["Event_reminder", "Event_reminder", "Event_deadline"]
    from datetime import datetime

    deadline_due = datetime.fromisoformat(dues["Event_deadline"])
    reminder_due = datetime.fromisoformat(dues["Event_reminder"])
    assert timedelta(0) <= fired[2].at - deadline_due < timedelta(seconds=1.5)
    assert timedelta(0) <= fired[0].at - reminder_due < timedelta(seconds=1.5)
    assert timedelta(seconds=0.8) < fired[1].at - fired[0].at < timedelta(seconds=2)
    assert instance(started["id"]).status == "running" and count(Incident) == 0
