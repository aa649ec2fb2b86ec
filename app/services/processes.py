"""Process instances: start, lock, advance, suspend, resume, cancel, timers, history, statistics."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select, update

from app.errors import BadRequestError, ConflictError, NotFoundError, ValidationFailedError
from app.extensions import db
from app.models import (
    ElementCounter,
    HumanTask,
    Incident,
    InstanceEvent,
    ProcessDefinition,
    ProcessInstance,
    User,
)
from app.models._types import utcnow
from app.services import automation, projections
from app.services.permissions import OPERATE_ROLES, START_ROLES, require_role
from app.services.runtime import get_engine, latest_definition, load_spec
from workflows import Execution, NoTimerWaitingError, WorkflowError

log = logging.getLogger(__name__)


def check_variables(variables: Any, field: str = "variables") -> dict[str, Any]:
    """A JSON object of variables with string names, else 400."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise BadRequestError(f"{field} must be a JSON object", [{"field": field, "message": "must be an object"}])
    for name in variables:
        if not name.isidentifier() or name.startswith("_"):
            raise BadRequestError(f"invalid variable name {name!r}",
                                  [{"field": f"{field}.{name}", "message": "must be an identifier not starting with _"}])
    return variables


def engine_refused(exc: WorkflowError, action: str) -> ValidationFailedError:
    """A 422 for a step the diagram refuses (a message payload missing its correlation properties, a
    failing completion hook...): the request changes nothing and the caller learns which element said no."""
    element_id = getattr(exc, "element_id", None)
    message = getattr(exc, "message", None) or str(exc)
    prefix = f"{element_id}: " if element_id else ""
    return ValidationFailedError(f"{action}: {prefix}{message}", [{"elementId": element_id, "message": message}])


def get_definition(key: str, version: int | None = None) -> ProcessDefinition:
    """The definition of this key (latest, or the given version), else 404."""
    if version is None:
        definition = latest_definition(key)
    else:
        definition = db.session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version))
    if definition is None:
        suffix = f" version {version}" if version is not None else ""
        raise NotFoundError(f"no process definition with key {key!r}{suffix}")
    return definition


def start_process(key: str, actor: User, *, version: int | None = None, business_key: str | None = None,
                  variables: dict[str, Any] | None = None) -> ProcessInstance:
    """Start an instance and run it until it waits; state and projections land in one transaction."""
    require_role(actor, START_ROLES, "start processes")
    if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 255):
        raise BadRequestError("businessKey must be a string of at most 255 characters",
                              [{"field": "businessKey", "message": "string, at most 255 characters"}])
    variables = check_variables(variables)
    definition = get_definition(key, version)
    spec = load_spec(definition)
    try:
        execution = get_engine().start(spec, variables)
    except WorkflowError as exc:
        raise engine_refused(exc, f"{definition.key} version {definition.version} cannot be started") from exc
    failure = _run_engine(execution)
    snap = execution.snapshot()
    instance = ProcessInstance(
        definition_id=definition.id, definition_key=definition.key, definition_version=definition.version,
        business_key=business_key, status="failed" if failure else "running", started_by=actor.username,
        started_at=utcnow(), version=1,
    )
    projections.fill_from_snapshot(instance, snap, instance.started_at)
    # One INSERT with the state already in it; the projections below need only the new id.
    db.session.add(instance)
    db.session.flush()
    projections.record_event(instance.id, "instance_started", actor.username,
                             details={"definitionKey": definition.key, "version": definition.version})
    if failure is not None:
        _record_failure(instance, definition, failure, actor.username)
    automation.on_snapshot(instance, execution, snap, is_new=True)
    projections.apply_snapshot(instance, definition, snap, actor.username, is_new=True)
    return instance


def _instance_target(by_task: bool) -> Any:
    if by_task:
        return select(HumanTask.instance_id).where(HumanTask.id == bindparam("task_id")).scalar_subquery()
    return bindparam("instance_id")


# Built once per shape (by instance id / by task id): advancing an instance runs one of them every time.
# The definition comes with the instance: advancing it needs both, and it never changes.
_LOAD_WITH_DEFINITION = {
    by_task: select(ProcessInstance, ProcessDefinition)
    .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
    .where(ProcessInstance.id == _instance_target(by_task)).execution_options(populate_existing=True)
    for by_task in (False, True)}
_LOCK_WITH_DEFINITION = {by_task: stmt.with_for_update(of=ProcessInstance)
                         for by_task, stmt in _LOAD_WITH_DEFINITION.items()}
_SQLITE_WRITE_LOCK = {
    by_task: update(ProcessInstance).where(ProcessInstance.id == _instance_target(by_task))
    .values(version=ProcessInstance.version).execution_options(synchronize_session=False)
    for by_task in (False, True)}


def lock_instance(instance_id: int | None = None, *, of_task: int | None = None) -> ProcessInstance:
    """Load an instance (by id, or the one a human task belongs to) holding its row lock until commit.

    FOR UPDATE on PostgreSQL; on SQLite, which has no row locks, the first write takes the database
    write lock, held until commit, and reads after it see the latest committed state.
    """
    by_task = of_task is not None
    params = {"task_id": of_task} if by_task else {"instance_id": instance_id}
    missing = f"no task {of_task}" if by_task else f"no process instance {instance_id}"
    if db.session.get_bind().dialect.name == "sqlite":
        result = db.session.execute(_SQLITE_WRITE_LOCK[by_task], params)
        if result.rowcount == 0:
            raise NotFoundError(missing)
        stmt = _LOAD_WITH_DEFINITION[by_task]
    else:
        stmt = _LOCK_WITH_DEFINITION[by_task]
    row = db.session.execute(stmt, params).first()
    if row is None:
        raise NotFoundError(missing)
    instance, definition = row
    _keep_definition(definition)
    return instance


def get_instance(instance_id: int) -> ProcessInstance:
    """An instance by id, else 404."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(f"no process instance {instance_id}")
    return instance


_DEFINITIONS_KEY = "guichet_definitions"


def _keep_definition(definition: ProcessDefinition) -> None:
    """Hold a definition for the rest of the session (the identity map alone holds it weakly)."""
    db.session.info.setdefault(_DEFINITIONS_KEY, {})[definition.id] = definition


def definition_of(instance: ProcessInstance) -> ProcessDefinition:
    """The definition version an instance runs, loaded at most once per session."""
    definition = db.session.info.get(_DEFINITIONS_KEY, {}).get(instance.definition_id)
    if definition is None:
        definition = db.session.get(ProcessDefinition, instance.definition_id)
        assert definition is not None
        _keep_definition(definition)
    return definition


def restore_execution(instance: ProcessInstance) -> tuple[ProcessDefinition, Execution]:
    """The definition and a live engine execution of a stored instance."""
    definition = definition_of(instance)
    return definition, get_engine().restore(load_spec(definition), instance.state)


def _run_engine(execution: Execution) -> WorkflowError | None:
    """Run until the instance waits; a failing script or stalled engine is returned, not raised."""
    try:
        execution.run()
    except WorkflowError as exc:
        return exc
    return None


def _record_failure(instance: ProcessInstance, definition: ProcessDefinition, failure: WorkflowError,
                    actor: str | None) -> None:
    element_id = getattr(failure, "element_id", None)
    log.warning("instance %s failed at %s: %s", instance.id, element_id, type(failure).__name__)
    instance.status = "failed"
    db.session.add(Incident(instance_id=instance.id, element_id=element_id, message=str(failure)))
    projections.bump_incident_counter(definition.id, element_id, +1)
    projections.record_event(instance.id, "incident_raised", actor, element_id=element_id,
                             details={"message": str(failure)})


def run_and_save(instance: ProcessInstance, definition: ProcessDefinition, execution: Execution,
                 actor: str | None, *, is_new: bool = False) -> None:
    """Run the engine until the instance waits, then store state and projections.

    A failing script or a stalled engine does not lose the instance: it is stored as `failed`
    with an incident that names the element.
    """
    failure = _run_engine(execution)
    if failure is not None:
        _record_failure(instance, definition, failure, actor)
    snap = execution.snapshot()
    automation.on_snapshot(instance, execution, snap, is_new=is_new)
    projections.apply_snapshot(instance, definition, snap, actor, is_new=is_new)


def advance_instance(instance_id: int, actor: str | None,
                     step: Callable[[Execution, ProcessInstance], None], *, allow_suspended: bool = False
                     ) -> ProcessInstance:
    """Lock an instance, apply one engine step (complete a task, fire a timer...), run on and save."""
    instance = lock_instance(instance_id)
    if instance.status != "running" and not (allow_suspended and instance.status == "suspended"):
        raise ConflictError(f"process instance {instance_id} is {instance.status}")
    definition, execution = restore_execution(instance)
    step(execution, instance)
    run_and_save(instance, definition, execution, actor)
    return instance


def _set_status(instance_id: int, actor: User, allowed_from: tuple[str, ...], new_status: str, event: str) -> None:
    require_role(actor, OPERATE_ROLES, f"{event.split('_')[1]} instances")
    instance = lock_instance(instance_id)
    if instance.status not in allowed_from:
        raise ConflictError(f"process instance {instance_id} is {instance.status}, not {' or '.join(allowed_from)}")
    instance.status = new_status
    if new_status == "terminated":
        instance.ended_at = utcnow()
        projections.leave_active_elements(instance)
    projections.record_event(instance.id, event, actor.username)
    db.session.flush()


def suspend_instance(instance_id: int, actor: User) -> None:
    """Suspend a running instance: its tasks cannot be completed, its timers and jobs wait."""
    _set_status(instance_id, actor, ("running",), "suspended", "instance_suspended")


def resume_instance(instance_id: int, actor: User) -> None:
    """Resume a suspended instance."""
    _set_status(instance_id, actor, ("suspended",), "running", "instance_resumed")


def cancel_instance(instance_id: int, actor: User) -> None:
    """Terminate an instance; open tasks are cancelled."""
    _set_status(instance_id, actor, ("running", "suspended", "failed"), "terminated", "instance_cancelled")


def fire_timer(instance_id: int, element_id: str, actor: User) -> ProcessInstance:
    """Fire a waiting timer now (operators), 409 when that element waits on no timer."""
    require_role(actor, OPERATE_ROLES, "fire timers")
    if not isinstance(element_id, str) or not element_id:
        raise BadRequestError("elementId is required", [{"field": "elementId", "message": "required string"}])

    def _fire(execution: Execution, instance: ProcessInstance) -> None:
        try:
            execution.fire_timer(element_id)
        except NoTimerWaitingError as exc:
            raise ConflictError(f"element {element_id!r} of instance {instance.id} waits on no timer") from exc
        except WorkflowError as exc:
            raise engine_refused(exc, f"timer {element_id!r} of instance {instance.id} cannot fire") from exc
        projections.record_event(instance.id, "timer_fired", actor.username, element_id=element_id,
                                 details={"manual": True})

    return advance_instance(instance_id, actor.username, _fire)


def instance_history(instance_id: int) -> list[InstanceEvent]:
    """Every event of an instance in the order it happened."""
    get_instance(instance_id)
    projections.write_pending_events(db.session)
    return list(db.session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id)
                                   .order_by(InstanceEvent.at, InstanceEvent.id)))


def get_definition_by_id(definition_id: int) -> ProcessDefinition:
    """A deployed definition version by id, else 404."""
    definition = db.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFoundError(f"no process definition {definition_id}")
    return definition


def definition_statistics(definition_id: int) -> list[ElementCounter]:
    """Per-element counters of a definition (active, completed, incidents), kept up to date at every save."""
    get_definition_by_id(definition_id)
    return list(db.session.scalars(select(ElementCounter).where(ElementCounter.definition_id == definition_id)
                                   .order_by(ElementCounter.element_id)))


_OPEN_INCIDENTS = (select(Incident).where(Incident.instance_id == bindparam("instance_id"), Incident.state == "open")
                   .order_by(Incident.id))  # built once: every instance answer runs it


def open_incidents(instance_id: int) -> list[Incident]:
    """Open incidents of an instance."""
    return list(db.session.scalars(_OPEN_INCIDENTS, {"instance_id": instance_id}))


def ensure_json(variables: dict[str, Any], field: str = "variables") -> None:
    """422 when variables cannot be stored as JSON."""
    try:
        json.dumps(variables)
    except (TypeError, ValueError) as exc:
        raise ValidationFailedError(f"{field} must be JSON values", [{"field": field, "message": str(exc)}]) from exc
