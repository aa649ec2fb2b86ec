"""The built-in operations through real jobs: pdf.render, notify (a local SMTP server), http (a local server), noop."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services import jobs
from app.services.notifications import NotificationInputError, check_message
from app.storage import build_storage
from tests.conftest import free_port
from tests.integration.support import deploy, instance, jobs_of, open_task_elements, start
from tests.services.test_jobs import one_task_process


@pytest.fixture
def ctx(app: Any) -> Iterator[Any]:
    with app.app_context():
        yield app
        db.session.remove()


class Mailbox:
    """What the debugging SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.policy import default

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A local SMTP server (aiosmtpd) the app sends to."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    try:
        yield mailbox
    finally:
        controller.stop()


class Partner:
    """A local HTTP server answering with `status` and recording the requests."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[dict[str, Any]] = []
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                partner.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                payload = json.dumps({"known": partner.status == 200, "ssn": json.loads(body).get("ssn")}).encode()
                self.send_response(partner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/persons"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def partner() -> Iterator[Partner]:
    server = Partner()
    try:
        yield server
    finally:
        server.close()


def run(job_id: int) -> str:
    outcome = jobs.run_job(job_id, worker="test")
    db.session.remove()
    return outcome


def test_a_letter_is_rendered_stored_and_mailed_once(ctx, app, analyst, admin, smtp):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_notify.bpmn")
    started = start(admin, "automation_notify", business_key="C-7", case_number="C-7", name="Awa Diop",
                    email="awa.diop@example.org")
    [letter_job] = jobs_of(started["id"])
    assert letter_job.topic == "pdf.render"
    assert run(letter_job.id) == "done"
    letter = instance(started["id"]).variables["letter"]
    assert letter["contentType"] == "application/pdf" and letter["filename"] == "letter-C-7.pdf"
    assert letter["pages"] == 1 and letter["objectKey"] == letter["sha256"]
    with build_storage(app.config).open(letter["objectKey"]) as stored:
        data = stored.read()
    assert data.startswith(b"%PDF") and len(data) == letter["size"]

    mail_job = next(j for j in jobs_of(started["id"]) if j.topic == "notify")
    assert run(mail_job.id) == "done"
    assert instance(started["id"]).status == "completed"
    [(recipients, message)] = smtp.messages
    assert recipients == ["awa.diop@example.org"]
    assert message["Subject"] == "Votre dossier C-7" and message["From"] == app.config["MAIL_FROM"]
    assert "Bonjour Awa Diop" in message.get_content() and letter["sha256"][:12] in message.get_content()
    [row] = db.session.scalars(select(Notification)).all()
    assert (row.state, row.job_id, row.instance_id, row.attempts) == ("sent", mail_job.id, started["id"], 1)
    assert message["Message-ID"] == row.message_id == f"<guichet-job-{mail_job.id}@localhost>"
    db.session.rollback()

    # The same job again (a redelivery that got past the claim, a retry after a crash): no second e-mail.
    from app.services.notifications import send_notification

    again = send_notification(app.config, to="awa.diop@example.org", subject="x", body="y", job_id=mail_job.id)
    assert again.id == row.id and len(smtp.messages) == 1


def test_an_smtp_server_down_is_retried(ctx, app, analyst, admin, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nobody listens there
    deploy(analyst, "automation_notify.bpmn")
    started = start(admin, "automation_notify", case_number="C-8", name="Awa", email="awa@example.org")
    assert run(jobs_of(started["id"])[0].id) == "done"
    mail_job = next(j for j in jobs_of(started["id"]) if j.topic == "notify")
    assert run(mail_job.id) == "retry"
    [job] = [j for j in jobs_of(started["id"]) if j.topic == "notify"]
    assert job.max_retries == 5 and job.error_code == "JOB_FAILED" and "Connection" in job.last_error
    row = db.session.scalar(select(Notification).where(Notification.job_id == job.id))
    assert row.state == "pending" and row.attempts == 1 and row.last_error
    db.session.rollback()


def test_invalid_recipients_are_refused() -> None:
    with pytest.raises(NotificationInputError):
        check_message("", "subject", "body")
    with pytest.raises(NotificationInputError):
        check_message("not-an-address", "subject", "body")
    with pytest.raises(NotificationInputError):
        check_message("a@example.org", "two\nlines", "body")
    assert check_message("a@example.org, b@example.org", " Hi ", "body") == (
        ["a@example.org", "b@example.org"], "Hi", "body")


def test_a_partner_is_called_and_its_refusal_caught(ctx, analyst, admin, partner):  # type: ignore[no-untyped-def]
    deploy(analyst, "automation_http.bpmn")
    known = start(admin, "automation_http", ssn="1850775123456", partner_url=partner.url)
    [job] = jobs_of(known["id"])
    assert run(job.id) == "done"
    assert open_task_elements(known["id"]) == ["Activity_known"]
    result = instance(known["id"]).variables["partner"]
    assert result["status"] == 200 and result["body"] == {"known": True, "ssn": "1850775123456"}
    [request] = partner.requests
    assert request["body"] == {"ssn": "1850775123456"}
    assert request["headers"]["Idempotency-Key"] == f"guichet-job-{job.id}"

    partner.status = 404
    unknown = start(admin, "automation_http", ssn="2990175123456", partner_url=partner.url)
    assert run(jobs_of(unknown["id"])[0].id) == "error"  # a 4xx is a business error, not retried
    assert open_task_elements(unknown["id"]) == ["Activity_unknown"]
    assert instance(unknown["id"]).variables["errorCode"] == "HTTP_404"

    partner.status = 503
    busy = start(admin, "automation_http", ssn="1", partner_url=partner.url)
    assert run(jobs_of(busy["id"])[0].id) == "retry"
    unreachable = start(admin, "automation_http", ssn="1", partner_url=f"http://127.0.0.1:{free_port()}/x")
    assert run(jobs_of(unreachable["id"])[0].id) == "retry"
    assert jobs_of(unreachable["id"])[0].error_code == "HTTP_UNREACHABLE"


def test_hosts_outside_the_allow_list_are_refused(ctx, app, analyst, admin, partner, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "HTTP_ALLOWED_HOSTS", "partner.example.org")
    deploy(analyst, "automation_http.bpmn")
    started = start(admin, "automation_http", ssn="1", partner_url=partner.url)
    assert run(jobs_of(started["id"])[0].id) == "incident"
    assert jobs_of(started["id"])[0].error_code == "HOST_NOT_ALLOWED" and partner.requests == []


def test_noop_completes_at_once(ctx, analyst, admin):  # type: ignore[no-untyped-def]
    deploy(analyst, one_task_process("noop_then_task", "noop"))
    started = start(admin, "noop_then_task", x=1)
    assert run(jobs_of(started["id"])[0].id) == "done"
    assert open_task_elements(started["id"]) == ["Activity_after"]
    assert instance(started["id"]).variables == {"x": 1}
