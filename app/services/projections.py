"""Write what an engine snapshot means into the tables people and workers read.

The instance state and every projection (human tasks, jobs, timers, subscriptions, business
variables, element counters, history) change in the caller's single transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    HumanTask,
    InstanceEvent,
    InstanceVariable,
    Job,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Timer,
)
from app.models._types import utcnow
from app.services import counters, task_rules
from workflows import Snapshot

PENDING_JOBS_KEY = "guichet_jobs_to_dispatch"


EVENTS_KEY = "guichet_events"


def record_event(instance_id: int, type_: str, actor: str | None, *, element_id: str | None = None,
                 task_id: int | None = None, details: dict[str, Any] | None = None,
                 at: datetime | None = None, task: HumanTask | None = None) -> None:
    """Append one line to the instance's history (written in one batch just before the commit).

    `task` names a task row that may not have its id yet: the id is read when the line is written.
    """
    db.session.info.setdefault(EVENTS_KEY, []).append(
        {"instance_id": instance_id, "type": type_, "actor": actor, "element_id": element_id, "task_id": task_id,
         "details": details, "at": at or utcnow(), "task": task})


def write_pending_events(session: Any) -> None:
    """Insert the history lines recorded in this transaction with one statement."""
    rows = session.info.pop(EVENTS_KEY, None)
    if not rows:
        return
    if session.new:
        session.flush()  # new task rows get the ids their lines name
    for row in rows:
        task = row.pop("task")
        if task is not None:
            row["task_id"] = task.id
    session.execute(InstanceEvent.__table__.insert(), rows)


@event.listens_for(Session, "before_commit")
def _events_before_commit(session: Session) -> None:
    write_pending_events(session)


@event.listens_for(Session, "after_rollback")
def _events_after_rollback(session: Session) -> None:
    session.info.pop(EVENTS_KEY, None)


OPEN_TASKS_KEY = "guichet_open_tasks"


def remember_open_tasks(instance_id: int, rows: list[HumanTask]) -> None:
    """Keep the open task rows of an instance this session just brought in line with its engine state."""
    db.session.info.setdefault(OPEN_TASKS_KEY, {})[instance_id] = rows


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_open_tasks(session: Session) -> None:
    # Good for the transaction that synced them only: answers are shaped before the commit.
    session.info.pop(OPEN_TASKS_KEY, None)


def known_open_tasks(instance_id: int) -> list[HumanTask] | None:
    """The instance's open tasks when this session synced them (still open, by id), else None: ask the table."""
    rows = db.session.info.get(OPEN_TASKS_KEY, {}).get(instance_id)
    if rows is None:
        return None
    if any(row.id is None for row in rows):
        db.session.flush()  # asked before the commit: the new rows get their ids now
    return sorted((row for row in rows if row.state == "open"), key=lambda row: row.id)


def fill_from_snapshot(instance: ProcessInstance, snap: Snapshot, now: datetime) -> bool:
    """Copy the snapshot onto the instance row, touching only what changed; True when it just completed."""
    values = {"state": snap.state, "variables": snap.variables, "active_element_ids": list(snap.active_element_ids),
              "completed_element_ids": list(snap.completed_element_ids),
              "waiting": [_waiting_json(w) for w in snap.waiting], "task_count": snap.task_count}
    for name, value in values.items():
        # JSON columns compare by identity: assigning an equal value would still cost an UPDATE.
        if getattr(instance, name) != value:
            setattr(instance, name, value)
    if snap.completed and instance.status == "running":
        instance.status = "completed"
        instance.ended_at = now
        return True
    return False


def apply_snapshot(instance: ProcessInstance, definition: ProcessDefinition, snap: Snapshot,
                   actor: str | None, *, is_new: bool = False) -> None:
    """Store the engine state and bring every projection of the instance in line with it."""
    now = utcnow()
    before_active = set(instance.active_element_ids or []) if not is_new else set()
    before_completed = set(instance.completed_element_ids or []) if not is_new else set()
    had_waiting = bool(instance.waiting) and not is_new
    just_completed = fill_from_snapshot(instance, snap, now)
    if is_new and instance.status == "completed" and instance.ended_at is not None:
        just_completed = True  # completed during its very first run (filled before the insert)
    if is_new:
        db.session.add(instance)
    db.session.flush()

    _sync_human_tasks(instance, definition, snap, actor, now, is_new)
    _sync_jobs(instance, snap, is_new)
    if had_waiting or snap.waiting:
        _sync_waiting(instance, snap, had_waiting)
    _index_variables(instance, definition, is_new)
    # In the order the engine completed them, so the history reads like the process ran.
    newly_completed = [e for e in dict.fromkeys(snap.completed_element_ids) if e not in before_completed]
    for element_id in newly_completed:
        record_event(instance.id, "element_completed", actor, element_id=element_id, at=now)
    if just_completed:
        record_event(instance.id, "instance_completed", actor, at=now)
    _bump_counters(definition.id, before_active, set(snap.active_element_ids), newly_completed)


def _waiting_json(w: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"type": w.type, "name": w.name, "elementId": w.element_id}
    if w.correlation_key is not None:
        item["correlationKey"] = w.correlation_key
    if w.due_at is not None:
        item["dueAt"] = w.due_at.isoformat()
    return item


_OPEN_TASKS = select(HumanTask).where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.state == "open")


def _sync_human_tasks(instance: ProcessInstance, definition: ProcessDefinition, snap: Snapshot,
                      actor: str | None, now: datetime, is_new: bool) -> None:
    open_rows: dict[str, HumanTask] = {}
    if not is_new:
        open_rows = {t.engine_task_id: t for t in db.session.scalars(_OPEN_TASKS, {"instance_id": instance.id})}
    ready_ids = set()
    created: list[HumanTask] = []
    for view in snap.user_tasks:
        ready_ids.add(view.task_id)
        if view.task_id in open_rows:
            continue
        task = HumanTask(
            instance_id=instance.id, engine_task_id=view.task_id, element_id=view.element_id, name=view.name,
            definition_key=definition.key, business_key=instance.business_key, queue=view.queue,
            state="open", priority=int(view.priority if view.priority is not None else 50),
            due_at=view.due_at, form_key=view.form_key, created_at=now,
            rules=task_rules.element_rules(definition, view.element_id),
        )
        db.session.add(task)
        created.append(task)
        record_event(instance.id, "task_created", actor, element_id=view.element_id, task=task,
                     details={"queue": view.queue}, at=now)
    still_open = [row for engine_id, row in open_rows.items() if engine_id in ready_ids] + created
    remember_open_tasks(instance.id, still_open)
    task_rules.keep_exclusions_current(still_open)
    for engine_id, row in open_rows.items():
        if engine_id not in ready_ids:
            # The engine no longer waits on it (interrupting boundary event, cancellation...).
            row.state = "cancelled"
            row.completed_at = now
            record_event(instance.id, "task_cancelled", actor, element_id=row.element_id, task_id=row.id, at=now)


def _sync_jobs(instance: ProcessInstance, snap: Snapshot, is_new: bool) -> None:
    known: set[str] = set()
    if not is_new and snap.jobs:
        known = set(db.session.scalars(select(Job.engine_task_id).where(
            Job.instance_id == instance.id, Job.state.in_(("pending", "sent", "running", "failed")))))
    created = []
    for view in snap.jobs:
        if view.task_id in known:
            continue
        job = Job(instance_id=instance.id, engine_task_id=view.task_id, element_id=view.element_id,
                  topic=view.topic, state="pending", input=view.input,
                  max_retries=view.retries if view.retries is not None else 3)
        db.session.add(job)
        created.append(job)
    if created:
        db.session.flush()
        db.session.info.setdefault(PENDING_JOBS_KEY, []).extend(j.id for j in created)


def _sync_waiting(instance: ProcessInstance, snap: Snapshot, had_waiting: bool) -> None:
    if had_waiting:
        db.session.execute(Timer.__table__.delete().where(Timer.instance_id == instance.id,
                                                          Timer.state == "waiting"))
        db.session.execute(MessageSubscription.__table__.delete().where(
            MessageSubscription.instance_id == instance.id))
    if instance.status in ("completed", "terminated"):
        return
    for w in snap.waiting:
        if w.type == "timer":
            db.session.add(Timer(instance_id=instance.id, element_id=w.element_id, due_at=w.due_at))
        elif w.type in ("message", "signal"):
            db.session.add(MessageSubscription(instance_id=instance.id, type=w.type, name=w.name,
                                               element_id=w.element_id, correlation_key=w.correlation_key))


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)[:255]
    return None


def _index_variables(instance: ProcessInstance, definition: ProcessDefinition, is_new: bool) -> None:
    names = definition.searchable_variables
    if not names:
        return
    wanted = {n: _scalar_text(instance.variables.get(n)) for n in names if n in (instance.variables or {})}
    wanted = {n: v for n, v in wanted.items() if v is not None}
    existing: dict[str, InstanceVariable] = {}
    if not is_new:
        existing = {v.name: v for v in db.session.scalars(
            select(InstanceVariable).where(InstanceVariable.instance_id == instance.id))}
    for name, value in wanted.items():
        row = existing.get(name)
        if row is None:
            db.session.add(InstanceVariable(instance_id=instance.id, name=name, value=value))
        elif row.value != value:
            row.value = value
    for name, row in existing.items():
        if name not in wanted:
            db.session.delete(row)


def _bump_counters(definition_id: int, before_active: set[str], after_active: set[str],
                   newly_completed: Iterable[str]) -> None:
    """Element counters move with the instance (applied at commit with every other counter)."""
    for element in after_active - before_active:
        counters.add_element_deltas(db.session, definition_id, element, active=+1)
    for element in before_active - after_active:
        counters.add_element_deltas(db.session, definition_id, element, active=-1)
    for element in newly_completed:
        counters.add_element_deltas(db.session, definition_id, element, completed=+1)


def bump_incident_counter(definition_id: int, element_id: str | None, delta: int) -> None:
    """Count an incident opened (+1) or resolved (-1) on an element."""
    if element_id:
        counters.add_element_deltas(db.session, definition_id, element_id, incidents=delta)


def leave_active_elements(instance: ProcessInstance) -> None:
    """An instance that stops (cancelled, terminated) no longer counts as active anywhere."""
    _bump_counters(instance.definition_id, set(instance.active_element_ids or []), set(), [])
    instance.active_element_ids = []
    now = utcnow()
    # Through the ORM (few rows per instance) so that the queue counters follow.
    for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.state == "open")):
        task.state, task.completed_at = "cancelled", now
    db.session.execute(update(Job).where(Job.instance_id == instance.id, Job.state.in_(("pending", "sent")))
                       .values(state="cancelled"))
    db.session.execute(Timer.__table__.delete().where(Timer.instance_id == instance.id))
    db.session.execute(MessageSubscription.__table__.delete().where(MessageSubscription.instance_id == instance.id))
