"""Contribution rules: capped wage x rates per branch, versioned rates, due dates (worked by hand)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.services.contributions import (
    RATES,
    RateSet,
    add_months,
    ceiling_for,
    compute_contribution,
    last_overdue_period,
    payment_due_date,
    periods_between,
    rates_for,
)

D = Decimal


def test_full_month_under_the_ceiling() -> None:
    # 300,000 x 8.4 % = 25,200; x 5.6 % = 16,800; x 7 % = 21,000; class 2 x 2 % = 6,000.
    c = compute_contribution("2026-03", 30, 300000, risk_class=2)
    assert c.capped_wage == D("300000.00")
    assert (c.pension_employer, c.pension_employee, c.family, c.work_injury) == (
        D("25200.00"), D("16800.00"), D("21000.00"), D("6000.00"))
    assert c.employer_share == D("52200.00") and c.employee_share == D("16800.00") and c.total == D("69000.00")


def test_wage_above_the_ceiling_is_capped() -> None:
    # capped at 432,000; class 4: 8.4 + 5.6 + 7 + 4 = 25 % -> 108,000.
    c = compute_contribution("2026-03", 30, 600000, risk_class=4)
    assert c.gross_wage == D("600000.00") and c.capped_wage == D("432000.00")
    assert (c.pension_employer, c.pension_employee, c.family, c.work_injury) == (
        D("36288.00"), D("24192.00"), D("30240.00"), D("17280.00"))
    assert c.total == D("108000.00")


def test_ceiling_is_prorated_by_days() -> None:
    # 15 days: ceiling 432,000 x 15 / 30 = 216,000; class 1: 22 % of 216,000 = 47,520.
    assert ceiling_for("2026-03", 15) == D("216000.00")
    c = compute_contribution("2026-03", 15, 250000, risk_class=1)
    assert c.capped_wage == D("216000.00") and c.work_injury == D("2160.00") and c.total == D("47520.00")


def test_each_branch_rounds_half_up_to_the_cent() -> None:
    # 123,456.78 (under the 10-day ceiling of 144,000): 10,370.36952 -> 10,370.37; 6,913.57968 -> 6,913.58;
    # 8,641.9746 -> 8,641.97; 3 % = 3,703.7034 -> 3,703.70; total 29,629.62.
    c = compute_contribution("2026-03", 10, "123456.78", risk_class=3)
    assert (c.pension_employer, c.pension_employee, c.family, c.work_injury) == (
        D("10370.37"), D("6913.58"), D("8641.97"), D("3703.70"))
    assert c.total == D("29629.62")


def test_only_the_branches_the_employee_is_insured_for() -> None:
    c = compute_contribution("2026-03", 30, 300000, risk_class=2, branches=["pension"])
    assert c.family == 0 and c.work_injury == 0 and c.total == D("42000.00")


def test_rates_are_versioned_by_effective_date() -> None:
    old = RateSet(date(2000, 1, 1), D("400000"), D("0.084"), D("0.056"), D("0.07"), {1: D("0.01")})
    new = RateSet(date(2025, 1, 1), D("432000"), D("0.084"), D("0.056"), D("0.07"), {1: D("0.01")})
    table = (old, new)
    assert rates_for("2024-12", table) is old and rates_for("2025-01", table) is new
    assert compute_contribution("2024-12", 30, 500000, 1, table=table).capped_wage == D("400000.00")
    assert compute_contribution("2025-01", 30, 500000, 1, table=table).capped_wage == D("432000.00")
    with pytest.raises(ValueError):
        rates_for("1999-12", table)
    assert rates_for("2026-01") is RATES[-1]


@pytest.mark.parametrize("args", [("2026-13", 30, 1000, 1), ("2026-01", 31, 1000, 1), ("2026-01", 30, -1, 1),
                                  ("2026-01", 30, 1000, 9)])
def test_bad_lines_are_refused(args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        compute_contribution(*args)
    with pytest.raises(ValueError):
        compute_contribution("2026-01", 30, 1000, 1, branches=["dental"])


def test_periods_and_due_dates() -> None:
    assert add_months("2026-11", 2) == "2027-01" and add_months("2026-01", -1) == "2025-12"
    assert periods_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert payment_due_date("2026-12") == date(2027, 1, 15)
    assert last_overdue_period(date(2026, 11, 16)) == "2026-10"
    assert last_overdue_period(date(2026, 11, 15)) == "2026-09"
