"""Plain dataclasses the engine hands to the app: deployment models and instance snapshots."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .routing import ServiceTaskInfo, UserTaskInfo


@dataclass
class ProcessModel:
    """One deployable process of a deployment, with everything the app stores per definition version."""

    key: str
    name: str
    file: str
    spec: str
    called_processes: list[str] = field(default_factory=list)
    # Called process id -> the version a call activity is pinned to (absent: the latest at run time).
    called_versions: dict[str, int] = field(default_factory=dict)
    user_tasks: list[UserTaskInfo] = field(default_factory=list)
    service_tasks: list[ServiceTaskInfo] = field(default_factory=list)
    generated_forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    searchable_variables: list[str] = field(default_factory=list)
    element_ids: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    dmn: dict[str, str] = field(default_factory=dict)
    # Extra: message / signal names the process waits on or starts with (for subscriptions).
    messages: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    timers: list[str] = field(default_factory=list)


@dataclass
class LoadedSpec:
    """A process spec rebuilt from JSON with every subprocess spec it needs (cache it per version)."""

    key: str
    spec: Any
    subprocess_specs: dict[str, Any]
    # Spec name (embedded subprocesses included) -> the deployed process id it belongs to.
    owners: dict[str, str] = field(default_factory=dict)


@dataclass
class UserTaskView:
    """A READY user/manual task."""

    task_id: str
    element_id: str
    name: str | None
    queue: str | None
    form_key: str | None
    priority: int
    due_in: str | None
    data: dict[str, Any]
    # Extra: when the task became ready + due_in (UTC), and the spiff form file names.
    due_at: datetime | None = None
    form_file: str | None = None
    ui_form_file: str | None = None
    process_id: str | None = None
    instructions: str | None = None


@dataclass
class JobView:
    """A parked (STARTED) service task waiting for a worker's result."""

    task_id: str
    element_id: str
    name: str | None
    topic: str | None
    input: dict[str, Any]
    retries: int | None
    # Extra: spiff retry backoff base (seconds) when the diagram sets one.
    retry_backoff_base: int | None = None


@dataclass
class WaitingView:
    """Something the instance waits on besides human tasks and jobs."""

    type: str
    name: str | None
    element_id: str
    due_at: datetime | None = None
    correlation_key: str | None = None
    # Extra: the waiting task's id.
    task_id: str | None = None


@dataclass
class ThrownEvent:
    """A message or signal thrown by the instance that nothing inside it caught."""

    type: str
    name: str
    payload: Any


@dataclass
class Snapshot:
    """Everything the app writes after advancing an instance, in one transaction."""

    state: str
    completed: bool
    variables: dict[str, Any]
    user_tasks: list[UserTaskView]
    jobs: list[JobView]
    waiting: list[WaitingView]
    active_element_ids: list[str]
    completed_element_ids: list[str]
    thrown: list[ThrownEvent]
    task_count: int
    # Extra: True when the instance ended through an error/terminate end event.
    cancelled: bool = False
