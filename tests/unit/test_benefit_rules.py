"""Benefit rules of DOMAIN.md with worked examples computed by hand."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.services.benefit_rules import (
    MonthlyWage,
    age_on,
    daily_sickness_allowance,
    merge_months,
    old_age_pension,
    pension_rate,
)
from app.services.contributions import add_months


def months(first: str, count: int, wage: int | str, days: int = 30) -> list[MonthlyWage]:
    return [MonthlyWage(add_months(first, i), days, Decimal(wage)) for i in range(count)]


def test_age_turns_on_the_birthday() -> None:
    assert age_on(date(1966, 4, 1), date(2026, 3, 31)) == 59
    assert age_on(date(1966, 4, 1), date(2026, 4, 1)) == 60
    assert age_on(date(1964, 2, 29), date(2026, 2, 28)) == 61


@pytest.mark.parametrize("days, rate", [
    (3239, "0"), (3240, "0.50"), (3455, "0.50"), (3456, "0.51"), (4320, "0.55"), (7560, "0.70"), (9000, "0.70"),
])
def test_pension_rate_steps_of_216_days_capped_at_70_percent(days: int, rate: str) -> None:
    # 4320 - 3240 = 1080 = 5 x 216 -> 55 %; 7560 - 3240 = 4320 = 20 x 216 -> 70 %; 9000 would be 76 %.
    assert pension_rate(days) == Decimal(rate)


def test_pension_ten_years_at_300000() -> None:
    # 120 months x 30 days = 3,600 days: (3,600 - 3,240) // 216 = 1 step -> 51 %.
    # The 96 months before April 2026 all at 300,000 -> 51 % of 300,000 = 153,000.00 a month.
    record = months("2016-04", 120, 300000)
    estimate = old_age_pension(date(1965, 3, 10), date(2026, 4, 1), record)
    assert estimate.eligible and estimate.reasons == []
    assert estimate.age == 61 and estimate.contribution_days == 3600 and estimate.reference_months == 96
    assert estimate.average_capped_wage == Decimal("300000.00")
    assert estimate.rate == Decimal("0.51")
    assert estimate.monthly_amount == Decimal("153000.00")


def test_pension_averages_only_the_last_96_months() -> None:
    # 48 early months at 100,000 (outside the window), then 48 at 432,000 and 48 at 200,000.
    # Days: 144 x 30 = 4,320 -> 55 %. Average of the window: (48 x 432,000 + 48 x 200,000) / 96 = 316,000.
    # 55 % of 316,000 = 173,800.00.
    record = months("2014-04", 48, 100000) + months("2018-04", 48, 432000) + months("2022-04", 48, 200000)
    estimate = old_age_pension(date(1964, 1, 1), date(2026, 4, 20), record)
    assert estimate.contribution_days == 4320 and estimate.rate == Decimal("0.55")
    assert estimate.average_capped_wage == Decimal("316000.00")
    assert estimate.monthly_amount == Decimal("173800.00")


def test_pension_average_leaves_out_months_without_wage() -> None:
    # 84 old months (2,520 days) then a gap, then 24 months at 240,000 (720 days): 3,240 days -> 50 %.
    # Only the 24 contributed months of the window count: average 240,000 -> 120,000.00.
    record = months("2008-01", 84, 999999) + months("2024-04", 24, 240000)
    estimate = old_age_pension(date(1960, 6, 15), date(2026, 4, 2), record)
    assert estimate.contribution_days == 3240 and estimate.reference_months == 24
    assert estimate.rate == Decimal("0.50") and estimate.monthly_amount == Decimal("120000.00")


def test_pension_refused_under_60_or_under_3240_days() -> None:
    record = months("2016-04", 120, 300000)
    young = old_age_pension(date(1966, 4, 1), date(2026, 3, 31), record)
    assert not young.eligible and young.monthly_amount == Decimal("0.00")
    assert young.reasons == ["age 59 is under the pension age of 60"]
    short = old_age_pension(date(1950, 1, 1), date(2026, 4, 1), months("2017-04", 107, 300000) + [
        MonthlyWage("2026-03", 29, Decimal(290000))])
    assert short.contribution_days == 3239 and not short.eligible
    assert short.reasons == ["3239 contribution days, 3240 needed"]


def test_merge_months_caps_days_and_the_ceiling_over_employers() -> None:
    merged = merge_months([("2026-01", 20, Decimal(300000)), ("2026-01", 15, Decimal(200000)),
                           ("2026-02", 30, Decimal(100000))])
    assert merged == [MonthlyWage("2026-01", 30, Decimal("432000.00")),
                      MonthlyWage("2026-02", 30, Decimal("100000.00"))]


def test_sickness_allowance_after_three_waiting_days() -> None:
    # Reference months Jan-Mar 2026: 900,000 / 90 days = 10,000.00 a day; 2/3 -> 6,666.67.
    # Leave 6 to 15 April = 10 days, 3 waiting -> 7 paid days -> 7 x 6,666.67 = 46,666.69.
    allowance = daily_sickness_allowance(months("2026-01", 3, 300000), date(2026, 4, 6), date(2026, 4, 15))
    assert allowance.eligible
    assert allowance.reference_periods == ["2026-01", "2026-02", "2026-03"]
    assert allowance.average_daily_wage == Decimal("10000.00") and allowance.daily_amount == Decimal("6666.67")
    assert (allowance.sick_days, allowance.waiting_days, allowance.paid_days) == (10, 3, 7)
    assert allowance.amount == Decimal("46666.69")


def test_sickness_allowance_partial_month_and_capped_wage() -> None:
    # 150,000 (15 days) + 300,000 (30) + 432,000 (30, capped) = 882,000 / 75 days = 11,760.00; 2/3 -> 7,840.00.
    record = [MonthlyWage("2026-01", 15, Decimal(150000)), MonthlyWage("2026-02", 30, Decimal(300000)),
              MonthlyWage("2026-03", 30, Decimal(432000)), MonthlyWage("2026-04", 30, Decimal(432000))]
    april = daily_sickness_allowance(record, date(2026, 4, 1), date(2026, 4, 30))
    assert april.average_daily_wage == Decimal("11760.00") and april.daily_amount == Decimal("7840.00")
    assert april.paid_days == 27 and april.amount == Decimal("211680.00")
    short = daily_sickness_allowance(record, date(2026, 4, 1), date(2026, 4, 3))
    assert not short.eligible and short.amount == Decimal("0.00") and short.paid_days == 0
    assert "waiting period" in short.reasons[0]


def test_sickness_allowance_needs_wages_in_the_three_months_before() -> None:
    allowance = daily_sickness_allowance(months("2025-01", 6, 300000), date(2026, 3, 5), date(2026, 3, 20))
    assert not allowance.eligible
    assert allowance.reasons == ["no contributed wage in 2025-12, 2026-01, 2026-02"]
    with pytest.raises(ValueError):
        daily_sickness_allowance([], date(2026, 3, 5), date(2026, 3, 1))
