"""Rules that a user task's BPMN properties put on who may work on it and on what it accepts.

- `separateFrom` = element id(s) of earlier user tasks, comma separated (the four-eyes principle):
  whoever completed the latest of those tasks in the same process instance may not claim or
  complete this one (403), and a supervisor cannot assign it to them (409). After a task was sent
  back and prepared again by someone else, the new preparer is kept out, not the first one (whose
  work was replaced).
- `completionCheck` = the name of a check the submitted data must pass against the instance's
  variables (422 naming the field; the task stays open). Checks are code, listed in `_checks()`:
  a diagram can only name them, never define one.

Both are read from the deployed spec when a task is created and kept on its row (`HumanTask.rules`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from app.extensions import db
from app.models import HumanTask, ProcessDefinition, ProcessInstance, User
from app.services.runtime import load_spec

SEPARATE_FROM = "separateFrom"
COMPLETION_CHECK = "completionCheck"
RULE_PROPERTIES = (SEPARATE_FROM, COMPLETION_CHECK)

Check = Callable[[dict[str, Any], dict[str, Any]], None]


def _checks() -> dict[str, Check]:
    """The named completion checks (imported lazily: they belong to the business services)."""
    from app.services import benefits

    return {"benefit_claim": benefits.check_claim, "benefit_amount": benefits.check_prepared_amount}


def known_checks() -> list[str]:
    """Names a `completionCheck` property may use."""
    return sorted(_checks())


# (definition id, checksum) -> element id -> extension properties; a deployed version never changes.
_PROPERTIES: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}


def _element_properties(definition: ProcessDefinition) -> dict[str, dict[str, Any]]:
    """Extension properties of every element of a definition version (its called/embedded ones too)."""
    key = (definition.id, definition.checksum)
    found = _PROPERTIES.get(key)
    if found is None:
        spec = load_spec(definition)
        found = {}
        for process in [spec.spec, *spec.subprocess_specs.values()]:
            for task_spec in process.task_specs.values():
                element_id = getattr(task_spec, "bpmn_id", None)
                if element_id is not None and element_id not in found:
                    found[element_id] = dict(((getattr(task_spec, "extensions", None) or {})
                                              .get("properties")) or {})
        _PROPERTIES[key] = found
    return found


def element_rules(definition: ProcessDefinition, element_id: str) -> dict[str, Any]:
    """The rule properties of one element, as a new human task row keeps them."""
    properties = _element_properties(definition).get(element_id, {})
    return {name: properties[name] for name in RULE_PROPERTIES if properties.get(name)}


def task_rules(task: HumanTask) -> dict[str, Any]:
    """The rules of a task: from its row, or for rows made before they were copied, from its definition."""
    if task.rules is not None:
        return task.rules
    from app.services.processes import definition_of  # processes imports this module

    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return {}
    return element_rules(definition_of(instance), task.element_id)


def _names(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _latest_separated_completions(task: HumanTask) -> list[HumanTask]:
    """The latest completion of each task this one must be separated from (in its instance)."""
    found = []
    for element_id in _names(task_rules(task).get(SEPARATE_FROM)):
        conditions = [HumanTask.instance_id == task.instance_id, HumanTask.element_id == element_id,
                      HumanTask.state == "completed"]
        if task.id is not None:  # a row not yet inserted is not completed either
            conditions.append(HumanTask.id != task.id)
        latest = db.session.scalar(select(HumanTask).where(*conditions)
                                   .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))
        if latest is not None:
            found.append(latest)
    return found


def earlier_completion(task: HumanTask, username: str) -> HumanTask | None:
    """The latest completion of a task this one must be separated from, when `username` did it."""
    return next((t for t in _latest_separated_completions(task) if t.completed_by == username), None)


def excluded_users(task: HumanTask) -> str | None:
    """Who may not take this task under its `separateFrom` rule now, as ",ann,bob," (None: nobody).

    Only the inbox reads it, to leave the task out; claiming and completing check the rule itself.
    """
    names = sorted({t.completed_by for t in _latest_separated_completions(task) if t.completed_by})
    text = "".join(f",{name}" for name in names)
    return f"{text}," if text and len(text) < 1000 else None


def keep_exclusions_current(open_tasks: list[HumanTask]) -> None:
    """After an instance moved on, bring `excluded_users` of its open four-eyes tasks up to date."""
    for task in open_tasks:
        if _names(task_rules(task).get(SEPARATE_FROM)):
            value = excluded_users(task)
            if task.excluded_users != value:
                task.excluded_users = value


def _describe(earlier: HumanTask) -> str:
    return f"{earlier.name or earlier.element_id!r} ({earlier.element_id}, task {earlier.id})"


def check_separation(task: HumanTask, user: User, *, assigned_by: User | None = None) -> None:
    """Refuse the task to a user who completed one it must be separated from (403, or 409 when assigned)."""
    earlier = earlier_completion(task, user.username)
    if earlier is None:
        return
    detail = (f"four-eyes rule: {user.username} completed {_describe(earlier)} of process instance "
              f"{task.instance_id}; another agent must do {task.name or task.element_id!r}")
    errors = [{"elementId": task.element_id, "message": f"separated from {earlier.element_id}"}]
    if assigned_by is not None and assigned_by.username != user.username:
        raise ConflictError(detail, errors)
    raise PermissionDeniedError(detail, errors)


def check_completion(task: HumanTask, instance: ProcessInstance, submitted: dict[str, Any]) -> None:
    """Run the task's named completion check on the submitted data (422 when it fails)."""
    name = task_rules(task).get(COMPLETION_CHECK)
    if not name:
        return
    check = _checks().get(str(name))
    if check is None:
        raise ValidationFailedError(f"task {task.id} names an unknown completion check {name!r}",
                                    [{"elementId": task.element_id, "message": f"known: {', '.join(known_checks())}"}])
    check(dict(instance.variables or {}), submitted)
