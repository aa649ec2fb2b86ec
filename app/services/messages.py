"""Message correlation and signal broadcast: the application routes events, not the engine.

A message goes to the one running instance waiting for that name with that correlation key (a
subscription's own key, else the instance's business key), or, when none waits, starts a new
instance of each latest definition with a message start event of that name. A signal goes to
every running instance waiting for it and starts every definition with a signal start event of
that name. The API calls `correlate_message` / `broadcast_signal`; messages and signals thrown by
a process arrive through the outbox (`deliver_thrown`, run by a worker).
"""
from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.errors import BadRequestError, ConflictError, NotFoundError
from app.extensions import db
from app.models import MessageSubscription, ProcessDefinition, ProcessInstance, User
from app.models._types import utcnow
from app.services import processes, projections
from app.services.runtime import get_engine, load_spec
from workflows import Execution, WorkflowError
from workflows.correlation import StartTrigger, start_triggers

_triggers_cache: dict[tuple[int, str], list[StartTrigger]] = {}
_triggers_lock = threading.Lock()


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError("name is required", [{"field": "name", "message": "non-empty string"}])
    return name


def _waiting_instances(kind: str, name: str, correlation_key: str | None, limit: int | None) -> list[int]:
    """Running instances subscribed to a message/signal; a key matches the subscription's or the business key."""
    stmt = (select(MessageSubscription.instance_id).join(ProcessInstance,
                                                         ProcessInstance.id == MessageSubscription.instance_id)
            .where(MessageSubscription.type == kind, MessageSubscription.name == name,
                   ProcessInstance.status == "running"))
    if correlation_key is not None:
        # An explicit correlation key on the subscription wins; otherwise the business key correlates.
        stmt = stmt.where(or_(MessageSubscription.correlation_key == correlation_key,
                              and_(MessageSubscription.correlation_key.is_(None),
                                   ProcessInstance.business_key == correlation_key)))
    stmt = stmt.group_by(MessageSubscription.instance_id).order_by(MessageSubscription.instance_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def event_start_definitions(kind: str, name: str) -> list[tuple[ProcessDefinition, StartTrigger]]:
    """Latest definitions whose process starts on this message or signal."""
    latest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.key).subquery())
    definitions = db.session.scalars(select(ProcessDefinition).join(
        latest, and_(ProcessDefinition.key == latest.c.key, ProcessDefinition.version == latest.c.version))
        .order_by(ProcessDefinition.key))
    found: list[tuple[ProcessDefinition, StartTrigger]] = []
    for definition in definitions:
        cache_key = (definition.id, definition.checksum)
        with _triggers_lock:
            triggers = _triggers_cache.get(cache_key)
        if triggers is None:
            triggers = start_triggers(load_spec(definition))
            with _triggers_lock:
                _triggers_cache[cache_key] = triggers
        found.extend((definition, t) for t in triggers if t.type == kind and t.name == name)
    return found


def start_by_event(definition: ProcessDefinition, trigger: StartTrigger, payload: dict[str, Any],
                   business_key: str | None, actor: str) -> ProcessInstance:
    """Start an instance on its message/signal start event, the payload becoming its variables."""
    execution = get_engine().start(load_spec(definition), None)
    instance = ProcessInstance(
        definition_id=definition.id, definition_key=definition.key, definition_version=definition.version,
        business_key=business_key, status="running", state="", variables=dict(payload), started_by=actor,
        started_at=utcnow(), version=1,
    )
    db.session.add(instance)
    db.session.flush()
    projections.record_event(instance.id, "instance_started", actor, element_id=trigger.element_id,
                             details={"definitionKey": definition.key, "version": definition.version,
                                      "trigger": {"type": trigger.type, "name": trigger.name}})
    try:
        execution.run()  # up to the start event, which waits for its trigger
        delivered = (execution.correlate_message(trigger.name, payload) if trigger.type == "message"
                     else execution.broadcast_signal(trigger.name, payload))
    except WorkflowError as exc:
        raise processes.engine_refused(exc, f"{definition.key} cannot start on {trigger.type} {trigger.name!r}") from exc
    if not delivered:
        raise ConflictError(f"{definition.key} did not accept {trigger.type} {trigger.name!r} at its start event")
    processes.run_and_save(instance, definition, execution, actor, is_new=True)
    return instance


def _deliver_message(instance_id: int, name: str, correlation_key: str | None, variables: dict[str, Any],
                     actor: str) -> ProcessInstance:
    def _deliver(execution: Execution, instance: ProcessInstance) -> None:
        try:
            delivered = execution.correlate_message(name, variables)
        except WorkflowError as exc:
            raise processes.engine_refused(exc, f"instance {instance.id} cannot take message {name!r}") from exc
        if not delivered:
            raise NotFoundError(f"instance {instance.id} no longer waits for message {name!r}")
        projections.record_event(instance.id, "message_correlated", actor,
                                 details={"name": name, "correlationKey": correlation_key})

    return processes.advance_instance(instance_id, actor, _deliver)


def _route_message(name: str, correlation_key: str | None, variables: dict[str, Any], actor: str, *,
                   first_of_many: bool) -> ProcessInstance:
    """To the waiting instance, else to a message start event; 404 when nobody takes it."""
    waiting = _waiting_instances("message", name, correlation_key, limit=None if first_of_many else 2)
    if len(waiting) > 1 and not first_of_many:
        raise ConflictError(f"several instances wait for message {name!r}; give a correlationKey")
    if waiting:
        return _deliver_message(waiting[0], name, correlation_key, variables, actor)
    starts = event_start_definitions("message", name)
    if len(starts) > 1:
        keys = ", ".join(d.key for d, _ in starts)
        raise ConflictError(f"message {name!r} starts several processes ({keys}); only one may start on it")
    if starts:
        definition, trigger = starts[0]
        return start_by_event(definition, trigger, variables, correlation_key, actor)
    suffix = f" with correlation key {correlation_key!r}" if correlation_key is not None else ""
    raise NotFoundError(f"no instance waits for message {name!r}{suffix} and no process starts on it")


def correlate_message(name: Any, correlation_key: Any, variables: Any, actor: User) -> ProcessInstance:
    """Deliver a message to the one instance waiting for it (or a message start event); 404 when none."""
    name = _check_name(name)
    if correlation_key is not None and not isinstance(correlation_key, str):
        raise BadRequestError("correlationKey must be a string", [{"field": "correlationKey", "message": "string"}])
    variables = processes.check_variables(variables)
    return _route_message(name, correlation_key, variables, actor.username, first_of_many=False)


def _broadcast(name: str, variables: dict[str, Any], actor: str) -> list[int]:
    reached = []
    # Ascending ids: two broadcasts lock the same instances in the same order.

    def _deliver(execution: Execution, instance: ProcessInstance) -> None:
        try:
            delivered = execution.broadcast_signal(name, variables)
        except WorkflowError as exc:
            raise processes.engine_refused(exc, f"instance {instance.id} cannot take signal {name!r}") from exc
        if delivered:
            reached.append(instance.id)
            projections.record_event(instance.id, "signal_received", actor, details={"name": name})

    for instance_id in _waiting_instances("signal", name, None, limit=None):
        processes.advance_instance(instance_id, actor, _deliver)
    for definition, trigger in event_start_definitions("signal", name):
        reached.append(start_by_event(definition, trigger, variables, None, actor).id)
    return reached


def broadcast_signal(name: Any, variables: Any, actor: User) -> list[int]:
    """Deliver a signal to every running instance waiting for it and start its signal start events."""
    name = _check_name(name)
    variables = processes.check_variables(variables)
    return _broadcast(name, variables, actor.username)


def deliver_thrown(topic: str, job_input: dict[str, Any], *, source_instance_id: int) -> dict[str, Any]:
    """Route a message or signal an instance threw (run by a worker from the outbox, in one transaction)."""
    name = job_input["name"]
    payload = job_input.get("payload") or {}
    actor = f"instance:{source_instance_id}"
    if topic == "bpmn.signal":
        return {"processInstanceIds": _broadcast(name, payload, actor)}
    key = job_input.get("correlationKey")
    # The sender cannot be asked to disambiguate: the oldest waiting instance takes the message.
    instance = _route_message(name, key, payload, actor, first_of_many=True)
    return {"processInstanceId": instance.id}
