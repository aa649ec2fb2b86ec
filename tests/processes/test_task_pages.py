"""The shipped forms in the web inbox: each task page renders its form, and a claim is recorded through it."""
from __future__ import annotations

from tests.processes.conftest import open_case, open_task
from tests.web import conftest as web

web_login = web.web_login  # the fixture, by name


def test_the_claim_form_renders_and_a_wrong_iban_is_shown_on_its_field(  # type: ignore[no-untyped-def]
        client, deployed, people, agents, web_login):
    opened = open_case(agents.counter, "benefit_payment", people.reg.helene, "sickness_allowance")
    iid = opened["processInstance"]["id"]
    task = open_task(agents.counter, iid, "Activity_record_claim")
    web_login("carole", "agent", ["counter"])
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    for name in ("leave_start", "leave_end", "payment_method", "iban", "claim_remarks"):
        assert f'name="{name}"' in page, name
    assert client.post(f"/tasks/{task['id']}/claim").status_code == 302
    bad = client.post(f"/tasks/{task['id']}/complete", data={
        "leave_start": "2026-03-02", "leave_end": "2026-03-11", "payment_method": "transfer",
        "iban": "FR7630006000011234567890188"})
    assert bad.status_code == 422
    assert 'data-error-for="iban"' in bad.get_data(as_text=True)
    done = client.post(f"/tasks/{task['id']}/complete", data={
        "leave_start": "2026-03-02", "leave_end": "2026-03-11", "payment_method": "cash"})
    assert done.status_code == 302
    # The next task (the called document_submission's filing) renders too.
    filing = open_task(agents.counter, iid, "Activity_file_documents")
    assert 'name="documents_filed"' in client.get(f"/tasks/{filing['id']}").get_data(as_text=True)
