"""Celery over the database (the embedded default): kombu's SQLAlchemy transport, made usable.

kombu hands every transport option to `create_engine`, so the options Celery needs
(`polling_interval`, or Redis' `visibility_timeout`) break it. This subclass keeps only the
engine options, polls every 0.1 s instead of 1 s (a job step should not wait a second), and
gives SQLite a busy timeout so web, worker and beat can share one file. `celery_init_app`
registers it for `sqla+...` broker URLs.
"""
from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy import create_engine

# Options of ours or of other transports that create_engine must not see.
_NOT_ENGINE_OPTIONS = {"queue_tablename", "message_tablename", "callback", "errback", "max_retries",
                       "interval_start", "interval_step", "interval_max", "retry_errors", "polling_interval",
                       "visibility_timeout", "connect_retries_timeout"}
DEFAULT_POLLING_INTERVAL = 0.1


class Channel(kombu_sqla.Channel):
    """kombu's channel, building its engine from engine options only."""

    def _engine_from_config(self) -> Any:
        conninfo = self.connection.client
        options = {k: v for k, v in conninfo.transport_options.items() if k not in _NOT_ENGINE_OPTIONS}
        if conninfo.hostname.startswith("sqlite"):
            options.setdefault("connect_args", {"timeout": 30})
        return create_engine(conninfo.hostname, **options)


class Transport(kombu_sqla.Transport):
    """kombu's SQLAlchemy transport with the channel above and a short polling interval."""

    Channel = Channel
    polling_interval = DEFAULT_POLLING_INTERVAL


def register() -> None:
    """Make `sqla+...` broker URLs use this transport (kombu resolves URL prefixes through its aliases)."""
    TRANSPORT_ALIASES["sqla"] = f"{__name__}:Transport"
    TRANSPORT_ALIASES["sqlalchemy"] = f"{__name__}:Transport"
