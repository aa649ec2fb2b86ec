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
    from app.models._types import utcnow
    from app.services import counters, dashboard

    with app.app_context():
        today = utcnow().date().isoformat()
        assert counters.instances_per_day(today, today) == {today: (5, 1)}
        chart = dashboard.instances_per_day(3)
        assert (chart[-1].started, chart[-1].completed) == (5, 1) and chart[0].started == 0
        db_remove(app)
    total = boss.post("/tasks/search", json={"filter": {"queue": "counter"}}).get_json()["page"]["totalItems"]
    assert total == 3


def db_remove(app):  # type: ignore[no-untyped-def]
    from app.extensions import db

    db.session.remove()


def test_recount_rebuilds_the_same_numbers(app, analyst, login):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models import DailyInstanceCounter
    from app.services.counters import recount_all

    boss = login("sue", "supervisor")
    analyst.deploy(("serve.bpmn", bpmn("serve", "Serve", TWO_LANES)))
    for _ in range(3):
        task = boss.post("/process-instances", json={"processDefinitionKey": "serve"}).get_json()["openTasks"][0]
    boss.post(f"/tasks/{task['id']}/assignment")
    boss.post(f"/tasks/{task['id']}/completion", json={"variables": {}})
    before = real_counts(app)

    def days():  # type: ignore[no-untyped-def]
        with app.app_context():
            rows = {d.day: (d.started, d.completed) for d in db.session.scalars(select(DailyInstanceCounter))}
            db.session.remove()
        return rows

    days_before = days()
    assert list(days_before.values()) == [(3, 1)]
    with app.app_context():
        recount_all()
        db.session.commit()
        db.session.remove()
    assert real_counts(app) == before
    assert days() == days_before


def test_overdue_counts_from_hour_buckets(app, analyst, login):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from app.extensions import db
    from app.models import HumanTask, QueueDueCounter
    from app.models._types import utcnow
    from app.services.counters import overdue_tasks_by_queue, recount_all

    boss = login("sue", "supervisor")
    analyst.deploy(("serve.bpmn", bpmn("serve", "Serve", TWO_LANES)))
    for _ in range(5):
        boss.post("/process-instances", json={"processDefinitionKey": "serve"})
    now = utcnow()
    with app.app_context():
        tasks = db.session.scalars(select(HumanTask).order_by(HumanTask.id)).all()
        # Moved through the ORM, like any service would: the buckets follow the due dates.
        tasks[0].due_at = now - timedelta(hours=3)
        tasks[1].due_at = now - timedelta(days=2)
        tasks[2].due_at = now - timedelta(seconds=1)
        tasks[3].due_at = now + timedelta(hours=5)
        db.session.commit()
        assert overdue_tasks_by_queue(None) == {"counter": 3}
        from app.services.counters import fold_past_due_counters

        assert fold_past_due_counters() == 1  # the bucket two days back
        kept = {(b.queue, b.due_hour): b.open for b in db.session.scalars(select(QueueDueCounter)) if b.open}
        # The task due two days ago is done: its hour was folded, its -1 lands in a row of its own.
        # (Counters move at commit, all together, in one order: see app/services/counters.py.)
        tasks[1].state = "completed"
        db.session.commit()
        assert overdue_tasks_by_queue(None) == {"counter": 2}
        tasks[1].state = "open"
        db.session.commit()
        assert fold_past_due_counters() == 1
        recount_all()
        rebuilt = {(b.queue, b.due_hour): b.open for b in db.session.scalars(select(QueueDueCounter)) if b.open}
        assert kept == rebuilt
        db.session.rollback()
        db.session.remove()
    counts = boss.get("/tasks/counts").get_json()["queues"]
    assert counts == [{"queue": "counter", "open": 5, "overdue": 3}]
    overdue = boss.post("/tasks/search", json={"filter": {"overdue": True}}).get_json()
    assert overdue["page"]["totalItems"] == 3
