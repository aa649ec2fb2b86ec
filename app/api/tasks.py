"""Human tasks: search, read with form, claim, unclaim, complete."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from app.api import api_bp
from app.api.helpers import current_user, in_transaction, json_body, str_field
from app.api.views import instance_json, task_json
from app.extensions import db
from app.models import ProcessInstance
from app.services import forms as form_service
from app.services import tasks as task_service


@api_bp.post("/tasks/search")
def search_tasks():  # type: ignore[no-untyped-def]
    body = json_body(allow_empty=True)
    page = task_service.search_tasks(current_user(), body.get("filter"), body.get("sort"), body.get("page"))
    return jsonify({"items": [task_json(t) for t in page.items],
                    "page": {"totalItems": page.total, "endCursor": page.end_cursor}})


@api_bp.get("/tasks/<int:task_id>")
def get_task(task_id: int):  # type: ignore[no-untyped-def]
    task = task_service.get_task(task_id, current_user())
    form = task_service.task_form(task)
    instance = db.session.get(ProcessInstance, task.instance_id)
    body = task_json(task)
    variables = instance.variables if instance else {}
    schema = form_service.resolve_dynamic_options(form.schema, variables) if form else None
    body["form"] = {"schema": schema, "uiSchema": form.ui_schema if form else None}
    body["variables"] = variables
    return jsonify(body)


@api_bp.post("/tasks/<int:task_id>/assignment")
def claim_task(task_id: int):  # type: ignore[no-untyped-def]
    body = json_body(allow_empty=True)
    assignee = str_field(body, "assignee")
    task = in_transaction(lambda: task_service.claim_task(task_id, current_user(), assignee))
    return jsonify(task_json(task))


@api_bp.delete("/tasks/<int:task_id>/assignment")
def unclaim_task(task_id: int):  # type: ignore[no-untyped-def]
    in_transaction(lambda: task_service.unclaim_task(task_id, current_user()))
    return "", 204


@api_bp.post("/tasks/<int:task_id>/completion")
def complete_task(task_id: int):  # type: ignore[no-untyped-def]
    body = json_body(allow_empty=True)
    def complete_and_shape() -> dict[str, Any]:
        # Shaped inside the transaction: the answer's reads need no second one.
        task, instance = task_service.complete_task(task_id, current_user(), body.get("variables", {}))
        return {"task": task_json(task), "processInstance": instance_json(instance)}

    return jsonify(in_transaction(complete_and_shape))


@api_bp.get("/tasks/counts")
def count_tasks():  # type: ignore[no-untyped-def]
    counts = task_service.queue_counts(current_user())
    return jsonify({"queues": [{"queue": q, "open": n, "overdue": o} for q, (n, o) in sorted(counts.items())]})
