"""first_level_inquiry and technical_escalation end to end: the channel's due date, an answer from the record,
an escalation answered by the technical team or, once overdue, by the supervisors; the answer letter."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pdfplumber
from sqlalchemy import select

from app.extensions import db
from app.models.registry import Case
from app.storage import build_storage
from tests.processes.conftest import do_task, instance_of, open_case, open_task

PROCESS = "first_level_inquiry"


def due_in(task: dict[str, Any], created: dict[str, Any] | None = None) -> timedelta:
    start = datetime.fromisoformat((created or task)["createdAt"])
    return datetime.fromisoformat(task["dueAt"]) - start


def letter_text(app: Any, stored: dict[str, Any]) -> str:
    import io

    with app.app_context(), build_storage(app.config).open(stored["objectKey"]) as handle:
        data = handle.read()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def case_status(app: Any, number: str) -> str:
    with app.app_context():
        status = db.session.scalar(select(Case.status).where(Case.number == number))
        db.session.remove()
    return str(status)


def test_each_channel_has_its_due_date_and_a_resolved_question_is_answered_by_letter(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    expected = {"counter": timedelta(days=1), "phone": timedelta(days=2), "portal": timedelta(days=5),
                "mail": timedelta(days=15)}
    opened = {}
    for channel in expected:
        opened[channel] = open_case(agents.counter, PROCESS, people.reg.helene, channel=channel,
                                    question="Quand ma prochaine indemnité sera-t-elle versée ?")
    for channel, delay in expected.items():
        iid = opened[channel]["processInstance"]["id"]
        task = open_task(agents.backoffice, iid, "Activity_answer_inquiry")
        assert task["queue"] == "backoffice"
        assert abs(due_in(task) - delay) < timedelta(seconds=5), (channel, task)
        assert opened[channel]["case"]["type"] == "inquiry"

    # Answered from the record: no escalation, the answer letter, the case closed.
    case, iid = opened["mail"]["case"], opened["mail"]["processInstance"]["id"]
    do_task(agents.backoffice, iid, "Activity_answer_inquiry", resolved=True, complex=False,
            answer="Votre indemnité sera versée le 28 du mois.")
    assert [t for t, _ in automation.run_jobs(iid)] == ["pdf.render", "cases.update"]
    body = instance_of(agents.backoffice, iid)
    assert body["status"] == "completed" and "Activity_escalate" not in body["completedElementIds"]
    text = letter_text(app, body["variables"]["answer_letter"])
    assert "le 28 du mois" in text and case["number"] in text
    assert case_status(app, case["number"]) == "closed"
    # A question needs its text.
    missing = agents.counter.post("/cases", json={"processDefinitionKey": PROCESS, "subject": people.reg.helene,
                                                   "channel": "phone"})
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "variables.question"


def test_a_complex_question_goes_to_the_technical_team_and_its_answer_comes_back(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    opened = open_case(agents.counter, PROCESS, people.reg.helene, channel="portal",
                       question="Deux employeurs ont déclaré les mêmes mois : mon plafond est-il bien calculé ?")
    number, iid = opened["case"]["number"], opened["processInstance"]["id"]
    task = open_task(agents.backoffice, iid, "Activity_answer_inquiry")
    agents.backoffice.post(f"/tasks/{task['id']}/assignment")
    # Whether the question is complex must be said: the gateway reads it.
    unsaid = agents.backoffice.post(f"/tasks/{task['id']}/completion", json={"variables": {
        "resolved": True, "answer": "Voir le relevé."}})
    assert unsaid.status_code == 422 and unsaid.get_json()["errors"][0]["field"] == "complex"
    do_task(agents.backoffice, iid, "Activity_answer_inquiry", resolved=False, complex=True,
            answer="Question transmise au service technique.")
    task = open_task(agents.tech, iid, "Activity_technical_answer")
    assert task["queue"] == "technical" and abs(due_in(task) - timedelta(days=3)) < timedelta(seconds=5)
    # The back office cannot see the technical queue.
    assert agents.backoffice.get(f"/tasks/{task['id']}").status_code == 403
    do_task(agents.tech, iid, "Activity_technical_answer",
            technical_answer="Le plafond est proratisé entre vos deux employeurs ; un remboursement suivra.")
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.update", "pdf.render", "cases.update"]
    body = instance_of(agents.backoffice, iid)
    assert body["status"] == "completed"
    variables = body["variables"]
    assert variables["escalated"] is True and variables["escalated_to_supervisor"] is False
    assert variables["first_answer"] == "Question transmise au service technique."
    assert "proratisé" in letter_text(app, variables["answer_letter"])
    # The escalation inside the inquiry does not close the inquiry's case; the inquiry does.
    history = agents.backoffice.get(f"/process-instances/{iid}/history").get_json()
    updates = [e["details"] for e in history if e["type"] == "case_updated"]
    assert [u["statusChanged"] for u in updates] == [False, True]
    assert case_status(app, number) == "closed"


def test_an_overdue_escalation_moves_to_the_supervisors_at_its_due_date(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    # A complex question (resolved but complex still escalates) with a one-second escalation due date.
    opened = open_case(agents.counter, PROCESS, people.reg.jean, channel="phone", escalation_due_in="PT1S",
                       question="Ma carrière de 1990 à 2020 est-elle complète ?")
    iid = opened["processInstance"]["id"]
    do_task(agents.backoffice, iid, "Activity_answer_inquiry", resolved=True, complex=True,
            answer="Relevé de carrière à vérifier.")
    task = open_task(agents.tech, iid, "Activity_technical_answer")
    assert due_in(task) <= timedelta(seconds=2)
    assert agents.tech.post(f"/tasks/{task['id']}/assignment").status_code == 200
    waiting = {w["elementId"]: w for w in instance_of(agents.tech, iid)["waitingFor"]}
    assert waiting["Event_escalation_due"]["type"] == "timer"

    time.sleep(1.1)
    assert automation.fire_due_timers() == 1
    # The technical task is cancelled (too late to complete it) and the supervisors have it.
    late = agents.tech.post(f"/tasks/{task['id']}/completion", json={"variables": {"technical_answer": "trop tard"}})
    assert late.status_code == 409
    moved = open_task(agents.supervisor, iid, "Activity_supervisor_answer")
    assert moved["queue"] == "supervisors" and moved["priority"] == 90
    assert agents.tech.get(f"/tasks/{moved['id']}").status_code == 403
    do_task(agents.supervisor, iid, "Activity_supervisor_answer",
            technical_answer="Votre carrière est complète : 360 mois validés.")
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.update", "pdf.render", "cases.update"]
    variables = instance_of(agents.supervisor, iid)["variables"]
    assert variables["escalated_to_supervisor"] is True and variables["answer"].startswith("Votre carrière")


def test_an_escalation_case_on_its_own_is_closed_by_its_outcome(  # type: ignore[no-untyped-def]
        app, deployed, people, agents, automation):
    opened = open_case(agents.counter, "technical_escalation", people.reg.employer, channel="mail",
                       question="Déclaration rejetée : suffixe d'établissement inconnu.")
    number, iid = opened["case"]["number"], opened["processInstance"]["id"]
    assert opened["case"]["type"] == "escalation"
    # An operator fires the due-date timer now (the API a supervisor uses on a stuck case).
    fired = agents.supervisor.post(f"/process-instances/{iid}/timer-firing",
                                   json={"elementId": "Event_escalation_due"})
    assert fired.status_code == 200
    do_task(agents.supervisor, iid, "Activity_supervisor_answer", technical_answer="Établissement /002 créé.")
    assert [t for t, _ in automation.run_jobs(iid)] == ["cases.update"]
    assert instance_of(agents.supervisor, iid)["status"] == "completed"
    assert case_status(app, number) == "closed"
