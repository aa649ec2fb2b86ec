"""Benefit operations of benefit_payment: the facts the eligibility table reads, the amount by the rules.

Both take the instance's variables (no operator parameters): ssn, case_type (the benefit), claim_date,
and for a sickness allowance leave_start and leave_end.
"""
from __future__ import annotations

from typing import Any

from app.errors import NotFoundError
from app.services import benefits
from app.services.operations import JobContext, JobError, operation


def _claim(ctx: JobContext) -> tuple[Any, ...]:
    v = ctx.input
    return v.get("ssn"), v.get("case_type"), v.get("claim_date"), v.get("leave_start"), v.get("leave_end")


@operation("benefits.facts", retries=3, backoff_seconds=5.0)
def claim_facts(ctx: JobContext) -> dict[str, Any]:
    """Age, contribution days and leave facts of the claimant (from the registry)."""
    try:
        return benefits.claim_facts(*_claim(ctx))
    except benefits.ClaimError as exc:
        raise JobError("INVALID_CLAIM", str(exc)) from exc
    except NotFoundError as exc:
        raise JobError("PERSON_UNKNOWN", exc.detail) from exc


@operation("benefits.amount", retries=3, backoff_seconds=5.0)
def benefit_amount(ctx: JobContext) -> dict[str, Any]:
    """The amount by the rules of DOMAIN.md; BPMN error NOT_ELIGIBLE when the record does not support it."""
    try:
        result = benefits.compute_amount(*_claim(ctx))
    except benefits.ClaimError as exc:
        raise JobError("INVALID_CLAIM", str(exc)) from exc
    except NotFoundError as exc:
        raise JobError("PERSON_UNKNOWN", exc.detail) from exc
    if not result["eligible"]:
        raise JobError("NOT_ELIGIBLE", "; ".join(result["reasons"]) or "the rules give nothing to pay")
    return result
