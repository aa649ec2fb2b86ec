"""Integration fixtures: a PostgreSQL database of their own, a Redis broker, and real Celery worker processes.

The database is on the server of GUICHET_TEST_DATABASE_URL (default: the Makefile's), named
`<name>_integration_<pid>`: created for the session and dropped after it, so these tests never
touch the schema the rest of the suite uses, nor a concurrent run's (the machine is shared). The
broker is Redis at 127.0.0.1:6379, database GUICHET_INTEGRATION_REDIS_DB (default 11), with a queue
of this run's own (`guichet-test-<pid>`), purged before each test. Workers are `python -m celery -A
workers.worker worker` subprocesses in their own process group (so that kill -9 takes the pool with
it), configured through GUICHET_* variables with short leases and a fast sweeper, and loading the
`test.*` operations.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, port_open, service_missing

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DB = int(os.environ.get("GUICHET_INTEGRATION_REDIS_DB", "11"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
# Short enough for tests to see recoveries within seconds; the defaults are for production.
QUEUE = f"guichet-test-{os.getpid()}"
FAST_SETTINGS = {
    "CELERY_QUEUE": QUEUE,
    "JOB_LEASE_SECONDS": "2",
    "JOB_SEND_TIMEOUT_SECONDS": "4",
    "JOB_DISPATCH_GRACE_SECONDS": "1",
    "SWEEP_INTERVAL_SECONDS": "0.3",
    "OPERATION_MODULES": "tests.integration.operations",
    "SECRET_KEY": "integration-secret",
    "LOG_LEVEL": "INFO",
}


def integration_database_url() -> str:
    """This run's integration database: the test server, database name + `_integration_<pid>`."""
    base = TEST_DATABASE_URL if TEST_DATABASE_URL.startswith("postgresql") else DEFAULT_PG
    url = make_url(base)
    name = f"{url.database or 'test'}_integration_{os.getpid()}"
    return url.set(database=name).render_as_string(hide_password=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _admin_engine(url: str) -> Any:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _create_database(url: str) -> None:
    """Create this run's database; drop those of runs that died without cleaning up."""
    target = make_url(url)
    prefix = target.database.rsplit("_", 1)[0] + "_"
    admin = _admin_engine(url)
    try:
        with admin.connect() as conn:
            for (name,) in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                        {"p": prefix.replace("_", r"\_") + "%"}):
                pid = name.rsplit("_", 1)[-1]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def _drop_database(url: str) -> None:
    admin = _admin_engine(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = integration_database_url()
    try:
        _create_database(url)
    except Exception as exc:  # noqa: BLE001
        service_missing(f"PostgreSQL for integration tests at {url} ({type(exc).__name__})")
    yield url
    try:
        _drop_database(url)
    except Exception as exc:  # noqa: BLE001 - the next run drops it
        print(f"integration database {url} not dropped: {type(exc).__name__}")


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis at 127.0.0.1:6379")
    return REDIS_URL


@dataclass
class Env:
    """The integration app (same settings as the workers) and helpers to speak its API."""

    app: Any
    database_url: str
    broker_url: str
    data_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, username: str = "root") -> Any:
        from tests.conftest import Api

        return Api(self.app.test_client(), self.tokens[username])


def make_app(database_url: str, broker_url: str, data_dir: Path) -> Any:
    from app import create_app

    settings: dict[str, Any] = {k: v for k, v in FAST_SETTINGS.items()}
    for name in ("JOB_LEASE_SECONDS", "JOB_SEND_TIMEOUT_SECONDS", "JOB_DISPATCH_GRACE_SECONDS",
                 "SWEEP_INTERVAL_SECONDS"):
        settings[name] = float(settings[name])
    return create_app(DATABASE_URL=database_url, BROKER_URL=broker_url, DATA_DIR=str(data_dir), TESTING=True,
                      WTF_CSRF_ENABLED=False, **settings)


@pytest.fixture(scope="session")
def integration_env(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services.users import create_user

    data_dir = tmp_path_factory.mktemp("integration-data")
    app = make_app(pg_url, redis_url, data_dir)
    with app.app_context():
        upgrade(directory=str(Path(app.root_path) / "migrations"), revision="heads")
        create_user("root", "pw-secret", "admin", [], None)
        create_user("ana", "pw-secret", "analyst", [], None)
        db.session.commit()
        db.session.remove()
    env = Env(app, pg_url, redis_url, data_dir)
    client = app.test_client()
    for name in ("root", "ana"):
        response = client.post("/api/v1/auth/token", json={"username": name, "password": "pw-secret"})
        env.tokens[name] = response.get_json()["access_token"]
    yield env
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def env(integration_env: Env) -> Iterator[Env]:
    """The integration environment with empty process tables and an empty queue."""
    import redis

    import tests.integration.operations as test_ops
    from app.extensions import db

    app = integration_env.app
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in ("users", "queues", "queue_members")]
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        test_ops.clear_tables(db.engine)
    client = redis.Redis.from_url(integration_env.broker_url)
    client.delete(QUEUE, *client.keys(f"{QUEUE}*"))  # this run's queue only: others may share the broker
    with app.app_context():
        yield integration_env
        db.session.remove()


class Workers:
    """Celery worker processes started by a test (and only those are stopped or killed)."""

    def __init__(self, env: Env, log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *, concurrency: int = 2, beat: bool = False, broker_url: str | None = None,
              database_url: str | None = None, extra_env: dict[str, str] | None = None,
              wait: bool = True) -> subprocess.Popen[bytes]:
        """Start `celery worker` (with beat when asked) and wait until it consumes."""
        log = self.log_dir / f"{name}-{len(self.procs)}.log"
        environ = {**os.environ, "PYTHONPATH": str(ROOT),
                   "GUICHET_DATABASE_URL": database_url or self.env.database_url,
                   "GUICHET_BROKER_URL": broker_url or self.env.broker_url,
                   "GUICHET_DATA_DIR": str(self.env.data_dir),
                   **{f"GUICHET_{k}": v for k, v in FAST_SETTINGS.items()}, **(extra_env or {})}
        environ.pop("GUICHET_TEST_DATABASE_URL", None)
        command = [sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "--loglevel=INFO",
                   f"--concurrency={concurrency}", "-P", "prefork", "-n", f"{name}-{os.getpid()}@%h",
                   "--without-gossip", "--without-mingle"]
        if beat:
            command += ["-B", f"--schedule={self.log_dir / f'{name}-beat-schedule'}"]
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((proc, log))
        if wait:
            self.wait_ready(proc, log)
        return proc

    def wait_ready(self, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            if b" ready." in log.read_bytes():
                return
            time.sleep(0.1)
        raise AssertionError(f"worker not ready after {timeout}s:\n{log.read_text()[-3000:]}")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """kill -9 the worker and its pool (its whole process group)."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc, _log in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc, _log in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for _p, log in self.procs)


@pytest.fixture
def workers(env: Env, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Workers]:
    pool = Workers(env, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(pool.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
