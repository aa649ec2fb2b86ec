"""Human tasks: search (queue-aware), claim, unclaim and completion with form validation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from app.extensions import db
from app.models import FormDefinition, HumanTask, InstanceVariable, ProcessInstance, User
from app.models._types import utcnow
from app.services import counters, processes, projections, task_rules
from app.services import forms as form_service
from app.services.keyset import SortKey, after_cursor
from app.services.paging import encode_cursor, parse_page
from app.services.permissions import can_see_task, visible_queues
from app.services.users import get_user
from workflows import TaskNotFoundError, TaskNotReadyError, WorkflowError

TASK_SORT_FIELDS = {
    "priority": HumanTask.priority, "dueAt": HumanTask.due_at, "createdAt": HumanTask.created_at,
    "name": HumanTask.name, "completedAt": HumanTask.completed_at,
}
TASK_FILTER_KEYS = {"queue", "assignee", "state", "processInstanceId", "businessKey", "processDefinitionKey",
                    "overdue", "variables", "elementId"}


@dataclass
class SearchPage:
    items: list[Any]
    total: int
    end_cursor: str | None


def parse_sort(sort: Any, fields: dict[str, Any], default: list[SortKey], id_column: Any) -> list[SortKey]:
    """Validate a `sort` list into SortKeys, always ending with the id as tie-breaker."""
    if sort is None:
        keys = list(default)
    else:
        if not isinstance(sort, list):
            raise BadRequestError("sort must be a list", [{"field": "sort", "message": "must be a list"}])
        keys = []
        for i, item in enumerate(sort):
            if not isinstance(item, dict) or item.get("field") not in fields:
                raise BadRequestError(f"sort[{i}].field must be one of {', '.join(fields)}",
                                      [{"field": f"sort[{i}].field", "message": f"one of {', '.join(fields)}"}])
            order = item.get("order", "asc")
            if order not in ("asc", "desc"):
                raise BadRequestError(f"sort[{i}].order must be asc or desc",
                                      [{"field": f"sort[{i}].order", "message": "asc or desc"}])
            keys.append(SortKey(fields[item["field"]], order == "desc"))
    return keys + [SortKey(id_column)]


def page_query(stmt: Any, count_stmt: Any, keys: list[SortKey], page: Any,
               row_values: Any) -> SearchPage:
    """Run a keyset-paged query: items, total count and the cursor of the last row."""
    request = parse_page(page)
    if request.after is not None:
        if len(request.after) != len(keys):
            raise BadRequestError("page.after does not match this sort",
                                  [{"field": "page.after", "message": "cursor from another sort"}])
        stmt = stmt.where(after_cursor(keys, request.after))
    rows = list(db.session.scalars(stmt.order_by(*[k.order_by() for k in keys]).limit(request.limit + 1)))
    has_more = len(rows) > request.limit
    rows = rows[: request.limit]
    total = db.session.scalar(count_stmt) or 0
    cursor = encode_cursor(row_values(rows[-1])) if rows and has_more else None
    return SearchPage(rows, int(total), cursor)


def _bool_filter(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequestError(f"filter.{field} must be true or false", [{"field": f"filter.{field}", "message": "boolean"}])
    return value


def variables_condition(model_id_column: Any, variables: Any) -> list[Any]:
    """EXISTS conditions matching indexed business variables exactly."""
    if not isinstance(variables, dict):
        raise BadRequestError("filter.variables must be an object",
                              [{"field": "filter.variables", "message": "object of name: value"}])
    conditions = []
    for name, value in variables.items():
        text = projections._scalar_text(value)
        if text is None:
            raise BadRequestError(f"filter.variables.{name} must be a string, number or boolean",
                                  [{"field": f"filter.variables.{name}", "message": "scalar value"}])
        conditions.append(exists().where(InstanceVariable.instance_id == model_id_column,
                                         InstanceVariable.name == name, InstanceVariable.value == text))
    return conditions


def _task_conditions(actor: User, flt: dict[str, Any]) -> list[Any]:
    unknown = set(flt) - TASK_FILTER_KEYS
    if unknown:
        raise BadRequestError(f"unknown filter keys: {', '.join(sorted(unknown))}",
                              [{"field": f"filter.{k}", "message": "unknown filter"} for k in sorted(unknown)])
    conds: list[Any] = []
    allowed = visible_queues(actor)
    if "queue" in flt:
        queue = flt["queue"]
        if not isinstance(queue, str):
            raise BadRequestError("filter.queue must be a string", [{"field": "filter.queue", "message": "string"}])
        if allowed is not None and queue not in allowed:
            raise PermissionDeniedError(f"you are not a member of queue {queue!r}")
        conds.append(HumanTask.queue == queue)
    elif allowed is not None:
        conds.append(HumanTask.queue.in_(allowed) | (HumanTask.assignee == actor.username))
    if "assignee" in flt:
        assignee = flt["assignee"]
        if assignee is None:
            conds.append(HumanTask.assignee.is_(None))
        elif isinstance(assignee, str):
            conds.append(HumanTask.assignee == (actor.username if assignee == "me" else assignee))
        else:
            raise BadRequestError("filter.assignee must be a username, \"me\" or null",
                                  [{"field": "filter.assignee", "message": "string or null"}])
    state = flt.get("state", "open")
    if state is not None:
        if state not in ("open", "completed", "cancelled"):
            raise BadRequestError("filter.state must be open, completed or cancelled",
                                  [{"field": "filter.state", "message": "open, completed or cancelled"}])
        conds.append(HumanTask.state == state)
    for key, column in (("businessKey", HumanTask.business_key), ("processDefinitionKey", HumanTask.definition_key),
                        ("elementId", HumanTask.element_id)):
        if key in flt:
            if not isinstance(flt[key], str):
                raise BadRequestError(f"filter.{key} must be a string", [{"field": f"filter.{key}", "message": "string"}])
            conds.append(column == flt[key])
    if "processInstanceId" in flt:
        pid = flt["processInstanceId"]
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise BadRequestError("filter.processInstanceId must be an integer",
                                  [{"field": "filter.processInstanceId", "message": "integer"}])
        conds.append(HumanTask.instance_id == pid)
    if "overdue" in flt:
        now = utcnow()
        conds.append((HumanTask.due_at < now) if _bool_filter(flt["overdue"], "overdue")
                     else (HumanTask.due_at.is_(None) | (HumanTask.due_at >= now)))
    if "variables" in flt:
        conds.extend(variables_condition(HumanTask.instance_id, flt["variables"]))
    if "processInstanceId" not in flt:
        # A work list leaves out what the four-eyes rule keeps the caller off; one instance's list shows all.
        conds.append(HumanTask.excluded_users.is_(None)
                     | ~HumanTask.excluded_users.contains(f",{actor.username},", autoescape=True))
    return conds


def search_tasks(actor: User, flt: Any = None, sort: Any = None, page: Any = None) -> SearchPage:
    """Tasks the caller may see, filtered, sorted (default: priority high first, then due date), paged."""
    if flt is None:
        flt = {}
    if not isinstance(flt, dict):
        raise BadRequestError("filter must be an object", [{"field": "filter", "message": "must be an object"}])
    conds = _task_conditions(actor, flt)
    keys = parse_sort(sort, TASK_SORT_FIELDS, [SortKey(HumanTask.priority, True), SortKey(HumanTask.due_at)],
                      HumanTask.id)
    stmt = select(HumanTask).where(*conds)
    count_stmt = select(func.count()).select_from(HumanTask).where(*conds)
    if set(flt) <= {"queue", "state"} and flt.get("state", "open") == "open" and (
            actor.sees_all_queues or "queue" in flt):
        # A whole queue (or every queue) of open tasks: the maintained counter, not a scan.
        queues = [flt["queue"]] if "queue" in flt else None
        total = sum(counters.open_tasks_by_queue(queues).values()) - sum(_kept_off(actor, queues).values())
        count_stmt = select(literal(total))
    return page_query(stmt, count_stmt, keys, page,
                      lambda row: [getattr(row, k.column.key) for k in keys])


def get_task(task_id: int, actor: User, *, fresh: bool = False) -> HumanTask:
    """A task the caller may see, else 404 (or 403 when it exists in another queue)."""
    task = db.session.get(HumanTask, task_id, populate_existing=fresh)
    if task is None:
        raise NotFoundError(f"no task {task_id}")
    if not can_see_task(actor, task):
        raise PermissionDeniedError(f"task {task_id} belongs to queue {task.queue!r}, not one of yours")
    return task


def task_form(task: HumanTask) -> FormDefinition | None:
    """The latest deployed form of a task's form key."""
    return form_service.latest_form(task.form_key) if task.form_key else None


_TAKE_OPEN_TASK = (update(HumanTask).where(HumanTask.id == bindparam("task_id"), HumanTask.state == "open")
                   .values(assignee=bindparam("assignee"), claimed_at=bindparam("now"))
                   .execution_options(synchronize_session=False))
# Built once, keyed by takeover: a supervisor takes it from whoever holds it; others only when it is free
# or already theirs.
_CLAIM = {True: _TAKE_OPEN_TASK,
          False: _TAKE_OPEN_TASK.where(HumanTask.assignee.is_(None) | (HumanTask.assignee == bindparam("assignee")))}


def claim_task(task_id: int, actor: User, assignee: str | None = None) -> HumanTask:
    """Assign an open task (to the caller, or by a supervisor to a member of its queue); 409 if taken."""
    task = get_task(task_id, actor)
    target = actor
    if assignee is not None and assignee != actor.username:
        if not actor.sees_all_queues:
            raise PermissionDeniedError("only supervisors and admins may assign tasks to someone else")
        found = get_user(assignee)
        if found is None or not found.active:
            raise BadRequestError(f"unknown user {assignee!r}", [{"field": "assignee", "message": "unknown user"}])
        if found.role != "admin" and task.queue not in found.queue_names:
            raise ConflictError(f"{assignee} is not a member of queue {task.queue!r}")
        target = found
    task_rules.check_separation(task, target, assigned_by=actor)
    now = utcnow()
    # One conditional UPDATE decides between concurrent claims: exactly one of them matches.
    takeover = actor.sees_all_queues and assignee is not None
    result = db.session.execute(_CLAIM[takeover], {"task_id": task_id, "assignee": target.username, "now": now})
    if result.rowcount == 1:
        set_committed_value(task, "assignee", target.username)
        set_committed_value(task, "claimed_at", now)
    else:
        db.session.refresh(task)
        if task.state != "open":
            raise ConflictError(f"task {task_id} is already {task.state}")
        raise ConflictError(f"task {task_id} is already assigned to {task.assignee}")
    projections.record_event(task.instance_id, "task_claimed", actor.username, element_id=task.element_id,
                             task_id=task.id, details={"assignee": target.username})
    return task


def unclaim_task(task_id: int, actor: User) -> None:
    """Give an assigned task back to its queue (the assignee, or a supervisor/admin)."""
    task = get_task(task_id, actor)
    if task.state != "open":
        raise ConflictError(f"task {task_id} is already {task.state}")
    if task.assignee is None:
        return
    if task.assignee != actor.username and not actor.sees_all_queues:
        raise ConflictError(f"task {task_id} is assigned to {task.assignee}")
    task.assignee = None
    task.claimed_at = None
    projections.record_event(task.instance_id, "task_unclaimed", actor.username, element_id=task.element_id,
                             task_id=task.id)
    db.session.flush()


def complete_task(task_id: int, actor: User, variables: Any) -> tuple[HumanTask, ProcessInstance]:
    """Complete an assigned task with form data valid against its schema, and run the instance on."""
    variables = processes.check_variables(variables)
    instance = processes.lock_instance(of_task=task_id)
    # Read after the lock: a concurrent completion has either committed or not started.
    task = get_task(task_id, actor, fresh=True)
    if task.state != "open":
        raise ConflictError(f"task {task_id} is already {task.state}")
    if task.assignee != actor.username and actor.role != "admin":
        if task.assignee is None:
            raise ConflictError(f"task {task_id} is not claimed: claim it before completing it")
        raise ConflictError(f"task {task_id} is assigned to {task.assignee}")
    if instance.status != "running":
        raise ConflictError(f"process instance {instance.id} is {instance.status}")
    task_rules.check_separation(task, actor)
    form = task_form(task)
    form_service.validate_form_data(
        form_service.resolve_dynamic_options(form.schema, instance.variables) if form else None, variables)
    task_rules.check_completion(task, instance, variables)
    processes.ensure_json(variables)
    definition, execution = processes.restore_execution(instance)
    try:
        execution.complete_user_task(task.engine_task_id, variables)
    except (TaskNotFoundError, TaskNotReadyError) as exc:
        raise ConflictError(f"task {task_id} is no longer waiting in its instance") from exc
    except WorkflowError as exc:
        # The task's own completion failed (a multi-instance output item missing, a post-script error):
        # nothing is saved and the task stays open.
        raise processes.engine_refused(exc, f"task {task_id} cannot be completed with this data") from exc
    now = utcnow()
    task.state = "completed"
    task.completed_at = now
    task.completed_by = actor.username
    projections.record_event(instance.id, "task_completed", actor.username, element_id=task.element_id,
                             task_id=task.id, details={"variables": sorted(variables)}, at=now)
    processes.run_and_save(instance, definition, execution, actor.username)
    return task, instance


def _kept_off(actor: User, queues: list[str] | None) -> dict[str, int]:
    """Open tasks per queue that a four-eyes rule keeps the caller off (a partial index holds only those)."""
    stmt = (select(HumanTask.queue, func.count())
            .where(HumanTask.excluded_users.is_not(None), HumanTask.state == "open",
                   HumanTask.excluded_users.contains(f",{actor.username},", autoescape=True))
            .group_by(HumanTask.queue))
    if queues is not None:
        stmt = stmt.where(HumanTask.queue.in_(queues))
    return {queue or "": int(n) for queue, n in db.session.execute(stmt)}


def task_counts_by_queue(actor: User) -> dict[str, int]:
    """Open tasks per visible queue that the caller may take (the inbox tabs), from the counters."""
    queues = visible_queues(actor)
    kept_off = _kept_off(actor, queues)
    return {q: n - kept_off.get(q, 0) for q, n in counters.open_tasks_by_queue(queues).items()}


def queue_counts(actor: User) -> dict[str, tuple[int, int]]:
    """(open, overdue) tasks per visible queue, from counters (no scan of the tasks)."""
    allowed = visible_queues(actor)
    overdue = counters.overdue_tasks_by_queue(allowed)
    return {q: (n, overdue.get(q, 0)) for q, n in counters.open_tasks_by_queue(allowed).items()}


def is_overdue(task: HumanTask, now: datetime | None = None) -> bool:
    """An open task past its due date."""
    return task.state == "open" and task.due_at is not None and task.due_at < (now or utcnow())
