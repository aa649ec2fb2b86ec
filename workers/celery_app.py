"""Celery wired to Flask: every task runs inside an application context (Flask's Celery pattern).

Also installed here: the operations registry (workers/operations), the sender that hands
committed jobs to the broker, and the beat schedule of the sweeper.
"""
from __future__ import annotations

import pkgutil
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask


def _task_modules() -> list[str]:
    """Every module of workers/tasks: adding a file there is enough for workers to know its tasks."""
    import workers.tasks

    return [f"workers.tasks.{m.name}" for m in pkgutil.iter_modules(workers.tasks.__path__)]


DEFAULT_TASK_MODULES = ["workers.tasks", *_task_modules()]
RUN_JOB_TASK = "jobs.run"


# A request publishing its jobs must not wait for a broker that is down (kombu would retry for seconds):
# one quick attempt, then the jobs wait in the outbox for the sweeper.
_FAIL_FAST = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def _transport_options(broker_url: str) -> dict[str, Any]:
    """Options for the broker's transport (our SQLAlchemy transport drops those create_engine refuses)."""
    if broker_url.startswith(("redis://", "rediss://", "sentinel://")):
        return {**_FAIL_FAST, "visibility_timeout": 3600, "socket_connect_timeout": 5}
    return dict(_FAIL_FAST)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from the Flask config and attach it as app.extensions['celery']."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            with app.app_context():
                return self.run(*args, **kwargs)

    broker_url = app.config["BROKER_URL"]
    if broker_url.startswith("sqla+"):
        from workers.sqla_transport import register

        register()
    interval = float(app.config["SWEEP_INTERVAL_SECONDS"])
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=broker_url,
        result_backend=app.config["RESULT_BACKEND"] or None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_default_queue=app.config.get("CELERY_QUEUE") or "celery",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_always_eager=app.config["CELERY_EAGER"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        broker_transport_options=_transport_options(broker_url),
        timezone="UTC",
        beat_schedule={"automation-sweep": {"task": "automation.sweep", "schedule": interval,
                                            "options": {"expires": max(interval * 2, 2.0)}},
                       "fold-due-buckets": {"task": "counters.fold_due_buckets", "schedule": 3600.0,
                                            "options": {"expires": 600.0}}},
        include=[name for name in app.config.get("CELERY_TASK_MODULES", DEFAULT_TASK_MODULES)],
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    from app.services.dispatch import set_job_sender
    from workers.operations import load_operations

    load_operations(app.config.get("OPERATION_MODULES", ""))
    set_job_sender(app, make_job_sender(app, celery_app))

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_: Any) -> None:
        # A forked pool process must not share the parent's database connections.
        from app.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)

    return celery_app


def make_job_sender(app: Flask, celery_app: Celery) -> Any:
    """The function that hands committed job ids to the broker and marks them sent."""

    def send(job_ids: list[int]) -> None:
        from app.services.dispatch import mark_sent

        if celery_app.conf.task_always_eager:
            for job_id in job_ids:
                celery_app.tasks[RUN_JOB_TASK].apply(args=[int(job_id)])
            return
        sent: list[int] = []
        try:
            with celery_app.producer_or_acquire() as producer:
                for job_id in job_ids:
                    # No publish retries: the request must not wait for a broker that is down; the sweeper
                    # sends what stayed in the outbox.
                    celery_app.send_task(RUN_JOB_TASK, args=[int(job_id)], retry=False, producer=producer)
                    sent.append(job_id)
        finally:
            mark_sent(sent)

    return send
