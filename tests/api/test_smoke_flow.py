"""A six-node process through the API: deploy, start, see the task in its queue, claim, complete."""
from __future__ import annotations

import json

from tests.conftest import DATA

REVIEW_SCHEMA = {
    "type": "object",
    "required": ["approved"],
    "properties": {"approved": {"type": "boolean", "title": "Approved"}, "comment": {"type": "string"}},
}


def deploy_six_node(api):  # type: ignore[no-untyped-def]
    return api.deploy(DATA / "bpmn" / "six_node.bpmn", ("review-schema.json", json.dumps(REVIEW_SCHEMA).encode()))


def test_six_node_runs_to_completion_through_the_api(analyst, login):  # type: ignore[no-untyped-def]
    response = deploy_six_node(analyst)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["definitions"][0]["key"] == "six_node" and body["definitions"][0]["version"] == 1

    agent = login("alice", "agent", ["agents"])
    started = agent.post("/process-instances", json={"processDefinitionKey": "six_node", "businessKey": "CASE-1",
                                                     "variables": {"ssn": "1850775123456"}})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert instance["status"] == "running"
    assert [t["elementId"] for t in instance["openTasks"]] == ["Activity_review"]
    task = instance["openTasks"][0]
    assert task["queue"] == "agents" and task["priority"] == 60 and task["dueAt"]

    found = agent.post("/tasks/search", json={"filter": {"queue": "agents"}}).get_json()
    assert [t["id"] for t in found["items"]] == [task["id"]]

    detail = agent.get(f"/tasks/{task['id']}").get_json()
    assert detail["form"]["schema"]["required"] == ["approved"]

    assert agent.post(f"/tasks/{task['id']}/completion", json={"variables": {"approved": True}}).status_code == 409
    assert agent.post(f"/tasks/{task['id']}/assignment").status_code == 200
    bad = agent.post(f"/tasks/{task['id']}/completion", json={"variables": {"comment": "ok"}})
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["field"] == "approved"

    done = agent.post(f"/tasks/{task['id']}/completion", json={"variables": {"approved": True}})
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert result["task"]["state"] == "completed"
    assert result["processInstance"]["status"] == "completed"
    assert result["processInstance"]["variables"]["status"] == "approved"

    history = agent.get(f"/process-instances/{instance['id']}/history").get_json()
    types = [e["type"] for e in history]
    assert types[0] == "instance_started" and types[-1] == "instance_completed"
    assert any(e["type"] == "task_completed" and e["actor"] == "alice" for e in history)
