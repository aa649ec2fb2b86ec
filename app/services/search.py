"""Process instance search: filters on status, definition, business key, dates and business variables."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal, select

from app.errors import BadRequestError
from app.models import ProcessInstance
from app.models.instance import INSTANCE_STATUSES
from app.services import counters
from app.services.keyset import SortKey
from app.services.tasks import SearchPage, page_query, parse_sort, variables_condition

INSTANCE_FILTER_KEYS = {"status", "processDefinitionKey", "businessKey", "startedAfter", "startedBefore",
                        "variables", "processDefinitionId"}
INSTANCE_SORT_FIELDS = {"startedAt": ProcessInstance.started_at, "endedAt": ProcessInstance.ended_at,
                        "businessKey": ProcessInstance.business_key}


def _parse_time(value: Any, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise BadRequestError(f"filter.{field} must be an ISO 8601 date-time",
                              [{"field": f"filter.{field}", "message": "ISO 8601 date-time"}]) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def search_instances(flt: Any = None, sort: Any = None, page: Any = None) -> SearchPage:
    """Instances matching the filter, newest first by default, keyset-paged."""
    if flt is None:
        flt = {}
    if not isinstance(flt, dict):
        raise BadRequestError("filter must be an object", [{"field": "filter", "message": "must be an object"}])
    unknown = set(flt) - INSTANCE_FILTER_KEYS
    if unknown:
        raise BadRequestError(f"unknown filter keys: {', '.join(sorted(unknown))}",
                              [{"field": f"filter.{k}", "message": "unknown filter"} for k in sorted(unknown)])
    conds: list[Any] = []
    if "status" in flt:
        statuses = flt["status"] if isinstance(flt["status"], list) else [flt["status"]]
        bad = [s for s in statuses if s not in ("running", "completed", "suspended", "terminated", "failed")]
        if bad:
            raise BadRequestError(f"unknown status {bad[0]!r}",
                                  [{"field": "filter.status", "message": "running, completed, suspended, terminated or failed"}])
        conds.append(ProcessInstance.status.in_(statuses))
    for key, column in (("processDefinitionKey", ProcessInstance.definition_key),
                        ("businessKey", ProcessInstance.business_key)):
        if key in flt:
            if not isinstance(flt[key], str):
                raise BadRequestError(f"filter.{key} must be a string", [{"field": f"filter.{key}", "message": "string"}])
            conds.append(column == flt[key])
    if "processDefinitionId" in flt:
        if not isinstance(flt["processDefinitionId"], int):
            raise BadRequestError("filter.processDefinitionId must be an integer",
                                  [{"field": "filter.processDefinitionId", "message": "integer"}])
        conds.append(ProcessInstance.definition_id == flt["processDefinitionId"])
    if "startedAfter" in flt:
        conds.append(ProcessInstance.started_at >= _parse_time(flt["startedAfter"], "startedAfter"))
    if "startedBefore" in flt:
        conds.append(ProcessInstance.started_at < _parse_time(flt["startedBefore"], "startedBefore"))
    if "variables" in flt:
        conds.extend(variables_condition(ProcessInstance.id, flt["variables"]))
    keys = parse_sort(sort, INSTANCE_SORT_FIELDS, [SortKey(ProcessInstance.started_at, True)], ProcessInstance.id)
    stmt = select(ProcessInstance).where(*conds)
    count_stmt = select(func.count()).select_from(ProcessInstance).where(*conds)
    if set(flt) <= {"status", "processDefinitionKey"}:
        # Whole statuses of one or every definition: the maintained counter, not a scan of millions.
        statuses = flt.get("status", list(INSTANCE_STATUSES))
        statuses = statuses if isinstance(statuses, list) else [statuses]
        count_stmt = select(literal(counters.instances_by_status(flt.get("processDefinitionKey"), statuses)))
    return page_query(stmt, count_stmt, keys, page, lambda row: [getattr(row, k.column.key) for k in keys])
