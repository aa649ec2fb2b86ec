"""Task inbox rules: queues, claims, assignment by supervisors, completion conflicts, filters, paging."""
from __future__ import annotations

from tests.api.test_deployments import bpmn

TWO_LANES = """<bpmn:laneSet id="ls">
  <bpmn:lane id="l1" name="counter"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>task</bpmn:flowNodeRef></bpmn:lane>
  <bpmn:lane id="l2" name="backoffice"><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
</bpmn:laneSet>
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
<bpmn:userTask id="task" name="Serve visitor"/><bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
<bpmn:endEvent id="end"/>"""


def setup_tasks(analyst, api, count=1):  # type: ignore[no-untyped-def]
    assert analyst.deploy(("serve.bpmn", bpmn("serve", "Serve", TWO_LANES))).status_code == 201
    return [api.post("/process-instances", json={"processDefinitionKey": "serve", "businessKey": f"T-{i}"})
            .get_json()["openTasks"][0] for i in range(count)]


def test_two_claims_one_wins(analyst, login):  # type: ignore[no-untyped-def]
    alice = login("alice", "agent", ["counter"])
    bob = login("bob", "agent", ["counter"])
    (task,) = setup_tasks(analyst, alice)
    assert alice.post(f"/tasks/{task['id']}/assignment").get_json()["assignee"] == "alice"
    assert alice.post(f"/tasks/{task['id']}/assignment").status_code == 200  # claiming again is harmless
    taken = bob.post(f"/tasks/{task['id']}/assignment")
    assert taken.status_code == 409 and "alice" in taken.get_json()["detail"]
    assert bob.post(f"/tasks/{task['id']}/completion", json={"variables": {}}).status_code == 409
    assert bob.delete(f"/tasks/{task['id']}/assignment").status_code == 409
    assert alice.delete(f"/tasks/{task['id']}/assignment").status_code == 204
    assert bob.post(f"/tasks/{task['id']}/assignment").get_json()["assignee"] == "bob"


def test_double_completion_is_a_conflict(analyst, login):  # type: ignore[no-untyped-def]
    alice = login("alice", "agent", ["counter"])
    (task,) = setup_tasks(analyst, alice)
    alice.post(f"/tasks/{task['id']}/assignment")
    assert alice.post(f"/tasks/{task['id']}/completion", json={"variables": {}}).status_code == 200
    again = alice.post(f"/tasks/{task['id']}/completion", json={"variables": {}})
    assert again.status_code == 409 and "completed" in again.get_json()["detail"]
    assert alice.post(f"/tasks/{task['id']}/assignment").status_code == 409


def test_supervisor_assigns_only_to_queue_members(analyst, login):  # type: ignore[no-untyped-def]
    boss = login("sue", "supervisor")
    alice = login("alice", "agent", ["counter"])
    login("bob", "agent", ["backoffice"])
    (task,) = setup_tasks(analyst, boss)
    assert alice.post(f"/tasks/{task['id']}/assignment", json={"assignee": "sue"}).status_code == 403
    assert boss.post(f"/tasks/{task['id']}/assignment", json={"assignee": "bob"}).status_code == 409
    assert boss.post(f"/tasks/{task['id']}/assignment", json={"assignee": "ghost"}).status_code == 400
    assigned = boss.post(f"/tasks/{task['id']}/assignment", json={"assignee": "alice"})
    assert assigned.status_code == 200 and assigned.get_json()["assignee"] == "alice"
    mine = alice.post("/tasks/search", json={"filter": {"assignee": "me"}}).get_json()
    assert [t["id"] for t in mine["items"]] == [task["id"]]
    # Held by alice: another agent cannot take it, a supervisor can hand it to another member.
    carl = login("carl", "agent", ["counter"])
    taken = carl.post(f"/tasks/{task['id']}/assignment")
    assert taken.status_code == 409 and "alice" in taken.get_json()["detail"]
    moved = boss.post(f"/tasks/{task['id']}/assignment", json={"assignee": "carl"})
    assert moved.status_code == 200 and moved.get_json()["assignee"] == "carl"


def test_admin_completes_any_task(analyst, login):  # type: ignore[no-untyped-def]
    root = login("root", "admin")
    alice = login("alice", "agent", ["counter"])
    (task,) = setup_tasks(analyst, alice)
    alice.post(f"/tasks/{task['id']}/assignment")
    done = root.post(f"/tasks/{task['id']}/completion", json={"variables": {}})
    assert done.status_code == 200 and done.get_json()["task"]["state"] == "completed"


def test_agents_see_only_their_queues(analyst, login):  # type: ignore[no-untyped-def]
    alice = login("alice", "agent", ["counter"])
    bob = login("bob", "agent", ["backoffice"])
    setup_tasks(analyst, alice, 2)
    assert alice.post("/tasks/search", json={}).get_json()["page"]["totalItems"] == 2
    assert bob.post("/tasks/search", json={}).get_json()["page"]["totalItems"] == 0
    assert bob.post("/tasks/search", json={"filter": {"queue": "counter"}}).status_code == 403


def test_filters_sort_and_cursor(analyst, login):  # type: ignore[no-untyped-def]
    alice = login("alice", "agent", ["counter"])
    tasks = setup_tasks(analyst, alice, 5)
    got, after = [], None
    while True:
        page = {"limit": 2, **({"after": after} if after else {})}
        body = alice.post("/tasks/search", json={"filter": {"queue": "counter"}, "page": page}).get_json()
        assert body["page"]["totalItems"] == 5
        got += [t["id"] for t in body["items"]]
        after = body["page"]["endCursor"]
        if not after:
            break
    assert sorted(got) == sorted(t["id"] for t in tasks) and len(got) == 5
    by_key = alice.post("/tasks/search", json={"filter": {"businessKey": "T-2"}}).get_json()["items"]
    assert [t["businessKey"] for t in by_key] == ["T-2"]
    assert alice.post("/tasks/search", json={"filter": {"overdue": True}}).get_json()["items"] == []
    assert alice.post("/tasks/search", json={"filter": {"assignee": None}}).get_json()["page"]["totalItems"] == 5
    for bad in ({"filter": {"overdue": "yes"}}, {"filter": {"state": "lost"}}, {"filter": {"processInstanceId": "1"}},
                {"sort": [{"field": "priority", "order": "up"}]}, {"page": {"limit": 5000}}):
        assert alice.post("/tasks/search", json=bad).status_code == 400, bad


def test_unknown_task_and_bad_bodies(analyst, login):  # type: ignore[no-untyped-def]
    alice = login("alice", "agent", ["counter"])
    (task,) = setup_tasks(analyst, alice)
    assert alice.get("/tasks/999999").status_code == 404
    assert alice.post("/tasks/999999/assignment").status_code == 404
    alice.post(f"/tasks/{task['id']}/assignment")
    not_json = alice.client.post(f"/api/v1/tasks/{task['id']}/completion", headers=alice.headers,
                                 data="variables=1", content_type="text/plain")
    assert not_json.status_code == 415
    broken = alice.client.post(f"/api/v1/tasks/{task['id']}/completion", headers=alice.headers,
                               data="{broken", content_type="application/json")
    assert broken.status_code == 400
    assert alice.post(f"/tasks/{task['id']}/completion", json={"variables": [1, 2]}).status_code == 400
    assert alice.post(f"/tasks/{task['id']}/completion", json=[1]).status_code == 400
    assert alice.post(f"/tasks/{task['id']}/completion", json={"variables": {"__class__": 1}}).status_code == 400
    assert alice.post(f"/tasks/{task['id']}/assignment", json={"assignee": 5}).status_code == 400
