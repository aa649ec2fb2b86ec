"""After a commit, hand the jobs it created to the workers (the outbox's second half).

A job row is committed with the instance state first; only then is it sent. If sending fails
the row stays `pending` and the sweeper sends it later, so no job is ever lost.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import current_app

from app.extensions import db
from app.services.projections import PENDING_JOBS_KEY

log = logging.getLogger(__name__)

JobSender = Callable[[list[int]], None]


def set_job_sender(app, sender: JobSender | None) -> None:  # type: ignore[no-untyped-def]
    """Install the function that sends committed job ids to the workers (None: leave them to the sweeper)."""
    app.extensions["guichet_job_sender"] = sender


def discard_pending() -> None:
    """Forget jobs of a rolled-back transaction."""
    db.session.info.pop(PENDING_JOBS_KEY, None)


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
    except Exception:  # noqa: BLE001 - the broker being down must not fail the request
        log.warning("could not send jobs %s now; the sweeper will retry", job_ids, exc_info=True)
