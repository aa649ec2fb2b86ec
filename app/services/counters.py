"""Maintain QueueCounter and InstanceCounter from every flush, whatever service changed the rows.

Rows changed by bulk statements that bypass the ORM (bench data loading) are recounted with
`recount_all()`.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import ElementCounter, HumanTask, ProcessInstance
from app.models._types import utcnow
from app.models.counters import DailyInstanceCounter, InstanceCounter, QueueCounter, QueueDueCounter


def hour_floor(value: datetime) -> datetime:
    """The start of the hour a moment falls in (the bucket of a due date)."""
    return value.replace(minute=0, second=0, microsecond=0)


def _old_value(obj: Any, attr: str) -> Any:
    history = inspect(obj).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, attr) if not history.added else None


Deltas = tuple[Counter[str], Counter[tuple[str, str]], Counter[tuple[str, datetime]], Counter[tuple[str, str]]]


def day_of(value: datetime | None) -> str:
    """The UTC day of a moment as YYYY-MM-DD (now when unknown)."""
    value = value or utcnow()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def _due_key(queue: str | None, due_at: datetime | None) -> tuple[str, datetime] | None:
    if due_at is None:
        return None
    if due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)
    return (queue or "", hour_floor(due_at.astimezone(UTC)))


def _count_task(queues: Counter[str], dues: Counter[tuple[str, datetime]], queue: str | None,
                due_at: datetime | None, delta: int) -> None:
    queues[queue or ""] += delta
    key = _due_key(queue, due_at)
    if key is not None:
        dues[key] += delta


def _deltas(session: Session) -> Deltas:
    queues: Counter[str] = Counter()
    instances: Counter[tuple[str, str]] = Counter()
    dues: Counter[tuple[str, datetime]] = Counter()
    days: Counter[tuple[str, str]] = Counter()
    for obj in session.new:
        if isinstance(obj, HumanTask) and obj.state == "open":
            _count_task(queues, dues, obj.queue, obj.due_at, +1)
        elif isinstance(obj, ProcessInstance):
            instances[(obj.definition_key, obj.status or "running")] += 1
            days[(day_of(obj.started_at), "started")] += 1
            if obj.status == "completed":
                days[(day_of(obj.ended_at), "completed")] += 1
    for obj in session.dirty:
        if isinstance(obj, HumanTask):
            attrs = inspect(obj).attrs
            if not any(attrs[a].history.has_changes() for a in ("state", "queue", "due_at")):
                continue
            if _old_value(obj, "state") == "open":
                _count_task(queues, dues, _old_value(obj, "queue"), _old_value(obj, "due_at"), -1)
            if obj.state == "open":
                _count_task(queues, dues, obj.queue, obj.due_at, +1)
        elif isinstance(obj, ProcessInstance):
            hist = inspect(obj).attrs["status"].history
            if hist.has_changes() and hist.deleted:
                instances[(obj.definition_key, hist.deleted[0])] -= 1
                instances[(obj.definition_key, obj.status)] += 1
                if obj.status == "completed":
                    days[(day_of(obj.ended_at), "completed")] += 1
    for obj in session.deleted:
        if isinstance(obj, HumanTask) and obj.state == "open":
            _count_task(queues, dues, obj.queue, obj.due_at, -1)
        elif isinstance(obj, ProcessInstance):
            instances[(obj.definition_key, obj.status)] -= 1
    return queues, instances, dues, days


def _insert(session: Session, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


PENDING_KEY = "guichet_counter_deltas"


@dataclass
class PendingCounts:
    """Counter deltas of one transaction, applied together just before its commit."""

    elements: Counter[tuple[int, str, str]] = field(default_factory=Counter)  # (definition, element, column)
    queues: Counter[str] = field(default_factory=Counter)
    dues: Counter[tuple[str, datetime]] = field(default_factory=Counter)
    days: Counter[tuple[str, str]] = field(default_factory=Counter)
    instances: Counter[tuple[str, str]] = field(default_factory=Counter)


def pending(session: Session) -> PendingCounts:
    """The deltas this transaction has accumulated so far."""
    counts = session.info.get(PENDING_KEY)
    if counts is None:
        counts = session.info[PENDING_KEY] = PendingCounts()
    return counts


def add_element_deltas(session: Session, definition_id: int, element_id: str, *, active: int = 0,
                       completed: int = 0, incidents: int = 0) -> None:
    """Count instances entering/leaving an element, completing it, or raising an incident on it."""
    elements = pending(session).elements
    for column, delta in (("active", active), ("completed", completed), ("incidents", incidents)):
        if delta:
            elements[(definition_id, element_id, column)] += delta


@event.listens_for(Session, "before_flush")
def _count_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    queues, instances, dues, days = _deltas(session)
    if queues or instances or dues or days:
        counts = pending(session)
        counts.queues.update(queues)
        counts.instances.update(instances)
        counts.dues.update(dues)
        counts.days.update(days)


@event.listens_for(Session, "before_commit")
def _apply_before_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # what is still pending adds its deltas first
    counts: PendingCounts | None = session.info.pop(PENDING_KEY, None)
    if counts is None:
        return
    # Counter rows are hot: they are locked only here, at the very end, always in the same order
    # (table by table, rows sorted), so two transactions never wait on each other in a cycle.
    _apply(session, counts)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(session: Session, model: Any, keys: list[str], columns: list[str], rows: list[dict[str, Any]]) -> None:
    """INSERT .. ON CONFLICT adding deltas, executed for many rows; built once per dialect and table
    so SQLAlchemy compiles it once."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt = _UPSERTS.get((dialect, model.__tablename__))
    if stmt is None:
        insert = _insert(session, model)
        table = model.__table__
        stmt = insert.on_conflict_do_update(index_elements=keys,
                                            set_={c: table.c[c] + insert.excluded[c] for c in columns})
        _UPSERTS[(dialect, model.__tablename__)] = stmt
    session.connection().execute(stmt, rows)


def _counter_rows(counts: PendingCounts) -> dict[str, list[dict[str, Any]]]:
    """The transaction's deltas as rows per counter table, sorted by key (the order rows are locked in)."""
    elements: dict[tuple[int, str], dict[str, Any]] = {}
    for (definition_id, element_id, column), delta in sorted(counts.elements.items()):
        elements.setdefault((definition_id, element_id), {
            "definition_id": definition_id, "element_id": element_id, "active": 0, "completed": 0,
            "incidents": 0})[column] += delta
    days: dict[str, dict[str, Any]] = {}
    for (day, kind), d in sorted(counts.days.items()):
        days.setdefault(day, {"day": day, "started": 0, "completed": 0})[kind] += d
    return {
        "elements": [r for r in elements.values() if r["active"] or r["completed"] or r["incidents"]],
        "queues": [{"queue": q, "open": d} for q, d in sorted(counts.queues.items()) if d],
        "dues": [{"queue": q, "due_hour": h, "open": d} for (q, h), d in sorted(counts.dues.items()) if d],
        "days": [r for r in days.values() if r["started"] or r["completed"]],
        "instances": [{"definition_key": k, "status": st, "count": d}
                      for (k, st), d in sorted(counts.instances.items()) if d],
    }


def _apply(session: Session, counts: PendingCounts) -> None:
    rows = _counter_rows(counts)
    if not any(rows.values()):
        return
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: migration 0009's function applies the tables in this order.
        payload = json.dumps(rows, default=lambda value: value.isoformat())
        session.connection().exec_driver_sql("SELECT guichet_apply_counters(%s::jsonb)", (payload,))
        return
    _upsert(session, ElementCounter, ["definition_id", "element_id"], ["active", "completed", "incidents"],
            rows["elements"])
    _upsert(session, QueueCounter, ["queue"], ["open"], rows["queues"])
    _upsert(session, QueueDueCounter, ["queue", "due_hour"], ["open"], rows["dues"])
    _upsert(session, DailyInstanceCounter, ["day"], ["started", "completed"], rows["days"])
    _upsert(session, InstanceCounter, ["definition_key", "status"], ["count"], rows["instances"])


def recount_all() -> None:
    """Rebuild both counter tables from the rows (after bulk loads, or to repair)."""
    db.session.execute(QueueCounter.__table__.delete())
    db.session.execute(QueueDueCounter.__table__.delete())
    db.session.execute(InstanceCounter.__table__.delete())
    db.session.execute(DailyInstanceCounter.__table__.delete())
    queue_rows = [{"queue": q or "", "open": n} for q, n in db.session.execute(
        select(HumanTask.queue, func.count()).where(HumanTask.state == "open").group_by(HumanTask.queue))]
    if queue_rows:
        db.session.execute(QueueCounter.__table__.insert(), queue_rows)
    due_counts: Counter[tuple[str, datetime]] = Counter()
    for queue, due_at, n in db.session.execute(
            select(HumanTask.queue, HumanTask.due_at, func.count()).where(HumanTask.state == "open",
                                                                          HumanTask.due_at.is_not(None))
            .group_by(HumanTask.queue, HumanTask.due_at)):
        due_counts[_due_key(queue, due_at)] += n  # type: ignore[index]
    if due_counts:
        db.session.execute(QueueDueCounter.__table__.insert(),
                           [{"queue": q, "due_hour": h, "open": n} for (q, h), n in due_counts.items()])
    fold_past_due_counters()
    _recount_days()
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


# Past buckets are folded into this one per queue, so overdue counts add up a few rows per queue.
FOLDED_HOUR = datetime(1970, 1, 1, tzinfo=UTC)


def fold_past_due_counters(now: datetime | None = None) -> int:
    """Add every bucket older than a day into its queue's folded bucket; the number of buckets folded.

    Counts are additive deltas, so a task leaving a folded hour later simply writes -1 to a new row of
    that hour, which the next fold takes in.
    """
    limit = hour_floor(now or utcnow()) - timedelta(days=1)
    table = QueueDueCounter.__table__
    old = (table.c.due_hour < limit) & (table.c.due_hour > FOLDED_HOUR)
    rows = db.session.execute(select(table.c.queue, func.sum(table.c.open), func.count())
                              .where(old).group_by(table.c.queue)).all()
    if not rows:
        return 0
    db.session.execute(table.delete().where(old))
    stmt = _insert(db.session, QueueDueCounter)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["queue", "due_hour"],
                                                  set_={"open": QueueDueCounter.open + stmt.excluded.open}),
                       [{"queue": q, "due_hour": FOLDED_HOUR, "open": int(n)} for q, n, _c in rows])
    return sum(int(c) for _q, _n, c in rows)


def overdue_tasks_by_queue(queues: list[str] | None, now: datetime | None = None) -> dict[str, int]:
    """Open tasks past their due date per queue: whole past hours from the buckets, this hour from the rows."""
    now = now or utcnow()
    this_hour = hour_floor(now)
    past = select(QueueDueCounter.queue, func.sum(QueueDueCounter.open)).where(
        QueueDueCounter.due_hour < this_hour).group_by(QueueDueCounter.queue)
    current = select(HumanTask.queue, func.count()).where(
        HumanTask.state == "open", HumanTask.due_at >= this_hour, HumanTask.due_at < now).group_by(HumanTask.queue)
    if queues is not None:
        past = past.where(QueueDueCounter.queue.in_(queues))
        current = current.where(HumanTask.queue.in_(queues))
    counts: Counter[str] = Counter()
    for queue, n in db.session.execute(past):
        counts[queue] += int(n or 0)
    for queue, n in db.session.execute(current):
        counts[queue or ""] += int(n)
    return {q: n for q, n in counts.items() if n}


def _recount_days() -> None:
    day_rows: dict[str, dict[str, Any]] = {}
    for column, kind, condition in ((ProcessInstance.started_at, "started", None),
                                    (ProcessInstance.ended_at, "completed", ProcessInstance.status == "completed")):
        stmt = select(func.date(column), func.count()).where(column.is_not(None)).group_by(func.date(column))
        if condition is not None:
            stmt = stmt.where(condition)
        for day, n in db.session.execute(stmt):
            key = str(day)[:10]
            day_rows.setdefault(key, {"day": key, "started": 0, "completed": 0})[kind] += int(n)
    if day_rows:
        db.session.execute(DailyInstanceCounter.__table__.insert(), list(day_rows.values()))


def instances_per_day(first_day: str, last_day: str) -> dict[str, tuple[int, int]]:
    """(started, completed) per UTC day between two YYYY-MM-DD days, inclusive."""
    stmt = select(DailyInstanceCounter.day, DailyInstanceCounter.started, DailyInstanceCounter.completed).where(
        DailyInstanceCounter.day >= first_day, DailyInstanceCounter.day <= last_day)
    return {day: (int(s), int(c)) for day, s, c in db.session.execute(stmt)}
