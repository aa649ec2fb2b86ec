"""Maintained counters agree with the rows they count, through starts, completions and cancellations."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.api.test_deployments import bpmn
from tests.api.test_tasks import TWO_LANES


def real_counts(app):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models import HumanTask, InstanceCounter, ProcessInstance, QueueCounter

    with app.app_context():
        tasks = dict(db.session.execute(select(HumanTask.queue, func.count()).where(HumanTask.state == "open")
                                        .group_by(HumanTask.queue)).all())
        kept_tasks = {q: n for q, n in db.session.execute(select(QueueCounter.queue, QueueCounter.open)) if n}
        instances = {(k, s): n for k, s, n in db.session.execute(
            select(ProcessInstance.definition_key, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.definition_key, ProcessInstance.status))}
        kept_instances = {(k, s): n for k, s, n in db.session.execute(
            select(InstanceCounter.definition_key, InstanceCounter.status, InstanceCounter.count)) if n}
        db.session.remove()
    return tasks, kept_tasks, instances, kept_instances


def test_counters_follow_every_change(app, analyst, login):  # type: ignore[no-untyped-def]
    boss = login("sue", "supervisor")
    analyst.deploy(("serve.bpmn", bpmn("serve", "Serve", TWO_LANES)))
    ids = [boss.post("/process-instances", json={"processDefinitionKey": "serve"}).get_json() for _ in range(5)]
    tasks, kept_tasks, instances, kept_instances = real_counts(app)
    assert tasks == kept_tasks == {"counter": 5}
    assert instances == kept_instances == {("serve", "running"): 5}

    task = ids[0]["openTasks"][0]
    boss.post(f"/tasks/{task['id']}/assignment")
    boss.post(f"/tasks/{task['id']}/completion", json={"variables": {}})
    boss.post(f"/process-instances/{ids[1]['id']}/cancellation")
    boss.post(f"/process-instances/{ids[2]['id']}/suspension")
    tasks, kept_tasks, instances, kept_instances = real_counts(app)
    assert tasks == kept_tasks == {"counter": 3}
    assert instances == kept_instances == {("serve", "running"): 2, ("serve", "completed"): 1,
                                           ("serve", "terminated"): 1, ("serve", "suspended"): 1}

    counts = boss.get("/tasks/counts").get_json()
    assert counts == {"queues": [{"queue": "counter", "open": 3, "overdue": 0}]}
    total = boss.post("/tasks/search", json={"filter": {"queue": "counter"}}).get_json()["page"]["totalItems"]
    assert total == 3


def test_recount_rebuilds_the_same_numbers(app, analyst, login):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.services.counters import recount_all

    boss = login("sue", "supervisor")
    analyst.deploy(("serve.bpmn", bpmn("serve", "Serve", TWO_LANES)))
    for _ in range(3):
        boss.post("/process-instances", json={"processDefinitionKey": "serve"})
    before = real_counts(app)
    with app.app_context():
        recount_all()
        db.session.commit()
        db.session.remove()
    assert real_counts(app) == before
