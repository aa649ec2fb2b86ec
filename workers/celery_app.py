"""Celery wired to Flask: every task runs inside an application context (Flask's Celery pattern)."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from the Flask config and attach it as app.extensions['celery']."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=app.config["BROKER_URL"],
        result_backend=app.config["RESULT_BACKEND"] or None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_always_eager=app.config["CELERY_EAGER"],
        broker_connection_retry_on_startup=True,
        # Redis redelivers unacknowledged messages after this; other transports take no such option.
        broker_transport_options=({"visibility_timeout": 3600}
                                  if app.config["BROKER_URL"].startswith(("redis", "rediss")) else {}),
        timezone="UTC",
        include=[name for name in app.config.get("CELERY_TASK_MODULES", DEFAULT_TASK_MODULES)],
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


DEFAULT_TASK_MODULES = ["workers.tasks"]
