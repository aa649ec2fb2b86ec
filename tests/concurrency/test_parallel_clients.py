"""Real parallel HTTP clients against a live server: one claim wins, no double completion, no lost update.

Runs on both backends; on PostgreSQL it exercises SELECT ... FOR UPDATE and conditional updates.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.api.test_deployments import bpmn
from tests.api.test_tasks import TWO_LANES

PARALLEL = """
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="left"/>
<bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="right"/>
<bpmn:userTask id="left" name="Left"/><bpmn:userTask id="right" name="Right"/>
<bpmn:sequenceFlow id="f4" sourceRef="left" targetRef="join"/>
<bpmn:sequenceFlow id="f5" sourceRef="right" targetRef="join"/>
<bpmn:parallelGateway id="join"/>
<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="after"/>
<bpmn:scriptTask id="after"><bpmn:script>joined = left + right</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="f7" sourceRef="after" targetRef="end"/>
<bpmn:endEvent id="end"/>"""


class Client:
    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.session = requests.Session()
        token = self.session.post(f"{base}/api/v1/auth/token",
                                  json={"username": username, "password": "pw-secret"}, timeout=10).json()
        self.session.headers["Authorization"] = f"Bearer {token['access_token']}"

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.session.post(f"{self.base}/api/v1{path}", json=body if body is not None else {}, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base}/api/v1{path}", timeout=30)


def test_concurrent_claims_give_one_winner_per_task(live_server, make_user):  # type: ignore[no-untyped-def]
    make_user("ana", "analyst")
    agents = [make_user(f"agent{i}", "agent", ["counter"]) for i in range(6)]
    analyst = Client(live_server.url, "ana")
    files = {"files": ("serve.bpmn", bpmn("serve", "Serve", TWO_LANES))}
    assert analyst.session.post(f"{live_server.url}/api/v1/deployments", files=files).status_code == 201
    clients = [Client(live_server.url, name) for name in agents]
    task_ids = [clients[0].post("/process-instances", {"processDefinitionKey": "serve"}).json()["openTasks"][0]["id"]
                for _ in range(8)]

    for task_id in task_ids:
        barrier = threading.Barrier(len(clients))

        def claim(client: Client, barrier: threading.Barrier = barrier, task_id: int = task_id) -> int:
            barrier.wait()
            return client.post(f"/tasks/{task_id}/assignment").status_code

        with ThreadPoolExecutor(len(clients)) as pool:
            codes = list(pool.map(claim, clients))
        assert sorted(codes) == [200] + [409] * (len(clients) - 1), codes


def test_concurrent_completion_completes_once(live_server, make_user):  # type: ignore[no-untyped-def]
    make_user("ana", "analyst")
    make_user("root", "admin")
    analyst, admin = Client(live_server.url, "ana"), Client(live_server.url, "root")
    files = {"files": ("serve.bpmn", bpmn("serve", "Serve", TWO_LANES))}
    analyst.session.post(f"{live_server.url}/api/v1/deployments", files=files)
    for _ in range(5):
        task = admin.post("/process-instances", {"processDefinitionKey": "serve"}).json()["openTasks"][0]
        admin.post(f"/tasks/{task['id']}/assignment")
        barrier = threading.Barrier(4)

        def complete(_: int, barrier: threading.Barrier = barrier, task: dict[str, Any] = task) -> int:
            barrier.wait()
            return admin.post(f"/tasks/{task['id']}/completion", {"variables": {}}).status_code

        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(complete, range(4)))
        assert sorted(codes) == [200, 409, 409, 409], codes
        history = admin.get(f"/process-instances/{task['processInstanceId']}/history").json()
        assert sum(1 for e in history if e["type"] == "task_completed") == 1
        assert sum(1 for e in history if e["type"] == "instance_completed") == 1


def test_parallel_branches_completed_at_once_lose_nothing(live_server, make_user):  # type: ignore[no-untyped-def]
    make_user("ana", "analyst")
    make_user("left", "admin")
    make_user("right", "admin")
    analyst = Client(live_server.url, "ana")
    files = {"files": ("par.bpmn", bpmn("par", "Parallel", PARALLEL))}
    assert analyst.session.post(f"{live_server.url}/api/v1/deployments", files=files).status_code == 201
    left, right = Client(live_server.url, "left"), Client(live_server.url, "right")
    for round_ in range(5):
        instance = left.post("/process-instances", {"processDefinitionKey": "par"}).json()
        tasks = {t["elementId"]: t["id"] for t in instance["openTasks"]}
        assert set(tasks) == {"left", "right"}
        left.post(f"/tasks/{tasks['left']}/assignment")
        right.post(f"/tasks/{tasks['right']}/assignment")
        barrier = threading.Barrier(2)

        def complete(pair: tuple[Client, str], barrier: threading.Barrier = barrier,
                     tasks: dict[str, int] = tasks, round_: int = round_) -> int:
            client, element = pair
            barrier.wait()
            # A stale write is refused with 409 and may be retried; it must never be lost.
            for _ in range(20):
                response = client.post(f"/tasks/{tasks[element]}/completion", {"variables": {element: round_}})
                if response.status_code != 409 or "changed meanwhile" not in response.text:
                    return response.status_code
            return response.status_code

        with ThreadPoolExecutor(2) as pool:
            codes = list(pool.map(complete, [(left, "left"), (right, "right")]))
        assert codes == [200, 200], codes
        final = left.get(f"/process-instances/{instance['id']}").json()
        assert final["status"] == "completed", final
        assert final["variables"]["left"] == round_ and final["variables"]["right"] == round_
        assert final["variables"]["joined"] == 2 * round_
        history = left.get(f"/process-instances/{instance['id']}/history").json()
        assert [e["elementId"] for e in history if e["type"] == "element_completed"].count("after") == 1


def test_parallel_cases_never_deadlock_and_counters_stay_exact(app, live_server, make_user):  # type: ignore[no-untyped-def]
    """Starts and completions from many clients touch the same counter rows; none may deadlock."""
    from tests.services.test_counters import real_counts

    make_user("ana", "analyst")
    analyst = Client(live_server.url, "ana")
    files = {"files": ("serve.bpmn", bpmn("serve", "Serve", TWO_LANES))}
    assert analyst.session.post(f"{live_server.url}/api/v1/deployments", files=files).status_code == 201
    names = [make_user(f"clerk{i}", "agent", ["counter"]) for i in range(6)]

    def work(name: str) -> list[int]:
        client = Client(live_server.url, name)
        codes = []
        for _ in range(8):
            started = client.post("/process-instances", {"processDefinitionKey": "serve"})
            codes.append(started.status_code)
            task = started.json()["openTasks"][0]["id"]
            codes.append(client.post(f"/tasks/{task}/assignment").status_code)
            codes.append(client.post(f"/tasks/{task}/completion", {"variables": {}}).status_code)
        return codes

    with ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(work, names))
    assert all(code in (200, 201) for codes in results for code in codes), results
    tasks, kept_tasks, instances, kept_instances = real_counts(app)
    assert tasks == kept_tasks == {}
    assert instances == kept_instances == {("serve", "completed"): 48}
