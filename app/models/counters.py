"""Counts kept up to date at every flush, so that inbox tabs and totals never scan millions of rows."""
from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


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
