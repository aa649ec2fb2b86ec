"""Process instances, their history, their searchable business variables and per-element counters."""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import BigId, JsonType, UtcDateTime, utcnow

INSTANCE_STATUSES = ("running", "completed", "suspended", "terminated", "failed")


class ProcessInstance(db.Model):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_key_status_started", "definition_key", "status", "started_at"),
        Index("ix_process_instances_status_started", "status", "started_at"),
        Index("ix_process_instances_started_at", "started_at"),
        Index("ix_process_instances_ended_at", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(255))
    definition_version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    # Engine state without the spec (JSON text); the spec lives on the definition.
    state: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    active_element_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    completed_element_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # Messages, signals and timers the instance waits on (projection for the API).
    waiting: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    task_count: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str | None] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Optimistic lock counter: every advance bumps it; a stale write fails instead of being lost.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class InstanceEvent(db.Model):
    """One line of an instance's history: what happened, to which element, by whom."""

    __tablename__ = "instance_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[int | None] = mapped_column(BigId)
    actor: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class InstanceVariable(db.Model):
    """Index of a business variable the definition declares searchable (ssn, caseNumber...)."""

    __tablename__ = "instance_variables"
    __table_args__ = (Index("ix_instance_variables_name_value", "name", "value"),)

    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class ElementCounter(db.Model):
    """Per definition and element: instances active there, completed through it, with open incidents.

    Kept up to date at every save so that statistics never scan instances.
    """

    __tablename__ = "element_counters"

    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    active: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    incidents: Mapped[int] = mapped_column(Integer, default=0)
