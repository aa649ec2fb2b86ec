"""Event helpers of an instance: timer due times and firing, error catching, payload merging."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    ItemAwareEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


def event_type(definition: Any) -> str:
    """'message' or 'signal' (others by class name) for a thrown event."""
    if isinstance(definition, MessageEventDefinition):
        return "message"
    if isinstance(definition, SignalEventDefinition):
        return "signal"
    return type(definition).__name__


def subscriptions(task: Task) -> list[tuple[Any, str]]:
    """(event definition, element id) pairs a waiting task listens to, event-based gateways expanded."""
    spec = task.task_spec
    definition = spec.event_definition
    own = getattr(spec, "bpmn_id", None) or spec.name
    if not isinstance(definition, MultipleEventDefinition):
        return [(definition, own)]
    pairs = []
    # An event-based gateway moves its branches' definitions onto itself, in the order of its outputs.
    outputs = spec.outputs if isinstance(spec, EventBasedGateway) else []
    for index, sub in enumerate(definition.event_definitions):
        target = outputs[index] if index < len(outputs) else None
        pairs.append((sub, getattr(target, "bpmn_id", None) or own))
    return pairs


def timer_due(task: Task, definition: Any) -> datetime | None:
    """Due time (UTC) of a waiting timer, from the value the library computed on the task."""
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            if not isinstance(value, dict) or value.get("cycles") == 0:
                return None
            return datetime.fromisoformat(value["next"])
        if isinstance(value, str) and not value.upper().startswith("P"):
            return TimerEventDefinition.parse_time_or_duration(value)
        return None
    except (ValueError, TypeError, KeyError):
        return None


def fire(task: Task, definition: Any) -> None:
    """Make a waiting timer fire now, whatever its due time."""
    if isinstance(definition, CycleTimerEventDefinition):
        value = task.internal_data.get("event_value")
        if isinstance(value, dict) and value.get("cycles") != 0:
            # Due "just now": the library then schedules the next cycle one period from now.
            value["next"] = (datetime.now(UTC) - timedelta(milliseconds=1)).isoformat()
            task._set_internal_data(event_value=value)
    else:
        # Duration/date timers (alone or inside an event-based gateway) read this flag in has_fired.
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


def absorb_payload(task: Task, definition: Any, payload: Any) -> None:
    """Merge an event payload into the task data when the diagram names no variable for it."""
    if not isinstance(definition, (ItemAwareEventDefinition, MessageEventDefinition)):
        return
    if getattr(definition, "message_var", None) or getattr(definition, "variable", None):
        return
    # The library would keep the payload in internal data forever: merge it as variables instead.
    task.internal_data.pop(definition.name, None)
    if isinstance(payload, dict):
        task.data.update(payload)
