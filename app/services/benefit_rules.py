"""Benefit rules of DOMAIN.md as pure functions: old-age pension and daily sickness allowance.

Input is a person's contribution record merged per month (all employers together, see
`merge_months`). Choices where DOMAIN.md is silent, written down here:
- a month's capped wage is the sum over the person's employers, capped at that month's ceiling;
  its days are summed and capped at 30;
- "the average capped wage of the last 96 months" averages the months of the 96 calendar months
  before the claim month in which the person contributed (months without any wage are left out,
  so a gap in the career does not lower the pension);
- pension age is reached on the 60th birthday; the rate is 50 % + 1 % per full 216 days above
  3,240, at most 70 %;
- the average daily wage of the sickness allowance is the capped wages of the 3 calendar months
  before the month the leave starts divided by the days declared in them; the allowance is 2/3 of
  it, rounded to the cent, for every day of leave after the first 3 (waiting period).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.services.contributions import DAYS_IN_MONTH, add_months, ceiling_for, money, period_of

PENSION_AGE = 60
PENSION_MIN_DAYS = 3240
PENSION_BASE_RATE = Decimal("0.50")
PENSION_STEP_DAYS = 216
PENSION_STEP_RATE = Decimal("0.01")
PENSION_MAX_RATE = Decimal("0.70")
PENSION_REFERENCE_MONTHS = 96

SICKNESS_REFERENCE_MONTHS = 3
SICKNESS_WAITING_DAYS = 3
SICKNESS_FRACTION = Decimal(2) / Decimal(3)


@dataclass(frozen=True)
class MonthlyWage:
    """A person's contributed month: days and capped wage over all employers."""

    period: str
    days: int
    capped_wage: Decimal


def merge_months(lines: Iterable[tuple[str, int, Decimal]]) -> list[MonthlyWage]:
    """Merge declaration lines (period, days, capped wage) into one MonthlyWage per period."""
    days: dict[str, int] = defaultdict(int)
    wages: dict[str, Decimal] = defaultdict(Decimal)
    for period, line_days, capped in lines:
        days[period] += int(line_days)
        wages[period] += Decimal(str(capped))
    return [MonthlyWage(p, min(days[p], DAYS_IN_MONTH), min(money(wages[p]), ceiling_for(p)))
            for p in sorted(days)]


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years on a day."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def pension_rate(contribution_days: int) -> Decimal:
    """50 % + 1 % per full 216 days above 3,240, at most 70 % (0 below 3,240 days)."""
    if contribution_days < PENSION_MIN_DAYS:
        return Decimal(0)
    steps = (contribution_days - PENSION_MIN_DAYS) // PENSION_STEP_DAYS
    return min(PENSION_BASE_RATE + PENSION_STEP_RATE * steps, PENSION_MAX_RATE)


@dataclass(frozen=True)
class PensionEstimate:
    """The old-age pension a claim gives (monthly_amount is 0 when not eligible)."""

    eligible: bool
    reasons: list[str]
    age: int
    contribution_days: int
    reference_months: int
    average_capped_wage: Decimal
    rate: Decimal
    monthly_amount: Decimal


def old_age_pension(birth_date: date, claim_date: date, months: Sequence[MonthlyWage]) -> PensionEstimate:
    """Eligibility (age 60, >= 3,240 days) and monthly amount of an old-age pension."""
    age = age_on(birth_date, claim_date)
    total_days = sum(m.days for m in months)
    claim_period = period_of(claim_date)
    first = add_months(claim_period, -PENSION_REFERENCE_MONTHS)
    window = [m for m in months if first <= m.period < claim_period and m.capped_wage > 0]
    average = money(sum((m.capped_wage for m in window), Decimal(0)) / len(window)) if window else Decimal("0.00")
    reasons = []
    if age < PENSION_AGE:
        reasons.append(f"age {age} is under the pension age of {PENSION_AGE}")
    if total_days < PENSION_MIN_DAYS:
        reasons.append(f"{total_days} contribution days, {PENSION_MIN_DAYS} needed")
    if not window:
        reasons.append(f"no contributed wage in the {PENSION_REFERENCE_MONTHS} months before the claim")
    rate = pension_rate(total_days)
    eligible = not reasons
    return PensionEstimate(
        eligible=eligible, reasons=reasons, age=age, contribution_days=total_days, reference_months=len(window),
        average_capped_wage=average, rate=rate, monthly_amount=money(average * rate) if eligible else Decimal("0.00"),
    )


@dataclass(frozen=True)
class SicknessAllowance:
    """The daily sickness allowance of one leave (amount is 0 when not eligible)."""

    eligible: bool
    reasons: list[str]
    average_daily_wage: Decimal
    daily_amount: Decimal
    sick_days: int
    waiting_days: int
    paid_days: int
    amount: Decimal
    reference_periods: list[str] = field(default_factory=list)


def average_daily_wage(months: Sequence[MonthlyWage], leave_start: date) -> tuple[Decimal, list[str]]:
    """Capped wages / days of the 3 calendar months before the month of leave_start."""
    start_period = period_of(leave_start)
    reference = [add_months(start_period, -n) for n in range(SICKNESS_REFERENCE_MONTHS, 0, -1)]
    used = [m for m in months if m.period in reference and m.days > 0]
    days = sum(m.days for m in used)
    if days == 0:
        return Decimal("0.00"), reference
    return money(sum((m.capped_wage for m in used), Decimal(0)) / days), reference


def daily_sickness_allowance(months: Sequence[MonthlyWage], first_day: date, last_day: date) -> SicknessAllowance:
    """2/3 of the average daily wage for each day of leave after a 3-day waiting period."""
    if last_day < first_day:
        raise ValueError("the leave ends before it starts")
    sick_days = (last_day - first_day).days + 1
    waiting = min(SICKNESS_WAITING_DAYS, sick_days)
    paid_days = sick_days - waiting
    adw, reference = average_daily_wage(months, first_day)
    daily = money(adw * SICKNESS_FRACTION)
    reasons = []
    if adw == 0:
        reasons.append(f"no contributed wage in {', '.join(reference)}")
    if paid_days == 0:
        reasons.append(f"a leave of {sick_days} day(s) is within the {SICKNESS_WAITING_DAYS}-day waiting period")
    eligible = not reasons
    return SicknessAllowance(
        eligible=eligible, reasons=reasons, average_daily_wage=adw, daily_amount=daily, sick_days=sick_days,
        waiting_days=waiting, paid_days=paid_days, amount=money(daily * paid_days) if eligible else Decimal("0.00"),
        reference_periods=reference,
    )
