"""Maintain QueueCounter and InstanceCounter from every flush, whatever service changed the rows.

Rows changed by bulk statements that bypass the ORM (bench data loading) are recounted with
`recount_all()`.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.models.counters import InstanceCounter, QueueCounter


def _old_value(obj: Any, attr: str) -> Any:
    history = inspect(obj).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, attr) if not history.added else None


def _deltas(session: Session) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    queues: Counter[str] = Counter()
    instances: Counter[tuple[str, str]] = Counter()
    for obj in session.new:
        if isinstance(obj, HumanTask) and obj.state == "open":
            queues[obj.queue or ""] += 1
        elif isinstance(obj, ProcessInstance):
            instances[(obj.definition_key, obj.status or "running")] += 1
    for obj in session.dirty:
        if isinstance(obj, HumanTask):
            state_hist = inspect(obj).attrs["state"].history
            queue_hist = inspect(obj).attrs["queue"].history
            if not state_hist.has_changes() and not queue_hist.has_changes():
                continue
            old_state, old_queue = _old_value(obj, "state"), _old_value(obj, "queue")
            if old_state == "open":
                queues[old_queue or ""] -= 1
            if obj.state == "open":
                queues[obj.queue or ""] += 1
        elif isinstance(obj, ProcessInstance):
            hist = inspect(obj).attrs["status"].history
            if hist.has_changes() and hist.deleted:
                instances[(obj.definition_key, hist.deleted[0])] -= 1
                instances[(obj.definition_key, obj.status)] += 1
    for obj in session.deleted:
        if isinstance(obj, HumanTask) and obj.state == "open":
            queues[obj.queue or ""] -= 1
        elif isinstance(obj, ProcessInstance):
            instances[(obj.definition_key, obj.status)] -= 1
    return queues, instances


def _insert(session: Session, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


@event.listens_for(Session, "before_flush")
def _count_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    queues, instances = _deltas(session)
    conn = session.connection()
    # Sorted so that concurrent transactions lock counter rows in the same order.
    queue_rows = [{"queue": q, "open": d} for q, d in sorted(queues.items()) if d]
    if queue_rows:
        stmt = _insert(session, QueueCounter)
        conn.execute(stmt.on_conflict_do_update(index_elements=["queue"],
                                                set_={"open": QueueCounter.open + stmt.excluded.open}), queue_rows)
    instance_rows = [{"definition_key": k, "status": s, "count": d} for (k, s), d in sorted(instances.items()) if d]
    if instance_rows:
        stmt = _insert(session, InstanceCounter)
        conn.execute(stmt.on_conflict_do_update(index_elements=["definition_key", "status"],
                                                set_={"count": InstanceCounter.count + stmt.excluded.count}),
                     instance_rows)


def recount_all() -> None:
    """Rebuild both counter tables from the rows (after bulk loads, or to repair)."""
    db.session.execute(QueueCounter.__table__.delete())
    db.session.execute(InstanceCounter.__table__.delete())
    queue_rows = [{"queue": q or "", "open": n} for q, n in db.session.execute(
        select(HumanTask.queue, func.count()).where(HumanTask.state == "open").group_by(HumanTask.queue))]
    if queue_rows:
        db.session.execute(QueueCounter.__table__.insert(), queue_rows)
    instance_rows = [{"definition_key": k, "status": s, "count": n} for k, s, n in db.session.execute(
        select(ProcessInstance.definition_key, ProcessInstance.status, func.count())
        .group_by(ProcessInstance.definition_key, ProcessInstance.status))]
    if instance_rows:
        db.session.execute(InstanceCounter.__table__.insert(), instance_rows)


def open_tasks_by_queue(queues: list[str] | None) -> dict[str, int]:
    """Open tasks per queue from the counters (all queues when None)."""
    stmt = select(QueueCounter.queue, QueueCounter.open).where(QueueCounter.open != 0)
    if queues is not None:
        stmt = stmt.where(QueueCounter.queue.in_(queues))
    return {q: int(n) for q, n in db.session.execute(stmt)}


def instances_by_status(definition_key: str | None, statuses: list[str]) -> int:
    """Instances with one of these statuses (of one definition key, or all)."""
    stmt = select(func.coalesce(func.sum(InstanceCounter.count), 0)).where(InstanceCounter.status.in_(statuses))
    if definition_key is not None:
        stmt = stmt.where(InstanceCounter.definition_key == definition_key)
    return int(db.session.scalar(stmt) or 0)
