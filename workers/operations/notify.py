"""`notify`: send an e-mail (input `to`, `subject`, `body`), once per job, through the notifications outbox."""
from __future__ import annotations

from typing import Any

from app.services.notifications import NotificationInputError, send_notification
from app.services.operations import JobContext, JobError, operation


@operation("notify", retries=5, backoff_seconds=30.0)
def notify(ctx: JobContext) -> dict[str, Any]:
    """E-mail `to` (address or list) with `subject` and `body`; result: the notification id and Message-ID."""
    try:
        sent = send_notification(ctx.config, to=ctx.input.get("to"), subject=ctx.input.get("subject"),
                                 body=ctx.input.get("body", ""), job_id=ctx.job_id, instance_id=ctx.instance_id)
    except NotificationInputError as exc:
        raise JobError("INVALID_NOTIFICATION", str(exc)) from exc
    return {"notificationId": sent.id, "messageId": sent.message_id, "recipients": sent.recipients}
