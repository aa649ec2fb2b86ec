"""Instances: suspension, resumption, cancellation, timers, messages, history, statistics, search."""
from __future__ import annotations

from tests.api.test_deployments import MINIMAL

WAITS = """
<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
<bpmn:userTask id="review" name="Review"/>
<bpmn:boundaryEvent id="deadline" attachedToRef="review" cancelActivity="true">
  <bpmn:timerEventDefinition><bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="wait_docs"/>
<bpmn:sequenceFlow id="f3" sourceRef="deadline" targetRef="escalate"/>
<bpmn:userTask id="escalate" name="Escalate"/>
<bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="end2"/>
<bpmn:endEvent id="end2"/>
<bpmn:intermediateCatchEvent id="wait_docs" name="Documents received">
  <bpmn:messageEventDefinition messageRef="msg_docs"/>
</bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f5" sourceRef="wait_docs" targetRef="end"/>
<bpmn:endEvent id="end"/>
"""


def deploy_waits(api):  # type: ignore[no-untyped-def]
    xml = MINIMAL.format(pid="waits", name="Waits", body=WAITS).replace(
        "</bpmn:definitions>", '<bpmn:message id="msg_docs" name="documents_received"/></bpmn:definitions>')
    response = api.deploy(("waits.bpmn", xml.encode()))
    assert response.status_code == 201, response.get_json()


def start(api, business_key="CASE-1"):  # type: ignore[no-untyped-def]
    response = api.post("/process-instances", json={"processDefinitionKey": "waits", "businessKey": business_key,
                                                   "variables": {"ssn": "185077512345608"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_timer_firing_takes_the_escalation_path(analyst, login):  # type: ignore[no-untyped-def]
    deploy_waits(analyst)
    boss = login("sue", "supervisor")
    instance = start(boss)
    timers = [w for w in instance["waitingFor"] if w["type"] == "timer"]
    assert timers and timers[0]["elementId"] == "deadline" and timers[0]["dueAt"]

    agent = login("al", "agent")
    assert agent.post(f"/process-instances/{instance['id']}/timer-firing",
                      json={"elementId": "deadline"}).status_code == 403
    assert boss.post(f"/process-instances/{instance['id']}/timer-firing",
                     json={"elementId": "review"}).status_code == 409
    fired = boss.post(f"/process-instances/{instance['id']}/timer-firing", json={"elementId": "deadline"})
    assert fired.status_code == 200, fired.get_json()
    body = fired.get_json()
    assert [t["elementId"] for t in body["openTasks"]] == ["escalate"]
    history = boss.get(f"/process-instances/{instance['id']}/history").get_json()
    assert any(e["type"] == "task_cancelled" and e["elementId"] == "review" for e in history)
    assert any(e["type"] == "timer_fired" and e["actor"] == "sue" for e in history)


def test_message_reaches_the_instance_by_business_key(analyst, login):  # type: ignore[no-untyped-def]
    deploy_waits(analyst)
    boss = login("sue", "supervisor")
    first, second = start(boss, "CASE-1"), start(boss, "CASE-2")
    assert boss.post("/messages", json={"name": "documents_received", "correlationKey": "CASE-1"}).status_code == 404
    for instance in (first, second):
        task = instance["openTasks"][0]
        boss.post(f"/tasks/{task['id']}/assignment")
        boss.post(f"/tasks/{task['id']}/completion", json={"variables": {}})
    waiting = boss.get(f"/process-instances/{second['id']}").get_json()["waitingFor"]
    assert {"type": "message", "name": "documents_received", "elementId": "wait_docs"}.items() <= waiting[0].items()

    ambiguous = boss.post("/messages", json={"name": "documents_received"})
    assert ambiguous.status_code == 409
    delivered = boss.post("/messages", json={"name": "documents_received", "correlationKey": "CASE-2",
                                             "variables": {"pages": 3}})
    assert delivered.status_code == 200 and delivered.get_json() == {"processInstanceId": second["id"]}
    done = boss.get(f"/process-instances/{second['id']}").get_json()
    assert done["status"] == "completed" and done["variables"]["pages"] == 3
    assert boss.get(f"/process-instances/{first['id']}").get_json()["status"] == "running"
    assert boss.post("/messages", json={"name": "documents_received", "correlationKey": "CASE-2"}).status_code == 404
    assert boss.post("/messages", json={"correlationKey": "x"}).status_code == 400


def test_suspend_resume_cancel(analyst, login):  # type: ignore[no-untyped-def]
    deploy_waits(analyst)
    boss = login("sue", "supervisor")
    agent = login("al", "agent")
    instance = start(boss)
    iid, task = instance["id"], instance["openTasks"][0]
    assert agent.post(f"/process-instances/{iid}/suspension").status_code == 403
    assert boss.post(f"/process-instances/{iid}/suspension").status_code == 204
    assert boss.post(f"/process-instances/{iid}/suspension").status_code == 409
    assert boss.get(f"/process-instances/{iid}").get_json()["status"] == "suspended"
    boss.post(f"/tasks/{task['id']}/assignment")
    blocked = boss.post(f"/tasks/{task['id']}/completion", json={"variables": {}})
    assert blocked.status_code == 409 and "suspended" in blocked.get_json()["detail"]
    assert boss.post(f"/process-instances/{iid}/resumption").status_code == 204
    assert boss.post(f"/process-instances/{iid}/cancellation").status_code == 204
    cancelled = boss.get(f"/process-instances/{iid}").get_json()
    assert cancelled["status"] == "terminated" and cancelled["openTasks"] == [] and cancelled["endedAt"]
    assert boss.post(f"/process-instances/{iid}/resumption").status_code == 409
    assert boss.post("/process-instances/424242/cancellation").status_code == 404


def test_statistics_count_active_and_completed_elements(analyst, login):  # type: ignore[no-untyped-def]
    deploy_waits(analyst)
    boss = login("sue", "supervisor")
    instances = [start(boss, f"C-{i}") for i in range(3)]
    task = instances[0]["openTasks"][0]
    boss.post(f"/tasks/{task['id']}/assignment")
    boss.post(f"/tasks/{task['id']}/completion", json={"variables": {}})
    definition_id = instances[0]["processDefinitionId"]
    stats = {s["elementId"]: s for s in boss.get(f"/process-definitions/{definition_id}/statistics").get_json()}
    assert stats["review"]["active"] == 2 and stats["review"]["completed"] == 1
    assert stats["wait_docs"]["active"] == 1
    assert stats["start"]["completed"] == 3


def test_instance_search_filters_and_cursor(analyst, login):  # type: ignore[no-untyped-def]
    deploy_waits(analyst)
    boss = login("sue", "supervisor")
    ids = [start(boss, f"K-{i}")["id"] for i in range(5)]
    boss.post(f"/process-instances/{ids[0]}/cancellation")
    running = boss.post("/process-instances/search", json={"filter": {"status": "running"}}).get_json()
    assert running["page"]["totalItems"] == 4
    by_key = boss.post("/process-instances/search", json={"filter": {"businessKey": "K-3"}}).get_json()
    assert [i["id"] for i in by_key["items"]] == [ids[3]]
    by_ssn = boss.post("/process-instances/search", json={"filter": {"variables": {"ssn": "185077512345608"}}})
    # "waits" declares no searchable variable: nothing is indexed, nothing is found by it.
    assert by_ssn.get_json()["items"] == []

    seen, after = [], None
    while True:
        page = {"limit": 2, **({"after": after} if after else {})}
        body = boss.post("/process-instances/search", json={"page": page,
                                                            "sort": [{"field": "startedAt", "order": "asc"}]}).get_json()
        seen += [i["id"] for i in body["items"]]
        after = body["page"]["endCursor"]
        if not after:
            break
    assert seen == ids

    for bad in ({"filter": {"status": "sleeping"}}, {"filter": {"color": "red"}}, {"page": {"limit": 0}},
                {"page": {"after": "garbage!"}}, {"sort": [{"field": "nope"}]}, {"filter": []},
                {"filter": {"startedAfter": "yesterday"}}):
        response = boss.post("/process-instances/search", json=bad)
        assert response.status_code == 400, bad
