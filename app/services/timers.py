"""Firing due timers: each instance under its lock, in its own transaction, within a sweep of its due time."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app.errors import ConflictError, NotFoundError
from app.extensions import db
from app.models import Incident, ProcessInstance, Timer
from app.models._types import utcnow
from app.services import processes, projections
from app.services.jobs import commit_unit
from workflows import EngineStalledError, Execution, WorkflowError

log = logging.getLogger(__name__)

ACTOR = "timer"
BATCH = 200
# When the engine finds nothing due where the table said so, look again after this (no hot loop).
POSTPONE = timedelta(seconds=30)


class _NothingDue(Exception):
    """Under the lock, the instance had no due timer any more (fired meanwhile)."""


def due_timer_instances(now: datetime, limit: int = BATCH) -> list[int]:
    """Running instances with a timer due at or before now, the most overdue first."""
    rows = db.session.execute(
        select(Timer.instance_id, func.min(Timer.due_at).label("due"))
        .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .where(Timer.state == "waiting", Timer.due_at <= now, ProcessInstance.status == "running")
        .group_by(Timer.instance_id).order_by("due", Timer.instance_id).limit(limit)).all()
    db.session.rollback()  # end the read: each instance is fired in its own write transaction
    return [row.instance_id for row in rows]


def fire_instance_timers(instance_id: int, now: datetime | None = None) -> list[str]:
    """Fire an instance's due timers under its lock and run it on; the element ids fired."""
    now = now or utcnow()
    fired: list[str] = []

    def step(execution: Execution, instance: ProcessInstance) -> None:
        fired.extend(execution.fire_due_timers(now))
        if not fired:
            raise _NothingDue()
        for element_id in fired:
            projections.record_event(instance.id, "timer_fired", ACTOR, element_id=element_id)
        _settle(execution, instance)

    try:
        commit_unit(lambda: processes.advance_instance(instance_id, ACTOR, step))
    except (_NothingDue, ConflictError, NotFoundError):
        _postpone_stale(instance_id, now)
        return []
    except WorkflowError:
        log.warning("instance %s: firing a due timer failed", instance_id, exc_info=True)
        _postpone_stale(instance_id, now)
        return []
    return fired


def _settle(execution: Execution, instance: ProcessInstance) -> None:
    """Run the instance once before the save's own run.

    The library completes a cycle timer whose last period fired in the refresh that ends an engine
    step: the boundary event is left READY, which the engine's stall guard reports as a stall. A
    second run takes it; a genuine stall is reported by the save's run. Other failures are stored
    like the save stores them (instance failed, incident naming the element).
    """
    try:
        execution.run()
    except EngineStalledError:
        pass
    except WorkflowError as exc:
        element_id = getattr(exc, "element_id", None)
        instance.status = "failed"
        db.session.add(Incident(instance_id=instance.id, element_id=element_id, message=str(exc)))
        projections.bump_incident_counter(instance.definition_id, element_id, +1)
        projections.record_event(instance.id, "incident_raised", ACTOR, element_id=element_id,
                                 details={"message": str(exc)})


def _postpone_stale(instance_id: int, now: datetime) -> None:
    """Rows still due after a fire found nothing: push them back instead of retrying every sweep."""
    stale = commit_unit(lambda: db.session.execute(
        update(Timer).where(Timer.instance_id == instance_id, Timer.state == "waiting", Timer.due_at <= now)
        .values(due_at=now + POSTPONE).execution_options(synchronize_session=False)).rowcount)
    if stale:
        log.warning("instance %s: %d timer row(s) due but nothing fired; looked at again in %ss",
                    instance_id, stale, POSTPONE.seconds)


def fire_due_timers(now: datetime | None = None, limit: int = BATCH) -> int:
    """Fire every due timer (a batch per call); the number of timers fired."""
    now = now or utcnow()
    count = 0
    for instance_id in due_timer_instances(now, limit):
        try:
            count += len(fire_instance_timers(instance_id, now))
        except Exception:
            log.exception("instance %s: firing its timers failed", instance_id)
    return count
