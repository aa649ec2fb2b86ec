"""JSON shapes of the API resources (API.md)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from app.models import ElementCounter, HumanTask, Incident, InstanceEvent, ProcessDefinition, ProcessInstance
from app.services import processes
from app.services import tasks as task_service


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with a Z for UTC."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def definition_json(d: ProcessDefinition) -> dict[str, Any]:
    return {"id": d.id, "key": d.key, "version": d.version, "name": d.name, "deployedAt": iso(d.deployed_at),
            "deployedBy": d.deployed_by, "deploymentId": d.deployment_id}


def task_json(t: HumanTask) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "elementId": t.element_id, "processInstanceId": t.instance_id,
        "processDefinitionKey": t.definition_key, "businessKey": t.business_key, "queue": t.queue,
        "assignee": t.assignee, "state": t.state, "priority": t.priority, "dueAt": iso(t.due_at),
        "createdAt": iso(t.created_at), "completedAt": iso(t.completed_at), "formKey": t.form_key,
        "overdue": task_service.is_overdue(t),
    }


def incident_json(i: Incident) -> dict[str, Any]:
    return {"id": i.id, "processInstanceId": i.instance_id, "jobId": i.job_id, "elementId": i.element_id,
            "topic": i.topic, "state": i.state, "message": i.message, "errorCode": i.error_code,
            "createdAt": iso(i.created_at), "resolvedAt": iso(i.resolved_at), "resolvedBy": i.resolved_by}


def instance_summary_json(p: ProcessInstance) -> dict[str, Any]:
    return {"id": p.id, "processDefinitionId": p.definition_id, "processDefinitionKey": p.definition_key,
            "version": p.definition_version, "businessKey": p.business_key, "status": p.status,
            "startedAt": iso(p.started_at), "endedAt": iso(p.ended_at)}


def instance_json(p: ProcessInstance) -> dict[str, Any]:
    open_tasks = [t for t in _open_tasks(p.id)]
    body = instance_summary_json(p)
    body.update({
        "variables": p.variables or {},
        "activeElementIds": p.active_element_ids or [],
        "completedElementIds": p.completed_element_ids or [],
        "openTasks": [task_json(t) for t in open_tasks],
        "incidents": [incident_json(i) for i in processes.open_incidents(p.id)],
        "waitingFor": p.waiting or [],
    })
    body["documents"] = _instance_documents(p.id)
    return body


def _instance_documents(instance_id: int) -> list[dict[str, Any]]:
    """Documents filed for the instance (or its case), when the documents area is installed."""
    try:
        from app.api.documents import document_summary_json
        from app.services.documents import documents_of_instance
    except ImportError:
        return []
    return [document_summary_json(d) for d in documents_of_instance(instance_id)]


def _open_tasks(instance_id: int) -> list[HumanTask]:
    from sqlalchemy import select

    from app.extensions import db
    from app.services.projections import known_open_tasks

    known = known_open_tasks(instance_id)
    if known is not None:
        return known
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.state == "open").order_by(HumanTask.id)))


def event_json(e: InstanceEvent) -> dict[str, Any]:
    return {"at": iso(e.at), "type": e.type, "elementId": e.element_id, "taskId": e.task_id, "actor": e.actor,
            "details": e.details or {}}


def statistics_json(c: ElementCounter) -> dict[str, Any]:
    return {"elementId": c.element_id, "active": c.active, "completed": c.completed, "incidents": c.incidents}
