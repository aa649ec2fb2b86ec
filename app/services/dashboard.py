"""Read-only aggregates for the supervisors' dashboard and the pages (no writes here)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, InstanceCounter
from app.models._types import utcnow
from app.services import counters


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
    """Open, overdue and unassigned tasks per queue (all queues: the dashboard is for supervisors).

    Open and overdue come from the maintained counters; unassigned = open - assigned, and the
    assigned open tasks are few and indexed (assignee, state), so nothing scans the whole inbox.
    """
    opened = counters.open_tasks_by_queue(None)
    overdue = counters.overdue_tasks_by_queue(None, now)
    assigned = {queue or "": int(n) for queue, n in db.session.execute(
        select(HumanTask.queue, func.count()).where(HumanTask.assignee.is_not(None), HumanTask.state == "open")
        .group_by(HumanTask.queue))}
    loads = [QueueLoad(queue or "—", n, overdue.get(queue, 0), n - assigned.get(queue, 0))
             for queue, n in opened.items()]
    return sorted(loads, key=lambda load: (-load.open, load.queue))


def instances_per_day(days: int = 14, now: datetime | None = None) -> list[DayCount]:
    """Instances started and completed on each of the last `days` days, oldest first (from counters)."""
    now = now or utcnow()
    first = (now - timedelta(days=days - 1)).date()
    counts = counters.instances_per_day(first.isoformat(), now.date().isoformat())
    return [DayCount(d, *counts.get(d.isoformat(), (0, 0))) for d in (first + timedelta(days=i) for i in range(days))]


def oldest_open_tasks(limit: int = 10) -> list[HumanTask]:
    """The open tasks waiting longest (by creation time)."""
    return list(db.session.scalars(select(HumanTask).where(HumanTask.state == "open")
                                   .order_by(HumanTask.created_at, HumanTask.id).limit(limit)))


def instance_status_counts() -> dict[str, int]:
    """Instances per status, from the maintained counters."""
    stmt = select(InstanceCounter.status, func.sum(InstanceCounter.count)).group_by(InstanceCounter.status)
    return {status: int(n) for status, n in db.session.execute(stmt) if n}


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
