"""Message correlation and signal broadcast: the application routes events, not the engine."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select

from app.errors import BadRequestError, ConflictError, NotFoundError
from app.extensions import db
from app.models import MessageSubscription, ProcessInstance, User
from app.services import processes, projections
from workflows import Execution


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError("name is required", [{"field": "name", "message": "non-empty string"}])
    return name


def correlate_message(name: Any, correlation_key: Any, variables: Any, actor: User) -> ProcessInstance:
    """Deliver a message to the one instance waiting for it with that correlation key; 404 when none."""
    name = _check_name(name)
    if correlation_key is not None and not isinstance(correlation_key, str):
        raise BadRequestError("correlationKey must be a string", [{"field": "correlationKey", "message": "string"}])
    variables = processes.check_variables(variables)
    stmt = (select(MessageSubscription.instance_id).join(ProcessInstance,
                                                         ProcessInstance.id == MessageSubscription.instance_id)
            .where(MessageSubscription.type == "message", MessageSubscription.name == name,
                   ProcessInstance.status == "running"))
    if correlation_key is not None:
        # An explicit correlation key on the subscription wins; otherwise the business key correlates.
        stmt = stmt.where(or_(MessageSubscription.correlation_key == correlation_key,
                              and_(MessageSubscription.correlation_key.is_(None),
                                   ProcessInstance.business_key == correlation_key)))
    instance_ids = sorted(set(db.session.scalars(stmt.limit(2))))
    if not instance_ids:
        suffix = f" with correlation key {correlation_key!r}" if correlation_key is not None else ""
        raise NotFoundError(f"no instance waits for message {name!r}{suffix}")
    if len(instance_ids) > 1:
        raise ConflictError(f"several instances wait for message {name!r}; give a correlationKey")

    def _deliver(execution: Execution, instance: ProcessInstance) -> None:
        if not execution.correlate_message(name, variables):
            raise NotFoundError(f"instance {instance.id} no longer waits for message {name!r}")
        projections.record_event(instance.id, "message_correlated", actor.username,
                                 details={"name": name, "correlationKey": correlation_key})

    return processes.advance_instance(instance_ids[0], actor.username, _deliver)


def broadcast_signal(name: Any, variables: Any, actor: User) -> list[int]:
    """Deliver a signal to every running instance waiting for it; ids of those reached."""
    name = _check_name(name)
    variables = processes.check_variables(variables)
    instance_ids = sorted(set(db.session.scalars(
        select(MessageSubscription.instance_id).join(ProcessInstance,
                                                     ProcessInstance.id == MessageSubscription.instance_id)
        .where(MessageSubscription.type == "signal", MessageSubscription.name == name,
               ProcessInstance.status == "running"))))
    reached = []
    for instance_id in instance_ids:
        delivered = []

        def _deliver(execution: Execution, instance: ProcessInstance) -> None:
            if execution.broadcast_signal(name, variables):
                delivered.append(instance.id)
                projections.record_event(instance.id, "signal_received", actor.username, details={"name": name})

        processes.advance_instance(instance_id, actor.username, _deliver)
        reached.extend(delivered)
    return reached
