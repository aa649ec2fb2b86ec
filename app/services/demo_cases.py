"""Demo: the open cases of the demo registry get their process instance, at various steps.

`load_demo_data` inserts cases without instances (it runs before any process is deployed). Once the
shipped processes are deployed, `start_demo_cases` starts the process of every open or waiting case
of a shipped process and moves some of them on by completing their first tasks as the demo agents
would, so the inboxes, the monitor and the counter's view of a person show cases at different
steps. Deterministic (the step depends on the case number) and idempotent (a case with an instance
is left alone). Automated steps are left in the job outbox: the worker of `guichet run` takes them.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, User
from app.models.registry import Case
from app.services import cases, registry, tasks
from app.services.runtime import latest_definition

log = logging.getLogger(__name__)

COUNTER_AGENT = "agent"
BACKOFFICE_AGENT = "backoffice"


def _complete(instance_id: int, element_id: str, username: str, variables: dict[str, Any]) -> bool:
    """Claim and complete the open task of an element as a demo user; False when there is none."""
    user = db.session.scalar(select(User).where(User.username == username))
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.element_id == element_id,
                                                     HumanTask.state == "open"))
    if user is None or task is None:
        return False
    tasks.claim_task(task.id, user)
    tasks.complete_task(task.id, user, variables)
    return True


def _claim(case: Case, instance_id: int) -> None:
    person = registry.get_person(case.subject)
    first = case.opened_at.date()
    claim: dict[str, Any] = {"payment_method": "transfer" if person.iban else "cash"}
    if case.case_type == "sickness_allowance":
        claim.update(leave_start=first.isoformat(), leave_end=(first + timedelta(days=13)).isoformat())
    if _complete(instance_id, "Activity_record_claim", COUNTER_AGENT, claim):
        _complete(instance_id, "Activity_file_documents", COUNTER_AGENT, {"documents_filed": 0})


# Per process: the variables a case starts with, and how far it is moved on (by step number).
STEPS: dict[str, tuple[Callable[[Case], dict[str, Any]], list[Callable[[Case, int], None]]]] = {
    "document_submission": (lambda c: {}, [
        lambda c, i: None,
        lambda c, i: _complete(i, "Activity_file_documents", COUNTER_AGENT, {"documents_filed": 0}) and None,
    ]),
    "first_level_inquiry": (lambda c: {"question": c.summary or "Question"}, [
        lambda c, i: None,
        lambda c, i: _complete(i, "Activity_answer_inquiry", BACKOFFICE_AGENT, {
            "answer": "Question transmise au service technique.", "resolved": False, "complex": True}) and None,
    ]),
    "technical_escalation": (lambda c: {"question": c.summary or "Question"}, [lambda c, i: None]),
    "benefit_payment": (lambda c: {}, [lambda c, i: None, _claim]),
}


def start_demo_cases() -> int:
    """Start the process of every open demo case of a shipped process; the number started. Flushes."""
    actor = db.session.scalar(select(User).where(User.username == COUNTER_AGENT))
    if actor is None:
        return 0
    started = 0
    for case in db.session.scalars(select(Case).where(Case.status.in_(registry.OPEN_CASE_STATUSES),
                                                      Case.process_instance_id.is_(None),
                                                      Case.process_key.in_(list(STEPS))).order_by(Case.id)):
        if latest_definition(case.process_key or "") is None:
            continue
        variables, steps = STEPS[case.process_key or ""]
        subject = cases.resolve_subject(case.subject)
        instance = cases.start_case_process(case, subject, actor, variables(case))
        steps[int(case.number[-6:]) % len(steps)](case, instance.id)
        started += 1
    db.session.flush()
    log.info("demo: %d case processes started", started)
    return started
