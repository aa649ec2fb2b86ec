"""Inbox and monitoring queries at national scale, timed through the HTTP API (client side).

Prepare once (a few minutes; a database of its own, NOT the test database):
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE bench"
    export GUICHET_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/guichet db upgrade heads
    .venv/bin/guichet users create admin --password guichet --role admin
    .venv/bin/guichet bench-data --open-tasks 1000000 --instances 2000000 --queues 50
Then:
    .venv/bin/python bench/scale/queries.py --calls 200

Prints p50/p95 per query (ms), next to a `GET /healthz`-free baseline (`GET /api/v1/openapi.json`,
no database) measured in the same run, and EXPLAIN ANALYZE of the SQL behind each query.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
URL = os.environ.get("GUICHET_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
PORT = 5124


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_server(env: dict[str, str]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{PORT}", "--workers", "2",
                               "--threads", "2", "--log-level", "warning", "app.wsgi:application"], cwd=ROOT, env=env)
    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{PORT}/api/v1/openapi.json", timeout=5)
            return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not start")


def session(username: str, password: str) -> requests.Session:
    s = requests.Session()
    token = s.post(f"http://127.0.0.1:{PORT}/api/v1/auth/token",
                   json={"username": username, "password": password}).json()["access_token"]
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def timed(calls: int, fn: Callable[[int], requests.Response]) -> list[float]:
    fn(0)  # warm-up
    out = []
    for i in range(calls):
        t = time.perf_counter()
        response = fn(i)
        out.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.text[:300]
    return out


def samples(app: Any) -> dict[str, Any]:
    """Real keys from the data: queues, ssns, business keys, a definition id."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(text(
            "SELECT t.business_key, v.value FROM human_tasks t TABLESAMPLE SYSTEM (0.5) "
            "JOIN instance_variables v ON v.instance_id = t.instance_id AND v.name = 'ssn' "
            "WHERE t.state = 'open' LIMIT 400")).all()
        definition_id = db.session.scalar(text(
            "SELECT id FROM process_definitions WHERE key = 'bench_benefit_claim' ORDER BY version DESC LIMIT 1"))
        return {"keys": [r[0] for r in rows], "ssns": [r[1] for r in rows], "definition_id": definition_id}


def explain(app: Any, label: str, call: Callable[[], Any]) -> None:
    """Capture the SQL a service call runs and print EXPLAIN ANALYZE of each SELECT."""
    from sqlalchemy import event

    from app.extensions import db

    captured: list[tuple[str, Any]] = []
    with app.app_context():
        def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            head = statement.lstrip().upper()
            if head.startswith("SELECT") and " FROM USERS" not in head and "QUEUE_MEMBERS" not in head:
                captured.append((statement, parameters))
        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            call()
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        print(f"\n### {label}")
        raw = db.session.connection().connection.dbapi_connection
        for statement, parameters in captured:
            with raw.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = [r[0] for r in cursor.fetchall()]
            print("  " + " ".join(statement.split())[:300])
            for line in plan:
                print("    " + line)
        db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    env = {**os.environ, "GUICHET_DATABASE_URL": URL, "GUICHET_SECRET_KEY": "bench", "GUICHET_LOG_LEVEL": "WARNING",
           "GUICHET_BROKER_URL": "memory://", "GUICHET_DATA_DIR": tempfile.mkdtemp()}
    os.environ.update({k: v for k, v in env.items() if k.startswith("GUICHET_")})
    from app import create_app
    from app.extensions import db
    from app.services.users import create_user, get_user

    app = create_app()
    with app.app_context():
        create_user("bench-agent", "guichet", "agent", ["queue-07"])
        db.session.commit()
    data = samples(app)
    server = start_server(env)
    base = f"http://127.0.0.1:{PORT}/api/v1"
    try:
        admin, agent = session("admin", "guichet"), session("bench-agent", "guichet")
        rng = random.Random(1)
        cursors: list[str] = []

        def inbox(_i: int) -> requests.Response:
            return agent.post(f"{base}/tasks/search", json={"filter": {"queue": "queue-07"}, "page": {"limit": 50}})

        first = inbox(0).json()
        after = first["page"]["endCursor"]
        for _ in range(20):
            cursors.append(after)
            after = agent.post(f"{base}/tasks/search", json={"filter": {"queue": "queue-07"},
                                                              "page": {"limit": 50, "after": after}}).json()["page"]["endCursor"]
        queries: dict[str, Callable[[int], requests.Response]] = {
            "baseline: openapi.json (no database)": lambda i: requests.get(f"{base}/openapi.json"),
            "inbox page (queue, 50 rows)": inbox,
            "inbox next pages (cursor)": lambda i: agent.post(f"{base}/tasks/search", json={
                "filter": {"queue": "queue-07"}, "page": {"limit": 50, "after": cursors[i % len(cursors)]}}),
            "tasks by ssn": lambda i: admin.post(f"{base}/tasks/search", json={
                "filter": {"variables": {"ssn": data["ssns"][rng.randrange(len(data["ssns"]))]}}}),
            "tasks by business key": lambda i: admin.post(f"{base}/tasks/search", json={
                "filter": {"businessKey": data["keys"][rng.randrange(len(data["keys"]))]}}),
            "inbox tab counts (agent)": lambda i: agent.get(f"{base}/tasks/counts"),
            "inbox tab counts (supervisor, 50 queues)": lambda i: admin.get(f"{base}/tasks/counts"),
            "instances by variable ssn": lambda i: admin.post(f"{base}/process-instances/search", json={
                "filter": {"variables": {"ssn": data["ssns"][rng.randrange(len(data["ssns"]))]}}}),
            "definition statistics": lambda i: admin.get(
                f"{base}/process-definitions/{data['definition_id']}/statistics"),
        }
        print(f"{'query':44s} {'p50 ms':>8s} {'p95 ms':>8s}  (calls={args.calls})")
        for label, fn in queries.items():
            values = timed(args.calls, fn)
            print(f"{label:44s} {statistics.median(values):8.2f} {percentile(values, 95):8.2f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)

    from app.services import processes, search, tasks

    with app.app_context():
        boss, clerk = get_user("admin"), get_user("bench-agent")
    explain(app, "inbox page", lambda: tasks.search_tasks(get_user("bench-agent"), {"queue": "queue-07"}, None,
                                                          {"limit": 50}))
    explain(app, "tasks by ssn", lambda: tasks.search_tasks(get_user("admin"), {"variables": {"ssn": data["ssns"][0]}}))
    explain(app, "tasks by business key", lambda: tasks.search_tasks(get_user("admin"), {"businessKey": data["keys"][0]}))
    explain(app, "inbox tab counts", lambda: tasks.queue_counts(get_user("admin")))
    explain(app, "instances by variable", lambda: search.search_instances({"variables": {"ssn": data["ssns"][0]}}))
    explain(app, "definition statistics", lambda: processes.definition_statistics(data["definition_id"]))
    del boss, clerk


if __name__ == "__main__":
    main()
