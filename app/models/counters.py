"""Counts kept up to date at every flush, so that inbox tabs and totals never scan millions of rows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UtcDateTime


class QueueCounter(db.Model):
    """Open human tasks per queue ('' for tasks without a queue)."""

    __tablename__ = "queue_counters"

    queue: Mapped[str] = mapped_column(String(120), primary_key=True)
    open: Mapped[int] = mapped_column(BigInteger, default=0)


class InstanceCounter(db.Model):
    """Process instances per definition key and status."""

    __tablename__ = "instance_counters"

    definition_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class QueueDueCounter(db.Model):
    """Open tasks per queue and due hour: overdue counts add up past hours instead of scanning tasks."""

    __tablename__ = "queue_due_counters"
    # Overdue sums read only the past hours (folded to about a day per queue), not future ones.
    __table_args__ = (Index("ix_queue_due_counters_due_hour", "due_hour"),)

    queue: Mapped[str] = mapped_column(String(120), primary_key=True)
    due_hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    open: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyInstanceCounter(db.Model):
    """Instances started and completed per UTC day (the dashboard's chart without a scan)."""

    __tablename__ = "daily_instance_counters"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    started: Mapped[int] = mapped_column(BigInteger, default=0)
    completed: Mapped[int] = mapped_column(BigInteger, default=0)
