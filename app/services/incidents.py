"""Incidents (automated steps that gave up): search, and retry once the cause is fixed."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from app.errors import BadRequestError, ConflictError, NotFoundError
from app.extensions import db
from app.models import Incident, Job, ProcessInstance, User
from app.models._types import utcnow
from app.services import projections
from app.services.keyset import SortKey
from app.services.permissions import OPERATE_ROLES, require_role
from app.services.projections import PENDING_JOBS_KEY
from app.services.tasks import SearchPage, page_query, parse_sort

SEARCH_ROLES = (*OPERATE_ROLES, "analyst")
FILTER_KEYS = {"processInstanceId", "state", "topic", "elementId", "jobId"}
SORT_FIELDS = {"createdAt": Incident.created_at, "resolvedAt": Incident.resolved_at}


def search_incidents(actor: User, flt: Any = None, sort: Any = None, page: Any = None) -> SearchPage:
    """Incidents matching the filter, newest first by default, keyset-paged."""
    require_role(actor, SEARCH_ROLES, "see incidents")
    flt = flt or {}
    if not isinstance(flt, dict):
        raise BadRequestError("filter must be an object", [{"field": "filter", "message": "must be an object"}])
    unknown = set(flt) - FILTER_KEYS
    if unknown:
        raise BadRequestError(f"unknown filter keys: {', '.join(sorted(unknown))}",
                              [{"field": f"filter.{k}", "message": "unknown filter"} for k in sorted(unknown)])
    conds: list[Any] = []
    for key, column in (("processInstanceId", Incident.instance_id), ("jobId", Incident.job_id)):
        if key in flt:
            if not isinstance(flt[key], int) or isinstance(flt[key], bool):
                raise BadRequestError(f"filter.{key} must be an integer",
                                      [{"field": f"filter.{key}", "message": "integer"}])
            conds.append(column == flt[key])
    if "state" in flt:
        if flt["state"] not in ("open", "resolved"):
            raise BadRequestError("filter.state must be open or resolved",
                                  [{"field": "filter.state", "message": "open or resolved"}])
        conds.append(Incident.state == flt["state"])
    for key, text_column in (("topic", Incident.topic), ("elementId", Incident.element_id)):
        if key in flt:
            if not isinstance(flt[key], str):
                raise BadRequestError(f"filter.{key} must be a string",
                                      [{"field": f"filter.{key}", "message": "string"}])
            conds.append(text_column == flt[key])
    keys = parse_sort(sort, SORT_FIELDS, [SortKey(Incident.created_at, True)], Incident.id)
    stmt = select(Incident).where(*conds)
    count_stmt = select(func.count()).select_from(Incident).where(*conds)
    return page_query(stmt, count_stmt, keys, page, lambda row: [getattr(row, k.column.key) for k in keys])


def retry_incident(incident_id: int, actor: User) -> Incident:
    """Resolve a job incident and send its job again with a fresh retry budget (202: it runs later)."""
    require_role(actor, OPERATE_ROLES, "retry incidents")
    incident = db.session.execute(select(Incident).where(Incident.id == incident_id).with_for_update()
                                  .execution_options(populate_existing=True)).scalar_one_or_none()
    if incident is None:
        raise NotFoundError(f"no incident {incident_id}")
    if incident.state != "open":
        raise ConflictError(f"incident {incident_id} is already {incident.state}")
    if incident.job_id is None:
        raise ConflictError(f"incident {incident_id} is not about a job: nothing to retry "
                            "(fix the process and start a new instance, or cancel this one)")
    instance = db.session.get(ProcessInstance, incident.instance_id)
    if instance is None or instance.status in ("completed", "terminated"):
        raise ConflictError(f"process instance {incident.instance_id} has ended")
    reset = db.session.execute(
        update(Job).where(Job.id == incident.job_id, Job.state == "failed")
        .values(state="pending", attempts=0, next_run_at=None, sent_at=None, lease_token=None, lease_until=None,
                completed_at=None).execution_options(synchronize_session=False))
    if reset.rowcount != 1:
        raise ConflictError(f"the job of incident {incident_id} is not failed any more")
    now = utcnow()
    incident.state, incident.resolved_at, incident.resolved_by = "resolved", now, actor.username
    projections.bump_incident_counter(instance.definition_id, incident.element_id, -1)
    projections.record_event(instance.id, "incident_resolved", actor.username, element_id=incident.element_id,
                             details={"incidentId": incident.id, "jobId": incident.job_id, "retry": True})
    db.session.flush()
    # Sent after the commit like a new job; the sweeper sends it if that fails.
    db.session.info.setdefault(PENDING_JOBS_KEY, []).append(incident.job_id)
    return incident
