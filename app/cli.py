"""The `guichet` command: a Flask CLI group (run, web, worker, beat, users, deploy, demo, db)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.serving import run_simple

from app import create_app


def _create_app():  # type: ignore[no-untyped-def]
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Guichet: BPMN front and back office for social security institutions."""


def _upgrade_database() -> None:
    from flask_migrate import upgrade

    upgrade(directory=str(Path(current_app.root_path) / "migrations"), revision="heads")


def _celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.worker", *args]


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers/--no-workers", default=True, help="Also start one Celery worker and beat.")
@with_appcontext
def run_command(host: str, port: int, workers: bool) -> None:
    """Web + one Celery worker + beat together, on the embedded default unless configured otherwise."""
    _upgrade_database()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    children: list[subprocess.Popen[bytes]] = []
    if workers:
        data_dir = Path(app.config["DATA_DIR"])
        children.append(subprocess.Popen(_celery_command("worker", "--loglevel=INFO", "--concurrency=2",
                                                         "-Q", app.config["CELERY_QUEUE"])))
        children.append(subprocess.Popen(_celery_command("beat", "--loglevel=INFO",
                                                         f"--schedule={data_dir / 'celerybeat-schedule'}")))
    click.echo(f"Guichet on http://{host}:{port}/  (data in {app.config['DATA_DIR']})")
    try:
        # app.run() refuses to run under the flask CLI; the development server is started directly.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", "processes", default=2, show_default=True, type=click.IntRange(1),
              help="gunicorn processes")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1),
              help="threads per process (1: one request at a time per process, the least CPU per request)")
def web_command(host: str, port: int, processes: int, threads: int) -> None:
    """The web server alone (gunicorn), for production."""
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers",
                               str(processes), "--threads", str(threads), "--access-logfile", "-",
                               "app.wsgi:application"])


@main.command("worker", context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker_command(celery_args: tuple[str, ...]) -> None:
    """One Celery worker (extra arguments go to celery worker)."""
    os.execvp(sys.executable, _celery_command("worker", "--loglevel=INFO", *celery_args))


@main.command("beat", context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat_command(celery_args: tuple[str, ...]) -> None:
    """The scheduler (run exactly one)."""
    os.execvp(sys.executable, _celery_command("beat", "--loglevel=INFO", *celery_args))


@main.group("users")
def users_group() -> None:
    """Manage users, roles and queue memberships."""


@users_group.command("create")
@click.argument("name")
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "analyst", "supervisor", "agent", "cashier",
                                                           "worker"]))
@click.option("--queue", "queues", multiple=True, help="Queue membership (repeatable).")
@click.option("--full-name", default=None)
@with_appcontext
def users_create(name: str, password: str, role: str, queues: tuple[str, ...], full_name: str | None) -> None:
    """Create a user or update it (idempotent)."""
    from app.extensions import db
    from app.services.users import create_user

    user = create_user(name, password, role, list(queues), full_name)
    db.session.commit()
    click.echo(f"user {user.username} ({user.role}) queues: {', '.join(user.queue_names) or '-'}")


@main.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", default="admin", show_default=True, help="Deploying user (analyst or admin).")
@with_appcontext
def deploy_command(files: tuple[Path, ...], username: str) -> None:
    """Deploy BPMN/DMN/form files as one deployment."""
    from app.cli_support import deploy_paths

    deploy_paths(list(files), username)


@main.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo users, the shipped diagrams (bpmn/, forms/) and demo data."""
    from app.cli_support import load_demo

    _upgrade_database()
    load_demo()


@main.command("bench-data")
@click.option("--open-tasks", type=int, required=True, help="Open human tasks to create.")
@click.option("--instances", type=int, default=None, help="Instances in all (default: twice the open tasks).")
@click.option("--queues", type=int, default=50, show_default=True)
@click.option("--as", "username", default="admin", show_default=True, help="Deploying user.")
@with_appcontext
def bench_data_command(open_tasks: int, instances: int | None, queues: int, username: str) -> None:
    """Fill the configured database with realistic instances and open tasks (scale tests)."""
    import time

    from app.services.bench_data import generate_bench_data
    from app.services.users import get_user

    _upgrade_database()
    user = get_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}; run `guichet demo` or `guichet users create` first")
    started = time.perf_counter()
    generate_bench_data(open_tasks, instances, queues, user, progress=click.echo)
    click.echo(f"in {time.perf_counter() - started:.1f} s")


@main.command("shell")
@with_appcontext
def shell_command() -> None:
    """A Python shell in the application context."""
    import code

    code.interact(local={"app": current_app, **current_app.make_shell_context()})


if __name__ == "__main__":
    main()
