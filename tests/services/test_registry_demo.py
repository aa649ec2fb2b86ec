"""The demo data set: realistic, valid identifiers, deterministic, idempotent, fast, no process started."""
from __future__ import annotations

import hashlib
import time
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.services.demo_data import DemoData, build_demo_data
from workflows.helpers import is_valid_employer_number, is_valid_iban, is_valid_ssn

TODAY = date(2026, 11, 21)


def digest(data: DemoData) -> str:
    rows = [data.persons, data.employers, data.establishments, data.employments, data.contributions, data.cases,
            data.payments]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_the_data_set_is_deterministic() -> None:
    a = build_demo_data(TODAY)
    assert digest(a) == digest(build_demo_data(TODAY))
    # Persons and employers do not depend on the day; what happens to them does.
    b = build_demo_data(date(2027, 3, 2))
    assert [p["ssn"] for p in a.persons] == [p["ssn"] for p in b.persons]
    assert [e["number"] for e in a.employers] == [e["number"] for e in b.employers]
    assert a.contributions[0]["period"] != b.contributions[0]["period"]


def test_the_data_set_is_realistic() -> None:
    data = build_demo_data(TODAY)
    assert len(data.persons) == 1000 and len(data.employers) == 50
    assert all(is_valid_ssn(p["ssn"]) for p in data.persons)
    assert len({p["ssn"] for p in data.persons}) == 1000
    assert all(p["ssn"][0] == ("1" if p["sex"] == "M" else "2") for p in data.persons)
    assert all(p["ssn"][3:5] == f"{p['birth_date'].month:02d}" for p in data.persons)
    assert all(is_valid_iban(p["iban"]) for p in data.persons if p["iban"])
    assert all(is_valid_employer_number(e["number"]) for e in data.employers)
    assert any(e["_hq"] is not None for e in data.establishments)  # branches
    assert all(data.establishments[e["_hq"]]["_employer"] == e["_employer"]
               for e in data.establishments if e["_hq"] is not None)
    # Some people hold two jobs at once.
    open_jobs: dict[int, int] = {}
    for e in data.employments:
        if e["end_date"] is None:
            open_jobs[e["_person"]] = open_jobs.get(e["_person"], 0) + 1
    assert sum(1 for n in open_jobs.values() if n > 1) >= 30
    periods = {c["period"] for c in data.contributions}
    assert {f"2024-{m:02d}" for m in range(11, 13)} | {f"2025-{m:02d}" for m in range(1, 13)} <= periods
    assert max(periods) == "2026-10"
    for c in data.contributions[:2000]:
        assert c["capped_wage"] <= min(c["gross_wage"], Decimal(432000))
        assert c["total"] == c["pension_employer"] + c["pension_employee"] + c["family"] + c["work_injury"]
    assert any(c["capped_wage"] < c["gross_wage"] for c in data.contributions)  # wages above the ceiling
    assert {c["process_key"] for c in data.cases} == {"document_submission", "first_level_inquiry",
                                                      "technical_escalation", "benefit_payment"}
    assert {c["status"] for c in data.cases} == {"open", "waiting", "closed"}
    assert {p["kind"] for p in data.payments} >= {"old_age_pension", "sickness_allowance"}


def test_load_is_fast_idempotent_and_starts_no_process(app_ctx) -> None:  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models import ProcessInstance
    from app.models.registry import Case, ContributionPeriod, Employer, Establishment, Person
    from app.services.contributions import employer_debt
    from app.services.demo_data import load_demo_data

    started = time.perf_counter()
    counts = load_demo_data(TODAY)
    db.session.commit()
    elapsed = time.perf_counter() - started
    assert elapsed < 20, f"demo data took {elapsed:.1f} s"
    assert counts["persons"] == 1000 and counts["contributionPeriods"] > 15000
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1000
    assert db.session.scalar(select(func.count()).select_from(ContributionPeriod)) == counts["contributionPeriods"]
    assert load_demo_data(TODAY) == {}  # already there
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1000
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    numbers = db.session.scalars(select(Case.number).order_by(Case.opened_at, Case.id)).all()
    assert len(set(numbers)) == len(numbers) == counts["cases"]
    assert numbers[0].startswith("DOS-") and numbers[0].endswith("-000001")
    branch = db.session.scalar(select(Establishment).where(Establishment.headquarters_id.is_not(None)).limit(1))
    hq = db.session.get(Establishment, branch.headquarters_id)
    assert hq.suffix == "000" and hq.employer_id == branch.employer_id
    debts = [employer_debt(e.id, TODAY) for e in db.session.scalars(select(Employer))]
    assert sum(d.exists for d in debts) == 5  # a few employers owe, the others can get a no-debt certificate
