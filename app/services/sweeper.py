"""The sweeper (Celery beat, every SWEEP_INTERVAL_SECONDS): what must happen even when nobody asks.

- due timers fire (each instance under its lock);
- running jobs whose lease expired (their worker died) go back to the retry path;
- jobs committed but never sent (broker down at commit time, process killed after commit), due
  retries, and jobs sent long ago but never taken are (re)sent.
Several sweepers may run (one per beat by mistake, or a slow sweep overlapping the next): on
PostgreSQL an advisory lock lets one through; elsewhere they overlap harmlessly (every step is
conditional).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import exists, select, text, update

from app.extensions import db
from app.models import Job, ProcessInstance
from app.models._types import utcnow
from app.services import dispatch, jobs, timers

log = logging.getLogger(__name__)

BATCH = 500
_ADVISORY_KEY = 0x6775696368  # "guich"


@dataclass
class SweepReport:
    """What one sweep did (for logs and tests)."""

    ran: bool = True
    timers_fired: int = 0
    jobs_recovered: int = 0
    jobs_sent: int = 0


@contextmanager
def _exclusive() -> Iterator[bool]:
    """True when this sweep may run (PostgreSQL advisory lock; always True elsewhere)."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _ADVISORY_KEY}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                conn.commit()


def _instance_runs() -> Any:
    """The job's instance runs (or the job delivers what an instance threw, which goes even after it ended)."""
    return exists().where(ProcessInstance.id == Job.instance_id,
                          ProcessInstance.status == "running") | jobs.internal_topic()


def _reserve(condition: Any, now: datetime) -> list[int]:
    """Mark a batch of jobs sent (one statement, one winner per row) and return their ids."""
    candidates = select(Job.id).where(condition).order_by(Job.id).limit(BATCH)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = jobs.commit_unit(lambda: list(db.session.scalars(
        update(Job).where(Job.id.in_(candidates.scalar_subquery()))
        .values(state="sent", sent_at=now).returning(Job.id).execution_options(synchronize_session=False))))
    return sorted(ids)


def jobs_to_send(now: datetime) -> list[int]:
    """Reserve the jobs to (re)send now: unsent after the grace time, due retries, stale sends."""
    config = current_app.config
    grace = now - timedelta(seconds=float(config["JOB_DISPATCH_GRACE_SECONDS"]))
    stale = now - timedelta(seconds=float(config["JOB_SEND_TIMEOUT_SECONDS"]))
    pending_due = ((Job.state == "pending") & _instance_runs()
                   & ((Job.next_run_at <= now) | (Job.next_run_at.is_(None) & (Job.created_at <= grace))))
    sent_stale = (Job.state == "sent") & (Job.sent_at <= stale) & _instance_runs()
    return _reserve(pending_due, now) + _reserve(sent_stale, now)


def recover_lost_jobs(now: datetime) -> int:
    """Send jobs whose worker died (lease expired) back to the retry path; how many."""
    expired = list(db.session.scalars(select(Job.id).where(Job.state == "running", Job.lease_until < now)
                                      .order_by(Job.id).limit(BATCH)))
    db.session.rollback()
    recovered = 0
    for job_id in expired:
        try:
            if jobs.recover_lost_job(job_id) not in ("skipped", "superseded"):
                recovered += 1
        except Exception:
            log.exception("job %s: recovery failed", job_id)
    return recovered


def sweep(now: datetime | None = None) -> SweepReport:
    """One pass: fire due timers, recover lost jobs, (re)send what must go."""
    with _exclusive() as allowed:
        if not allowed:
            return SweepReport(ran=False)
        report = SweepReport()
        report.timers_fired = timers.fire_due_timers(now or utcnow())
        report.jobs_recovered = recover_lost_jobs(now or utcnow())
        to_send = jobs_to_send(now or utcnow())
        if to_send and dispatch.send_jobs(to_send):
            report.jobs_sent = len(to_send)
        if report.timers_fired or report.jobs_recovered or to_send:
            log.info("sweep: %d timer(s) fired, %d lost job(s) recovered, %d job(s) sent (of %d due)",
                     report.timers_fired, report.jobs_recovered, report.jobs_sent, len(to_send))
        return report
