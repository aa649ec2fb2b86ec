"""What instances wait on besides people: jobs (outbox), incidents, timers, message subscriptions, e-mails."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import BigId, JsonType, UtcDateTime, utcnow

# pending: in the outbox (or waiting for its retry time) -> sent: handed to the broker -> running: claimed
# by a worker holding a lease -> done | error (BPMN error caught by the diagram) | failed (incident) | cancelled.
JOB_STATES = ("pending", "sent", "running", "done", "error", "failed", "cancelled")
# Topics the application runs itself: messages and signals one instance throws for others.
INTERNAL_TOPICS = ("bpmn.message", "bpmn.signal")


class Job(db.Model):
    """A service task to run on a worker; written with the instance state, sent after commit."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_next_run", "state", "next_run_at"),
        Index("ix_jobs_state_sent_at", "state", "sent_at"),
        Index("ix_jobs_state_lease_until", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    engine_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(120), index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    input: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # Attempts since the job was created or last retried by an operator; max_retries follows the
    # diagram's `retries`, else the operation's default (set at the first claim).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_retries: Mapped[int] = mapped_column(Integer, default=3)
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The claim: a fencing token (only its holder may deliver), the lease its heartbeat renews, the worker.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    worker: Mapped[str | None] = mapped_column(String(255))
    # Set when the operation ran but its result could not be delivered yet (instance suspended):
    # the next claim delivers `result` without running the operation again.
    result_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Incident(db.Model):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    element_id: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(20), default="open")
    message: Mapped[str] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(80))


class Timer(db.Model):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(20), default="waiting")


class MessageSubscription(db.Model):
    __tablename__ = "message_subscriptions"
    __table_args__ = (Index("ix_message_subscriptions_lookup", "type", "name", "correlation_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(10))  # message | signal
    name: Mapped[str] = mapped_column(String(255))
    element_id: Mapped[str] = mapped_column(String(255))
    correlation_key: Mapped[str | None] = mapped_column(String(255))


class Notification(db.Model):
    """An e-mail the `notify` operation sends: the outbox row is written before the SMTP call."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # One notification per job: a retried or redelivered job finds it instead of sending again.
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), unique=True)
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instances.id", ondelete="SET NULL"), index=True)
    recipients: Mapped[list[str]] = mapped_column(JsonType, default=list)
    subject: Mapped[str] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    # pending -> sending (SMTP call under way) -> sent | failed
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
