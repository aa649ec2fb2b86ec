"""Compact, versioned instance state WITHOUT the spec (the spec is stored once per definition version)."""
from __future__ import annotations

import base64
import copy
import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .errors import WorkflowError
from .parser import AsyncServiceTask

FORMAT_VERSION = 1
SPEC_FORMAT_VERSION = 1
_SEPARATORS = (",", ":")


class StateFormatError(WorkflowError):
    """Stored state or spec JSON has an unknown format version or is corrupt."""


class AsyncServiceTaskConverter(ServiceTaskConverter):
    """Spec converter of AsyncServiceTask: the spiff service task fields plus the worker topic."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        """Serialize the task spec, adding its topic."""
        dct = super().to_dict(spec)
        dct["topic"] = spec.topic
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        """Rebuild the task spec (the result variable may be None for Camunda external tasks)."""
        result_variable = dct.get("result_variable")
        spec = self.task_spec_from_dict(dct)
        spec.result_variable = result_variable
        return spec


def make_spec_serializer() -> BpmnWorkflowSerializer:
    """A SpiffWorkflow serializer whose registry knows the spiff specs and AsyncServiceTask."""
    config = dict(SPIFF_CONFIG)
    config[AsyncServiceTask] = AsyncServiceTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def _short(uuid: UUID) -> str:
    """A task id in 22 characters (url-safe base64 of the 16 bytes) instead of 36."""
    return base64.urlsafe_b64encode(uuid.bytes).decode("ascii")[:22]


def _long(short: str) -> UUID:
    """Inverse of _short."""
    return UUID(bytes=base64.urlsafe_b64decode(short + "=="))


class StateSerializer:
    """Serialize a BpmnWorkflow's state (task tree, data, events) without its specs, compactly."""

    def __init__(self, registry: Any):
        self.registry = registry

    # ----- specs ---------------------------------------------------------------------------------
    def spec_to_json(self, spec: Any, embedded: dict[str, Any]) -> str:
        """JSON of one process spec and its embedded subprocess specs."""
        dct = {"v": SPEC_FORMAT_VERSION, "process": self.registry.convert(spec),
               "embedded": {name: self.registry.convert(sp) for name, sp in embedded.items()}}
        return json.dumps(dct, separators=_SEPARATORS)

    def spec_from_json(self, text: str) -> tuple[Any, dict[str, Any]]:
        """Rebuild (process spec, {embedded subprocess id: spec}) from spec_to_json output."""
        dct = json.loads(text)
        if not isinstance(dct, dict) or dct.get("v") != SPEC_FORMAT_VERSION:
            raise StateFormatError(f"unsupported spec format {dct.get('v') if isinstance(dct, dict) else '?'}")
        process = self.registry.restore(dct["process"])
        embedded = {name: self.registry.restore(sp) for name, sp in dct.get("embedded", {}).items()}
        return process, embedded

    # ----- state ---------------------------------------------------------------------------------
    def to_json(self, workflow: BpmnWorkflow) -> str:
        """Serialize the instance state (no spec) to compact JSON."""
        dct: dict[str, Any] = {"fv": FORMAT_VERSION}
        dct.update(self._workflow_to_dict(workflow))
        if workflow.subprocesses:
            dct["sp"] = {_short(task_id): self._workflow_to_dict(sp, sub=True)
                         for task_id, sp in workflow.subprocesses.items()}
        if workflow.bpmn_events:
            dct["ev"] = self.registry.convert(workflow.bpmn_events)
        return json.dumps(dct, separators=_SEPARATORS)

    def from_json(self, text: str, spec: Any, subprocess_specs: dict[str, Any],
                  script_engine: Any) -> BpmnWorkflow:
        """Rebuild a workflow from to_json output, its (cached) spec and the script engine."""
        try:
            dct = json.loads(text)
        except ValueError as exc:
            raise StateFormatError(f"state is not JSON: {exc}") from None
        if not isinstance(dct, dict) or dct.get("fv") != FORMAT_VERSION:
            raise StateFormatError(f"unsupported state format {dct.get('fv') if isinstance(dct, dict) else '?'}")
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        self._workflow_from_dict(workflow, dct, workflow)
        pending = dict(dct.get("sp", {}))
        # Parents before children: a subprocess is rebuilt once the task that owns it exists.
        while pending:
            progressed = False
            for key in list(pending):
                task_id = _long(key)
                owner = workflow.get_task_from_id(task_id) if _has_task(workflow, task_id) else None
                if owner is None:
                    continue
                sp_dct = pending.pop(key)
                sp_spec = subprocess_specs.get(owner.task_spec.spec)
                if sp_spec is None:
                    raise StateFormatError(f"no spec for subprocess {owner.task_spec.spec}")
                sub = BpmnSubWorkflow(sp_spec, task_id, workflow, deserializing=True)
                self._workflow_from_dict(sub, sp_dct, workflow)
                workflow.subprocesses[task_id] = sub
                sub.completed_event.connect(owner.task_spec._on_subworkflow_completed, owner)
                progressed = True
            if not progressed:
                raise StateFormatError("subprocess state without an owning task")
        if "ev" in dct:
            workflow.bpmn_events = self.registry.restore(dct["ev"])
        return workflow

    def _workflow_to_dict(self, wf: Any, sub: bool = False) -> dict[str, Any]:
        """Attributes shared by the top workflow and subprocesses; defaults are omitted."""
        dct: dict[str, Any] = {"t": self._task_to_dict(wf.task_tree)}
        if wf.data:
            dct["d"] = self.registry.convert(wf.data)
        if wf.correlations:
            dct["c"] = wf.correlations
        if wf.last_task is not None:
            dct["lt"] = _short(wf.last_task.id)
        if not wf.success:
            dct["ok"] = False
        if wf.completed:
            dct["done"] = True
        return dct

    def _task_to_dict(self, task: Task) -> dict[str, Any]:
        """One task and its children, nested (no parent pointers, ids stored once)."""
        dct: dict[str, Any] = {"i": _short(task.id), "s": task.task_spec.name, "st": task._state,
                               # milliseconds are plenty for ordering state changes
                               "ts": round(task.last_state_change, 3)}
        if task.triggered:
            dct["tr"] = True
        if task.internal_data:
            dct["in"] = self.registry.convert(task.internal_data)
        parent = task.parent
        data = task.data
        if data:
            if parent is not None and parent.data:
                if data == parent.data:
                    dct["="] = 1
                else:
                    updates = {k: v for k, v in data.items() if k not in parent.data or parent.data[k] != v}
                    deletions = [k for k in parent.data if k not in data]
                    if len(updates) + len(deletions) < len(data):
                        if updates:
                            dct["u"] = self.registry.convert(updates)
                        if deletions:
                            dct["x"] = deletions
                        if not updates and not deletions:
                            dct["="] = 1
                    else:
                        dct["d"] = self.registry.convert(data)
            else:
                dct["d"] = self.registry.convert(data)
        children = task.children
        if children:
            dct["k"] = [self._task_to_dict(child) for child in children]
        return dct

    def _workflow_from_dict(self, wf: Any, dct: dict[str, Any], top: BpmnWorkflow) -> None:
        """Restore tasks and attributes into a freshly created (deserializing) workflow."""
        wf.task_tree = self._task_from_dict(dct["t"], wf, None, top)
        wf.data = self.registry.restore(dct["d"]) if "d" in dct else {}
        wf.correlations = dct.get("c", {})
        wf.last_task = wf.tasks.get(_long(dct["lt"])) if "lt" in dct else None
        wf.success = dct.get("ok", True)
        wf.completed = dct.get("done", False)

    def _task_from_dict(self, dct: dict[str, Any], wf: Any, parent: Task | None, top: BpmnWorkflow) -> Task:
        """Rebuild one task (then its children) as SpiffWorkflow's own converter does."""
        task_spec = wf.spec.task_specs.get(dct["s"])
        if task_spec is None:
            raise StateFormatError(f"task spec {dct['s']} not in spec {wf.spec.name}")
        task = Task(wf, task_spec, state=dct["st"], id=_long(dct["i"]))
        task._parent = parent.id if parent is not None else None
        task.last_state_change = dct["ts"]
        task.triggered = dct.get("tr", False)
        task.internal_data = self.registry.restore(dct["in"]) if "in" in dct else {}
        if "d" in dct:
            task.data = self.registry.restore(dct["d"])
        elif parent is not None and ("=" in dct or "u" in dct or "x" in dct):
            data = copy.deepcopy(parent.data)
            if "u" in dct:
                data.update(self.registry.restore(dct["u"]))
            for key in dct.get("x", ()):
                data.pop(key, None)
            task.data = data
        else:
            task.data = {}
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            top.event_manager.add_task(task)
        children = [self._task_from_dict(child, wf, task, top) for child in dct.get("k", ())]
        task._children = [child.id for child in children]
        return task


def _has_task(workflow: BpmnWorkflow, task_id: UUID) -> bool:
    """True when the top workflow or one of its subprocesses holds that task."""
    if task_id in workflow.tasks:
        return True
    return any(task_id in sp.tasks for sp in workflow.subprocesses.values())


def is_subworkflow_task(task_spec: Any) -> bool:
    """True for call activities and embedded subprocesses."""
    return isinstance(task_spec, SubWorkflowTask)
