"""The human-task projection: one row per user task an instance has reached."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import BigId, JsonType, UtcDateTime, utcnow

TASK_STATES = ("open", "completed", "cancelled")


class HumanTask(db.Model):
    __tablename__ = "human_tasks"
    __table_args__ = (
        # The inbox page of a queue: open tasks by priority (high first) then due date.
        Index("ix_human_tasks_inbox", "queue", "state", text("priority DESC"), "due_at", "id"),
        Index("ix_human_tasks_assignee_state", "assignee", "state"),
        Index("ix_human_tasks_business_key", "business_key"),
        Index("ix_human_tasks_state_due", "state", "due_at"),
        Index("ix_human_tasks_queue_state_due", "queue", "state", "due_at"),
        Index("ix_human_tasks_state_created", "state", "created_at"),
        # The few open tasks a four-eyes rule keeps someone off (inbox counts subtract them).
        Index("ix_human_tasks_kept_off", "queue", postgresql_where=text("excluded_users IS NOT NULL"),
              sqlite_where=text("excluded_users IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    engine_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    definition_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    queue: Mapped[str | None] = mapped_column(String(120))
    assignee: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[int] = mapped_column(Integer, default=50)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    form_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    # The element's rules (task_rules: separateFrom, completionCheck), copied at creation; NULL on
    # rows older than migration 0009, whose rules are read from the definition instead.
    rules: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # Users the four-eyes rule keeps off this task right now, as ",ann,bob," (NULL: nobody), kept in
    # step at every save of the instance so that inboxes can leave the task out for them.
    excluded_users: Mapped[str | None] = mapped_column(String(1000))
