"""Inbox and task pages through the Flask test client: tabs, filters, claim, form errors, completion."""
from __future__ import annotations

from tests.web.conftest import deploy_six_node, start_case


def test_inbox_lists_tasks_of_my_queues_with_counts(client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    deploy_six_node(analyst)
    api = login("starter", "agent", ["agents"])
    start_case(api, "CASE-1", ssn="1850775123456")
    start_case(api, "CASE-2")
    web_login("alice", "agent", ["agents", "reception"])
    page = client.get("/inbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Review case" in html and "CASE-1" in html and "CASE-2" in html
    assert 'data-count-for="agents">2<' in html and 'data-count-for="reception">0<' in html
    assert client.get("/inbox/counts").get_json() == {"queues": {"agents": 2, "reception": 0}, "total": 2}
    by_key = client.get("/inbox?q=CASE-2").get_data(as_text=True)
    assert "CASE-2" in by_key and "CASE-1" not in by_key
    by_ssn = client.get("/inbox?q=1850775123456").get_data(as_text=True)
    assert "CASE-1" in by_ssn and "CASE-2" not in by_ssn
    assert "CASE-1" not in client.get("/inbox?view=mine").get_data(as_text=True)
    assert "CASE-1" in client.get("/inbox?view=unassigned&sort=due").get_data(as_text=True)
    assert "CASE-1" not in client.get("/inbox?view=overdue").get_data(as_text=True)


def test_claim_then_complete_with_server_side_errors(client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    deploy_six_node(analyst)
    instance = start_case(login("starter", "agent", ["agents"]), "CASE-9")
    task_id = instance["openTasks"][0]["id"]
    web_login("alice", "agent", ["agents"])
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Claim" in page and 'name="approved"' in page and 'name="comment"' in page and "disabled" in page
    assert client.post(f"/tasks/{task_id}/claim").status_code == 302
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="complete-button"' in page
    bad = client.post(f"/tasks/{task_id}/complete", data={"comment": "looks fine", "amount": "12"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-error-for="approved"' in html and "This field is required." in html
    assert 'value="looks fine"' in html  # what was typed is kept
    bad_type = client.post(f"/tasks/{task_id}/complete", data={"approved": "true", "amount": "-3"})
    assert bad_type.status_code == 422 and 'data-error-for="amount"' in bad_type.get_data(as_text=True)
    done = client.post(f"/tasks/{task_id}/complete", data={"approved": "true", "amount": "12", "channel": "mail"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/inbox")
    assert "CASE-9" not in client.get("/inbox").get_data(as_text=True)
    detail = login("sup", "supervisor").get(f"/process-instances/{instance['id']}").get_json()
    assert detail["status"] == "completed" and detail["variables"]["amount"] == 12
    assert detail["variables"]["approved"] is True and detail["variables"]["channel"] == "mail"


def test_task_of_another_queue_is_forbidden(client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    deploy_six_node(analyst)
    task_id = start_case(login("starter", "agent", ["agents"]), "CASE-3")["openTasks"][0]["id"]
    web_login("bob", "agent", ["cash_desk"])
    assert client.get(f"/tasks/{task_id}").status_code == 403
    assert client.post(f"/tasks/{task_id}/claim").status_code == 403
    assert client.get("/tasks/999999").status_code == 404
    assert "CASE-3" not in client.get("/inbox").get_data(as_text=True)


def test_pages_need_a_session(client):  # type: ignore[no-untyped-def]
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_inbox_leaves_out_a_task_the_four_eyes_rule_keeps_me_off(client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    from tests.processes.test_process_rules import waiting_for_signature

    _ann, _bob, _cat, _iid, sign = waiting_for_signature(analyst, login)
    link = f'href="/tasks/{sign["id"]}"'
    assert link not in web_login("ann", create=False).get("/inbox").get_data(as_text=True)
    # The tab counts what ann may take: the rule keeps her off the one open task.
    assert client.get("/inbox/counts").get_json() == {"queues": {"backoffice": 0}, "total": 0}
    assert link in web_login("cat", create=False).get("/inbox").get_data(as_text=True)
    assert client.get("/inbox/counts").get_json() == {"queues": {"backoffice": 1}, "total": 1}
