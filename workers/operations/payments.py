"""Payment operations of benefit_payment: the payment order, the transfer file (pain.001), the cash payout.

They take the instance's variables (no operator parameters); business failures are BPMN errors
(no retry), so an operator sees them as incidents with their reason. Each commits its effect before
its result is delivered: a result parked while the instance is suspended must find it later, and a
retry finds it again by the order's reference (the steps are idempotent).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.extensions import db
from app.services import payments
from app.services.operations import JobContext, JobError, operation


def _run(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        result = work()
    except payments.PaymentError as exc:
        raise JobError(exc.code, exc.message) from exc
    db.session.commit()
    return result


@operation("payments.order", retries=3, backoff_seconds=5.0)
def order_payment(ctx: JobContext) -> dict[str, Any]:
    """Create the claim's payment order (once per case)."""
    return _run(lambda: payments.order_payment(ctx.input, ctx.instance_id))


@operation("payments.transfer_file", retries=3, backoff_seconds=10.0)
def transfer_file(ctx: JobContext) -> dict[str, Any]:
    """Build, check and store the pain.001.001.03 batch of a transfer order."""
    return _run(lambda: payments.issue_transfer_file(ctx.input, ctx.instance_id, ctx.config))


@operation("payments.payout", retries=3, backoff_seconds=5.0)
def record_payout(ctx: JobContext) -> dict[str, Any]:
    """Mark a cash order paid once the cashier paid it out."""
    return _run(lambda: payments.record_payout(ctx.input, ctx.instance_id))
