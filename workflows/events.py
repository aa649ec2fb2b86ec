"""Event helpers of an instance: timer due times and firing, error catching, payload merging."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    ItemAwareEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


def event_type(definition: Any) -> str:
    """'message' or 'signal' (others by class name) for a thrown event."""
    if isinstance(definition, MessageEventDefinition):
        return "message"
    if isinstance(definition, SignalEventDefinition):
        return "signal"
    return type(definition).__name__


def timer_due(task: Task) -> datetime | None:
    """Due time (UTC) of a waiting timer task, from the value the library computed."""
    definition = task.task_spec.event_definition
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            if not isinstance(value, dict) or value.get("cycles") == 0:
                return None
            return datetime.fromisoformat(value["next"])
        return TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) and not \
            value.upper().startswith("P") else TimerEventDefinition.get_datetime(value)
    except (ValueError, TypeError, KeyError):
        return None


def fire(task: Task) -> None:
    """Make a waiting timer fire now, whatever its due time."""
    definition = task.task_spec.event_definition
    if isinstance(definition, CycleTimerEventDefinition):
        value = task.internal_data.get("event_value")
        if isinstance(value, dict) and value.get("cycles") != 0:
            value["next"] = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
            task._set_internal_data(event_value=value)
    else:
        task._set_internal_data(event_fired=True)
    task.task_spec._update(task)


def error_catcher(task: Task, error_code: str) -> Task | None:
    """The waiting error boundary event attached to task that catches error_code (or catches all)."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    candidates = []
    for sibling in parent.children:
        definition = getattr(sibling.task_spec, "event_definition", None)
        if sibling is task or not isinstance(definition, ErrorEventDefinition):
            continue
        if sibling.state != TaskState.WAITING:
            continue
        if definition.code == error_code:
            return sibling
        if not definition.code:
            candidates.append(sibling)
    return candidates[0] if candidates else None


def absorb_payload(task: Task, definition: Any) -> None:
    """Merge an event payload into the task data when the diagram names no variable for it."""
    if not isinstance(definition, (ItemAwareEventDefinition, MessageEventDefinition)):
        return
    named = getattr(definition, "message_var", None) or getattr(definition, "variable", None)
    if named:
        return
    payload = task.internal_data.pop(definition.name, None)
    if isinstance(payload, dict):
        task.data.update(payload)
