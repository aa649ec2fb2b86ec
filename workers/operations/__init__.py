"""Operations workers run for service tasks, registered by topic (contract: app/services/operations.py).

Every module of this package is loaded by `load_operations` (create_app does it through
`workers.celery_app`): adding a module with `@operation("my.topic")` functions is enough for
deployments to accept that topic and for workers to run it. Modules outside the package (tests,
plug-ins) are listed in GUICHET_OPERATION_MODULES.

Built in: `noop`, `notify` (e-mail through SMTP with an outbox), `http` (call a URL), `pdf.render`.
"""
from __future__ import annotations

import pkgutil
from collections.abc import Iterable

from app.services.operations import load_operation_modules


def load_operations(extra: str | Iterable[str] = "") -> None:
    """Import the built-in operation modules and any extra ones (comma-separated or a list)."""
    names = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)]
    extras = extra.split(",") if isinstance(extra, str) else list(extra)
    load_operation_modules([*names, *extras])
