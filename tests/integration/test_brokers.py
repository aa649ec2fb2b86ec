"""The same jobs over the other brokers: the embedded default (Celery over the SQLite database) and RabbitMQ."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from tests.conftest import Api, port_open
from tests.integration.conftest import Env, Workers, make_app
from tests.integration.support import count, deploy, jobs_of, open_task_elements, start, wait_until

pytestmark = pytest.mark.integration

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def _api(app: Any, username: str) -> Api:
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": username, "password": "pw-secret"})
    return Api(client, token.get_json()["access_token"])


def test_the_embedded_default_runs_jobs_and_timers_over_the_database(tmp_path: Path) -> None:
    """No server at all: SQLite file, broker tables in it, one worker with beat."""
    from flask_migrate import upgrade

    from app import create_app
    from app.services.users import create_user
    from tests.integration.conftest import FAST_SETTINGS, Workers

    data_dir = tmp_path / "var"
    settings = {k: (float(v) if k.endswith("SECONDS") else v) for k, v in FAST_SETTINGS.items()}
    app = create_app(DATA_DIR=str(data_dir), TESTING=True, **settings)
    assert app.config["DATABASE_URL"].startswith("sqlite:///")
    assert app.config["BROKER_URL"].startswith("sqla+sqlite:///")
    with app.app_context():
        upgrade(directory=str(Path(app.root_path) / "migrations"), revision="heads")
        create_user("root", "pw-secret", "admin")
        create_user("ana", "pw-secret", "analyst")
        db.session.commit()
        deploy(_api(app, "ana"), "automation_effect.bpmn", "automation_timers.bpmn")
        env = Env(app, app.config["DATABASE_URL"], app.config["BROKER_URL"], data_dir)
        pool = Workers(env, tmp_path)
        try:
            pool.start("embedded", concurrency=2, beat=True,
                       extra_env={"GUICHET_DATABASE_URL": "", "GUICHET_BROKER_URL": ""})
            api = _api(app, "root")
            ids = [start(api, "automation_effect")["id"] for _ in range(3)]
            timed = start(api, "automation_timers")["id"]
            wait_until(lambda: all(open_task_elements(i) == ["Activity_after"] for i in ids), timeout=30,
                       message="jobs over the database broker")
            wait_until(lambda: "Activity_escalated" in open_task_elements(timed), timeout=20,
                       message="timers on the embedded default")
            assert {j.state for i in ids for j in jobs_of(i)} == {"done"}
        except AssertionError:
            print(pool.logs())
            raise
        finally:
            pool.stop_all()
            db.session.remove()
            db.engine.dispose()


def test_rabbitmq_carries_the_jobs_too(env: Env, workers: Workers, tmp_path: Path) -> None:
    """Production may use RabbitMQ instead of Redis (optional here: skipped when no RabbitMQ runs)."""
    if not port_open("127.0.0.1", 5672):
        pytest.skip("RabbitMQ is not running at 127.0.0.1:5672 (an optional broker; Redis is the tested default)")
    import tests.integration.operations as test_ops

    app = make_app(env.database_url, RABBITMQ_URL, tmp_path)
    with app.app_context():
        app.extensions["celery"].control.purge()
    deploy(env.api("ana"), "automation_effect.bpmn")
    workers.start("rabbit", concurrency=2, beat=True, broker_url=RABBITMQ_URL)
    api = Api(app.test_client(), env.tokens["root"])
    with app.app_context():
        ids = [start(api, "automation_effect")["id"] for _ in range(3)]
        db.session.remove()
    wait_until(lambda: all(open_task_elements(i) == ["Activity_after"] for i in ids), timeout=30,
               message="jobs over RabbitMQ")
    assert count(test_ops.effects) == 3
