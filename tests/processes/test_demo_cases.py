"""`guichet demo`: the shipped processes deploy with the demo, and the open demo cases get their instances."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.models.registry import Case
from tests.processes.conftest import shipped_files


def test_open_demo_cases_run_their_process_at_various_steps(app_ctx) -> None:  # type: ignore[no-untyped-def]
    from app.cli_support import DEMO_PASSWORD, DEMO_USERS
    from app.services.demo_cases import start_demo_cases
    from app.services.demo_data import load_demo_data
    from app.services.deployments import deploy_files
    from app.services.users import create_user, get_user

    for username, role, queues, full_name in DEMO_USERS:
        create_user(username, DEMO_PASSWORD, role, queues, full_name)
    db.session.commit()
    result = deploy_files([(p.name, p.read_bytes()) for p in shipped_files()], get_user("admin"))
    assert sorted(d.key for d in result.created) == [
        "benefit_payment", "document_submission", "first_level_inquiry", "technical_escalation"]
    load_demo_data(date(2026, 3, 16))
    db.session.commit()

    started = start_demo_cases()
    db.session.commit()
    open_cases = db.session.scalar(select(func.count()).select_from(Case).where(Case.status.in_(("open", "waiting"))))
    assert started == open_cases > 20
    assert db.session.scalar(select(func.count()).select_from(Case).where(
        Case.status.in_(("open", "waiting")), Case.process_instance_id.is_(None))) == 0
    by_process = dict(db.session.execute(select(ProcessInstance.definition_key, func.count())
                                         .group_by(ProcessInstance.definition_key)).all())
    assert set(by_process) == {"benefit_payment", "document_submission", "first_level_inquiry",
                               "technical_escalation"}
    steps = {e for (e,) in db.session.execute(select(HumanTask.element_id).where(HumanTask.state == "open"))}
    # Some cases are at their first step, others were moved on (inquiries escalated, claims recorded).
    assert {"Activity_file_documents", "Activity_answer_inquiry", "Activity_technical_answer",
            "Activity_record_claim"} <= steps
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.status != "running")) == 0
    assert start_demo_cases() == 0  # idempotent
