"""Registry services: identifier checks, search text, gap-free sequences, debt, benefit inputs."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.errors import BadRequestError
from app.services.registry import clean_employer_number, clean_ssn, search_text
from tests.registry_data import full_employer, full_ssn, make_registry, wrong_key
from workflows.helpers import ssn_key


def test_clean_ssn_accepts_separators_and_names_each_problem() -> None:
    ssn = full_ssn("1850775123456")
    assert clean_ssn(f"{ssn[:1]} {ssn[1:3]} {ssn[3:5]}.{ssn[5:7]}-{ssn[7:]}") == ssn
    corsica = "185072A004012"
    assert clean_ssn(corsica + ssn_key(corsica)) == corsica + ssn_key(corsica)
    with pytest.raises(BadRequestError) as wrong:
        clean_ssn(wrong_key(ssn))
    assert f"the key of {ssn[:13]} is {ssn[13:]}" in wrong.value.detail
    assert wrong.value.errors == [{"field": "ssn", "message": wrong.value.errors[0]["message"]}]
    with pytest.raises(BadRequestError, match="expected 15"):
        clean_ssn("18507751234")
    with pytest.raises(BadRequestError, match="not a valid number"):
        clean_ssn("9850775123456" + "00")  # 9 is no sex digit
    with pytest.raises(BadRequestError, match="must be digits"):
        clean_ssn("1850775123456AB")


def test_clean_employer_number() -> None:
    number = full_employer("1234567")
    assert clean_employer_number(number) == (number, None)
    assert clean_employer_number(f"1234567 {number[7:]}/001") == (number, "001")
    with pytest.raises(BadRequestError, match=f"the key of 1234567 is {number[7:]}"):
        clean_employer_number(wrong_key(number))
    with pytest.raises(BadRequestError, match="7 digits"):
        clean_employer_number("123456/000")


def test_search_text_drops_accents_case_and_punctuation() -> None:
    assert search_text("Lefèvre-Dupré", "Aïcha", None, "d'Ornano") == "LEFEVRE DUPRE AICHA D ORNANO"


def test_sequence_is_gap_free_even_after_a_rollback(app_ctx) -> None:  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.services.registry import next_in_sequence

    assert [next_in_sequence("certificate", 2026) for _ in range(3)] == [1, 2, 3]
    db.session.commit()
    assert next_in_sequence("certificate", 2026) == 4
    db.session.rollback()  # the request failed: its number goes back
    assert next_in_sequence("certificate", 2026) == 4
    assert next_in_sequence("certificate", 2027) == 1  # a new year starts again
    db.session.commit()


def test_employer_debt_counts_only_overdue_unpaid_periods(app) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry(app)
    from app.extensions import db
    from app.services.contributions import employer_debt, payment_due_date
    from app.services.registry import get_employer

    with app.app_context():
        debtor = get_employer(reg.debtor)
        debt = employer_debt(debtor.id, date.today())
        assert debt.exists and debt.amount == Decimal("57600.00") and debt.periods == reg.overdue_periods
        # On the due date of the first unpaid period it is not owed yet; the day after it is.
        first_due = payment_due_date(reg.overdue_periods[0])
        assert employer_debt(debtor.id, first_due).periods == []
        assert employer_debt(debtor.id, date.fromordinal(first_due.toordinal() + 1)).periods == reg.overdue_periods[:1]
        assert not employer_debt(get_employer(reg.employer).id, date.today()).exists
        db.session.remove()


def test_monthly_record_feeds_the_benefit_rules(app) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry(app)
    from app.extensions import db
    from app.services.benefit_rules import daily_sickness_allowance, merge_months
    from app.services.contributions import add_months, parse_period
    from app.services.registry import get_person, monthly_record

    with app.app_context():
        months = merge_months(monthly_record(get_person(reg.helene).id))
        # Two employers a month: 30 days, 300,000 + 120,000 = 420,000 (under the ceiling).
        assert [(m.days, m.capped_wage) for m in months] == [(30, Decimal("420000.00"))] * 4
        start = parse_period(add_months(reg.last_period, 1))
        allowance = daily_sickness_allowance(months, start, start.replace(day=10))
        # 1,260,000 / 90 days = 14,000 a day; 2/3 = 9,333.33; 10 days - 3 waiting = 7 -> 65,333.31.
        assert allowance.average_daily_wage == Decimal("14000.00") and allowance.amount == Decimal("65333.31")
        db.session.remove()
