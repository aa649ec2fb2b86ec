"""No-op jobs per second through Redis with real workers, and commit-to-next-user-task latency.

Usage (from the repo root; PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379):
    .venv/bin/python bench/automation/jobs_bench.py --workers 2 --jobs 1000 --latency 300 --rate 20 --runs 3

What it does, in one run of the script:
- a database of its own (`bench_automation`, emptied first) and Redis database 12 (flushed);
- `--workers` Celery worker processes (`--concurrency` each, the first one with beat);
- baseline: bare Celery tasks (`automation.ping`, no database) per second through the same broker
  and workers: the ceiling any job machinery stays under;
- throughput: `--jobs` instances of `bench_noop_job` created with their jobs held in the outbox,
  then all sent at once; jobs/s = jobs / time until the last one is done (each job: claim, no-op,
  delivery under the instance lock, engine run on, user task written);
- latency: instances started one by one at `--rate` per second (open loop); for each, the time from
  the commit that creates its job to its next user task being visible in the queue `bench` (a
  poller reads the queue every 2 ms). Target p95 <= 250 ms.
Medians over `--runs`; raw figures go to bench/results/automation-<time>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BPMN = Path(__file__).with_name("noop_job.bpmn")
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_automation")
REDIS_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")


def prepare_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build_app(data_dir: str) -> Any:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services.deployments import deploy_files
    from app.services.users import create_user

    app = create_app(DATABASE_URL=PG_URL, BROKER_URL=REDIS_URL, DATA_DIR=data_dir, SECRET_KEY="bench",
                     LOG_LEVEL="WARNING")
    with app.app_context():
        upgrade(directory=str(Path(app.root_path) / "migrations"), revision="heads")
        admin = create_user("bench", "bench-password", "admin")
        db.session.commit()
        deploy_files([(BPMN.name, BPMN.read_bytes())], admin)
        db.session.commit()
        db.session.remove()
    return app


def start_workers(count: int, concurrency: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GUICHET_DATABASE_URL": PG_URL, "GUICHET_BROKER_URL": REDIS_URL,
           "GUICHET_DATA_DIR": str(log_dir), "GUICHET_LOG_LEVEL": "WARNING", "GUICHET_SECRET_KEY": "bench"}
    procs = []
    for i in range(count):
        command = [sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "--loglevel=INFO",
                   f"--concurrency={concurrency}", "-P", "prefork", "-n", f"bench{i}-{os.getpid()}@%h",
                   "--without-gossip", "--without-mingle"]
        if i == 0:
            command += ["-B", f"--schedule={log_dir / 'beat-schedule'}"]
        log = open(log_dir / f"worker{i}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    for i, proc in enumerate(procs):
        deadline = time.monotonic() + 60
        while b" ready." not in (log_dir / f"worker{i}.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker {i} did not start:\n{(log_dir / f'worker{i}.log').read_text()[-2000:]}")
            time.sleep(0.1)
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL)


def baseline_pings(app: Any, n: int) -> float:
    """Bare Celery tasks per second through the same broker and workers (queue drained)."""
    celery_app = app.extensions["celery"]
    client = redis_client()
    start = time.perf_counter()
    with celery_app.producer_or_acquire() as producer:
        for _ in range(n):
            celery_app.send_task("automation.ping", producer=producer)
    while client.llen("celery") > 0:
        time.sleep(0.005)
    return n / (time.perf_counter() - start)


def create_held_jobs(app: Any, n: int) -> list[int]:
    """n instances whose jobs stay in the outbox (no sender while they are created)."""
    from app.extensions import db
    from app.services.dispatch import set_job_sender
    from app.services.processes import start_process
    from app.services.users import get_user

    sender = app.extensions["guichet_job_sender"]
    set_job_sender(app, None)
    ids: list[int] = []
    try:
        with app.app_context():
            user = get_user("bench")
            for _ in range(n):
                start_process("bench_noop_job", user)
                db.session.commit()
            from sqlalchemy import select

            from app.models import Job

            ids = list(db.session.scalars(select(Job.id).where(Job.state == "pending").order_by(Job.id)))
            db.session.remove()
    finally:
        set_job_sender(app, sender)
    return ids[-n:]


def throughput(app: Any, n: int) -> float:
    """Jobs per second from sending n held jobs to the last one done."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Job

    ids = create_held_jobs(app, n)
    with app.app_context():
        start = time.perf_counter()
        app.extensions["guichet_job_sender"](ids)
        while True:
            done = db.session.scalar(select(func.count()).select_from(Job).where(Job.id.in_(ids), Job.state == "done"))
            db.session.rollback()
            if done == len(ids):
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        db.session.remove()
    return len(ids) / elapsed


class QueuePoller(threading.Thread):
    """Reads the queue `bench` every 2 ms and records when each awaited instance's task first shows.

    It asks for the instances it still waits for (not for ids above the last seen: two workers commit
    out of id order).
    """

    def __init__(self, app: Any) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.awaited: set[int] = set()
        self.seen: dict[int, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def expect(self, instance_id: int) -> None:
        with self.lock:
            self.awaited.add(instance_id)

    def run(self) -> None:
        from sqlalchemy import select

        from app.extensions import db
        from app.models import HumanTask

        with self.app.app_context():
            while not self.stop.is_set():
                with self.lock:
                    awaited = sorted(self.awaited)[:500]
                if awaited:
                    found = db.session.scalars(select(HumanTask.instance_id).where(
                        HumanTask.queue == "bench", HumanTask.instance_id.in_(awaited))).all()
                    db.session.rollback()
                    now = time.time()
                    with self.lock:
                        for instance_id in found:
                            self.seen.setdefault(instance_id, now)
                            self.awaited.discard(instance_id)
                time.sleep(0.002)
            db.session.remove()


def latency(app: Any, n: int, rate: float) -> list[float]:
    """Milliseconds from each job's commit to its next user task in the queue (open loop at `rate`/s)."""
    from app.extensions import db
    from app.services.dispatch import dispatch_after_commit
    from app.services.processes import start_process
    from app.services.users import get_user

    poller = QueuePoller(app)
    poller.start()
    committed: dict[int, float] = {}
    with app.app_context():
        user = get_user("bench")
        begin = time.time()
        for i in range(n):
            pause = begin + i / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            instance = start_process("bench_noop_job", user)
            db.session.commit()
            committed[instance.id] = time.time()
            poller.expect(instance.id)
            dispatch_after_commit()
        db.session.remove()
    deadline = time.time() + 60
    while len([i for i in committed if i in poller.seen]) < len(committed) and time.time() < deadline:
        time.sleep(0.01)
    poller.stop.set()
    poller.join()
    missing = [i for i in committed if i not in poller.seen]
    if missing:
        raise SystemExit(f"{len(missing)} instance(s) never reached their user task")
    return [(poller.seen[i] - committed[i]) * 1000 for i in committed]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per throughput run")
    parser.add_argument("--pings", type=int, default=2000, help="bare tasks per baseline run")
    parser.add_argument("--latency", type=int, default=300, help="instances per latency run")
    parser.add_argument("--rate", type=float, default=20.0, help="instances started per second (latency)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    prepare_database(PG_URL)
    redis_client().flushdb()
    work_dir = Path(tempfile.mkdtemp(prefix="bench-automation-"))
    app = build_app(str(work_dir))
    procs = start_workers(args.workers, args.concurrency, work_dir)
    results: dict[str, Any] = {"args": vars(args), "runs": []}
    try:
        throughput(app, 50)  # warm up: specs cached, connections open
        latency(app, 20, args.rate)
        for run in range(args.runs):
            pings = baseline_pings(app, args.pings)
            jobs_per_s = throughput(app, args.jobs)
            latencies = latency(app, args.latency, args.rate)
            entry = {"pings_per_s": pings, "jobs_per_s": jobs_per_s, "latency_p50_ms": percentile(latencies, 0.5),
                     "latency_p95_ms": percentile(latencies, 0.95), "latency_max_ms": max(latencies),
                     "load_avg_1min": os.getloadavg()[0]}
            results["runs"].append(entry)
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in entry.items()), flush=True)
    finally:
        stop_workers(procs)
    summary = {k: statistics.median(r[k] for r in results["runs"]) for k in results["runs"][0]}
    results["median"] = summary
    out = ROOT / "bench" / "results" / f"automation-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nmedian of {args.runs} runs ({args.workers} workers x {args.concurrency}, Redis, PostgreSQL):")
    print(f"  baseline, bare Celery tasks/s : {summary['pings_per_s']:.0f}")
    print(f"  no-op jobs/s                  : {summary['jobs_per_s']:.0f}  "
          f"({summary['jobs_per_s'] / summary['pings_per_s']:.0%} of the baseline)")
    print(f"  commit -> next user task, ms  : p50 {summary['latency_p50_ms']:.0f}, "
          f"p95 {summary['latency_p95_ms']:.0f} (target <= 250), max {summary['latency_max_ms']:.0f}")
    print(f"  raw figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
