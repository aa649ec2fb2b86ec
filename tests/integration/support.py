"""Helpers shared by the job, timer and message tests (in-process and with real workers)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, Incident, InstanceEvent, Job, ProcessInstance
from tests.conftest import DATA

BPMN = DATA / "bpmn"


def deploy(api: Any, *names: str | tuple[str, bytes]) -> dict[str, Any]:
    """Deploy test diagrams (file names under tests/data/bpmn, or (name, bytes)); the deployment JSON."""
    response = api.deploy(*[BPMN / n if isinstance(n, str) else n for n in names])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def start(api: Any, key: str, business_key: str | None = None, **variables: Any) -> dict[str, Any]:
    """Start an instance through the API; the instance JSON."""
    body: dict[str, Any] = {"processDefinitionKey": key, "variables": variables}
    if business_key is not None:
        body["businessKey"] = business_key
    response = api.post("/process-instances", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
               message: str = "condition") -> Any:
    """Poll predicate until it returns something truthy; fail with message (and the jobs) after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; jobs:\n{describe_jobs()}")
        time.sleep(interval)


def describe_jobs() -> str:
    """Every job, one line each (for failure messages)."""
    rows = list(db.session.scalars(select(Job).order_by(Job.id).execution_options(populate_existing=True)))
    db.session.rollback()
    return "\n".join(f"  job {j.id} instance {j.instance_id} {j.topic} {j.state} attempts={j.attempts} "
                     f"worker={j.worker} sent={j.sent_at} lease={j.lease_until} next={j.next_run_at} "
                     f"error={j.error_code}" for j in rows)


def jobs_of(instance_id: int) -> list[Job]:
    """Jobs of an instance, oldest first (fresh from the database)."""
    rows = list(db.session.scalars(select(Job).where(Job.instance_id == instance_id).order_by(Job.id)
                                   .execution_options(populate_existing=True)))
    db.session.rollback()
    return rows


def open_tasks(instance_id: int) -> list[HumanTask]:
    rows = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.state == "open").order_by(HumanTask.id)
                                   .execution_options(populate_existing=True)))
    db.session.rollback()
    return rows


def open_task_elements(instance_id: int) -> list[str]:
    return [t.element_id for t in open_tasks(instance_id)]


def instance(instance_id: int) -> ProcessInstance:
    row = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                            .execution_options(populate_existing=True))
    db.session.rollback()
    assert row is not None
    return row


def events(instance_id: int, type_: str | None = None, element_id: str | None = None) -> list[InstanceEvent]:
    stmt = select(InstanceEvent).where(InstanceEvent.instance_id == instance_id)
    if type_:
        stmt = stmt.where(InstanceEvent.type == type_)
    if element_id:
        stmt = stmt.where(InstanceEvent.element_id == element_id)
    rows = list(db.session.scalars(stmt.order_by(InstanceEvent.id)))
    db.session.rollback()
    return rows


def incidents_of(instance_id: int) -> list[Incident]:
    rows = list(db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)
                                   .order_by(Incident.id).execution_options(populate_existing=True)))
    db.session.rollback()
    return rows


def count(model: Any, *conditions: Any) -> int:
    value = db.session.scalar(select(func.count()).select_from(model).where(*conditions))
    db.session.rollback()
    return int(value or 0)
