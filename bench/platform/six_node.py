"""Start + claim + complete of the six-node process: service layer, HTTP API, and the plain library.

Usage (from the repo root, PostgreSQL on 127.0.0.1:5432):
    .venv/bin/python bench/platform/six_node.py --instances 600 --runs 3

Prints medians over runs and ratios against the plain library measured in the same run.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BPMN = ROOT / "tests" / "data" / "bpmn" / "six_node.bpmn"
FORM = ("review-schema.json", json.dumps({"type": "object", "properties": {"approved": {"type": "boolean"}},
                                          "required": ["approved"]}).encode())
# A database of its own: test runs reset theirs at any moment.
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_platform")


def ensure_database(url: str) -> None:
    """Create the benchmark database when it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def plain_library(n: int) -> float:
    """Instances/s of bare SpiffWorkflow: parse once, run, one serialize/deserialize per wait, complete."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("six_node")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    start = time.perf_counter()
    for i in range(n):
        wf = BpmnWorkflow(spec)
        wf.get_next_task(state=TaskState.READY).set_data(ssn="1850775123456")
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        wf = serializer.deserialize_json(state)
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.set_data(approved=True)
        task.run()
        wf.do_engine_steps()
        assert wf.is_completed()
    return n / (time.perf_counter() - start)


def connect_app(url: str):  # type: ignore[no-untyped-def]
    from app import create_app

    return create_app(DATABASE_URL=url, DATA_DIR=tempfile.mkdtemp(), SECRET_KEY="bench", BROKER_URL="memory://",
                      LOG_LEVEL="WARNING")


def make_app(url: str):  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql"):
        ensure_database(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = connect_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "app" / "migrations"), revision="heads")
        from app.extensions import db
        from app.services.deployments import deploy_files
        from app.services.users import create_user

        admin = create_user("bench-admin", "bench-pass", "admin")
        for i in range(8):
            create_user(f"bench{i}", "bench-pass", "agent", ["agents"])
        deploy_files([(BPMN.name, BPMN.read_bytes()), FORM], admin)
        db.session.commit()
    return app


def service_layer(app, n: int, threads: int, who: str | None = None) -> float:  # type: ignore[no-untyped-def]
    """Instances/s through app.services (one commit per step, like a request)."""
    from app.extensions import db
    from app.services import processes, tasks
    from app.services.users import get_user

    def one_worker(count: int, who: str) -> None:
        with app.app_context():
            user = get_user(who)
            for _ in range(count):
                instance = processes.start_process("six_node", user, variables={"ssn": "1850775123456"})
                db.session.commit()
                task_id = db.session.scalar(
                    db.select(tasks.HumanTask.id).where(tasks.HumanTask.instance_id == instance.id))
                tasks.claim_task(task_id, user)
                db.session.commit()
                tasks.complete_task(task_id, user, {"approved": True})
                db.session.commit()
            db.session.remove()

    per = n // threads
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: one_worker(per, who or f"bench{i}"), range(threads)))
    return per * threads / (time.perf_counter() - start)


def _process_worker(args: tuple[str, int, str]) -> None:
    url, count, who = args
    service_layer(connect_app(url), count, 1, who)


def service_processes(url: str, n: int, processes: int) -> float:
    """Instances/s through app.services from several processes (how Celery workers and gunicorn scale)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    per = n // processes
    with ctx.Pool(processes) as pool:
        pool.map(_process_worker, [(url, 5, f"bench{i}") for i in range(processes)])  # warm-up
        start = time.perf_counter()
        pool.map(_process_worker, [(url, per, f"bench{i}") for i in range(processes)])
        return per * processes / (time.perf_counter() - start)


def http_api(url: str, n: int, clients: int, workers: int = 2, threads: int = 4) -> float:
    """Instances/s through gunicorn with `clients` parallel HTTP clients."""
    port = 5123
    env = {**os.environ, "GUICHET_DATABASE_URL": url, "GUICHET_SECRET_KEY": "bench", "GUICHET_LOG_LEVEL": "WARNING",
           "GUICHET_BROKER_URL": "memory://", "GUICHET_DATA_DIR": tempfile.mkdtemp()}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                               "--threads", str(threads), "--log-level", "warning", "app.wsgi:application"],
                              cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/api/v1/openapi.json")
                probe.getresponse().read()
                probe.close()
                break
            except OSError:
                time.sleep(0.2)

        def one_client(i: int) -> None:
            # http.client on one keep-alive connection: the client shares the server's two cores, and
            # `requests` would spend several times more of them per call than this does.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

            def post(path: str, body: dict[str, Any] | None, token: str | None = None) -> tuple[int, Any]:
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                conn.request("POST", f"/api/v1{path}", body=json.dumps(body or {}), headers=headers)
                response = conn.getresponse()
                return response.status, json.loads(response.read() or b"null")

            _status, auth = post("/auth/token", {"username": f"bench{i}", "password": "bench-pass"})
            token = auth["access_token"]
            for _ in range(n // clients):
                status, inst = post("/process-instances", {"processDefinitionKey": "six_node",
                                                          "variables": {"ssn": "1850775123456"}}, token)
                assert status == 201, inst
                tid = inst["openTasks"][0]["id"]
                status, _task = post(f"/tasks/{tid}/assignment", None, token)
                assert status == 200, _task
                status, done = post(f"/tasks/{tid}/completion", {"variables": {"approved": True}}, token)
                assert status == 200 and done["processInstance"]["status"] == "completed", done
            conn.close()

        one_client(0)  # warm-up: spec caches in the workers
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one_client, range(clients)))
        return (n // clients) * clients / (time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(timeout=20)


def postgres_cpu_seconds() -> float:
    """CPU time used so far by PostgreSQL on this machine (user + system, from /proc): the live
    processes' own, plus what the postmaster has collected from backends that have exited."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_per_instance(app, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Milliseconds of CPU per instance on one thread: this process (Python) and PostgreSQL's processes."""
    service_layer(app, 20, 1)  # warm-up
    pg_before, own_before = postgres_cpu_seconds(), time.process_time()
    service_layer(app, n, 1)
    return ((time.process_time() - own_before) / n * 1000, (postgres_cpu_seconds() - pg_before) / n * 1000)


def stored_state_size(app) -> int:  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.services import processes
    from app.services.users import get_user

    with app.app_context():
        instance = processes.start_process("six_node", get_user("bench0"), variables={"ssn": "1850775123456"})
        db.session.commit()
        return len(instance.state.encode())


PATHS = ("plain", "service_1", "service_2proc", "service_4proc", "http_8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default=PG_URL)
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated subset of {', '.join(PATHS)} (plain always runs: it is the baseline)")
    # The defaults are what `guichet web` runs.
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn processes for http_8")
    parser.add_argument("--http-threads", type=int, default=4, help="threads per gunicorn process for http_8")
    args = parser.parse_args()
    chosen = ["plain"] + [p for p in args.paths.split(",") if p in PATHS and p != "plain"]
    results: dict[str, list[float]] = {name: [] for name in chosen}
    app = make_app(args.url)
    print(f"stored state of six_node at its user task: {stored_state_size(app)} bytes")
    python_ms, postgres_ms = cpu_per_instance(app, args.instances)
    print(f"CPU per instance at the service layer: Python {python_ms:.2f} ms + PostgreSQL {postgres_ms:.2f} ms "
          f"(two cores give at most {2000 / (python_ms + postgres_ms):.0f}/s)")
    measure = {
        "plain": lambda: plain_library(args.instances),
        "service_1": lambda: service_layer(app, args.instances, 1),
        "service_2proc": lambda: service_processes(args.url, args.instances, 2),
        "service_4proc": lambda: service_processes(args.url, args.instances, 4),
        "http_8": lambda: http_api(args.url, args.instances, 8, args.http_workers, args.http_threads),
    }
    for run in range(args.runs):
        for name in chosen:
            results[name].append(measure[name]())
        print(f"run {run + 1}: " + ", ".join(f"{k}={v[-1]:.0f}/s" for k, v in results.items()), flush=True)
    plain = statistics.median(results["plain"])
    print("\nmedians (instances/s: start + claim + complete)")
    for key, values in results.items():
        median = statistics.median(values)
        print(f"  {key:10s} {median:8.0f}/s   ratio to plain library {median / plain:6.3f}")


if __name__ == "__main__":
    main()
