"""Read-only aggregates for the supervisors' dashboard and the pages (no writes here)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.models._types import utcnow


@dataclass
class QueueLoad:
    queue: str
    open: int
    overdue: int
    unassigned: int


@dataclass
class DayCount:
    day: date
    started: int
    completed: int


def queue_load(now: datetime | None = None) -> list[QueueLoad]:
    """Open, overdue and unassigned tasks per queue (all queues: the dashboard is for supervisors)."""
    now = now or utcnow()
    stmt = (select(HumanTask.queue, func.count(),
                   func.sum(case((HumanTask.due_at < now, 1), else_=0)),
                   func.sum(case((HumanTask.assignee.is_(None), 1), else_=0)))
            .where(HumanTask.state == "open").group_by(HumanTask.queue).order_by(func.count().desc()))
    return [QueueLoad(queue or "—", int(n), int(o or 0), int(u or 0)) for queue, n, o, u in db.session.execute(stmt)]


def _per_day(column: Any, since: datetime, *conditions: Any) -> dict[date, int]:
    day = func.date(column)
    rows = db.session.execute(select(day, func.count()).where(column >= since, *conditions).group_by(day))
    # SQLite answers 'YYYY-MM-DD' strings, PostgreSQL dates.
    return {(value if isinstance(value, date) else date.fromisoformat(str(value))): int(n) for value, n in rows}


def instances_per_day(days: int = 14, now: datetime | None = None) -> list[DayCount]:
    """Instances started and completed on each of the last `days` days, oldest first."""
    now = now or utcnow()
    first = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    started = _per_day(ProcessInstance.started_at, first)
    completed = _per_day(ProcessInstance.ended_at, first, ProcessInstance.status == "completed")
    return [DayCount(d, started.get(d, 0), completed.get(d, 0))
            for d in ((first + timedelta(days=i)).date() for i in range(days))]


def oldest_open_tasks(limit: int = 10) -> list[HumanTask]:
    """The open tasks waiting longest (by creation time)."""
    return list(db.session.scalars(select(HumanTask).where(HumanTask.state == "open")
                                   .order_by(HumanTask.created_at, HumanTask.id).limit(limit)))


def instance_status_counts() -> dict[str, int]:
    """Instances per status."""
    stmt = select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)
    return {status: int(n) for status, n in db.session.execute(stmt)}


def instance_documents(instance_id: int) -> list[Any]:
    """Documents filed for an instance; empty where the documents module is not installed."""
    try:
        documents = importlib.import_module("app.services.documents")
    except ImportError:
        return []
    return list(documents.documents_of_instance(instance_id))


def latest_forms() -> list[Any]:
    """The latest version of every deployed form, by form key."""
    from app.models import FormDefinition

    newest = (select(FormDefinition.form_key, func.max(FormDefinition.version).label("version"))
              .group_by(FormDefinition.form_key).subquery())
    return list(db.session.scalars(select(FormDefinition).join(
        newest, (FormDefinition.form_key == newest.c.form_key) & (FormDefinition.version == newest.c.version))
        .order_by(FormDefinition.form_key)))
