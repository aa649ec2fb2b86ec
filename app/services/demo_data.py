"""A realistic, deterministic demo registry: ~1,000 persons, 50 employers with branches, employments,
24 months of contributions (longer careers for people close to pension age), payments and cases.

Deterministic: one seeded random generator. Persons and employers do not depend on the day the
data is loaded; employments, contributions, payments and cases are placed relative to `today` (the
24 months before it), so the same `today` gives the same data. Idempotent: nothing happens when
the first demo employer is already registered. Rows go in with bulk INSERTs; no process is started.
"""
from __future__ import annotations

import logging
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from app.extensions import db
from app.models.registry import (
    INSURANCE_BRANCHES,
    Case,
    ContributionPeriod,
    Employer,
    Employment,
    Establishment,
    Payment,
    Person,
)
from app.services import demo_names as names
from app.services.contributions import (
    add_months,
    compute_contribution,
    last_overdue_period,
    parse_period,
    payment_due_date,
    period_of,
)
from app.services.registry import next_in_sequence, search_text
from workflows.helpers import employer_key, is_valid_iban, ssn_key

log = logging.getLogger(__name__)

SEED = 1945
PERSON_COUNT = 1000
EMPLOYER_COUNT = 50
MONTHS = 24
LONG_CAREER_MONTHS = 132  # 11 years = 3,960 days: enough for an old-age pension
ANCHOR_YEAR = 2026  # birth years are drawn relative to this, so persons never depend on `today`
DEBTOR_EMPLOYERS = 5


@dataclass
class DemoData:
    """Rows to insert, linked by list positions (ids are known only once inserted)."""

    persons: list[dict[str, Any]] = field(default_factory=list)
    employers: list[dict[str, Any]] = field(default_factory=list)
    establishments: list[dict[str, Any]] = field(default_factory=list)  # "_employer", "_hq" positions
    employments: list[dict[str, Any]] = field(default_factory=list)  # "_person", "_establishment"
    contributions: list[dict[str, Any]] = field(default_factory=list)  # "_employment"
    cases: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)  # "_person", "_case"


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def demo_iban(rng: random.Random) -> str:
    """A French IBAN with a valid RIB key and ISO 13616 check digits."""
    bank, branch = rng.choice(names.BANK_CODES), f"{rng.randrange(100000):05d}"
    account = f"{rng.randrange(10**11):011d}"
    rib_key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = f"{bank}{branch}{account}{rib_key:02d}"
    check = 98 - int(bban + "152700") % 97  # F=15, R=27, then "00"
    iban = f"FR{check:02d}{bban}"
    assert is_valid_iban(iban)
    return iban


def _build_persons(rng: random.Random, data: DemoData) -> None:
    taken: set[str] = set()
    # (share, youngest age, oldest age) relative to ANCHOR_YEAR.
    age_groups = ((0.08, 18, 24), (0.62, 25, 54), (0.15, 55, 64), (0.15, 65, 88))
    while len(data.persons) < PERSON_COUNT:
        roll, acc = rng.random(), 0.0
        low, high = age_groups[-1][1:]
        for share, young, old in age_groups:
            acc += share
            if roll < acc:
                low, high = young, old
                break
        sex = rng.choice("MF")
        birth = date(ANCHOR_YEAR - rng.randint(low, high), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.08:
            country_code, country = rng.choice(names.COUNTRIES)
            place, birth_place = "99" + country_code, country
        else:
            dept, commune, city, _postal = rng.choice(names.CITIES)
            place, birth_place = dept[:2] + (dept[2:] + commune)[-3:], city
        number13 = f"{1 if sex == 'M' else 2}{birth.year % 100:02d}{birth.month:02d}{place}{rng.randint(1, 999):03d}"
        if number13 in taken:
            continue
        taken.add(number13)
        first = rng.choice(names.MALE_FIRST_NAMES if sex == "M" else names.FEMALE_FIRST_NAMES)
        if rng.random() < 0.25:
            first += "-" + rng.choice(names.MALE_FIRST_NAMES if sex == "M" else names.FEMALE_FIRST_NAMES)
        last = rng.choice(names.LAST_NAMES)
        birth_name = None
        if sex == "F" and ANCHOR_YEAR - birth.year > 25 and rng.random() < 0.3:
            birth_name, last = last, rng.choice(names.LAST_NAMES)
        _dept, _commune, city, postal = rng.choice(names.CITIES)
        login = _ascii(f"{first}.{last}").lower().replace(" ", "").replace("'", "")
        data.persons.append({
            "ssn": number13 + ssn_key(number13), "last_name": last, "first_names": first, "birth_name": birth_name,
            "search_name": search_text(last, first, birth_name), "birth_date": birth, "birth_place": birth_place,
            "sex": sex, "address_line": f"{rng.randint(1, 180)} {rng.choice(names.STREETS)}", "postal_code": postal,
            "city": city, "country": "FR",
            "phone": f"0{rng.choice('67')} {' '.join(f'{rng.randrange(100):02d}' for _ in range(4))}"
            if rng.random() < 0.85 else None,
            "email": f"{login}{rng.randrange(100)}@example.{rng.choice(['org', 'net', 'com'])}"
            if rng.random() < 0.6 else None,
            "iban": demo_iban(rng) if rng.random() < 0.9 else None,
            "life_status": "alive", "death_date": None,
        })


def _build_employers(rng: random.Random, data: DemoData) -> list[tuple[int, str, list[int]]]:
    """Employers and their establishments; returns (employer position, sector, establishment positions)."""
    taken: set[str] = set()
    out = []
    while len(data.employers) < EMPLOYER_COUNT:
        number7 = f"{rng.randint(1_000_000, 9_999_999)}"
        if number7 in taken:
            continue
        taken.add(number7)
        sector = rng.choice(names.SECTORS)
        activity, risk_class, patterns, _wages, _jobs = sector
        _d, _c, hq_city, hq_postal = rng.choice(names.CITIES)
        trade = rng.choice(patterns).format(last=rng.choice(names.LAST_NAMES), de_city=names.de_city(hq_city),
                                            word=rng.choice(names.NAME_WORDS))
        legal = f"{trade} {rng.choice(names.LEGAL_FORMS)}"
        index = len(data.employers)
        data.employers.append({
            "number": number7 + employer_key(number7), "legal_name": legal,
            "trade_name": trade if rng.random() < 0.7 else None, "search_name": search_text(legal, trade),
            "activity": activity, "risk_class": risk_class,
            "registered_on": date(rng.randint(1985, 2020), rng.randint(1, 12), rng.randint(1, 28)),
            "status": "active",
        })
        branches = rng.choices((0, 1, 2, 3, 4), weights=(50, 25, 15, 6, 4))[0]
        positions = []
        for n in range(branches + 1):
            city, postal = (hq_city, hq_postal) if n == 0 else rng.choice(names.CITIES)[2:]
            positions.append(len(data.establishments))
            data.establishments.append({
                "_employer": index, "_hq": None if n == 0 else positions[0], "suffix": f"{n:03d}",
                "name": "Siège" if n == 0 else f"{trade} – {city}",
                "address_line": f"{rng.randint(1, 120)} {rng.choice(names.STREETS)}", "postal_code": postal,
                "city": city, "declared_by_headquarters": n > 0 and rng.random() < 0.4,
            })
        out.append((index, activity, positions))
    return out


def _sector(activity: str) -> tuple[Any, ...]:
    return next(s for s in names.SECTORS if s[0] == activity)


def _add_contributions(rng: random.Random, data: DemoData, employment: int, start: date, end: date | None,
                       first_period: str, last_period: str, wage: int, risk_class: int, branches: list[str],
                       bonus: bool) -> None:
    first = max(first_period, period_of(start))
    last = min(last_period, period_of(end)) if end else last_period
    period = first
    while period <= last:
        days = 30
        if period == period_of(start):
            days = min(30, 31 - start.day)
        if end and period == period_of(end):
            days = min(days, end.day, 30)
        if rng.random() < 0.03:
            days = min(days, rng.randint(8, 25))  # a month with sick leave or unpaid days
        years_back = (parse_period(last_period).year - parse_period(period).year)
        gross = wage * days / 30 * (1 - 0.02 * years_back) * rng.uniform(0.98, 1.03)
        if bonus and period.endswith("-12"):
            gross *= 1.5
        c = compute_contribution(period, days, Decimal(round(gross, 2)).quantize(Decimal("0.01")), risk_class,
                                 branches)
        data.contributions.append({
            "_employment": employment, "period": period, "days": days, "gross_wage": c.gross_wage,
            "capped_wage": c.capped_wage, "pension_employer": c.pension_employer,
            "pension_employee": c.pension_employee, "family": c.family, "work_injury": c.work_injury,
            "total": c.total, "status": "due", "paid_on": None,
            # Declared on the 1st of the next month (never after `today`, which is at least that).
            "declared_at": datetime.combine(parse_period(add_months(period, 1)), time(9), UTC),
        })
        period = add_months(period, 1)


def build_demo_data(today: date) -> DemoData:
    """The whole data set as rows, computed in memory (no database access)."""
    rng = random.Random(SEED)
    data = DemoData()
    _build_persons(rng, data)
    employers = _build_employers(rng, data)
    # Big and small employers: a few draw most of the staff.
    weights = [rng.choice((1, 1, 1, 2, 3, 8)) for _ in employers]
    last_period = add_months(period_of(today), -1)
    window_first = add_months(last_period, -(MONTHS - 1))
    window_start = parse_period(window_first)

    rng = random.Random(f"{SEED}-{today.isoformat()}")  # everything below depends on today
    for p_index, person in enumerate(data.persons):
        age = today.year - person["birth_date"].year
        if age >= 65:
            # Retired: an old employment that ended at 60-63, and maybe a pension (below).
            person["_retired"] = True
            if age >= 75 and rng.random() < 0.1:
                person["life_status"], person["death_date"] = "deceased", today - timedelta(days=rng.randint(30, 900))
            continue
        if rng.random() > 0.88:
            continue  # not employed: job seeker, student, at home
        long_career = age >= 57 and rng.random() < 0.7
        history_first = add_months(last_period, -(LONG_CAREER_MONTHS - 1)) if long_career else window_first
        employer_index = rng.choices(range(len(employers)), weights=weights)[0]
        _e, activity, positions = employers[employer_index]
        _a, risk_class, _p, (low, high), jobs = _sector(activity)
        wage = int(rng.triangular(low, high, low + (high - low) * 0.3))
        earliest = max(parse_period(history_first) - timedelta(days=400),
                       person["birth_date"].replace(year=person["birth_date"].year + 18))
        start = earliest + timedelta(days=rng.randint(0, max(0, (today - earliest).days - 60)))
        if long_career:
            start = min(start, parse_period(history_first) - timedelta(days=rng.randint(0, 2000)))
        end = None
        if rng.random() < 0.1 and start < today - timedelta(days=120):
            end = start + timedelta(days=rng.randint(60, max(61, (today - start).days - 30)))
        branches = list(INSURANCE_BRANCHES) if rng.random() > 0.03 else ["pension", "family"]
        jobs_for_person = [(rng.choice(positions), start, end, wage, risk_class, rng.choice(jobs), branches)]
        if end is not None and rng.random() < 0.6:
            # Changed jobs: a new employer from a month later.
            _e2, activity2, positions2 = employers[rng.choices(range(len(employers)), weights=weights)[0]]
            s2 = _sector(activity2)
            jobs_for_person.append((rng.choice(positions2), end + timedelta(days=rng.randint(10, 40)), None,
                                    int(wage * rng.uniform(0.95, 1.15)), s2[1], rng.choice(s2[4]),
                                    list(INSURANCE_BRANCHES)))
        if rng.random() < 0.12:
            # A second, part-time job at the same time.
            _e3, activity3, positions3 = employers[rng.randrange(len(employers))]
            s3 = _sector(activity3)
            if positions3 != positions:
                jobs_for_person.append((rng.choice(positions3), window_start + timedelta(days=rng.randint(0, 500)),
                                        None, int(wage * rng.uniform(0.25, 0.5)), s3[1], rng.choice(s3[4]),
                                        list(INSURANCE_BRANCHES)))
        bonus = rng.random() < 0.3
        for establishment, j_start, j_end, j_wage, j_risk, title, j_branches in jobs_for_person:
            if j_start >= today:
                continue
            data.employments.append({"_person": p_index, "_establishment": establishment, "start_date": j_start,
                                     "end_date": j_end, "job_title": title, "branches": j_branches})
            _add_contributions(rng, data, len(data.employments) - 1, j_start, j_end, history_first, last_period,
                               j_wage, j_risk, j_branches, bonus)
    _settle_contributions(rng, data, employers, today)
    _build_payments_and_cases(rng, data, today)
    return data


def _settle_contributions(rng: random.Random, data: DemoData, employers: list[tuple[int, str, list[int]]],
                          today: date) -> None:
    """Every period is paid, except the last 2 to 4 of a few debtor employers (2 to 4 overdue)."""
    overdue_up_to = last_overdue_period(today)
    debtors = {e[0]: add_months(overdue_up_to, -rng.randint(1, 3)) for e in rng.sample(employers, DEBTOR_EMPLOYERS)}
    employer_of = {i: est["_employer"] for i, est in enumerate(data.establishments)}
    for line in data.contributions:
        employer = employer_of[data.employments[line["_employment"]]["_establishment"]]
        period = line["period"]
        unpaid_from = debtors.get(employer)
        # Others pay on declaring, so a demo loaded a few days before a due date stays debt-free after it.
        if unpaid_from is None or period < unpaid_from:
            line["status"], line["paid_on"] = "paid", payment_due_date(period) - timedelta(days=rng.randint(0, 12))


CASE_KINDS = (
    # process, case type, subject, summary
    ("document_submission", "sickness_allowance", "person", "Sick leave certificate and payslips filed"),
    ("document_submission", "old_age_pension", "person", "Pension claim file: birth certificate, career record"),
    ("document_submission", "change_bank_details", "person", "New bank details (RIB) to register"),
    ("document_submission", "employer_registration", "employer", "Registration of a new establishment"),
    ("first_level_inquiry", "inquiry", "person", "Question about missing contribution months"),
    ("first_level_inquiry", "inquiry", "person", "When will my allowance be paid?"),
    ("first_level_inquiry", "inquiry", "employer", "Question about the contribution ceiling for part-time staff"),
    ("technical_escalation", "escalation", "person", "Two employers declared the same months: ceiling to prorate"),
    ("technical_escalation", "escalation", "employer", "Declaration rejected: establishment suffix unknown"),
    ("benefit_payment", "sickness_allowance", "person", "Daily sickness allowance claim"),
    ("benefit_payment", "old_age_pension", "person", "Old-age pension claim"),
)


def _build_payments_and_cases(rng: random.Random, data: DemoData, today: date) -> None:
    employed = sorted({e["_person"] for e in data.employments})
    retired = [i for i, p in enumerate(data.persons) if p.get("_retired")]
    seniors = [i for i, p in enumerate(data.persons)
               if today.year - p["birth_date"].year >= 59 and p["life_status"] == "alive"]
    reference = 0

    def payment(person: int, kind: str, amount: float, day: date, status: str, case: int | None) -> None:
        nonlocal reference
        reference += 1
        iban = data.persons[person]["iban"]
        data.payments.append({
            "_person": person, "_case": case, "kind": kind, "amount": Decimal(f"{amount:.2f}"),
            "payment_date": day, "status": status, "method": "transfer" if iban else "cash", "iban": iban,
            "reference": f"PAY-{day.year}-{reference:06d}"})

    def case(person_or_employer: int, kind: tuple[str, str, str, str], opened: date, status: str) -> int:
        process, case_type, subject_type, summary = kind
        subject = (data.persons[person_or_employer]["ssn"] if subject_type == "person"
                   else data.employers[person_or_employer]["number"])
        opened_at = datetime.combine(opened, time(8 + rng.randrange(9), rng.randrange(60)), UTC)
        data.cases.append({
            "subject_type": subject_type, "subject": subject, "case_type": case_type, "process_key": process,
            "channel": rng.choice(("counter", "counter", "mail", "phone", "portal")), "status": status,
            "summary": summary, "process_instance_id": None, "opened_by": rng.choice(("agent", "backoffice")),
            "opened_at": opened_at, "closed_at": opened_at + timedelta(days=rng.randint(3, 40))
            if status == "closed" else None})
        return len(data.cases) - 1

    # Old-age pensions paid monthly over the last 12 months (until death for the deceased).
    for person in rng.sample(retired, k=int(len(retired) * 0.7)):
        monthly = rng.uniform(90_000, 300_000)
        death = data.persons[person]["death_date"]
        for n in range(12, 0, -1):
            day = parse_period(add_months(period_of(today), -n)).replace(day=28)
            if death and day > death:
                break
            payment(person, "old_age_pension", monthly, day, "returned" if rng.random() < 0.005 else "paid", None)
    # Daily sickness allowances, each from a closed benefit_payment case.
    for person in rng.sample(employed, k=min(80, len(employed))):
        opened = today - timedelta(days=rng.randint(20, 700))
        c = case(person, CASE_KINDS[9], opened, "closed")
        payment(person, "sickness_allowance", rng.randint(4, 30) * rng.uniform(5_000, 12_000),
                opened + timedelta(days=rng.randint(10, 30)), "paid", c)
    for person in rng.sample(employed, k=10):
        payment(person, rng.choice(("one_off", "adjustment")), rng.uniform(10_000, 150_000),
                today - timedelta(days=rng.randint(10, 500)), "paid", None)
    # Open cases of every process at various ages, for persons and employers.
    for _ in range(90):
        kind = rng.choice(CASE_KINDS)
        pool = range(len(data.employers)) if kind[2] == "employer" else (
            seniors if kind[1] == "old_age_pension" else employed)
        status = rng.choices(("open", "waiting", "closed"), weights=(60, 15, 25))[0]
        case(rng.choice(list(pool)), kind, today - timedelta(days=rng.randint(0, 120)), status)


def _insert(model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT ... RETURNING id, ids in the order of the rows."""
    if not rows:
        return []
    result = db.session.execute(insert(model).returning(model.id, sort_by_parameter_order=True),  # type: ignore[attr-defined]
                                [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    return list(result.scalars())


def load_demo_data(today: date | None = None) -> dict[str, int]:
    """Insert the demo data set unless it is already there; flushes, the caller commits."""
    today = today or date.today()
    data = build_demo_data(today)
    if db.session.scalar(select(Employer.id).where(Employer.number == data.employers[0]["number"])) is not None:
        log.info("demo data already loaded")
        return {}
    person_ids = _insert(Person, data.persons)
    employer_ids = _insert(Employer, data.employers)
    # Headquarters first, then branches pointing to them.
    establishment_ids: dict[int, int] = {}
    for branches in (False, True):
        positions = [i for i, e in enumerate(data.establishments) if (e["_hq"] is not None) == branches]
        ids = _insert(Establishment, [{
            **data.establishments[i], "employer_id": employer_ids[data.establishments[i]["_employer"]],
            "headquarters_id": establishment_ids[data.establishments[i]["_hq"]] if branches else None,
        } for i in positions])
        establishment_ids.update(zip(positions, ids))
    employment_ids = _insert(Employment, [{**e, "person_id": person_ids[e["_person"]],
                                           "establishment_id": establishment_ids[e["_establishment"]]}
                                          for e in data.employments])
    db.session.execute(insert(ContributionPeriod), [
        {**{k: v for k, v in c.items() if not k.startswith("_")}, "employment_id": employment_ids[c["_employment"]]}
        for c in data.contributions])
    for row in sorted(data.cases, key=lambda r: r["opened_at"]):
        row["number"] = f"DOS-{row['opened_at'].year}-{next_in_sequence('case', row['opened_at'].year):06d}"
    case_ids = _insert(Case, data.cases)
    _insert(Payment, [{**p, "person_id": person_ids[p["_person"]],
                       "case_id": case_ids[p["_case"]] if p["_case"] is not None else None} for p in data.payments])
    db.session.flush()
    counts = {"persons": len(data.persons), "employers": len(data.employers),
              "establishments": len(data.establishments), "employments": len(data.employments),
              "contributionPeriods": len(data.contributions), "cases": len(data.cases),
              "payments": len(data.payments)}
    log.info("demo data loaded: %s", counts)
    return counts
