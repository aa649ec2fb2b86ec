"""Work behind the CLI commands that is more than a call: deploying paths, loading the demo."""
from __future__ import annotations

from pathlib import Path

import click

from app.errors import AppError
from app.extensions import db
from app.services.deployments import deploy_files
from app.services.users import create_user, get_user

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEMO_USERS = [
    # username, role, queues, full name
    ("admin", "admin", [], "Administrateur"),
    ("analyst", "analyst", [], "Analyste métier"),
    ("supervisor", "supervisor", ["supervisors"], "Superviseure"),
    ("agent", "agent", ["reception", "counter", "agents", "backoffice"], "Agent de guichet"),
    ("backoffice", "agent", ["backoffice", "agents"], "Agent back-office"),
    ("tech", "agent", ["technical"], "Équipe technique"),
    ("cashier", "cashier", ["cash_desk"], "Caissier"),
]
DEMO_PASSWORD = "guichet"


def deploy_paths(paths: list[Path], username: str) -> None:
    """Deploy files from disk as one deployment, printing what was created."""
    user = get_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}; create it with `guichet users create`")
    try:
        result = deploy_files([(p.name, p.read_bytes()) for p in paths], user)
        db.session.commit()
    except AppError as exc:
        db.session.rollback()
        details = "\n".join(f"  {e.get('file') or ''} {e.get('elementId') or e.get('field') or ''}: {e['message']}"
                            for e in exc.errors)
        raise click.ClickException(f"{exc.detail}\n{details}") from exc
    for definition in result.definitions:
        marker = "new" if definition in result.created else "unchanged"
        click.echo(f"{definition.key} v{definition.version} ({marker})")


def load_demo() -> None:
    """Demo users and the shipped process models; idempotent."""
    for username, role, queues, full_name in DEMO_USERS:
        create_user(username, DEMO_PASSWORD, role, queues, full_name)
    db.session.commit()
    files = sorted((PROJECT_ROOT / "bpmn").glob("*.bpmn")) + sorted((PROJECT_ROOT / "bpmn").glob("*.dmn"))
    files += sorted((PROJECT_ROOT / "forms").glob("*.json"))
    if files:
        deploy_paths(files, "admin")
    try:
        from app.services.demo_data import load_demo_data
    except ImportError:
        return
    load_demo_data()
    db.session.commit()
    from app.services.demo_cases import start_demo_cases

    # The open demo cases get their process instance (once the shipped processes are deployed).
    start_demo_cases()
    db.session.commit()
