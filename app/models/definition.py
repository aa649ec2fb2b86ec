"""Deployments, the files they carry, process definitions (one row per version) and forms."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import JsonType, UtcDateTime, utcnow


class Deployment(db.Model):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployed_by: Mapped[str | None] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    files: Mapped[list[DeploymentFile]] = relationship(back_populates="deployment", lazy="selectin")


class DeploymentFile(db.Model):
    __tablename__ = "deployment_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    checksum: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    deployment: Mapped[Deployment] = relationship(back_populates="files")


class ProcessDefinition(db.Model):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definitions_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    bpmn_file_id: Mapped[int] = mapped_column(ForeignKey("deployment_files.id"))
    # The engine spec, stored once per version; instances keep only their state.
    spec: Mapped[str] = mapped_column(Text, deferred=True)
    # What the parser learnt: user/service tasks, searchable variables, element ids, called processes.
    model: Mapped[dict[str, Any]] = mapped_column(JsonType)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(80))
    bpmn_file: Mapped[DeploymentFile] = relationship(lazy="select")

    @property
    def searchable_variables(self) -> list[str]:
        return list(self.model.get("searchable_variables", []))


class FormDefinition(db.Model):
    """A user-task form: JSON Schema plus optional UI schema, versioned by deployment."""

    __tablename__ = "form_definitions"
    __table_args__ = (UniqueConstraint("form_key", "version", name="uq_form_definitions_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    schema: Mapped[dict[str, Any]] = mapped_column(JsonType)
    ui_schema: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
