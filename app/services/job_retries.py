"""How often and how soon a failed job runs again: the diagram's `retries`, else the operation's default."""
from __future__ import annotations

import random

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDefinition
from app.services.operations import get_operation

MAX_BACKOFF_SECONDS = 3600.0
# Internal topics deliver messages and signals an instance threw: (retries, backoff base seconds).
INTERNAL_POLICIES = {"bpmn.message": (5, 1.0), "bpmn.signal": (3, 2.0)}


def backoff_delay(base: float, attempt: int) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): base x 2^(attempt-1), +-10 % jitter, capped."""
    delay = min(base * (2 ** max(attempt - 1, 0)), MAX_BACKOFF_SECONDS)
    return delay * random.uniform(0.9, 1.1)


def retry_policy(topic: str, definition_id: int | None, element_id: str,
                 checksum: str | None = None) -> tuple[int, float]:
    """(retries, backoff base seconds): the diagram's `retries` wins over the operation's default."""
    if topic in INTERNAL_POLICIES:
        return INTERNAL_POLICIES[topic]
    op = get_operation(topic)
    retries, backoff = (op.retries, op.backoff_seconds) if op else (3, 10.0)
    diagram = _diagram_retries(definition_id, checksum) if definition_id is not None else {}
    if diagram.get(element_id) is not None:
        retries = int(diagram[element_id])  # type: ignore[arg-type]
    return max(retries, 0), backoff


_retries_cache: dict[tuple[int, str], dict[str, int | None]] = {}


def _diagram_retries(definition_id: int, checksum: str | None) -> dict[str, int | None]:
    """`retries` of each service task of a definition (cached: a deployed definition never changes)."""
    if checksum is not None and (definition_id, checksum) in _retries_cache:
        return _retries_cache[(definition_id, checksum)]
    row = db.session.execute(select(ProcessDefinition.model, ProcessDefinition.checksum)
                             .where(ProcessDefinition.id == definition_id)).one_or_none()
    if row is None:
        return {}
    found = {t["element_id"]: t.get("retries") for t in (row.model or {}).get("service_tasks", [])}
    # Keyed by checksum too: a database emptied and refilled (tests, restores) reuses ids.
    _retries_cache[(definition_id, row.checksum)] = found
    return found
