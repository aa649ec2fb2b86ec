"""Supervisors' monitoring: instance search, instance page (diagram markers, operations), definitions, dashboard."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import AppError, ConflictError, NotFoundError
from app.extensions import db
from app.models import HumanTask, ProcessDefinition
from app.services import dashboard, deployments, processes, search
from app.web.common import MONITOR_ROLES, actor, in_transaction, roles_required, wants_json
from app.web.documents import document_response

monitor_bp = Blueprint("monitor", __name__, url_prefix="/monitor")

PAGE_SIZE = 50
STATUSES = ("running", "suspended", "failed", "completed", "terminated")
ACTIONS: dict[str, Callable[[int, Any], None]] = {
    "suspend": processes.suspend_instance,
    "resume": processes.resume_instance,
    "cancel": processes.cancel_instance,
}


def instance_filter(args: Any) -> dict[str, Any]:
    """The search filter of the instance list's query string."""
    flt: dict[str, Any] = {}
    if args.get("process"):
        flt["processDefinitionKey"] = args["process"]
    if args.get("status") in STATUSES:
        flt["status"] = args["status"]
    if args.get("businessKey", "").strip():
        flt["businessKey"] = args["businessKey"].strip()
    if args.get("varName", "").strip() and args.get("varValue", "").strip():
        flt["variables"] = {args["varName"].strip(): args["varValue"].strip()}
    if args.get("definition", "").isdigit():
        flt["processDefinitionId"] = int(args["definition"])
    return flt



@monitor_bp.get("")
@roles_required(*MONITOR_ROLES)
def instances():  # type: ignore[no-untyped-def]
    args = {k: request.args.get(k, "") for k in ("process", "status", "businessKey", "varName", "varValue",
                                                 "definition")}
    after = request.args.get("after") or None
    page = search.search_instances(instance_filter(args), None, {"limit": PAGE_SIZE, "after": after})
    keys = sorted({d.key for d in deployments.list_definitions()})
    return render_template("monitor/instances.html", instances=page.items, total=page.total,
                           end_cursor=page.end_cursor, args=args, keys=keys, statuses=STATUSES, paged=bool(after),
                           status_counts=dashboard.instance_status_counts())


@monitor_bp.get("/instances/<int:instance_id>")
@roles_required(*MONITOR_ROLES)
def instance_page(instance_id: int):  # type: ignore[no-untyped-def]
    instance = processes.get_instance(instance_id)
    incidents = processes.open_incidents(instance_id)
    tasks = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                    .order_by(HumanTask.id)))
    failed = sorted({i.element_id for i in incidents if i.element_id})
    return render_template("monitor/instance.html", instance=instance, incidents=incidents, tasks=tasks,
                           failed=failed, history=processes.instance_history(instance_id),
                           documents=dashboard.instance_documents(instance_id),
                           definition=processes.get_definition_by_id(instance.definition_id), can_retry=_retry_service() is not None)


@monitor_bp.post("/instances/<int:instance_id>/<action>")
@roles_required(*MONITOR_ROLES)
def operate(instance_id: int, action: str):  # type: ignore[no-untyped-def]
    if action not in ACTIONS:
        raise NotFoundError(f"no action {action!r}")
    try:
        in_transaction(lambda: ACTIONS[action](instance_id, actor()))
    except ConflictError as exc:
        if wants_json():
            raise
        flash(exc.detail, "error")
    else:
        instance = processes.get_instance(instance_id)
        if wants_json():
            return jsonify({"id": instance_id, "status": instance.status})
        flash(_("Instance #%(id)s is now %(status)s.", id=instance_id, status=instance.status), "success")
    return redirect(url_for("monitor.instance_page", instance_id=instance_id))


def _retry_service() -> Callable[..., Any] | None:
    """The incident retry of the automated-steps module, when it is installed."""
    for module_name in ("app.services.incidents", "app.services.jobs", "app.services.processes"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        retry = getattr(module, "retry_incident", None)
        if retry is not None:
            return retry  # type: ignore[no-any-return]
    return None


@monitor_bp.post("/incidents/<int:incident_id>/retry")
@roles_required(*MONITOR_ROLES)
def retry_incident(incident_id: int):  # type: ignore[no-untyped-def]
    from app.models import Incident

    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"no incident {incident_id}")
    retry = _retry_service()
    if retry is None:
        flash(_("Retrying incidents is not available in this installation."), "error")
    else:
        try:
            in_transaction(lambda: retry(incident_id, actor()))
        except AppError as exc:
            flash(exc.detail, "error")
        else:
            flash(_("Incident %(id)s sent for retry.", id=incident_id), "success")
    return redirect(url_for("monitor.instance_page", instance_id=incident.instance_id))


@monitor_bp.get("/instances/<int:instance_id>/documents/<int:document_id>")
@roles_required(*MONITOR_ROLES)
def instance_document(instance_id: int, document_id: int):  # type: ignore[no-untyped-def]
    processes.get_instance(instance_id)
    return document_response(document_id, instance_id, f"instance {instance_id}")


@monitor_bp.get("/definitions/<int:definition_id>")
@roles_required(*MONITOR_ROLES)
def definition_page(definition_id: int):  # type: ignore[no-untyped-def]
    definition = processes.get_definition_by_id(definition_id)
    stats = processes.definition_statistics(definition_id)
    return render_template("monitor/definition.html", definition=definition, stats=stats,
                           versions=deployments.list_definitions(definition.key),
                           counts=[{"elementId": c.element_id, "active": c.active, "completed": c.completed,
                                    "incidents": c.incidents} for c in stats])


@monitor_bp.get("/definitions/<int:definition_id>/xml")
@roles_required(*MONITOR_ROLES)
def definition_xml(definition_id: int):  # type: ignore[no-untyped-def]
    return Response(processes.get_definition_by_id(definition_id).bpmn_file.content, mimetype="application/xml")


@monitor_bp.get("/dashboard")
@roles_required(*MONITOR_ROLES)
def dashboard_page():  # type: ignore[no-untyped-def]
    loads = dashboard.queue_load()
    days = dashboard.instances_per_day(14)
    chart = {
        "queues": [q.queue for q in loads], "open": [q.open for q in loads], "overdue": [q.overdue for q in loads],
        "days": [d.day.isoformat() for d in days], "started": [d.started for d in days],
        "completed": [d.completed for d in days],
    }
    return render_template("monitor/dashboard.html", loads=loads, days=days, chart=chart,
                           oldest=dashboard.oldest_open_tasks(10), status_counts=dashboard.instance_status_counts(),
                           definitions=_latest_definitions())


def _latest_definitions() -> list[ProcessDefinition]:
    latest: dict[str, ProcessDefinition] = {}
    for definition in deployments.list_definitions():
        latest.setdefault(definition.key, definition)
    return list(latest.values())
