"""E-mail notifications through SMTP, with an outbox row per message (table `notifications`).

The row is committed as `sending` before the SMTP call and `sent` after it, keyed by the job
that asked for it: a retried or redelivered job finds a `sent` row and does not send again. A
worker that dies during the SMTP call leaves `sending`; the retry sends once more (SMTP offers
no exactly-once) with the same Message-ID, so mail systems and readers can tell the copies apart.
"""
from __future__ import annotations

import re
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.models._types import utcnow

MAX_RECIPIENTS = 50
MAX_BODY = 100_000
SMTP_TIMEOUT_SECONDS = 30
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$|^[^@\s<>,;]+@localhost$")


class NotificationInputError(ValueError):
    """Recipients, subject or body are unusable (retrying will not help)."""


def check_message(to: Any, subject: Any, body: Any) -> tuple[list[str], str, str]:
    """Recipients (a string, comma separated, or a list), subject and body, validated."""
    recipients = [r.strip() for r in (to.split(",") if isinstance(to, str) else to or []) if isinstance(r, str)]
    recipients = [r for r in recipients if r]
    if not recipients:
        raise NotificationInputError("no recipient (give `to`: an address or a list of addresses)")
    if len(recipients) > MAX_RECIPIENTS:
        raise NotificationInputError(f"at most {MAX_RECIPIENTS} recipients")
    bad = [r for r in recipients if not _ADDRESS.match(r)]
    if bad:
        raise NotificationInputError(f"invalid e-mail address(es): {', '.join(bad[:5])}")
    if not isinstance(subject, str) or not subject.strip() or "\n" in subject or "\r" in subject:
        raise NotificationInputError("`subject` must be one non-empty line")
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise NotificationInputError(f"`body` must be text of at most {MAX_BODY} characters")
    return recipients, subject.strip()[:998], body


def message_id(notification: Notification, sender: str) -> str:
    """A Message-ID stable across retries of the same notification."""
    domain = sender.rsplit("@", 1)[-1] or "guichet.local"
    key = f"job-{notification.job_id}" if notification.job_id else f"n-{notification.id}"
    return f"<guichet-{key}@{domain}>"


def send_notification(config: Mapping[str, Any], *, to: Any, subject: Any, body: Any, job_id: int | None = None,
                      instance_id: int | None = None) -> Notification:
    """Send an e-mail once per job: record it, send it through SMTP, mark it sent (commits)."""
    recipients, subject, body = check_message(to, subject, body)
    row = None
    if job_id is not None:
        row = db.session.scalar(select(Notification).where(Notification.job_id == job_id)
                                .execution_options(populate_existing=True))
    if row is not None and row.state == "sent":
        return row
    if row is None:
        row = Notification(job_id=job_id, instance_id=instance_id, recipients=recipients, subject=subject,
                           body=body, state="pending", attempts=0)
        db.session.add(row)
        db.session.flush()
    row.state, row.attempts = "sending", row.attempts + 1
    row.message_id = message_id(row, config["MAIL_FROM"])
    db.session.commit()

    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = ", ".join(row.recipients)
    email["Subject"] = row.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = row.message_id
    email.set_content(row.body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(email)
    except (smtplib.SMTPException, OSError) as exc:
        row.state, row.last_error = "pending", f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    row.state, row.sent_at, row.last_error = "sent", utcnow(), None
    db.session.commit()
    return row
