"""Running jobs exactly once in effect: claim, run the topic's operation, deliver under the instance lock.

A job runs in three short units of work, each committed on its own because other workers must
see it: the claim (pending|sent -> running, with a lease and a fencing token), the operation (its
own effects, idempotent by job id), and the delivery (instance lock, BPMN task completed, engine
run on, job done). Only the holder of the current token may deliver or fail the job, so a
redelivered message, a second worker or a worker whose lease expired can never complete the BPMN
task twice. A heartbeat renews the lease while the operation runs; the sweeper hands jobs whose
lease expired (their worker died) back to the retry path.

Failures: a technical error is retried with exponential backoff (the diagram's `retries`, else
the operation's default); a `JobError` is a business error, not retried unless it says so. Once
no attempt is left, the error is thrown as a BPMN error (its code) on the service task; when no
error boundary event catches it, an incident is raised and the job waits for an operator.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import exists, select, text, update
from sqlalchemy.exc import DBAPIError

from app.errors import AppError, ConflictError, NotFoundError
from app.extensions import db
from app.models import Incident, Job, ProcessDefinition, ProcessInstance
from app.models._types import utcnow
from app.models.automation import INTERNAL_TOPICS
from app.services import automation, processes, projections
from app.services.dispatch import commit_once
from app.services.job_retries import backoff_delay, retry_policy
from app.services.operations import JobContext, JobError, get_operation
from workflows import Execution, TaskNotFoundError, TaskNotReadyError, WorkflowError

log = logging.getLogger(__name__)

T = TypeVar("T")
ACTOR = "worker"
CLAIMABLE = ("pending", "sent")
MAX_ERROR_LENGTH = 4000


class _Superseded(Exception):
    """This worker's claim is no longer the job's current one (lease expired, operator retry...)."""


class _TaskGone(Exception):
    """The BPMN service task is no longer waiting for this job (cancelled by an event)."""


class _BadResult(Exception):
    """The result cannot be merged: not an object, and the task names no result variable."""


def _result_variable(execution: Execution, element_id: str) -> str | None:
    """The spiff resultVariable of a service task element (None for the Camunda form)."""
    specs = [execution.spec.spec, *execution.spec.subprocess_specs.values()]
    for task_spec in (ts for spec in specs for ts in spec.task_specs.values()):
        if getattr(task_spec, "bpmn_id", None) == element_id:
            return getattr(task_spec, "result_variable", None)
    return None


@dataclass(frozen=True)
class Claim:
    """A job this worker holds: only the holder of `token` may deliver or fail it."""

    job_id: int
    instance_id: int
    token: str
    attempt: int
    max_retries: int
    topic: str
    element_id: str
    engine_task_id: str
    input: dict[str, Any]
    business_key: str | None
    definition_id: int | None = None
    parked_result: Any = None
    result_ready: bool = False


def worker_name() -> str:
    """host:pid of this process (stored on claimed jobs, for operators)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def commit_unit(work: Callable[[], T]) -> T:
    """Run work in one transaction: commit and send the jobs it created, or roll back on any error."""
    return commit_once(work)


def relax_commit() -> None:
    """Commit this transaction without waiting for the disk (PostgreSQL): for soft state only.

    Claims, 'sent' marks and lease renewals may be lost in a database crash without harm: the
    fencing token is checked by the delivery, which commits normally.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def internal_topic() -> Any:
    """SQL condition: the job delivers a message or signal an instance threw."""
    return Job.topic.in_(INTERNAL_TOPICS)


# ----- claim ------------------------------------------------------------------------------------
def claim_job(job_id: int, worker: str | None = None) -> Claim | None:
    """Take a job (pending|sent -> running) if it is due and its instance runs; None when not ours."""
    now = utcnow()
    token = secrets.token_hex(8)
    lease = timedelta(seconds=float(current_app.config["JOB_LEASE_SECONDS"]))
    instance_runs = exists().where(ProcessInstance.id == Job.instance_id, ProcessInstance.status == "running")
    due = (Job.next_run_at.is_(None)) | (Job.next_run_at <= now)
    # Write first: the conditional UPDATE is the claim (one winner, also on SQLite). A message or signal
    # thrown by an instance is delivered even when its sender has ended since.
    result = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state.in_(CLAIMABLE), due, instance_runs | internal_topic())
        .values(state="running", attempts=Job.attempts + 1, lease_token=token, lease_until=now + lease,
                worker=(worker or worker_name())[:255]).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        # Not ours. A job of an instance that does not run (suspended, failed) waits in the outbox: the
        # sweeper sends it again once the instance runs.
        db.session.execute(update(Job).where(Job.id == job_id, Job.state == "sent", ~instance_runs,
                                             ~internal_topic())
                           .values(state="pending", sent_at=None).execution_options(synchronize_session=False))
        db.session.commit()
        return None
    row = db.session.execute(
        select(Job, ProcessInstance.definition_id, ProcessInstance.business_key, ProcessDefinition.checksum)
        .join(ProcessInstance, ProcessInstance.id == Job.instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id).where(Job.id == job_id)
        .execution_options(populate_existing=True)).one()
    job: Job = row[0]
    if job.attempts == 1:
        # First attempt since creation (or an operator's retry): fix the retry budget now.
        job.max_retries = retry_policy(job.topic, row.definition_id, job.element_id, row.checksum)[0]
    claim = Claim(job_id=job.id, instance_id=job.instance_id, token=token, attempt=job.attempts,
                  max_retries=job.max_retries, topic=job.topic, element_id=job.element_id,
                  engine_task_id=job.engine_task_id, input=dict(job.input or {}), business_key=row.business_key,
                  definition_id=row.definition_id, parked_result=job.result, result_ready=job.result_at is not None)
    relax_commit()
    db.session.commit()
    return claim


@contextmanager
def heartbeat(claim: Claim) -> Iterator[None]:
    """Renew the claim's lease while the operation runs (a thread with its own connection)."""
    lease = float(current_app.config["JOB_LEASE_SECONDS"])
    engine = db.engine
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease / 3):
            try:
                with engine.begin() as conn:
                    renewed = conn.execute(update(Job).where(Job.id == claim.job_id, Job.lease_token == claim.token,
                                                             Job.state == "running")
                                           .values(lease_until=utcnow() + timedelta(seconds=lease)))
                if renewed.rowcount == 0:
                    return  # superseded: the delivery will find out
            except Exception:
                log.warning("job %s: lease renewal failed", claim.job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"job-{claim.job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


# ----- run ------------------------------------------------------------------------------------
def run_job(job_id: int, *, worker: str | None = None) -> str:
    """Run one job; returns the outcome (skipped, done, retry, error, incident, parked, cancelled...)."""
    claim = claim_job(job_id, worker)
    if claim is None:
        log.info("job %s: not claimable (already taken, done, not due or instance not running)", job_id)
        return "skipped"
    if claim.result_ready:
        return deliver_result(claim, claim.parked_result)
    if claim.topic.startswith("bpmn."):
        return _run_internal(claim)
    op = get_operation(claim.topic)
    if op is None:
        return fail_job(claim, "UNKNOWN_TOPIC", f"no operation is registered for topic {claim.topic!r}",
                        retryable=True)
    ctx = JobContext(job_id=claim.job_id, instance_id=claim.instance_id, element_id=claim.element_id,
                     topic=claim.topic, attempt=claim.attempt, input=claim.input, business_key=claim.business_key,
                     config=current_app.config)
    try:
        with heartbeat(claim):
            result = op.func(ctx)
        json.dumps(result)
    except JobError as exc:
        db.session.rollback()
        log.info("job %s (%s) attempt %s: %s", claim.job_id, claim.topic, claim.attempt, exc.code)
        return fail_job(claim, exc.code, exc.message, retryable=exc.retry)
    except (TypeError, ValueError) as exc:
        db.session.rollback()
        return fail_job(claim, "BAD_RESULT", f"the operation's result is not JSON: {exc}", retryable=False)
    except Exception as exc:
        db.session.rollback()
        log.warning("job %s (%s) attempt %s failed: %s", claim.job_id, claim.topic, claim.attempt,
                    type(exc).__name__, exc_info=True)
        return fail_job(claim, "JOB_FAILED", f"{type(exc).__name__}: {exc}", retryable=True)
    return deliver_result(claim, result)


def _run_internal(claim: Claim) -> str:
    """Deliver a thrown message or signal; the job is done in the same transaction (exactly once)."""
    from app.services import messages  # messages imports processes, which imports this module's callers

    def work() -> Any:
        outcome = messages.deliver_thrown(claim.topic, claim.input, source_instance_id=claim.instance_id)
        _finish(claim, "done", result=outcome)
        return outcome

    try:
        commit_unit(work)
    except _Superseded:
        return "superseded"
    except NotFoundError as exc:
        return fail_job(claim, "NOT_CORRELATED", str(exc), retryable=True)
    except ConflictError as exc:
        return fail_job(claim, "AMBIGUOUS", str(exc), retryable=True)
    except AppError as exc:
        return fail_job(claim, "REFUSED", exc.detail, retryable=False)
    return "done"


def _finish(claim: Claim, state: str, *, result: Any = None, error_code: str | None = None,
            message: str | None = None, clear_result_at: bool = False) -> None:
    """End the claim (conditional on its token); _Superseded when the job is no longer ours.

    `state="running"` changes nothing: it only checks that the claim is still the current one.
    """
    if state == "running":
        values: dict[str, Any] = {"state": "running"}
    else:
        values = {"state": state, "lease_token": None, "lease_until": None, "completed_at": utcnow()}
    if result is not None:
        values["result"] = result
    if clear_result_at:
        values["result_at"] = None
    if error_code is not None:
        values.update(error_code=error_code, last_error=(message or "")[:MAX_ERROR_LENGTH])
    done = db.session.execute(update(Job).where(Job.id == claim.job_id, Job.lease_token == claim.token,
                                                Job.state == "running").values(**values)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise _Superseded()


def _hold(claim: Claim) -> Job:
    """Lock the job row (after the instance lock: always in that order) and check the claim is current."""
    job = db.session.execute(select(Job).where(Job.id == claim.job_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    if job.state != "running" or job.lease_token != claim.token:
        raise _Superseded()
    return job


# ----- delivery -------------------------------------------------------------------------------
def deliver_result(claim: Claim, result: Any) -> str:
    """Complete the BPMN service task with the result under the instance lock, once."""

    def step(execution: Execution, instance: ProcessInstance) -> None:
        if result is not None and not isinstance(result, dict) and not _result_variable(execution, claim.element_id):
            raise _BadResult()
        try:
            execution.deliver_job_result(claim.engine_task_id, result)
        except (TaskNotFoundError, TaskNotReadyError) as exc:
            _finish(claim, "running")  # still ours? (else _Superseded wins over _TaskGone)
            raise _TaskGone() from exc
        # The fence: only the current claim completes the job (the instance lock is held, so no
        # other delivery of this job can be between this UPDATE and the commit).
        _finish(claim, "done", result=result if result is not None else {}, clear_result_at=True)
        automation.note_finished_job(claim.instance_id, claim.element_id)
        projections.record_event(instance.id, "job_completed", ACTOR, element_id=claim.element_id,
                                 details={"jobId": claim.job_id, "topic": claim.topic, "attempt": claim.attempt})

    for attempt in range(3):
        try:
            commit_unit(lambda: processes.advance_instance(claim.instance_id, ACTOR, step))
            return "done"
        except _Superseded:
            log.info("job %s: claim superseded, result dropped", claim.job_id)
            return "superseded"
        except _TaskGone:
            return _cancel(claim, "the service task no longer waits for this job")
        except _BadResult:
            return fail_job(claim, "BAD_RESULT", "without a result variable, an operation must return an object "
                            "of variables (Camunda external task form)", retryable=False)
        except ConflictError:
            # The instance does not run (suspended, failed, ended): keep the result for later.
            return _park(claim, result)
        except WorkflowError as exc:
            return fail_job(claim, "DELIVERY_FAILED", f"the engine refused the result: {exc}", retryable=False)
        except DBAPIError as exc:
            # A deadlock or serialization failure between two deliveries: the loser tries again.
            if attempt == 2:
                raise
            log.info("job %s: delivery retried after %s", claim.job_id, type(exc.orig).__name__)
    return "failed"  # pragma: no cover - the loop returns or raises


def _park(claim: Claim, result: Any) -> str:
    """Keep a computed result for an instance that does not run; ended instances cancel the job."""

    def work() -> str:
        status = db.session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == claim.instance_id))
        if status in ("completed", "terminated", None):
            _finish(claim, "cancelled")
            return "cancelled"
        parked = db.session.execute(
            update(Job).where(Job.id == claim.job_id, Job.lease_token == claim.token, Job.state == "running")
            .values(state="pending", result=result, result_at=utcnow(), lease_token=None, lease_until=None,
                    sent_at=None, next_run_at=None).execution_options(synchronize_session=False))
        if parked.rowcount != 1:
            raise _Superseded()
        return "parked"

    try:
        return commit_unit(work)
    except _Superseded:
        return "superseded"


def _cancel(claim: Claim, reason: str) -> str:
    try:
        commit_unit(lambda: _finish(claim, "cancelled", error_code="CANCELLED", message=reason))
    except _Superseded:
        return "superseded"
    return "cancelled"


# ----- failures -------------------------------------------------------------------------------
def fail_job(claim: Claim, code: str, message: str, *, retryable: bool, lost: bool = False) -> str:
    """One attempt failed: schedule a retry, or throw the BPMN error / raise an incident."""
    message = (message or code)[:MAX_ERROR_LENGTH]
    if retryable and claim.attempt <= claim.max_retries:
        return _schedule_retry(claim, code, message, lost=lost)
    return _give_up(claim, code, message, lost=lost)


def _schedule_retry(claim: Claim, code: str, message: str, *, lost: bool) -> str:
    delay = backoff_delay(retry_policy(claim.topic, claim.definition_id, claim.element_id)[1], claim.attempt)
    db.session.rollback()
    now = utcnow()

    def work() -> None:
        conditions = [Job.id == claim.job_id, Job.lease_token == claim.token, Job.state == "running"]
        if lost:
            conditions.append(Job.lease_until < now)  # a heartbeat that came back wins
        retried = db.session.execute(
            update(Job).where(*conditions)
            .values(state="pending", next_run_at=now + timedelta(seconds=delay), sent_at=None, lease_token=None,
                    lease_until=None, error_code=code, last_error=message)
            .execution_options(synchronize_session=False))
        if retried.rowcount != 1:
            raise _Superseded()
        projections.record_event(claim.instance_id, "job_failed", ACTOR, element_id=claim.element_id,
                                 details={"jobId": claim.job_id, "topic": claim.topic, "attempt": claim.attempt,
                                          "errorCode": code, "retryInSeconds": round(delay, 3)})

    try:
        commit_unit(work)
    except _Superseded:
        return "superseded"
    log.info("job %s (%s): attempt %s failed (%s), retry in %.1fs", claim.job_id, claim.topic, claim.attempt,
             code, delay)
    return "retry"


def _give_up(claim: Claim, code: str, message: str, *, lost: bool) -> str:
    """No attempt left: a BPMN error when the diagram catches it, else an incident."""
    outcome: dict[str, str] = {}
    now = utcnow()

    def raise_incident(instance_id: int, definition_id: int) -> None:
        job = _hold(claim)
        if lost and (job.lease_until is None or job.lease_until >= now):
            raise _Superseded()
        job.state, job.error_code, job.last_error = "failed", code, message
        job.lease_token = job.lease_until = None
        db.session.add(Incident(instance_id=instance_id, job_id=claim.job_id, element_id=claim.element_id,
                                topic=claim.topic, message=message, error_code=code))
        projections.bump_incident_counter(definition_id, claim.element_id, +1)
        projections.record_event(instance_id, "incident_raised", ACTOR, element_id=claim.element_id,
                                 details={"jobId": claim.job_id, "topic": claim.topic, "errorCode": code,
                                          "attempts": claim.attempt})
        outcome["result"] = "incident"

    def step(execution: Execution, instance: ProcessInstance) -> None:
        job = _hold(claim)
        if lost and (job.lease_until is None or job.lease_until >= now):
            raise _Superseded()
        caught = False
        if not claim.topic.startswith("bpmn."):
            try:
                caught = execution.fail_job(claim.engine_task_id, code, message)
            except (TaskNotFoundError, TaskNotReadyError) as exc:
                raise _TaskGone() from exc
        if caught:
            automation.note_finished_job(claim.instance_id, claim.element_id)
            job.state, job.error_code, job.last_error, job.completed_at = "error", code, message, utcnow()
            job.lease_token = job.lease_until = None
            projections.record_event(instance.id, "bpmn_error_thrown", ACTOR, element_id=claim.element_id,
                                     details={"jobId": claim.job_id, "errorCode": code})
            outcome["result"] = "error"
        else:
            raise_incident(instance.id, instance.definition_id)

    def on_stopped_instance() -> None:
        instance = db.session.get(ProcessInstance, claim.instance_id)
        ended = instance is None or instance.status in ("completed", "terminated")
        if instance is None or (ended and not claim.topic.startswith("bpmn.")):
            _finish(claim, "cancelled", error_code=code, message=message)
            outcome["result"] = "cancelled"
        else:
            raise_incident(instance.id, instance.definition_id)

    try:
        try:
            commit_unit(lambda: processes.advance_instance(claim.instance_id, ACTOR, step))
        except ConflictError:
            commit_unit(on_stopped_instance)
    except _Superseded:
        return "superseded"
    except _TaskGone:
        return _cancel(claim, "the service task no longer waits for this job")
    log.info("job %s (%s): gave up after %s attempt(s): %s -> %s", claim.job_id, claim.topic, claim.attempt, code,
             outcome.get("result"))
    return outcome.get("result", "incident")


def recover_lost_job(job_id: int) -> str:
    """The lease of a running job expired (its worker died): count the attempt as failed."""
    row = db.session.execute(
        select(Job, ProcessInstance.business_key, ProcessInstance.definition_id)
        .join(ProcessInstance, ProcessInstance.id == Job.instance_id)
        .where(Job.id == job_id).execution_options(populate_existing=True)).one_or_none()
    if row is None or row[0].state != "running" or row[0].lease_token is None:
        db.session.rollback()
        return "skipped"
    job = row[0]
    if job.lease_until is not None and job.lease_until >= utcnow():
        db.session.rollback()
        return "skipped"
    claim = Claim(job_id=job.id, instance_id=job.instance_id, token=job.lease_token, attempt=job.attempts,
                  max_retries=job.max_retries, topic=job.topic, element_id=job.element_id,
                  engine_task_id=job.engine_task_id, input={}, business_key=row.business_key,
                  definition_id=row.definition_id)
    db.session.rollback()
    log.warning("job %s (%s): worker %s lost it (lease expired)", job.id, job.topic, job.worker)
    return fail_job(claim, "WORKER_LOST", f"the worker running it ({job.worker}) stopped (lease expired)",
                    retryable=True, lost=True)
