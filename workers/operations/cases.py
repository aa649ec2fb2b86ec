"""Case operations of the shipped processes: list a case's documents, record a process's outcome on its case."""
from __future__ import annotations

from typing import Any

from app.errors import NotFoundError
from app.extensions import db
from app.services import cases
from app.services.operations import JobContext, JobError, operation


@operation("cases.documents", retries=3, backoff_seconds=5.0)
def case_documents(ctx: JobContext) -> dict[str, Any]:
    """Input `case_number`; result: documents, types read, pending and unreadable ones."""
    try:
        return cases.case_documents(ctx.input.get("case_number"), ctx.instance_id)
    except NotFoundError as exc:
        raise JobError("CASE_UNKNOWN", exc.detail) from exc


@operation("cases.update", retries=3, backoff_seconds=5.0)
def update_case(ctx: JobContext) -> dict[str, Any]:
    """Input `case_number`, `status`, `outcome`, `only_for_process`; result: the case's number and status."""
    params = ctx.input
    try:
        result = cases.update_case(params.get("case_number"), ctx.instance_id, "worker", status=params.get("status"),
                                   outcome=params.get("outcome"), only_for_process=params.get("only_for_process"))
    except NotFoundError as exc:
        raise JobError("CASE_UNKNOWN", exc.detail) from exc
    except ValueError as exc:
        raise JobError("INVALID_CASE_UPDATE", str(exc)) from exc
    db.session.commit()  # the case's status stands even if the result waits for a suspended instance
    return result
