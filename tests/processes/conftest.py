"""Fixtures of the end-to-end process tests: the shipped diagrams deployed, a small registry, the agents
of each queue, automated steps run in-process (jobs.run_job, the OCR task body), a local SMTP server.

The in-process runner calls the very entry points a Celery worker calls (`jobs.run_job`,
`workers.tasks.ocr.process_document`); tests/processes/test_with_workers.py runs one process
with real worker processes.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job
from tests.conftest import Api
from tests.registry_data import Registry, full_ssn, make_registry
from tests.services.test_jobs_operations import Mailbox, smtp  # noqa: F401 - fixture re-exported
from tests.unit.ocr.conftest import Samples

ROOT = Path(__file__).resolve().parents[2]
# A pensioner-to-be: born in 1958, 11 years of contributions ending last month.
PAUL13 = "1580475123018"
# Born in 1955, 10 years of contributions that ended in 2010 (nothing in the last 96 months).
ROSE13 = "2550369123007"


def shipped_files() -> list[Path]:
    """What `guichet demo` deploys: every diagram, decision table and form of the project."""
    return (sorted((ROOT / "bpmn").glob("*.bpmn")) + sorted((ROOT / "bpmn").glob("*.dmn"))
            + sorted((ROOT / "forms").glob("*.json")))


@dataclass
class People:
    """The registry of the tests plus a pensioner with a long career and one whose career is old."""

    reg: Registry
    paul: str
    rose: str


def add_career(app: Any, number13: str, last: str, first_names: str, birth: date, months: int, end_period: str,
               wage: int = 300000) -> str:
    """A person employed by the test employer with `months` declared months of 30 days up to end_period."""
    from app.models.registry import ContributionPeriod, Employer, Employment, Establishment, Person
    from app.services.contributions import add_months, compute_contribution, parse_period
    from app.services.registry import search_text

    with app.app_context():
        person = Person(ssn=full_ssn(number13), last_name=last, first_names=first_names,
                        search_name=search_text(last, first_names), birth_date=birth, sex="M" if
                        number13[0] == "1" else "F", city="Lyon", email=None, iban="FR7630006000011234567890189")
        db.session.add(person)
        employer = db.session.scalar(select(Employer).order_by(Employer.id).limit(1))
        hq = db.session.scalar(select(Establishment).where(Establishment.employer_id == employer.id,
                                                           Establishment.suffix == "000"))
        first = add_months(end_period, -(months - 1))
        db.session.flush()
        job = Employment(person_id=person.id, establishment_id=hq.id, start_date=parse_period(first),
                         job_title="Agent")
        db.session.add(job)
        db.session.flush()
        period = first
        for _ in range(months):
            c = compute_contribution(period, 30, wage, 2)
            db.session.add(ContributionPeriod(
                employment_id=job.id, period=period, days=30, gross_wage=c.gross_wage, capped_wage=c.capped_wage,
                pension_employer=c.pension_employer, pension_employee=c.pension_employee, family=c.family,
                work_injury=c.work_injury, total=c.total, status="paid"))
            period = add_months(period, 1)
        db.session.commit()
        db.session.remove()
    return full_ssn(number13)


@pytest.fixture
def people(app: Any) -> People:
    from app.services.contributions import add_months, period_of

    reg = make_registry(app)
    last = add_months(period_of(date.today()), -1)
    paul = add_career(app, PAUL13, "Lambert", "Paul", date(1958, 4, 3), 132, last)
    rose = add_career(app, ROSE13, "Garnier", "Rose", date(1955, 3, 9), 120, "2010-12")
    return People(reg, paul, rose)


@pytest.fixture
def deployed(analyst: Api) -> dict[str, Any]:
    """The shipped processes, decisions and forms, deployed as `guichet demo` does."""
    response = analyst.deploy(*shipped_files())
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@dataclass
class Agents:
    counter: Api
    backoffice: Api
    backoffice2: Api
    tech: Api
    supervisor: Api
    cashier: Api
    admin: Api


@pytest.fixture
def agents(login: Any, admin: Api) -> Agents:
    return Agents(
        counter=login("carla", "agent", ["reception", "counter"]),
        backoffice=login("bruno", "agent", ["backoffice", "agents"]),
        backoffice2=login("beatrice", "agent", ["backoffice", "agents"]),
        tech=login("theo", "agent", ["technical"]),
        supervisor=login("sonia", "supervisor", ["supervisors"]),
        cashier=login("camille", "cashier", ["cash_desk"]),
        admin=admin,
    )


@dataclass
class Automation:
    """Runs the automated steps in-process, as a worker would, and records what went to the broker."""

    app: Any
    sent: list[int] = field(default_factory=list)

    def run_jobs(self, instance_id: int, limit: int = 50) -> list[tuple[str, str]]:
        """Run every runnable job of the instance until none is left; (topic, outcome) of each run."""
        from app.services import jobs

        ran: list[tuple[str, str]] = []
        for _ in range(limit):
            with self.app.app_context():
                job = db.session.scalar(select(Job).where(Job.instance_id == instance_id,
                                                          Job.state.in_(("pending", "sent")))
                                        .order_by(Job.id).limit(1))
                if job is None:
                    db.session.remove()
                    return ran
                job_id, topic = job.id, job.topic
                db.session.rollback()
                outcome = jobs.run_job(job_id, worker="test")
                db.session.remove()
            ran.append((topic, outcome))
            if outcome not in ("done", "skipped", "error"):  # "error": a BPMN error, caught or an incident
                return ran
        raise AssertionError(f"more than {limit} jobs for instance {instance_id}: {ran}")

    def ocr(self, document_id: int) -> str:
        """The OCR task body (reading, indexing, then documents_indexed to the waiting instance)."""
        from workers.tasks.ocr import process_document

        with self.app.app_context():
            outcome = process_document(document_id)
            db.session.remove()
        return outcome

    def fire_due_timers(self) -> int:
        from app.services.timers import fire_due_timers

        with self.app.app_context():
            count = fire_due_timers()
            db.session.remove()
        return count


@pytest.fixture
def automation(app: Any) -> Iterator[Automation]:
    """Jobs are recorded as sent instead of going to a broker; tests run them with run_jobs."""
    from app.services import dispatch
    from app.services.dispatch import set_job_sender

    runner = Automation(app)
    previous = app.extensions.get("guichet_job_sender")

    def sender(job_ids: list[int]) -> None:
        runner.sent.extend(job_ids)
        dispatch.mark_sent(job_ids)

    set_job_sender(app, sender)
    yield runner
    set_job_sender(app, previous)


def text_pdf(*lines: str) -> bytes:
    """A one-page PDF with a text layer (read without tesseract)."""
    return Samples.text_pdf([list(lines)])


def file_document(api: Api, case_number: str | None, document_type: str, *, instance_id: int | None = None,
                  subject: str | None = None, text: str | None = None) -> dict[str, Any]:
    """POST /documents as a counter agent would (the receipt comes back); asserts 201."""
    data: dict[str, Any] = {"file": (io.BytesIO(text_pdf(text or f"Pièce {document_type}", "Guichet")),
                                     f"{document_type}.pdf"), "documentType": document_type}
    if case_number:
        data["caseNumber"] = case_number
    if instance_id is not None:
        data["processInstanceId"] = str(instance_id)
    if subject:
        data["subject"] = subject
    response = api.client.post("/api/v1/documents", headers=api.headers, data=data,
                               content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_case(api: Api, process: str, subject: str, case_type: str | None = None, channel: str = "counter",
              **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"processDefinitionKey": process, "subject": subject, "channel": channel,
                            "variables": variables}
    if case_type:
        body["caseType"] = case_type
    response = api.post("/cases", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def instance_of(api: Api, instance_id: int) -> dict[str, Any]:
    response = api.get(f"/process-instances/{instance_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def open_task(api: Api, instance_id: int, element_id: str) -> dict[str, Any]:
    """The open task of an element (asserting there is exactly one)."""
    tasks = [t for t in instance_of(api, instance_id)["openTasks"] if t["elementId"] == element_id]
    assert len(tasks) == 1, [t["elementId"] for t in instance_of(api, instance_id)["openTasks"]]
    return tasks[0]


def do_task(api: Api, instance_id: int, element_id: str, **variables: Any) -> dict[str, Any]:
    """Claim and complete the open task of an element; the completion body."""
    task = open_task(api, instance_id, element_id)
    claimed = api.post(f"/tasks/{task['id']}/assignment")
    assert claimed.status_code == 200, claimed.get_json()
    done = api.post(f"/tasks/{task['id']}/completion", json={"variables": variables})
    assert done.status_code == 200, done.get_json()
    return done.get_json()


def money(value: str) -> Decimal:
    return Decimal(value)
