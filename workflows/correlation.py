"""Message correlation keys and event start triggers, computed from a spec or a live instance.

The library routes messages inside one instance only; between instances the application matches
`message name + correlation key`. Keys come from, in order:
- a `correlationKey` property (spiff or camunda) on the catching element: a Python expression
  evaluated on the waiting task's data (e.g. `case_number`);
- the spiff correlation properties of the message: the instance's established correlations, else
  each retrieval expression evaluated on the task data (thrown messages: on their payload);
A thrown message may also name its key with a `correlationKey` entry of its payload.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from .views import LoadedSpec, ThrownEvent, WaitingView

log = logging.getLogger(__name__)

KEY_PROPERTY = "correlationKey"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StartTrigger:
    """A top-level start event that a message or a signal triggers."""

    type: str  # message | signal
    name: str
    element_id: str


def _format_key(value: Any) -> str | None:
    """A correlation value as the text stored on subscriptions (None when there is none)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    return str(value)[:MAX_KEY_LENGTH]


def _format_properties(values: dict[str, Any]) -> str | None:
    """One property: its value; several: `name=value` pairs in name order, `;`-separated."""
    if not values or any(v is None for v in values.values()):
        return None
    if len(values) == 1:
        return _format_key(next(iter(values.values())))
    return _format_key(";".join(f"{name}={values[name]}" for name in sorted(values)))


def _evaluate(script_engine: Any, expression: str, context: dict[str, Any]) -> Any:
    """Evaluate an expression in the restricted environment; None when it cannot be evaluated."""
    try:
        return script_engine.environment.evaluate(expression, dict(context))
    except Exception as exc:  # noqa: BLE001 - a missing variable means "no key yet", not a failure
        log.debug("correlation expression %r not evaluated: %s", expression, type(exc).__name__)
        return None


def _spec_of_element(task: Any, element_id: str) -> Any:
    """The task spec of an element in the waiting task's process (event-based gateways name their branch)."""
    if getattr(task.task_spec, "bpmn_id", None) == element_id:
        return task.task_spec
    for spec in task.workflow.spec.task_specs.values():
        if getattr(spec, "bpmn_id", None) == element_id:
            return spec
    return task.task_spec


def _message_definition(spec: Any, name: str) -> MessageEventDefinition | None:
    """A message event definition of that name on an element of the spec (or on an event-based gateway)."""
    definition = getattr(spec, "event_definition", None)
    for candidate in [definition, *getattr(definition, "event_definitions", [])]:
        if isinstance(candidate, MessageEventDefinition) and candidate.name == name:
            return candidate
    return None


def waiting_key(task: Any, element_id: str, name: str, script_engine: Any) -> str | None:
    """Correlation key of a message subscription held by a waiting task (None: any key matches)."""
    spec = _spec_of_element(task, element_id)
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    expression = properties.get(KEY_PROPERTY)
    if expression:
        return _format_key(_evaluate(script_engine, expression, task.data))
    definition = _message_definition(spec, name) or _message_definition(task.task_spec, name)
    if definition is None or not definition.correlation_properties:
        return None
    established = task.workflow.correlations
    values: dict[str, Any] = {}
    for prop in definition.correlation_properties:
        known = [keys.get(prop.name) for keys in established.values() if isinstance(keys, dict) and prop.name in keys]
        values[prop.name] = known[0] if known else _evaluate(script_engine, prop.retrieval_expression, task.data)
    return _format_properties(values)


def fill_correlation_keys(execution: Any, waiting: Iterable[WaitingView]) -> None:
    """Set correlation_key on the message subscriptions of a snapshot (in place)."""
    script_engine = execution.engine.script_engine
    for view in waiting:
        if view.type != "message" or view.task_id is None or view.correlation_key is not None:
            continue
        try:
            task = execution._find(view.task_id)
        except Exception:  # noqa: BLE001 - the view came from this execution; be lenient anyway
            log.debug("waiting task %s not found", view.task_id)
            continue
        view.correlation_key = waiting_key(task, view.element_id, view.name or "", script_engine)


def thrown_key(spec: LoadedSpec, event: ThrownEvent, script_engine: Any) -> str | None:
    """Correlation key of a message an instance throws: payload `correlationKey`, else spiff properties."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    explicit = _format_key(payload.get(KEY_PROPERTY))
    if explicit is not None:
        return explicit
    for process in [spec.spec, *spec.subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            definition = _message_definition(task_spec, event.name)
            if definition is not None and definition.correlation_properties:
                return _format_properties({prop.name: _evaluate(script_engine, prop.retrieval_expression, payload)
                                           for prop in definition.correlation_properties})
    return None


def start_triggers(spec: LoadedSpec) -> list[StartTrigger]:
    """Message and signal start events of the top-level process (what starts a new instance)."""
    triggers = []
    for task_spec in spec.spec.start.outputs:
        if not isinstance(task_spec, StartEvent):
            continue
        definition = getattr(task_spec, "event_definition", None)
        for candidate in [definition, *getattr(definition, "event_definitions", [])]:
            if isinstance(candidate, MessageEventDefinition):
                triggers.append(StartTrigger("message", candidate.name, task_spec.bpmn_id))
            elif isinstance(candidate, SignalEventDefinition):
                triggers.append(StartTrigger("signal", candidate.name, task_spec.bpmn_id))
    return triggers
