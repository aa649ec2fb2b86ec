"""Payments of approved benefits: the payment order, the bank transfer file (pain.001), the cash payout.

Run by worker operations (workers/operations/payments.py) with the variables of a benefit_payment
instance; the services flush, the operation commits. Each step is idempotent by the case: one
claim gives one payment order, referenced `PAY-<case number>`; a retried job finds it and does the
same thing again (the transfer file is built from the stored order, so a retry stores the very
same bytes).

A transfer payment is marked `paid` once its transfer file is issued (a bank's return is the
`returned` status, handled outside this process); a cash payment once the cashier paid it out.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.errors import AppError, ValidationFailedError
from app.extensions import db
from app.models._types import utcnow
from app.models.registry import Case, Payment, Person
from app.services import projections, registry
from app.services.benefits import PAYMENT_METHODS, check_prepared_amount
from app.services.documents_storage import get_storage
from app.services.pain001 import BatchError, CreditTransfer, Debtor, build_batch, check_batch
from workflows.helpers import is_valid_iban

KIND_LABELS = {"sickness_allowance": "Indemnites journalieres maladie", "old_age_pension": "Pension de vieillesse"}


class PaymentError(Exception):
    """A payment step that cannot be done with these data (a business error: retrying will not help)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def payment_reference(case_number: str) -> str:
    """The reference (and end-to-end id) of a claim's payment order."""
    return f"PAY-{case_number}"


def _case(variables: Mapping[str, Any]) -> Case:
    number = variables.get("case_number")
    case = db.session.scalar(select(Case).where(Case.number == number)) if isinstance(number, str) else None
    if case is None:
        raise PaymentError("CASE_UNKNOWN", f"no case {number!r}")
    return case


def _payment_json(payment: Payment) -> dict[str, Any]:
    return {"paymentId": payment.id, "reference": payment.reference, "amount": str(payment.amount),
            "method": payment.method, "iban": payment.iban, "paymentDate": payment.payment_date.isoformat(),
            "status": payment.status, "kind": payment.kind}


def order_payment(variables: Mapping[str, Any], instance_id: int, *, today: date | None = None) -> dict[str, Any]:
    """Create the payment order of an approved claim (once per case); the amount is checked against the rules."""
    case = _case(variables)
    reference = payment_reference(case.number)
    existing = db.session.scalar(select(Payment).where(Payment.reference == reference))
    if existing is not None:
        return _payment_json(existing)
    try:
        # The approved amount must still be the one the rules gave: a last check before money moves.
        check_prepared_amount(dict(variables), dict(variables))
    except ValidationFailedError as exc:
        raise PaymentError("AMOUNT_MISMATCH", exc.detail) from exc
    try:
        person = registry.get_person(str(variables.get("ssn")))
    except AppError as exc:
        raise PaymentError("PERSON_UNKNOWN", exc.detail) from exc
    method = variables.get("payment_method")
    if method not in PAYMENT_METHODS:
        raise PaymentError("INVALID_METHOD", f"payment method {method!r} is not one of {', '.join(PAYMENT_METHODS)}")
    iban = None
    if method == "transfer":
        iban = str(variables.get("iban") or person.iban or "").replace(" ", "").upper()
        if not is_valid_iban(iban):
            raise PaymentError("INVALID_IBAN", f"no valid IBAN to pay {person.ssn} by transfer")
    amount = Decimal(str((variables.get("calculation") or {})["amount"]))
    payment = Payment(person_id=person.id, case_id=case.id, kind=case.case_type, amount=amount,
                      payment_date=today or date.today(), status="ordered", method=method, iban=iban,
                      reference=reference, created_at=utcnow())
    db.session.add(payment)
    db.session.flush()
    projections.record_event(instance_id, "payment_ordered", "worker", details={
        "paymentId": payment.id, "reference": reference, "amount": str(amount), "method": method})
    return _payment_json(payment)


def _ordered_payment(variables: Mapping[str, Any], method: str) -> Payment:
    order = variables.get("payment_order") or {}
    payment = db.session.get(Payment, order.get("paymentId")) if isinstance(order, dict) else None
    if payment is None:
        raise PaymentError("ORDER_UNKNOWN", f"no payment order {order!r}")
    if payment.method != method:
        raise PaymentError("WRONG_METHOD", f"payment {payment.reference} is paid by {payment.method}, not {method}")
    return payment


def issue_transfer_file(variables: Mapping[str, Any], instance_id: int, config: Mapping[str, Any]) -> dict[str, Any]:
    """Build the pain.001.001.03 batch of a transfer order, check it, store it; the payment is then paid."""
    payment = _ordered_payment(variables, "transfer")
    person = db.session.get(Person, payment.person_id)
    assert person is not None
    message_id = f"TRF-{payment.reference}"[:35]
    label = KIND_LABELS.get(payment.kind, payment.kind)
    transfer = CreditTransfer(end_to_end_id=payment.reference or message_id, amount=Decimal(str(payment.amount)),
                              creditor_name=person.full_name, creditor_iban=payment.iban or "",
                              remittance=f"{label} - dossier {variables.get('case_number')}")
    debtor = Debtor(name=str(config.get("INSTITUTION_NAME") or "Guichet"), iban=str(config["PAYMENT_DEBTOR_IBAN"]),
                    bic=str(config["PAYMENT_DEBTOR_BIC"]))
    try:
        data = build_batch(message_id, payment.created_at, payment.payment_date, debtor, [transfer],
                           currency=str(config.get("PAYMENT_CURRENCY") or "EUR"))
        summary = check_batch(data)
    except BatchError as exc:
        raise PaymentError("INVALID_TRANSFER_FILE", str(exc)) from exc
    stored = get_storage().put_stream(io.BytesIO(data), content_type="application/xml")
    if payment.status == "ordered":
        payment.status = "paid"
    db.session.flush()
    projections.record_event(instance_id, "transfer_file_issued", "worker", details={
        "paymentId": payment.id, "messageId": summary.message_id, "objectKey": stored.key})
    return {"objectKey": stored.key, "sha256": stored.sha256, "size": stored.size, "contentType": "application/xml",
            "filename": f"{message_id}.xml", "messageId": summary.message_id,
            "numberOfTransactions": summary.number_of_transactions, "controlSum": str(summary.control_sum),
            "executionDate": summary.execution_date}


def record_payout(variables: Mapping[str, Any], instance_id: int) -> dict[str, Any]:
    """The cashier paid a cash order out: the payment is paid."""
    payment = _ordered_payment(variables, "cash")
    if payment.status == "ordered":
        payment.status = "paid"
    db.session.flush()
    projections.record_event(instance_id, "payment_paid_out", "worker", details={
        "paymentId": payment.id, "reference": payment.reference})
    return _payment_json(payment)
