"""The registry as the counter sees it: identifier checks, person and employer records, search, cases.

Every read of a person's (or employer's) record writes a RecordAccessLog line with the reader.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.errors import BadRequestError, NotFoundError
from app.extensions import db
from app.models import HumanTask, ProcessInstance, User
from app.models._types import utcnow
from app.models.registry import (
    Case,
    ContributionPeriod,
    Employer,
    Employment,
    Establishment,
    Payment,
    Person,
    RecordAccessLog,
    RegistrySequence,
)
from app.services.contributions import Debt, add_months, employer_debt, last_overdue_period, period_of
from app.services.permissions import require_role
from workflows.helpers import employer_key, is_valid_employer_number, is_valid_ssn, ssn_key

# Who may open a person's or an employer's record (analysts design processes, they do not read files).
READ_RECORD_ROLES = ("admin", "supervisor", "agent", "cashier", "worker")
_SEPARATORS = re.compile(r"[\s.\-]")
_EMPLOYER_INPUT = re.compile(r"^(\d{7})(\d{2})(?:/(\d{3}))?$")
RECENT_MONTHS = 24
OPEN_CASE_STATUSES = ("open", "waiting")


# -- identifiers --------------------------------------------------------------------------------

def clean_ssn(raw: str, field_name: str = "ssn") -> str:
    """The 15-character SSN (separators removed), else a 400 naming what is wrong with it."""
    value = _SEPARATORS.sub("", raw or "").upper()

    def bad(message: str) -> BadRequestError:
        return BadRequestError(f"social security number {raw!r}: {message}",
                               [{"field": field_name, "message": message}])

    if len(value) != 15:
        raise bad(f"it has {len(value)} characters; expected 15 (13 digits and a 2-digit key)")
    if not value[13:].isdigit():
        raise bad("the last 2 characters (the key) must be digits")
    try:
        expected = ssn_key(value[:13])
    except ValueError as exc:
        raise bad(f"the first 13 characters are not a valid number: {exc}") from exc
    if not is_valid_ssn(value):
        raise bad(f"the key {value[13:]} is wrong; the key of {value[:13]} is {expected}")
    return value


def clean_employer_number(raw: str, field_name: str = "number") -> tuple[str, str | None]:
    """(9-character employer number, establishment suffix or None), else a 400 naming the problem."""
    value = re.sub(r"[\s.\-]", "", raw or "")

    def bad(message: str) -> BadRequestError:
        return BadRequestError(f"employer number {raw!r}: {message}", [{"field": field_name, "message": message}])

    match = _EMPLOYER_INPUT.match(value)
    if match is None:
        raise bad("expected 7 digits and a 2-digit key, optionally followed by /000 (establishment)")
    number7, key, suffix = match.groups()
    if not is_valid_employer_number(f"{number7}{key}"):
        raise bad(f"the key {key} is wrong; the key of {number7} is {employer_key(number7)}")
    return f"{number7}{key}", suffix


def search_text(*parts: str | None) -> str:
    """Upper-case, accent-free, single-spaced text that name searches match against."""
    joined = " ".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFKD", joined)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^A-Za-z0-9]+", " ", plain).upper().split())


# -- sequences and cases ------------------------------------------------------------------------

def next_in_sequence(name: str, year: int) -> int:
    """The next value of a gap-free counter; the row stays locked until the transaction ends."""
    for _ in range(2):
        # UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) until commit: two
        # transactions never get the same value, and a rollback gives the value back.
        value = db.session.execute(
            update(RegistrySequence).where(RegistrySequence.name == name, RegistrySequence.year == year)
            .values(last_value=RegistrySequence.last_value + 1).returning(RegistrySequence.last_value)
        ).scalar()
        if value is not None:
            return int(value)
        try:
            with db.session.begin_nested():
                db.session.add(RegistrySequence(name=name, year=year, last_value=1))
            return 1
        except IntegrityError:
            continue  # someone else created the row meanwhile: increment theirs
    raise RuntimeError(f"could not take a number from sequence {name}/{year}")


def open_case(subject: str, case_type: str, channel: str, opened_by: str, *, process_key: str | None = None,
              summary: str | None = None, process_instance_id: int | None = None) -> Case:
    """Open a case about a person (SSN) or an employer (number) with a gap-free case number."""
    subject_type = "person" if len(_SEPARATORS.sub("", subject)) == 15 else "employer"
    if subject_type == "person":
        subject = get_person(clean_ssn(subject, "subject")).ssn
    else:
        subject = get_employer(clean_employer_number(subject, "subject")[0]).number
    now = utcnow()
    case = Case(number=f"DOS-{now.year}-{next_in_sequence('case', now.year):06d}", subject_type=subject_type,
                subject=subject, case_type=case_type, channel=channel, status="open", summary=summary,
                process_key=process_key, process_instance_id=process_instance_id, opened_by=opened_by,
                opened_at=now)
    db.session.add(case)
    db.session.flush()
    return case


@dataclass
class CaseView:
    """A case with where its process stands (open user tasks, or the active elements)."""

    case: Case
    instance_status: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)


def case_views(cases: list[Case]) -> list[CaseView]:
    """Cases with their current step, read from process_instances and human_tasks."""
    instance_ids = [c.process_instance_id for c in cases if c.process_instance_id]
    instances: dict[int, ProcessInstance] = {}
    tasks: dict[int, list[HumanTask]] = defaultdict(list)
    if instance_ids:
        instances = {p.id: p for p in db.session.scalars(
            select(ProcessInstance).where(ProcessInstance.id.in_(instance_ids)))}
        for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids),
                                                               HumanTask.state == "open").order_by(HumanTask.id)):
            tasks[task.instance_id].append(task)
    views = []
    for case in cases:
        view = CaseView(case)
        instance = instances.get(case.process_instance_id or 0)
        if instance is not None:
            view.instance_status = instance.status
            open_tasks = tasks.get(instance.id, [])
            if open_tasks:
                view.steps = [{"elementId": t.element_id, "name": t.name, "queue": t.queue, "assignee": t.assignee,
                               "taskId": t.id, "dueAt": t.due_at} for t in open_tasks]
            else:
                view.steps = [{"elementId": e, "name": None, "queue": None, "assignee": None, "taskId": None,
                               "dueAt": None} for e in instance.active_element_ids or []]
        views.append(view)
    return views


def cases_of(subject: str, *, open_only: bool = True) -> list[Case]:
    """A subject's cases, newest first."""
    stmt = select(Case).where(Case.subject == subject)
    if open_only:
        stmt = stmt.where(Case.status.in_(OPEN_CASE_STATUSES))
    return list(db.session.scalars(stmt.order_by(Case.opened_at.desc(), Case.id.desc()).limit(100)))


def documents_of(subject: str, limit: int = 50) -> list[dict[str, Any]]:
    """Documents filed about a subject, when the documents area is installed (else none)."""
    table = db.metadata.tables.get("documents")
    if table is None or "subject" not in table.c:
        return []
    wanted = ("id", "document_type", "status", "received_at", "receipt_number", "filename", "original_name",
              "process_instance_id", "case_id", "pages")
    columns = [table.c[name] for name in wanted if name in table.c]
    rows = db.session.execute(select(*columns).where(table.c.subject == subject)
                              .order_by(table.c.id.desc()).limit(limit)).mappings()
    return [dict(row) for row in rows]


def log_record_access(reader: User, subject_type: str, subject: str, purpose: str) -> None:
    """Write who read whose record, and why."""
    db.session.add(RecordAccessLog(reader=reader.username, subject_type=subject_type, subject=subject,
                                   purpose=purpose, at=utcnow()))


# -- persons ------------------------------------------------------------------------------------

def get_person(ssn: str) -> Person:
    """A person by (clean) SSN, else 404."""
    person = db.session.scalar(select(Person).where(Person.ssn == ssn))
    if person is None:
        raise NotFoundError(f"no person with social security number {ssn}")
    return person


@dataclass
class ContributionLine:
    period: str
    employer_number: str
    establishment: str
    employer_name: str
    days: int
    gross_wage: Decimal
    capped_wage: Decimal
    employee_share: Decimal
    employer_share: Decimal
    status: str


@dataclass
class ContributionSummary:
    """A person's contribution record: all-time totals, totals per year and the recent lines."""

    total_days: int = 0
    months: int = 0
    first_period: str | None = None
    last_period: str | None = None
    by_year: list[dict[str, Any]] = field(default_factory=list)
    recent: list[ContributionLine] = field(default_factory=list)


@dataclass
class PersonRecord:
    person: Person
    employments: list[Employment]
    contributions: ContributionSummary
    cases: list[CaseView]
    payments: list[Payment]
    documents: list[dict[str, Any]]


def contribution_lines(person_id: int, first_period: str | None = None,
                       last_period: str | None = None) -> list[ContributionLine]:
    """A person's declaration lines, oldest first, optionally within [first_period, last_period]."""
    stmt = (select(ContributionPeriod, Establishment, Employer)
            .join(Employment, Employment.id == ContributionPeriod.employment_id)
            .join(Establishment, Establishment.id == Employment.establishment_id)
            .join(Employer, Employer.id == Establishment.employer_id)
            .where(Employment.person_id == person_id))
    if first_period:
        stmt = stmt.where(ContributionPeriod.period >= first_period)
    if last_period:
        stmt = stmt.where(ContributionPeriod.period <= last_period)
    lines = []
    for cp, est, emp in db.session.execute(stmt.order_by(ContributionPeriod.period, Employer.number)):
        lines.append(ContributionLine(
            period=cp.period, employer_number=emp.number, establishment=f"{emp.number}/{est.suffix}",
            employer_name=emp.trade_name or emp.legal_name, days=cp.days, gross_wage=cp.gross_wage,
            capped_wage=cp.capped_wage, employee_share=cp.pension_employee,
            employer_share=cp.pension_employer + cp.family + cp.work_injury, status=cp.status))
    return lines


def monthly_record(person_id: int) -> list[tuple[str, int, Decimal]]:
    """(period, days, capped wage) of every declaration line: the input of the benefit rules."""
    rows = db.session.execute(
        select(ContributionPeriod.period, ContributionPeriod.days, ContributionPeriod.capped_wage)
        .join(Employment, Employment.id == ContributionPeriod.employment_id)
        .where(Employment.person_id == person_id).order_by(ContributionPeriod.period))
    return [(p, d, Decimal(str(w))) for p, d, w in rows]


def summarize_contributions(person_id: int, today: date) -> ContributionSummary:
    """Totals per year over the whole record and the lines of the last 24 months."""
    summary = ContributionSummary()
    by_year: dict[str, dict[str, Any]] = {}
    periods: set[str] = set()
    days_per_period: dict[str, int] = defaultdict(int)
    lines = contribution_lines(person_id)
    for line in lines:
        year = by_year.setdefault(line.period[:4], {"year": int(line.period[:4]), "days": 0, "grossWage": Decimal(0),
                                                    "cappedWage": Decimal(0), "employeeShare": Decimal(0),
                                                    "employerShare": Decimal(0)})
        year["days"] += line.days
        year["grossWage"] += line.gross_wage
        year["cappedWage"] += line.capped_wage
        year["employeeShare"] += line.employee_share
        year["employerShare"] += line.employer_share
        periods.add(line.period)
        days_per_period[line.period] += line.days
    # Days count at most 30 per month, even with two employers (as for the pension).
    summary.total_days = sum(min(d, 30) for d in days_per_period.values())
    summary.months = len(periods)
    if periods:
        summary.first_period, summary.last_period = min(periods), max(periods)
    summary.by_year = [by_year[y] for y in sorted(by_year, reverse=True)]
    since = add_months(period_of(today), -RECENT_MONTHS)
    summary.recent = [line for line in reversed(lines) if line.period >= since]
    return summary


def person_record(ssn_raw: str, reader: User, *, today: date | None = None) -> PersonRecord:
    """The counter's whole view of a person; the read is logged with the reader."""
    require_role(reader, READ_RECORD_ROLES, "read a person's record")
    person = get_person(clean_ssn(ssn_raw))
    log_record_access(reader, "person", person.ssn, "record")
    employments = list(db.session.scalars(
        select(Employment).options(joinedload(Employment.establishment).joinedload(Establishment.employer))
        .where(Employment.person_id == person.id)
        .order_by(Employment.end_date.is_not(None), Employment.start_date.desc())))
    payments = list(db.session.scalars(select(Payment).where(Payment.person_id == person.id)
                                       .order_by(Payment.payment_date.desc(), Payment.id.desc()).limit(50)))
    return PersonRecord(
        person=person, employments=employments,
        contributions=summarize_contributions(person.id, today or date.today()),
        cases=case_views(cases_of(person.ssn)), payments=payments, documents=documents_of(person.ssn))


def search_persons(q: str | None, birth_date: date | None, reader: User,
                   limit: int = 50) -> tuple[list[Person], int]:
    """Persons matching a name (every word), an SSN prefix and/or a birth date."""
    require_role(reader, READ_RECORD_ROLES, "search persons")
    stmt = select(Person)
    text = (q or "").strip()
    if not text and birth_date is None:
        raise BadRequestError("give q (name or number) and/or birthDate", [{"field": "q", "message": "required"}])
    if text:
        compact = _SEPARATORS.sub("", text)
        if compact[:1].isdigit():
            stmt = stmt.where(Person.ssn.startswith(compact.upper()))
        else:
            for word in search_text(text).split():
                stmt = stmt.where(or_(Person.search_name.startswith(word), Person.search_name.contains(f" {word}")))
    if birth_date is not None:
        stmt = stmt.where(Person.birth_date == birth_date)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(db.session.scalars(stmt.order_by(Person.last_name, Person.first_names, Person.id).limit(limit)))
    return items, total


# -- employers ----------------------------------------------------------------------------------

def get_employer(number: str) -> Employer:
    """An employer by (clean) 9-character number, else 404."""
    employer = db.session.scalar(select(Employer).where(Employer.number == number))
    if employer is None:
        raise NotFoundError(f"no employer with number {number}")
    return employer


@dataclass
class EmployerRecord:
    employer: Employer
    establishments: list[Establishment]
    headcount: dict[int, int]
    declarations: list[dict[str, Any]]
    debt: Debt
    last_overdue_period: str
    employees: list[tuple[Employment, Person]]
    cases: list[CaseView]
    documents: list[dict[str, Any]]


def employer_record(number_raw: str, reader: User, *, today: date | None = None) -> EmployerRecord:
    """The counter's whole view of an employer (establishments, declarations, debt, cases); logged."""
    require_role(reader, READ_RECORD_ROLES, "read an employer's record")
    number, suffix = clean_employer_number(number_raw)
    employer = get_employer(number)
    establishments = list(employer.establishments)
    if suffix is not None and suffix not in {e.suffix for e in establishments}:
        raise NotFoundError(f"employer {number} has no establishment /{suffix}")
    log_record_access(reader, "employer", employer.number, "record")
    today = today or date.today()
    est_ids = [e.id for e in establishments]
    open_employments = list(db.session.execute(
        select(Employment, Person).join(Person, Person.id == Employment.person_id)
        .where(Employment.establishment_id.in_(est_ids), or_(Employment.end_date.is_(None),
                                                             Employment.end_date >= today))
        .order_by(Person.last_name, Person.first_names).limit(500)).tuples())
    headcount: dict[int, int] = defaultdict(int)
    for employment, _person in open_employments:
        headcount[employment.establishment_id] += 1
    since = add_months(period_of(today), -RECENT_MONTHS)
    rows = db.session.execute(
        select(ContributionPeriod.period, ContributionPeriod.status, func.count(), func.sum(ContributionPeriod.days),
               func.sum(ContributionPeriod.gross_wage), func.sum(ContributionPeriod.total))
        .join(Employment, Employment.id == ContributionPeriod.employment_id)
        .where(Employment.establishment_id.in_(est_ids), ContributionPeriod.period >= since)
        .group_by(ContributionPeriod.period, ContributionPeriod.status))
    declarations: dict[str, dict[str, Any]] = {}
    for period, status, lines, days, gross, total in rows:
        entry = declarations.setdefault(period, {"period": period, "lines": 0, "days": 0, "grossWage": Decimal(0),
                                                 "contributions": Decimal(0), "unpaid": Decimal(0)})
        entry["lines"] += lines
        entry["days"] += int(days or 0)
        entry["grossWage"] += Decimal(str(gross or 0))
        entry["contributions"] += Decimal(str(total or 0))
        if status == "due":
            entry["unpaid"] += Decimal(str(total or 0))
    return EmployerRecord(
        employer=employer, establishments=establishments, headcount=dict(headcount),
        declarations=[declarations[p] for p in sorted(declarations, reverse=True)],
        debt=employer_debt(employer.id, today), last_overdue_period=last_overdue_period(today),
        employees=open_employments, cases=case_views(cases_of(employer.number)),
        documents=documents_of(employer.number))


def search_employers(q: str, reader: User, limit: int = 50) -> tuple[list[Employer], int]:
    """Employers matching a name (every word) or a number prefix."""
    require_role(reader, READ_RECORD_ROLES, "search employers")
    text = (q or "").strip()
    if not text:
        raise BadRequestError("give q (name or number)", [{"field": "q", "message": "required"}])
    stmt = select(Employer)
    compact = _SEPARATORS.sub("", text)
    if compact[:1].isdigit():
        stmt = stmt.where(Employer.number.startswith(compact.split("/")[0]))
    else:
        for word in search_text(text).split():
            stmt = stmt.where(or_(Employer.search_name.startswith(word), Employer.search_name.contains(f" {word}")))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(db.session.scalars(stmt.order_by(Employer.legal_name, Employer.id).limit(limit))), total
