"""The simplest operation: `noop` does nothing (benchmarks, placeholders while an integration is built)."""
from __future__ import annotations

from typing import Any

from app.services.operations import JobContext, operation


@operation("noop", retries=0, backoff_seconds=1.0)
def noop(ctx: JobContext) -> dict[str, Any]:
    """Do nothing; the service task completes with no new variables."""
    return {}
