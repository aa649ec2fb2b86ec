"""The registry: insured persons, employers and their establishments, employments, contributions,
cases, payments, certificates, and the log of who read whose record."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import BigId, JsonType, UtcDateTime, utcnow

# Amounts in the institution's currency, two decimals.
Money = Numeric(14, 2)

LIFE_STATUSES = ("alive", "deceased")
INSURANCE_BRANCHES = ("pension", "family", "work_injury")
CASE_STATUSES = ("open", "waiting", "closed", "cancelled")
PAYMENT_STATUSES = ("ordered", "paid", "returned", "cancelled")
CONTRIBUTION_STATUSES = ("due", "paid")


class Person(db.Model):
    """An insured person or beneficiary, identified by a social security number (13 digits + key)."""

    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_search_name", "search_name"),
        Index("ix_persons_birth_date", "birth_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ssn: Mapped[str] = mapped_column(String(15), unique=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_names: Mapped[str] = mapped_column(String(200))
    birth_name: Mapped[str | None] = mapped_column(String(100))
    # Upper-case, accent-free "LAST FIRST BIRTHNAME": what name searches match against.
    search_name: Mapped[str] = mapped_column(String(400))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str | None] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(1))  # "M" or "F"
    address_line: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="FR")
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    iban: Mapped[str | None] = mapped_column(String(34))
    life_status: Mapped[str] = mapped_column(String(10), default="alive")
    death_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    employments: Mapped[list[Employment]] = relationship(back_populates="person", order_by="Employment.start_date")

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_name}"


class Employer(db.Model):
    """A legal entity that employs people; its number is 7 digits + a 2-digit mod-97 key."""

    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(9), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    trade_name: Mapped[str | None] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(400), index=True)
    activity: Mapped[str | None] = mapped_column(String(120))
    # Work-injury risk class 1..4 sets the employer's work-injury rate.
    risk_class: Mapped[int] = mapped_column(Integer, default=1)
    registered_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    establishments: Mapped[list[Establishment]] = relationship(
        back_populates="employer", order_by="Establishment.suffix")


class Establishment(db.Model):
    """A site of an employer: /000 is the headquarters, /001... are branches pointing to it."""

    __tablename__ = "establishments"
    __table_args__ = (UniqueConstraint("employer_id", "suffix", name="uq_establishments_employer_suffix"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    suffix: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200))
    address_line: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    headquarters_id: Mapped[int | None] = mapped_column(ForeignKey("establishments.id"))
    # A branch whose declarations the headquarters files.
    declared_by_headquarters: Mapped[bool] = mapped_column(Boolean, default=False)

    employer: Mapped[Employer] = relationship(back_populates="establishments")

    @property
    def is_headquarters(self) -> bool:
        return self.suffix == "000"

    @property
    def number(self) -> str:
        return f"{self.employer.number}/{self.suffix}"


class Employment(db.Model):
    """A person working for an establishment over a period; several may be open at once."""

    __tablename__ = "employments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    job_title: Mapped[str | None] = mapped_column(String(120))
    # Branches of insurance the employer registered the person for (a subset is a compliance flag).
    branches: Mapped[list[str]] = mapped_column(JsonType, default=lambda: list(INSURANCE_BRANCHES))

    person: Mapped[Person] = relationship(back_populates="employments")
    establishment: Mapped[Establishment] = relationship()


class ContributionPeriod(db.Model):
    """One declaration line: an employment's month, with days, wages and contributions per branch."""

    __tablename__ = "contribution_periods"
    __table_args__ = (
        UniqueConstraint("employment_id", "period", name="uq_contribution_periods_employment_period"),
        Index("ix_contribution_periods_period_status", "period", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employment_id: Mapped[int] = mapped_column(ForeignKey("employments.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    days: Mapped[int] = mapped_column(Integer)
    gross_wage: Mapped[Decimal] = mapped_column(Money)
    capped_wage: Mapped[Decimal] = mapped_column(Money)
    pension_employer: Mapped[Decimal] = mapped_column(Money)
    pension_employee: Mapped[Decimal] = mapped_column(Money)
    family: Mapped[Decimal] = mapped_column(Money)
    work_injury: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    # "due" until the employer's payment is matched to the declaration.
    status: Mapped[str] = mapped_column(String(10), default="due")
    paid_on: Mapped[date | None] = mapped_column(Date)
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    employment: Mapped[Employment] = relationship()


class Case(db.Model):
    """A case about a person or an employer; once its process starts it points to the instance."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_subject_status", "subject", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    subject_type: Mapped[str] = mapped_column(String(10))  # "person" or "employer"
    subject: Mapped[str] = mapped_column(String(15))  # SSN or employer number
    case_type: Mapped[str] = mapped_column(String(40))
    process_key: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    summary: Mapped[str | None] = mapped_column(String(255))
    process_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instances.id", ondelete="SET NULL"), index=True)
    opened_by: Mapped[str | None] = mapped_column(String(80))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Payment(db.Model):
    """A benefit payment to a person (allowance, pension, one-off, adjustment)."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_person_date", "person_id", "payment_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Money)
    payment_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="ordered")
    method: Mapped[str] = mapped_column(String(20), default="transfer")  # transfer | cash
    iban: Mapped[str | None] = mapped_column(String(34))
    reference: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordAccessLog(db.Model):
    """Who read whose record, when and why (every counter view and certificate)."""

    __tablename__ = "record_access_logs"
    __table_args__ = (
        Index("ix_record_access_logs_subject_at", "subject", "at"),
        Index("ix_record_access_logs_reader_at", "reader", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reader: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(15))
    purpose: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Certificate(db.Model):
    """An issued certificate: its gap-free number, verification code and what it states."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(15), index=True)
    subject_name: Mapped[str] = mapped_column(String(300))
    # {"title": ..., "lines": [...], "facts": {...}}: rendered as is on the PDF and the /verify page.
    statement: Mapped[dict[str, Any]] = mapped_column(JsonType)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(80))
    valid_until: Mapped[date | None] = mapped_column(Date)


class RegistrySequence(db.Model):
    """Gap-free counters per name and year (certificates, cases): incremented inside the transaction."""

    __tablename__ = "registry_sequences"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
