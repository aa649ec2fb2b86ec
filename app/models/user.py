"""Users, roles and queue memberships."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import UtcDateTime, utcnow

ROLES = ("admin", "analyst", "supervisor", "agent", "cashier", "worker")

queue_members = Table(
    "queue_members",
    db.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("queue_id", Integer, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
)


class Queue(db.Model):
    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    full_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change so that outstanding API tokens stop working.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Joined: every request loads its user, and one query is cheaper than two.
    queues: Mapped[list[Queue]] = relationship(secondary=queue_members, lazy="joined", order_by=Queue.name)

    @property
    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues]

    @property
    def sees_all_queues(self) -> bool:
        return self.role in ("admin", "supervisor")

    @property
    def is_active(self) -> bool:  # flask-login
        return bool(self.active)
