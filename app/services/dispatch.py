"""After a commit, hand the jobs it created to the workers (the outbox's second half).

A job row is committed with the instance state first; only then is it sent. If sending fails
the row stays `pending` and the sweeper sends it later, so no job is ever lost.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from sqlalchemy import text, update

from app.extensions import db
from app.models import Job
from app.models._types import utcnow
from app.services.projections import PENDING_JOBS_KEY

log = logging.getLogger(__name__)

JobSender = Callable[[list[int]], None]
T = TypeVar("T")


def set_job_sender(app, sender: JobSender | None) -> None:  # type: ignore[no-untyped-def]
    """Install the function that sends committed job ids to the workers (None: leave them to the sweeper)."""
    app.extensions["guichet_job_sender"] = sender


def discard_pending() -> None:
    """Forget jobs of a rolled-back transaction."""
    db.session.info.pop(PENDING_JOBS_KEY, None)


def commit_once(work: Callable[[], T]) -> T:
    """Run one unit of work and commit it once; roll back on any error; then send the jobs it created.

    The boundary of every request and every Celery task (DESIGN.md: services only flush).
    """
    try:
        result = work()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        discard_pending()
        raise
    dispatch_after_commit()
    return result


def dispatch_after_commit() -> None:
    """Send the jobs the committed transaction created; failures are left to the sweeper."""
    job_ids = db.session.info.pop(PENDING_JOBS_KEY, None)
    if not job_ids:
        return
    sender: JobSender | None = current_app.extensions.get("guichet_job_sender")
    if sender is None:
        return
    try:
        sender(list(job_ids))
    except Exception:
        log.warning("could not send jobs %s now; the sweeper will retry", job_ids, exc_info=True)


def mark_sent(job_ids: list[int]) -> None:
    """Record that jobs were handed to the broker (own connection: called after the request's commit)."""
    if not job_ids:
        return
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL synchronous_commit TO OFF"))  # soft state, see jobs.relax_commit
        conn.execute(update(Job).where(Job.id.in_(job_ids), Job.state == "pending")
                     .values(state="sent", sent_at=utcnow()))


def unmark_sent(job_ids: list[int]) -> None:
    """Put jobs the broker did not take back in the outbox."""
    if not job_ids:
        return
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id.in_(job_ids), Job.state == "sent")
                     .values(state="pending", sent_at=None))


def send_jobs(job_ids: list[int]) -> bool:
    """Hand jobs to the installed sender now; False (jobs back in the outbox) when it fails or is absent."""
    sender = current_app.extensions.get("guichet_job_sender")
    if sender is None or not job_ids:
        return False
    try:
        sender(list(job_ids))
        return True
    except Exception:
        log.warning("could not send %d job(s); they stay in the outbox", len(job_ids), exc_info=True)
        unmark_sent(job_ids)
        return False
