"""Certificates issued at the counter: what each type states, its gap-free number, its verification code.

The statement (title, lines, optional table, facts) is computed once at issue time and stored: the
PDF (certificate_pdf.py) and the public /verify page both render that stored statement, so a
certificate keeps saying what it said when it was issued.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.errors import BadRequestError, ConflictError, NotFoundError, ValidationFailedError
from app.extensions import db
from app.models import User
from app.models._types import utcnow
from app.models.registry import Certificate, Employer, Employment, Establishment, Payment, Person
from app.services import registry
from app.services.contributions import add_months, employer_debt, last_overdue_period, parse_period, period_of
from app.services.permissions import require_role


@dataclass(frozen=True)
class CertificateType:
    subject_type: str  # "person" or "employer"
    title: str
    valid_days: int | None = None  # None: states a fact about the past, does not expire


CERTIFICATE_TYPES: dict[str, CertificateType] = {
    "affiliation": CertificateType("person", "Affiliation certificate", 90),
    "contribution_statement": CertificateType("person", "Contribution statement"),
    "employer_no_debt": CertificateType("employer", "Certificate of no outstanding contributions", 90),
    "benefit_payment": CertificateType("person", "Benefit payment certificate"),
}
ISSUE_ROLES = registry.READ_RECORD_ROLES
NUMBER_PREFIX = "ATT"
# Crockford's base 32: no I, L, O, U, so a code read aloud or typed is not mistaken.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 random bits
MAX_STATEMENT_MONTHS = 120
KIND_LABELS = {"sickness_allowance": "Daily sickness allowance", "old_age_pension": "Old-age pension",
               "one_off": "One-off payment", "adjustment": "Adjustment"}


def format_ssn(ssn: str) -> str:
    """1 85 07 75 123 456 34 (sex, year, month, place, commune, order, key)."""
    parts = (ssn[0], ssn[1:3], ssn[3:5], ssn[5:7], ssn[7:10], ssn[10:13], ssn[13:15])
    return " ".join(parts)


def mask_ssn(ssn: str) -> str:
    """The SSN with its place and order hidden, for public pages."""
    return f"{ssn[0]} {ssn[1:3]} {ssn[3:5]} ** *** *** {ssn[13:15]}"


def format_money(amount: Decimal | int | str) -> str:
    return f"{Decimal(str(amount)):,.2f}"


def format_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def format_code(code: str) -> str:
    """XXXX-XXXX-XXXX."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_code(raw: str) -> str:
    """A typed verification code in stored form (case, dashes and look-alike letters forgiven)."""
    value = re.sub(r"[\s\-]", "", raw or "").upper()
    return value.translate(str.maketrans("ILO", "110"))


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Certificate.id).where(Certificate.verification_code == code)) is None:
            return code


def _period_option(options: dict[str, Any], name: str, default: str) -> str:
    value = options.get(name)
    if value is None:
        return default
    try:
        parse_period(value if isinstance(value, str) else "")
    except ValueError:
        raise BadRequestError(f"{name} must be a period YYYY-MM", [{"field": name, "message": "YYYY-MM"}]) from None
    return str(value)


def _period_range(options: dict[str, Any], today: date) -> tuple[str, str]:
    last_default = add_months(period_of(today), -1)
    last = _period_option(options, "periodTo", last_default)
    first = _period_option(options, "periodFrom", add_months(last, -11))
    if first > last:
        raise ValidationFailedError("periodFrom is after periodTo",
                                    [{"field": "periodFrom", "message": f"{first} is after {last}"}])
    if add_months(first, MAX_STATEMENT_MONTHS) <= last:
        raise ValidationFailedError(f"a statement covers at most {MAX_STATEMENT_MONTHS} months",
                                    [{"field": "periodFrom", "message": f"{first} is too far back"}])
    return first, last


# -- what each certificate states ---------------------------------------------------------------

def _person_intro(person: Person) -> str:
    born = f"born on {format_date(person.birth_date)}" + (f" in {person.birth_place}" if person.birth_place else "")
    return f"{person.full_name}, {born}, social security number {format_ssn(person.ssn)}"


def _affiliation(person: Person, institution: str, today: date, _options: dict[str, Any]) -> dict[str, Any]:
    employments = list(db.session.scalars(select(Employment).where(Employment.person_id == person.id)
                                          .order_by(Employment.start_date)))
    since = employments[0].start_date if employments else person.created_at.date()
    current = [e for e in employments if e.end_date is None or e.end_date >= today]
    lines = [(f"{institution} certifies that {_person_intro(person)}, is affiliated to the general social "
             f"security scheme since {format_date(since)}.")]
    branches: set[str] = set()
    for employment in current:
        est = employment.establishment
        lines.append(f"Currently employed by {est.employer.legal_name} (establishment {est.number}) "
                     f"since {format_date(employment.start_date)}.")
        branches.update(employment.branches or [])
    if not current:
        lines.append("No employment is currently declared.")
    else:
        lines.append("Insured for: " + ", ".join(b.replace("_", " ") for b in sorted(branches)) + ".")
    if person.life_status == "deceased" and person.death_date:
        lines.append(f"Deceased on {format_date(person.death_date)}.")
    facts = {"ssn": person.ssn, "name": person.full_name, "birthDate": person.birth_date.isoformat(),
             "affiliatedSince": since.isoformat(), "lifeStatus": person.life_status,
             "currentEstablishments": [e.establishment.number for e in current], "insuredFor": sorted(branches)}
    return {"lines": lines, "facts": facts}


def _contribution_statement(person: Person, institution: str, today: date, options: dict[str, Any]) -> dict[str, Any]:
    first, last = _period_range(options, today)
    lines_ = registry.contribution_lines(person.id, first, last)
    days: dict[str, int] = {}
    for line in lines_:
        days[line.period] = min(days.get(line.period, 0) + line.days, 30)
    total_days = sum(days.values())
    employee = sum((li.employee_share for li in lines_), Decimal(0))
    employer = sum((li.employer_share for li in lines_), Decimal(0))
    gross = sum((li.gross_wage for li in lines_), Decimal(0))
    text = [(f"{institution} certifies that the following contributions were declared for {_person_intro(person)}, "
            f"for the periods {first} to {last}.")]
    if lines_:
        text.append(f"{len(days)} month(s), {total_days} contribution day(s); gross wages {format_money(gross)}; "
                    f"employee contributions {format_money(employee)}; employer contributions "
                    f"{format_money(employer)}.")
    else:
        text.append("No contribution was declared for these periods.")
    table = {"columns": ["Period", "Establishment", "Days", "Gross wage", "Capped wage", "Employee", "Employer"],
             "rows": [[li.period, li.establishment, str(li.days), format_money(li.gross_wage),
                       format_money(li.capped_wage), format_money(li.employee_share),
                       format_money(li.employer_share)] for li in lines_]}
    facts = {"ssn": person.ssn, "name": person.full_name, "periodFrom": first, "periodTo": last,
             "months": len(days), "days": total_days, "grossWage": str(gross), "employeeShare": str(employee),
             "employerShare": str(employer)}
    return {"lines": text, "table": table if lines_ else None, "facts": facts}


def _benefit_payment(person: Person, institution: str, today: date, options: dict[str, Any]) -> dict[str, Any]:
    first, last = _period_range(options, today)
    start = parse_period(first)
    end = parse_period(add_months(last, 1)) - timedelta(days=1)
    payments = list(db.session.scalars(
        select(Payment).where(Payment.person_id == person.id, Payment.status == "paid",
                              Payment.payment_date >= start, Payment.payment_date <= end)
        .order_by(Payment.payment_date, Payment.id)))
    total = sum((p.amount for p in payments), Decimal(0))
    text = [(f"{institution} certifies that it paid {_person_intro(person)}, the following benefits between "
            f"{format_date(start)} and {format_date(end)}.")]
    if payments:
        text.append(f"{len(payments)} payment(s), {format_money(total)} in total.")
    else:
        text.append("No benefit was paid in this period.")
    table = {"columns": ["Date", "Benefit", "Method", "Reference", "Amount"],
             "rows": [[format_date(p.payment_date), KIND_LABELS.get(p.kind, p.kind), p.method, p.reference or "",
                       format_money(p.amount)] for p in payments]}
    facts = {"ssn": person.ssn, "name": person.full_name, "from": start.isoformat(), "to": end.isoformat(),
             "payments": len(payments), "total": str(total)}
    return {"lines": text, "table": table if payments else None, "facts": facts}


def _employer_no_debt(employer: Employer, institution: str, today: date, _options: dict[str, Any]) -> dict[str, Any]:
    debt = employer_debt(employer.id, today)
    if debt.exists:
        periods = ", ".join(debt.periods)
        message = f"employer {employer.number} owes {format_money(debt.amount)} in contributions for {periods}"
        raise ConflictError(f"{message}; a no-debt certificate cannot be issued",
                            [{"field": "subject", "message": message}])
    up_to = last_overdue_period(today)
    establishments = list(db.session.scalars(select(Establishment).where(Establishment.employer_id == employer.id)
                                             .order_by(Establishment.suffix)))
    name = employer.legal_name + (f" (trading as {employer.trade_name})" if employer.trade_name else "")
    lines = [(f"{institution} certifies that {name}, employer number {employer.number}, "
             f"with {len(establishments)} establishment(s), owes no contribution on {format_date(today)}: "
             f"every contribution due for the periods up to {up_to} has been paid."),
             "Establishments: " + ", ".join(f"{e.employer.number}/{e.suffix} {e.name}" for e in establishments) + "."]
    facts = {"employerNumber": employer.number, "legalName": employer.legal_name, "paidUpTo": up_to,
             "asOf": today.isoformat(), "establishments": [f"{employer.number}/{e.suffix}" for e in establishments]}
    return {"lines": lines, "facts": facts}


STATEMENTS = {"affiliation": _affiliation, "contribution_statement": _contribution_statement,
              "benefit_payment": _benefit_payment, "employer_no_debt": _employer_no_debt}


# -- issuing and finding ------------------------------------------------------------------------

def issue_certificate(cert_type: str, subject: str, user: User, institution: str, *,
                      options: dict[str, Any] | None = None, today: date | None = None) -> Certificate:
    """Check the subject, compute what the certificate states, number it and store it."""
    require_role(user, ISSUE_ROLES, "issue certificates")
    kind = CERTIFICATE_TYPES.get(cert_type)
    if kind is None:
        allowed = ", ".join(CERTIFICATE_TYPES)
        raise ValidationFailedError(f"unknown certificate type {cert_type!r}; one of {allowed}",
                                    [{"field": "type", "message": f"one of {allowed}"}])
    now = utcnow()
    today = today or now.date()
    target: Person | Employer
    if kind.subject_type == "person":
        target = registry.get_person(registry.clean_ssn(subject, "subject"))
        subject_id, subject_name = target.ssn, target.full_name
    else:
        target = registry.get_employer(registry.clean_employer_number(subject, "subject")[0])
        subject_id, subject_name = target.number, target.legal_name
    statement = STATEMENTS[cert_type](target, institution, today, options or {})  # type: ignore[operator]
    statement["title"] = kind.title
    statement.setdefault("table", None)
    registry.log_record_access(user, kind.subject_type, subject_id, f"certificate:{cert_type}")
    certificate = Certificate(
        number=f"{NUMBER_PREFIX}-{now.year}-{registry.next_in_sequence('certificate', now.year):06d}",
        verification_code=_new_code(), type=cert_type, subject_type=kind.subject_type, subject=subject_id,
        subject_name=subject_name, statement=statement, issued_at=now, issued_by=user.username,
        valid_until=today + timedelta(days=kind.valid_days) if kind.valid_days else None)
    db.session.add(certificate)
    db.session.flush()
    return certificate


def get_certificate(certificate_id: int) -> Certificate:
    """A certificate by id, else 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFoundError(f"no certificate {certificate_id}")
    return certificate


def find_by_code(raw_code: str) -> Certificate | None:
    """The certificate a verification code belongs to, or None."""
    code = normalize_code(raw_code)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return db.session.scalar(select(Certificate).where(Certificate.verification_code == code))
