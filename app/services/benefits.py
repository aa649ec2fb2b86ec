"""Benefit claims: the facts the eligibility table reads, the amount by the rules, and the checks on agents' input.

The rules themselves are pure functions in `benefit_rules` (DOMAIN.md); this module feeds them the
registry's data (birth date, contribution record merged per month) and shapes the results as
process variables (amounts as strings with two decimals, dates as ISO strings). The process
`benefit_payment` calls `claim_facts` and `compute_amount` through worker operations
(workers/operations/benefits.py), and the task service calls the checks below when an agent
records a claim (`check_claim`) or prepares a payment (`check_prepared_amount`): a wrong IBAN,
leave dates that do not make sense or an amount other than the one the rules give are refused
with a 422 naming the field, and the task stays open.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from app.errors import ValidationFailedError
from app.services import registry
from app.services.benefit_rules import (
    PENSION_MIN_DAYS,
    PENSION_REFERENCE_MONTHS,
    SICKNESS_WAITING_DAYS,
    MonthlyWage,
    age_on,
    average_daily_wage,
    daily_sickness_allowance,
    merge_months,
    old_age_pension,
)
from app.services.contributions import money
from workflows.helpers import is_valid_iban

SICKNESS = "sickness_allowance"
PENSION = "old_age_pension"
BENEFITS = (SICKNESS, PENSION)
PAYMENT_METHODS = ("transfer", "cash")
MAX_LEAVE_DAYS = 366


class ClaimError(ValueError):
    """A claim the rules cannot be applied to (unknown benefit, leave dates missing or reversed)."""


def _day(value: Any, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ClaimError(f"{name} must be a date (YYYY-MM-DD), not {value!r}") from None


def _months(ssn: str) -> tuple[Any, list[MonthlyWage]]:
    person = registry.get_person(ssn)
    return person, merge_months(registry.monthly_record(person.id))


def _leave(variables: dict[str, Any]) -> tuple[date, date]:
    first, last = _day(variables.get("leave_start"), "leave_start"), _day(variables.get("leave_end"), "leave_end")
    if last < first:
        raise ClaimError("the leave ends before it starts")
    return first, last


def claim_facts(ssn: str, benefit: str, claim_date: Any, leave_start: Any = None, leave_end: Any = None
                ) -> dict[str, Any]:
    """What the eligibility table (benefit_eligibility.dmn) reads: age, contribution days, leave facts."""
    if benefit not in BENEFITS:
        raise ClaimError(f"unknown benefit {benefit!r}; one of {', '.join(BENEFITS)}")
    person, months = _months(ssn)
    on = _day(claim_date, "claim_date")
    facts: dict[str, Any] = {
        "age": age_on(person.birth_date, on), "contribution_days": sum(m.days for m in months),
        "months": len(months), "claim_date": on.isoformat(), "life_status": person.life_status,
        "reference_days": 0, "sick_days": 0,
    }
    if benefit == SICKNESS:
        first, last = _leave({"leave_start": leave_start, "leave_end": leave_end})
        _wage, reference = average_daily_wage(months, first)
        facts["reference_days"] = sum(m.days for m in months if m.period in reference)
        facts["reference_periods"] = reference
        facts["sick_days"] = (last - first).days + 1
    return facts


def compute_amount(ssn: str, benefit: str, claim_date: Any, leave_start: Any = None, leave_end: Any = None
                   ) -> dict[str, Any]:
    """The amount by the rules of DOMAIN.md from the person's contribution record.

    Pension: the monthly amount; sickness allowance: the total for the leave. `eligible` is False
    (amount "0.00") with the rules' reasons when the record does not support the claim.
    """
    if benefit not in BENEFITS:
        raise ClaimError(f"unknown benefit {benefit!r}; one of {', '.join(BENEFITS)}")
    person, months = _months(ssn)
    if benefit == PENSION:
        on = _day(claim_date, "claim_date")
        pension = old_age_pension(person.birth_date, on, months)
        basis = (f"{pension.rate * 100:.0f} % of the average capped wage {pension.average_capped_wage} over "
                 f"{pension.reference_months} month(s) of the last {PENSION_REFERENCE_MONTHS}; "
                 f"{pension.contribution_days} contribution days ({PENSION_MIN_DAYS} needed)")
        return _outcome(benefit, pension, pension.monthly_amount, "month", basis)
    first, last = _leave({"leave_start": leave_start, "leave_end": leave_end})
    allowance = daily_sickness_allowance(months, first, last)
    basis = (f"{allowance.paid_days} paid day(s) x {allowance.daily_amount} (2/3 of the average daily wage "
             f"{allowance.average_daily_wage} of {', '.join(allowance.reference_periods)}); "
             f"{allowance.waiting_days} waiting day(s) of {SICKNESS_WAITING_DAYS}")
    return _outcome(benefit, allowance, allowance.amount, "leave", basis)


def _outcome(benefit: str, result: Any, amount: Decimal, period: str, basis: str) -> dict[str, Any]:
    """What a claim computation returns: eligibility, reasons, amount for the period, how it was found."""
    return {"benefit": benefit, "eligible": result.eligible, "reasons": result.reasons, "amount": str(amount),
            "period": period, "basis": basis, "details": _plain(asdict(result))}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Decimals and dates of a rules result as JSON-friendly strings."""
    return {k: str(v) if isinstance(v, (Decimal, date)) else v for k, v in values.items()}


# -- checks of what agents type (called by app/services/task_rules.py) ---------------------------

def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None
    return money(amount) if amount.is_finite() else None


def check_prepared_amount(variables: dict[str, Any], submitted: dict[str, Any]) -> None:
    """422 unless the prepared `amount` is the one the rules gave (`calculation`), to the cent."""
    calculation = variables.get("calculation") or {}
    expected = _amount(calculation.get("amount"))
    if expected is None:
        raise ValidationFailedError("no amount was computed for this claim: the preparation cannot be checked",
                                    [{"field": "amount", "message": "no computed amount to compare with"}])
    given = _amount(submitted.get("amount"))
    if given is None:
        raise ValidationFailedError("amount must be a number with at most two decimals",
                                    [{"field": "amount", "message": "a number, e.g. 1234.56"}])
    if given != expected:
        message = (f"{given} does not match the rules: {expected} "
                   f"({calculation.get('basis') or 'computed from the contribution record'})")
        raise ValidationFailedError(f"amount {message}", [{"field": "amount", "message": message}])


def check_claim(variables: dict[str, Any], submitted: dict[str, Any]) -> None:
    """422 for leave dates that do not make sense or a transfer without a valid IBAN (given or on record)."""
    errors: list[dict[str, str]] = []
    benefit = variables.get("case_type")
    if benefit == SICKNESS:
        try:
            first, last = _leave(submitted)
        except ClaimError as exc:
            errors.append({"field": "leave_end" if "ends before" in str(exc) else "leave_start",
                           "message": str(exc)})
        else:
            if (last - first).days + 1 > MAX_LEAVE_DAYS:
                errors.append({"field": "leave_end", "message": f"a leave lasts at most {MAX_LEAVE_DAYS} days"})
            if first > date.today() + timedelta(days=31):
                errors.append({"field": "leave_start", "message": "the leave starts more than a month from now"})
    method = submitted.get("payment_method")
    if method == "transfer":
        iban = submitted.get("iban") or _registered_iban(variables.get("ssn"))
        if not iban:
            errors.append({"field": "iban", "message": "no bank account on record: give an IBAN or choose cash"})
        elif not is_valid_iban(iban):
            errors.append({"field": "iban", "message": f"{iban!r} is not a valid IBAN (ISO 13616 check digits)"})
    if errors:
        raise ValidationFailedError("the claim cannot be recorded: " + "; ".join(
            f"{e['field']}: {e['message']}" for e in errors), errors)


def _registered_iban(ssn: Any) -> str | None:
    if not isinstance(ssn, str):
        return None
    try:
        return registry.get_person(ssn).iban or None
    except Exception:  # noqa: BLE001 - an unknown person simply has no account on record
        return None
