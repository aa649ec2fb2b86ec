"""Generated scale data is real: counted right, searchable by ssn, and its tasks can be completed."""
from __future__ import annotations


def test_bench_data_is_searchable_and_resumable(app, login):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.services.bench_data import generate_bench_data
    from app.services.users import get_user

    boss = login("sue", "admin")
    with app.app_context():
        generate_bench_data(300, 500, 4, get_user("sue"), batch=120, progress=lambda _m: None)
        db.session.remove()

    counts = boss.get("/tasks/counts").get_json()["queues"]
    assert sum(q["open"] for q in counts) == 300 and len(counts) == 4
    page = boss.post("/tasks/search", json={"filter": {"queue": counts[0]["queue"]}, "page": {"limit": 5}}).get_json()
    assert page["page"]["totalItems"] == counts[0]["open"] and len(page["items"]) == 5
    priorities = [t["priority"] for t in page["items"]]
    assert priorities == sorted(priorities, reverse=True)

    task = page["items"][0]
    instance = boss.get(f"/process-instances/{task['processInstanceId']}").get_json()
    ssn = instance["variables"]["ssn"]
    by_ssn = boss.post("/tasks/search", json={"filter": {"variables": {"ssn": ssn}}}).get_json()
    assert task["id"] in [t["id"] for t in by_ssn["items"]]
    by_key = boss.post("/process-instances/search", json={"filter": {"businessKey": task["businessKey"]}}).get_json()
    assert [i["id"] for i in by_key["items"]] == [task["processInstanceId"]]

    def review_counts():  # type: ignore[no-untyped-def]
        stats = boss.get(f"/process-definitions/{instance['processDefinitionId']}/statistics").get_json()
        review = next(s for s in stats if s["elementId"] == "review")
        return review["active"], review["completed"]

    # 300 running and 500 instances spread over three definitions: 100 running, 167 in all for the first.
    before = review_counts()
    assert before[0] == 100 and before[0] + before[1] in (166, 167)
    boss.post(f"/tasks/{task['id']}/assignment")
    done = boss.post(f"/tasks/{task['id']}/completion", json={"variables": {"note": "ok"}})
    assert done.status_code == 200 and done.get_json()["processInstance"]["status"] == "completed"
    assert review_counts() == (before[0] - 1, before[1] + 1)
