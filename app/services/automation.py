"""What the automation layer adds to every save of an instance, in the same transaction.

- message subscriptions get their correlation keys (the engine leaves them empty);
- messages and signals the instance threw, that nothing inside it caught, become outbox jobs on
  the internal topics `bpmn.message` / `bpmn.signal`: delivered after commit by a worker, retried,
  never lost, never holding two instance locks in one request;
- jobs whose service task is gone (an interrupting boundary event, a cancelled branch) and that
  no worker has taken yet are cancelled, so their operation never runs.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update

from app.extensions import db
from app.models import Job, ProcessDefinition, ProcessInstance
from app.models.automation import INTERNAL_TOPICS
from app.services.projections import PENDING_JOBS_KEY
from workflows import Execution, Snapshot
from workflows.correlation import fill_correlation_keys, thrown_key

FINISHED_JOBS_KEY = "guichet_finished_jobs"


def on_snapshot(instance: ProcessInstance, execution: Execution, snap: Snapshot, *, is_new: bool) -> None:
    """Complete the snapshot (correlation keys) and queue its thrown events; cancel orphaned jobs."""
    if snap.waiting:
        fill_correlation_keys(execution, snap.waiting)
    if snap.thrown:
        queue_thrown_events(instance, execution, snap)
    finished = db.session.info.pop(FINISHED_JOBS_KEY, set())
    if not is_new and _may_orphan_jobs(instance, snap, {e for i, e in finished if i == instance.id}):
        cancel_orphaned_jobs(instance.id, {j.task_id for j in snap.jobs})


def note_finished_job(instance_id: int, element_id: str) -> None:
    """A job of this element ends in this transaction (delivered, failed): its element leaving is no orphan."""
    db.session.info.setdefault(FINISHED_JOBS_KEY, set()).add((instance_id, element_id))


def _may_orphan_jobs(instance: ProcessInstance, snap: Snapshot, finished: set[str]) -> bool:
    """Whether a service task left the active elements other than through its own job's end.

    Most saves (a user task completed, a job delivered) cannot orphan a job: they skip the UPDATE.
    """
    left = set(instance.active_element_ids or []) - set(snap.active_element_ids) - finished
    if not left:
        return False
    definition = db.session.get(ProcessDefinition, instance.definition_id)  # in the identity map already
    services = {t["element_id"] for t in ((definition.model if definition else None) or {}).get("service_tasks", [])}
    return bool(left & services) or definition is None


def queue_thrown_events(instance: ProcessInstance, execution: Execution, snap: Snapshot) -> None:
    """One internal job per thrown message or signal, sent after commit like any job."""
    created = []
    for event in snap.thrown:
        if event.type not in ("message", "signal"):
            continue
        payload = event.payload if isinstance(event.payload, dict) else {}
        job_input: dict[str, Any] = {"name": event.name, "payload": payload}
        if event.type == "message":
            # No key of its own: the sender's business key correlates (a case and its sub-cases share it).
            job_input["correlationKey"] = (thrown_key(execution.spec, event, execution.engine.script_engine)
                                           or instance.business_key)
        job = Job(instance_id=instance.id, engine_task_id=str(uuid.uuid4()), element_id=f"{event.type}:{event.name}"[:255],
                  topic=f"bpmn.{event.type}", state="pending", input=job_input)
        db.session.add(job)
        created.append(job)
    if created:
        db.session.flush()
        db.session.info.setdefault(PENDING_JOBS_KEY, []).extend(j.id for j in created)


def cancel_orphaned_jobs(instance_id: int, live_task_ids: set[str]) -> None:
    """Cancel jobs not yet taken whose service task the engine no longer waits on."""
    stmt = (update(Job).where(Job.instance_id == instance_id, Job.state.in_(("pending", "sent")),
                              Job.topic.not_in(INTERNAL_TOPICS))
            .values(state="cancelled", lease_token=None).execution_options(synchronize_session=False))
    if live_task_ids:
        stmt = stmt.where(Job.engine_task_id.not_in(sorted(live_task_ids)))
    db.session.execute(stmt)
