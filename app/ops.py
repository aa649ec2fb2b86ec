"""Operations endpoints: /healthz (database, broker, object store) and /metrics (Prometheus)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import HumanTask, Incident, Job, ProcessInstance

ops_bp = Blueprint("ops", __name__)


def _database_up() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - a health check reports, it does not raise
        db.session.rollback()
        return False


def _broker_up() -> bool:
    celery_app = current_app.extensions.get("celery")
    if celery_app is None:
        return False
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001
        return False


def _storage_up() -> bool:
    try:
        from app.services.documents_storage import get_storage
    except ImportError:
        return True
    try:
        return bool(get_storage().check())
    except Exception:  # noqa: BLE001
        return False


@ops_bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    checks = {"database": _database_up(), "broker": _broker_up(), "objectStore": _storage_up()}
    body = {name: ("up" if ok else "down") for name, ok in checks.items()}
    body["status"] = "up" if all(checks.values()) else "down"
    return jsonify(body), 200 if all(checks.values()) else 503


@ops_bp.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    lines = ["# HELP guichet_process_instances Process instances by definition and status.",
             "# TYPE guichet_process_instances gauge"]
    for key, status, count in db.session.execute(
            select(ProcessInstance.definition_key, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.definition_key, ProcessInstance.status)):
        lines.append(f'guichet_process_instances{{definition="{key}",status="{status}"}} {count}')
    lines += ["# HELP guichet_open_tasks Open human tasks by queue.", "# TYPE guichet_open_tasks gauge"]
    for queue, count in db.session.execute(select(HumanTask.queue, func.count())
                                           .where(HumanTask.state == "open").group_by(HumanTask.queue)):
        lines.append(f'guichet_open_tasks{{queue="{queue or ""}"}} {count}')
    lines += ["# HELP guichet_jobs Jobs by state.", "# TYPE guichet_jobs gauge"]
    for state, count in db.session.execute(select(Job.state, func.count()).group_by(Job.state)):
        lines.append(f'guichet_jobs{{state="{state}"}} {count}')
    open_incidents = db.session.scalar(select(func.count()).select_from(Incident).where(Incident.state == "open"))
    lines += ["# HELP guichet_open_incidents Open incidents.", "# TYPE guichet_open_incidents gauge",
              f"guichet_open_incidents {open_incidents or 0}"]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
