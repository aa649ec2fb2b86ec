"""The contract between the job runner and the operations workers run, and the registry by topic.

An operation is a function `(JobContext) -> result` registered for a topic with `@operation(...)`.
The operations themselves live in `workers/operations/` (they register when that package is
loaded, which `create_app` does through `workers.celery_app`); the app only knows this registry,
so deployments can refuse diagrams naming a topic nobody runs.

Rules every operation follows:
- it is idempotent, keyed by `ctx.job_id`: a job whose worker died is run again, and the effect
  must not happen twice (look the job id up in your outbox, or send it as an idempotency key);
- it raises `JobError(code, message)` for a business error the diagram may catch with an error
  boundary event (`code` becomes the BPMN error code, no retry unless `retry=True`); any other
  exception is a technical failure, retried with exponential backoff;
- its result is JSON: with a spiff `resultVariable` it is stored under that name, otherwise (the
  Camunda external-task form) it must be a dict of variables merged into the instance.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

INTERNAL_PREFIX = "bpmn."


class JobError(Exception):
    """A failure with a BPMN error code; business errors are not retried unless retry=True."""

    def __init__(self, code: str, message: str, *, retry: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry = retry


@dataclass(frozen=True)
class JobContext:
    """What an operation gets: the job's identity (its idempotency key), its input and the settings."""

    job_id: int
    instance_id: int
    element_id: str
    topic: str
    attempt: int
    input: dict[str, Any]
    business_key: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """A stable key for external systems that deduplicate requests."""
        return f"guichet-job-{self.job_id}"


@dataclass(frozen=True)
class Operation:
    """One registered operation and its retry policy (the diagram's `retries` wins over `retries`)."""

    topic: str
    func: Callable[[JobContext], Any]
    retries: int = 3
    backoff_seconds: float = 10.0
    description: str = ""


_REGISTRY: dict[str, Operation] = {}


def operation(topic: str, *, retries: int = 3, backoff_seconds: float = 10.0,
              description: str = "") -> Callable[[Callable[[JobContext], Any]], Callable[[JobContext], Any]]:
    """Decorator registering a function as the operation of a topic."""

    def register(func: Callable[[JobContext], Any]) -> Callable[[JobContext], Any]:
        register_operation(Operation(topic, func, retries, backoff_seconds, description or (func.__doc__ or "")))
        return func

    return register


def register_operation(op: Operation) -> None:
    """Add (or replace) the operation of a topic; internal `bpmn.*` topics are reserved."""
    if not op.topic or op.topic.startswith(INTERNAL_PREFIX):
        raise ValueError(f"invalid operation topic {op.topic!r}")
    _REGISTRY[op.topic] = op


def unregister_operation(topic: str) -> None:
    """Forget the operation of a topic (tests)."""
    _REGISTRY.pop(topic, None)


def get_operation(topic: str) -> Operation | None:
    """The operation registered for a topic, or None."""
    return _REGISTRY.get(topic)


def known_topics() -> list[str]:
    """Every registered topic, sorted."""
    return sorted(_REGISTRY)


def load_operation_modules(modules: Iterable[str]) -> None:
    """Import modules that register operations (idempotent: Python imports each once)."""
    for name in modules:
        name = name.strip()
        if name:
            importlib.import_module(name)


def unknown_topic_errors(models: Iterable[Any]) -> list[dict[str, Any]]:
    """One problem entry per service task whose topic no operation serves (for a 422)."""
    errors = []
    for model in models:
        for task in model.service_tasks:
            if task.topic and get_operation(task.topic) is None:
                errors.append({"file": model.file, "elementId": task.element_id,
                               "message": f"no worker operation for topic {task.topic!r} "
                                          f"(known: {', '.join(known_topics()) or 'none'})"})
    return errors
