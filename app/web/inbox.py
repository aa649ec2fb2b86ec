"""Agent inbox: queue tabs with live counts, filters, sorting, and the task page (claim, form, diagram, history)."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.errors import ConflictError, ValidationFailedError
from app.extensions import db
from app.models import HumanTask, ProcessDefinition
from app.services import dashboard, processes
from app.services import tasks as task_service
from app.web.common import INBOX_ROLES, actor, in_transaction, roles_required
from app.web.documents import document_response
from app.web.schema_forms import build_fields, errors_by_field, parse_submission

inbox_bp = Blueprint("inbox", __name__)

PAGE_SIZE = 50
VIEWS = ("all", "mine", "unassigned", "overdue")
SORTS = {
    "priority": [{"field": "priority", "order": "desc"}, {"field": "dueAt", "order": "asc"}],
    "due": [{"field": "dueAt", "order": "asc"}, {"field": "priority", "order": "desc"}],
}
SEARCH_BY = ("auto", "businessKey", "ssn", "name")
_SSN = re.compile(r"^\d{13,15}$")


def search_filter(query: str, by: str) -> dict[str, Any]:
    """Filter keys for the search box: a business key, the `ssn` or `name` business variable.

    `auto` reads 13 to 15 digits as a social security number and anything else as a business key.
    """
    query = query.strip()
    if not query:
        return {}
    compact = re.sub(r"[\s.-]", "", query)
    if by == "ssn" or (by == "auto" and _SSN.match(compact)):
        return {"variables": {"ssn": compact}}
    if by == "name":
        return {"variables": {"name": query}}
    return {"businessKey": query}


def queue_tabs(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(queue, open tasks) for every queue of the user, those without tasks included."""
    user = actor()
    names = set(counts) | (set() if user.sees_all_queues else set(user.queue_names))
    return [(name, counts.get(name, 0)) for name in sorted(n for n in names if n)]


@inbox_bp.get("/inbox")
@roles_required(*INBOX_ROLES)
def inbox():  # type: ignore[no-untyped-def]
    queue = request.args.get("queue", "")
    view = request.args.get("view", "all") if request.args.get("view") in VIEWS else "all"
    sort = request.args.get("sort", "priority") if request.args.get("sort") in SORTS else "priority"
    query = request.args.get("q", "")
    by = request.args.get("by", "auto") if request.args.get("by") in SEARCH_BY else "auto"
    after = request.args.get("after") or None
    user = actor()
    counts = task_service.task_counts_by_queue(user)
    tabs = queue_tabs(counts)
    flt: dict[str, Any] = {}
    if queue:
        flt["queue"] = queue
    if view == "mine":
        flt["assignee"] = "me"
    elif view == "unassigned":
        flt["assignee"] = None
    elif view == "overdue":
        flt["overdue"] = True
    flt.update(search_filter(query, by))
    page = task_service.search_tasks(user, flt, SORTS[sort], {"limit": PAGE_SIZE, "after": after})
    args = {"queue": queue, "view": view, "sort": sort, "q": query, "by": by}
    return render_template("inbox/inbox.html", tasks=page.items, total=page.total, end_cursor=page.end_cursor,
                           tabs=tabs, all_count=sum(c for _, c in tabs), args=args, paged=bool(after),
                           views=VIEWS, search_by=SEARCH_BY)


@inbox_bp.get("/inbox/counts")
@roles_required(*INBOX_ROLES)
def inbox_counts():  # type: ignore[no-untyped-def]
    tabs = queue_tabs(task_service.task_counts_by_queue(actor()))
    return jsonify({"queues": dict(tabs), "total": sum(c for _, c in tabs)})


def _task_page(task: HumanTask, *, values: dict[str, Any] | None = None,
               errors: list[dict[str, Any]] | None = None, status: int = 200) -> tuple[str, int]:
    user = actor()
    form = task_service.task_form(task)
    instance = processes.get_instance(task.instance_id)
    field_errors, general = errors_by_field(errors or [])
    start_values = values if values is not None else (instance.variables or {})
    fields = build_fields(form.schema if form else None, form.ui_schema if form else None, start_values,
                          field_errors)
    rendered = _field_names(fields)
    general += [f"{name}: {message}" for name, message in field_errors.items() if name not in rendered]
    can_complete = task.state == "open" and (task.assignee == user.username or user.role == "admin") \
        and instance.status == "running"
    return render_template(
        "inbox/task.html", task=task, form=form, fields=fields, general_errors=general, instance=instance,
        field_errors=field_errors,
        history=processes.instance_history(instance.id), documents=dashboard.instance_documents(instance.id),
        can_complete=can_complete, can_claim=task.state == "open" and task.assignee != user.username,
        overdue=task_service.is_overdue(task),
    ), status


def _field_names(fields: list[Any]) -> set[str]:
    names: set[str] = set()
    for f in fields:
        names.add(f.name)
        names |= _field_names(f.children)
    return names


@inbox_bp.get("/tasks/<int:task_id>")
@roles_required(*INBOX_ROLES)
def task_page(task_id: int):  # type: ignore[no-untyped-def]
    return _task_page(task_service.get_task(task_id, actor()))


@inbox_bp.post("/tasks/<int:task_id>/claim")
@roles_required(*INBOX_ROLES)
def claim(task_id: int):  # type: ignore[no-untyped-def]
    try:
        in_transaction(lambda: task_service.claim_task(task_id, actor()))
    except ConflictError as exc:
        flash(exc.detail, "error")
    else:
        flash(_("The task is yours: fill in the form and complete it."), "success")
    return redirect(url_for("inbox.task_page", task_id=task_id))


@inbox_bp.post("/tasks/<int:task_id>/unclaim")
@roles_required(*INBOX_ROLES)
def unclaim(task_id: int):  # type: ignore[no-untyped-def]
    try:
        in_transaction(lambda: task_service.unclaim_task(task_id, actor()))
    except ConflictError as exc:
        flash(exc.detail, "error")
    else:
        flash(_("The task is back in its queue."))
    return redirect(url_for("inbox.task_page", task_id=task_id))


@inbox_bp.post("/tasks/<int:task_id>/complete")
@roles_required(*INBOX_ROLES)
def complete(task_id: int):  # type: ignore[no-untyped-def]
    user = actor()
    task = task_service.get_task(task_id, user)
    form = task_service.task_form(task)
    variables = parse_submission(form.schema if form else None, form.ui_schema if form else None, request.form)
    try:
        in_transaction(lambda: task_service.complete_task(task_id, user, variables))
    except ValidationFailedError as exc:
        task = task_service.get_task(task_id, user)
        return _task_page(task, values=variables, errors=exc.errors or [{"field": None, "message": exc.detail}],
                          status=422)
    except ConflictError as exc:
        flash(exc.detail, "error")
        return redirect(url_for("inbox.task_page", task_id=task_id))
    flash(_("Task “%(name)s” completed.", name=task.name or task.element_id), "success")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/inbox")
                    else url_for("inbox.inbox"))


@inbox_bp.get("/tasks/<int:task_id>/documents/<int:document_id>")
@roles_required(*INBOX_ROLES)
def task_document(task_id: int, document_id: int):  # type: ignore[no-untyped-def]
    task = task_service.get_task(task_id, actor())
    return document_response(document_id, task.instance_id, f"task {task_id}")


@inbox_bp.get("/tasks/<int:task_id>/diagram.xml")
@roles_required(*INBOX_ROLES)
def task_diagram(task_id: int):  # type: ignore[no-untyped-def]
    task = task_service.get_task(task_id, actor())
    instance = processes.get_instance(task.instance_id)
    definition = db.session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None
    return Response(definition.bpmn_file.content, mimetype="application/xml")
