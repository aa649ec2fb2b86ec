"""Contribution rules: rates versioned by effective date, the capped wage, and an employer's debt.

The ceiling is monthly and prorated by the days declared on a 30-day month basis (30 days = a full
month, as in the 3,240-day pension condition = 9 years of 360 days): a line of 15 days is capped at
half the ceiling. An employee with several employers is capped per declaration line here; prorating
one ceiling across employers is the reconciliation's job (it is not built yet).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models.registry import INSURANCE_BRANCHES, ContributionPeriod, Employment, Establishment

CENT = Decimal("0.01")
DAYS_IN_MONTH = 30
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class RateSet:
    """Rates and ceiling in force from effective_from (the first day of a period) on."""

    effective_from: date
    monthly_ceiling: Decimal
    pension_employer: Decimal
    pension_employee: Decimal
    family_employer: Decimal
    # Work-injury rate of the employer's risk class (1..4).
    work_injury_by_class: dict[int, Decimal] = field(default_factory=dict)


# Newest last. A new rate set is a new line with its effective date: past periods keep their rates.
RATES: tuple[RateSet, ...] = (
    RateSet(
        effective_from=date(2000, 1, 1),
        monthly_ceiling=Decimal(432000),
        pension_employer=Decimal("0.084"),
        pension_employee=Decimal("0.056"),
        family_employer=Decimal("0.07"),
        work_injury_by_class={1: Decimal("0.01"), 2: Decimal("0.02"), 3: Decimal("0.03"), 4: Decimal("0.04")},
    ),
)


@dataclass(frozen=True)
class Contribution:
    """The contributions of one declaration line."""

    period: str
    days: int
    gross_wage: Decimal
    capped_wage: Decimal
    pension_employer: Decimal
    pension_employee: Decimal
    family: Decimal
    work_injury: Decimal

    @property
    def employer_share(self) -> Decimal:
        return self.pension_employer + self.family + self.work_injury

    @property
    def employee_share(self) -> Decimal:
        return self.pension_employee

    @property
    def total(self) -> Decimal:
        return self.employer_share + self.employee_share


def money(value: Decimal | int | str) -> Decimal:
    """Round an amount to cents, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_period(period: str) -> date:
    """First day of a YYYY-MM period; ValueError when malformed."""
    match = _PERIOD.match(period or "")
    if match is None:
        raise ValueError(f"{period!r} is not a period (YYYY-MM)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def period_of(day: date) -> str:
    """The YYYY-MM period containing a day."""
    return f"{day.year:04d}-{day.month:02d}"


def add_months(period: str, months: int) -> str:
    """The period `months` after (or before, when negative) the given one."""
    start = parse_period(period)
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def periods_between(first: str, last: str) -> list[str]:
    """Every period from first to last inclusive."""
    out, current = [], first
    while current <= last:
        out.append(current)
        current = add_months(current, 1)
    return out


def payment_due_date(period: str) -> date:
    """Contributions of a period are due on the 15th of the following month."""
    return parse_period(add_months(period, 1)).replace(day=15)


def rates_for(period: str, table: Sequence[RateSet] = RATES) -> RateSet:
    """The rate set in force for a period (the latest one effective on its first day)."""
    start = parse_period(period)
    in_force = [r for r in table if r.effective_from <= start]
    if not in_force:
        raise ValueError(f"no contribution rates in force for {period}")
    return max(in_force, key=lambda r: r.effective_from)


def ceiling_for(period: str, days: int = DAYS_IN_MONTH, table: Sequence[RateSet] = RATES) -> Decimal:
    """The ceiling of a line of `days` days: the monthly ceiling prorated on a 30-day month."""
    rates = rates_for(period, table)
    return money(rates.monthly_ceiling * min(days, DAYS_IN_MONTH) / DAYS_IN_MONTH)


def compute_contribution(period: str, days: int, gross_wage: Decimal | int | str, risk_class: int,
                         branches: Iterable[str] = INSURANCE_BRANCHES,
                         table: Sequence[RateSet] = RATES) -> Contribution:
    """Contributions of one line: capped wage x rate of each branch the employee is insured for."""
    gross = money(gross_wage)
    if gross < 0:
        raise ValueError("the gross wage cannot be negative")
    if not 0 <= days <= DAYS_IN_MONTH:
        raise ValueError(f"days must be between 0 and {DAYS_IN_MONTH} (a month counts 30 days)")
    rates = rates_for(period, table)
    if risk_class not in rates.work_injury_by_class:
        raise ValueError(f"unknown work-injury risk class {risk_class}")
    covered = set(branches)
    unknown = covered - set(INSURANCE_BRANCHES)
    if unknown:
        raise ValueError(f"unknown insurance branches: {', '.join(sorted(unknown))}")
    capped = min(gross, ceiling_for(period, days, table))

    def part(branch: str, rate: Decimal) -> Decimal:
        return money(capped * rate) if branch in covered else Decimal("0.00")

    return Contribution(
        period=period, days=days, gross_wage=gross, capped_wage=capped,
        pension_employer=part("pension", rates.pension_employer),
        pension_employee=part("pension", rates.pension_employee),
        family=part("family", rates.family_employer),
        work_injury=part("work_injury", rates.work_injury_by_class[risk_class]),
    )


def last_overdue_period(as_of: date) -> str:
    """The latest period whose due date (the 15th of the next month) is before as_of."""
    return add_months(period_of(as_of), -1 if as_of.day > 15 else -2)


@dataclass(frozen=True)
class Debt:
    """Contributions due and unpaid after their due date."""

    amount: Decimal
    periods: list[str]

    @property
    def exists(self) -> bool:
        return self.amount > 0


def employer_debt(employer_id: int, as_of: date) -> Debt:
    """What an employer owes on `as_of`: unpaid lines of the periods whose due date has passed."""
    last_overdue = last_overdue_period(as_of)
    rows = db.session.execute(
        select(ContributionPeriod.period, func.sum(ContributionPeriod.total))
        .join(Employment, Employment.id == ContributionPeriod.employment_id)
        .join(Establishment, Establishment.id == Employment.establishment_id)
        .where(Establishment.employer_id == employer_id, ContributionPeriod.status == "due",
               ContributionPeriod.period <= last_overdue)
        .group_by(ContributionPeriod.period).order_by(ContributionPeriod.period)
    ).all()
    return Debt(amount=money(sum((Decimal(str(r[1])) for r in rows), Decimal(0))), periods=[r[0] for r in rows])
