"""A small hand-made registry for the registry and certificate tests (committed; tables are emptied after)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from workflows.helpers import employer_key, ssn_key

HELENE13 = "2850775123456"
JEAN13 = "1600169123045"
EMPLOYER7 = "1234567"
DEBTOR7 = "7654321"


def full_ssn(number13: str) -> str:
    return number13 + ssn_key(number13)


def full_employer(number7: str) -> str:
    return number7 + employer_key(number7)


def wrong_key(number: str) -> str:
    """The number with a key that does not match."""
    key = (int(number[-2:]) + 1) % 100
    return f"{number[:-2]}{key:02d}"


@dataclass
class Registry:
    helene: str  # SSN
    jean: str
    employer: str  # number
    debtor: str
    last_period: str
    overdue_periods: list[str]


def make_registry(app: Any) -> Registry:
    """Two persons, two employers (one with a branch, one owing two periods), employments, pay."""
    from app.extensions import db
    from app.models.registry import ContributionPeriod, Employer, Employment, Establishment, Payment, Person
    from app.services.contributions import add_months, compute_contribution, period_of
    from app.services.registry import search_text

    today = date.today()
    last = add_months(period_of(today), -1)
    with app.app_context():
        helene = Person(ssn=full_ssn(HELENE13), last_name="Dupré", first_names="Hélène", birth_name="Lefèvre",
                        search_name=search_text("Dupré", "Hélène", "Lefèvre"), birth_date=date(1985, 7, 14),
                        birth_place="Paris", sex="F", address_line="12 rue Victor Hugo", postal_code="69003",
                        city="Lyon", phone="06 11 22 33 44", email="helene.dupre@example.org",
                        iban="FR7630006000011234567890189")
        jean = Person(ssn=full_ssn(JEAN13), last_name="Martin", first_names="Jean",
                      search_name=search_text("Martin", "Jean"), birth_date=date(1960, 1, 5), birth_place="Lille",
                      sex="M", city="Lille")
        good = Employer(number=full_employer(EMPLOYER7), legal_name="Boulangerie Mercier SARL",
                        trade_name="Boulangerie Mercier", search_name=search_text("Boulangerie Mercier SARL"),
                        activity="Boulangerie", risk_class=2)
        debtor = Employer(number=full_employer(DEBTOR7), legal_name="Transports Rivière SAS",
                          search_name=search_text("Transports Rivière SAS"), activity="Transport", risk_class=3)
        db.session.add_all([helene, jean, good, debtor])
        db.session.flush()
        hq = Establishment(employer_id=good.id, suffix="000", name="Siège", city="Lyon")
        debtor_hq = Establishment(employer_id=debtor.id, suffix="000", name="Siège", city="Metz")
        db.session.add_all([hq, debtor_hq])
        db.session.flush()
        branch = Establishment(employer_id=good.id, suffix="001", name="Boulangerie Mercier – Tours", city="Tours",
                               headquarters_id=hq.id, declared_by_headquarters=True)
        main_job = Employment(person_id=helene.id, establishment_id=hq.id, start_date=date(2020, 3, 1),
                              job_title="Pâtissière")
        side_job = Employment(person_id=helene.id, establishment_id=debtor_hq.id,
                              start_date=today - timedelta(days=200), job_title="Préparatrice de commandes")
        old_job = Employment(person_id=jean.id, establishment_id=hq.id, start_date=date(1990, 1, 1),
                             end_date=date(2020, 1, 31), job_title="Boulanger")
        db.session.add_all([branch, main_job, side_job, old_job])
        db.session.flush()
        overdue = [add_months(last, -3), add_months(last, -2)]
        for n in range(3, -1, -1):
            period = add_months(last, -n)
            for job, wage, risk, paid in ((main_job, 300000, 2, True), (side_job, 120000, 3, period not in overdue)):
                c = compute_contribution(period, 30, wage, risk)
                db.session.add(ContributionPeriod(
                    employment_id=job.id, period=period, days=30, gross_wage=c.gross_wage, capped_wage=c.capped_wage,
                    pension_employer=c.pension_employer, pension_employee=c.pension_employee, family=c.family,
                    work_injury=c.work_injury, total=c.total, status="paid" if paid else "due",
                    paid_on=today if paid else None))
        db.session.add_all([
            Payment(person_id=jean.id, kind="old_age_pension", amount=Decimal("150000.00"),
                    payment_date=today - timedelta(days=40), status="paid", method="transfer",
                    reference="PAY-TEST-1"),
            Payment(person_id=helene.id, kind="sickness_allowance", amount=Decimal("46666.69"),
                    payment_date=today - timedelta(days=70), status="paid", method="cash", reference="PAY-TEST-2"),
        ])
        db.session.commit()
        db.session.remove()
    return Registry(helene=full_ssn(HELENE13), jean=full_ssn(JEAN13), employer=full_employer(EMPLOYER7),
                    debtor=full_employer(DEBTOR7), last_period=last, overdue_periods=overdue)
