"""Every setting of Guichet, each read from a GUICHET_* environment variable."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One configuration entry: its name in app.config, env var, default and meaning."""

    name: str
    default: Any
    help: str
    cast: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return f"GUICHET_{self.name}"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


SETTINGS: tuple[Setting, ...] = (
    Setting("DATA_DIR", "var", "Folder of the embedded default: SQLite file, broker tables, object files."),
    Setting("DATABASE_URL", "", "SQLAlchemy URL; empty means sqlite:///<DATA_DIR>/guichet.db."),
    Setting("BROKER_URL", "", "Celery broker; empty means the database itself (kombu SQLAlchemy transport)."),
    Setting("RESULT_BACKEND", "", "Celery result backend; empty means none (results go to the database)."),
    Setting("SECRET_KEY", "dev-only-change-me", "Signs sessions, CSRF tokens and API tokens. Set it in production."),
    Setting("TOKEN_TTL_SECONDS", 8 * 3600, "Lifetime of an API bearer token.", int),
    Setting("MAX_UPLOAD_BYTES", 25 * 1024 * 1024, "Largest accepted document upload (413 above).", int),
    Setting("MAX_DEPLOYMENT_BYTES", 10 * 1024 * 1024, "Largest accepted deployment request.", int),
    Setting("MAX_JSON_BYTES", 1024 * 1024, "Largest accepted JSON body.", int),
    Setting("MAX_INSTANCE_TASKS", 2000, "Task-tree size above which an instance raises an incident.", int),
    Setting("S3_ENDPOINT", "", "host:port of MinIO / S3; empty means files under DATA_DIR/objects."),
    Setting("S3_ACCESS_KEY", "", "S3 access key."),
    Setting("S3_SECRET_KEY", "", "S3 secret key."),
    Setting("S3_BUCKET", "guichet", "S3 bucket for documents."),
    Setting("S3_SECURE", False, "Use HTTPS to reach S3.", _bool),
    Setting("S3_REGION", "", "S3 region (optional)."),
    Setting("OFFICE_CODE", "HQ", "Office code printed on receipts; receipt numbers are gap-free per office and year."),
    Setting("INSTITUTION_NAME", "Caisse Nationale de Sécurité Sociale", "Name printed on receipts and certificates."),
    Setting("PAYMENT_DEBTOR_IBAN", "FR7630001007941234567890185",
            "The institution's account that benefit transfers (pain.001 files) are paid from."),
    Setting("PAYMENT_DEBTOR_BIC", "BDFEFRPPCCT", "BIC of the bank holding PAYMENT_DEBTOR_IBAN."),
    Setting("PAYMENT_CURRENCY", "EUR", "ISO 4217 currency of benefit payments (pain.001 amounts)."),
    Setting("SMTP_HOST", "127.0.0.1", "SMTP server for notifications."),
    Setting("SMTP_PORT", 8025, "SMTP port.", int),
    Setting("MAIL_FROM", "guichet@localhost", "Sender of notification e-mails."),
    Setting("SMTP_USERNAME", "", "SMTP login (empty: no authentication)."),
    Setting("SMTP_PASSWORD", "", "SMTP password."),
    Setting("SMTP_STARTTLS", False, "Upgrade the SMTP connection with STARTTLS.", _bool),
    Setting("OCR_LANGUAGES", "fra+eng", "Tesseract languages."),
    Setting("LOG_LEVEL", "INFO", "Logging level."),
    Setting("CELERY_EAGER", False, "Run Celery tasks in-process (tests of single components only).", _bool),
    Setting("SWEEP_INTERVAL_SECONDS", 1.0, "How often beat runs the sweeper (due timers, jobs never taken).", float),
    Setting("JOB_LEASE_SECONDS", 30.0, "A running job's lease, renewed while it runs; expired: its worker died.", float),
    Setting("JOB_SEND_TIMEOUT_SECONDS", 300.0, "A job sent to the broker but never taken is sent again after this.",
            float),
    Setting("JOB_DISPATCH_GRACE_SECONDS", 10.0, "A committed job still unsent after this is sent by the sweeper.",
            float),
    Setting("OPERATION_MODULES", "", "Extra modules (comma separated) registering worker operations by topic."),
    Setting("CELERY_QUEUE", "celery", "Broker queue of the tasks (deployments sharing a broker use one each)."),
    Setting("HTTP_ALLOWED_HOSTS", "", "Hosts the `http` operation may call (comma separated; empty: any)."),
    Setting("REQUIRE_SERVICES", False, "Tests: fail instead of skip when PostgreSQL/Redis are missing.", _bool),
)


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from defaults, GUICHET_* env vars and explicit overrides."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = os.environ.get(setting.env)
        values[setting.name] = setting.cast(raw) if raw not in (None, "") else setting.default
    values.update(overrides or {})
    data_dir = Path(values["DATA_DIR"]).resolve()
    values["DATA_DIR"] = str(data_dir)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{data_dir / 'guichet.db'}"
    if not values["BROKER_URL"]:
        values["BROKER_URL"] = "sqla+" + values["DATABASE_URL"].replace("+psycopg", "")
    values["SQLALCHEMY_DATABASE_URI"] = values["DATABASE_URL"]
    values["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
    values["MAX_CONTENT_LENGTH"] = max(values["MAX_UPLOAD_BYTES"], values["MAX_DEPLOYMENT_BYTES"]) + 64 * 1024
    values["SECRET_KEY"] = values["SECRET_KEY"]
    values["WTF_CSRF_TIME_LIMIT"] = None
    values["JSON_SORT_KEYS"] = False
    return values


def settings_table() -> str:
    """Markdown table of the settings, for the README."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.env}` | `{s.default}` | {s.help} |")
    return "\n".join(rows)
