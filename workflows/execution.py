"""One process instance being advanced: guarded stepping, task completion, jobs, timers, events, snapshot."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .errors import (
    EngineStalledError,
    NoTimerWaitingError,
    TaskLimitError,
    TaskNotFoundError,
    TaskNotReadyError,
    WorkflowError,
    WorkflowScriptError,
)
from .events import absorb_payload, error_catcher, event_type, fire, subscriptions, timer_due
from .parser import AsyncServiceTask
from .routing import due_at, route_user_task
from .views import JobView, LoadedSpec, Snapshot, ThrownEvent, UserTaskView, WaitingView

if TYPE_CHECKING:
    from .engine import WorkflowEngine

_ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING


class Execution:
    """A live BpmnWorkflow with the guards and conveniences the app needs."""

    def __init__(self, engine: WorkflowEngine, spec: LoadedSpec, workflow: BpmnWorkflow):
        self.engine = engine
        self.spec = spec
        self.workflow = workflow

    # ----- stepping ------------------------------------------------------------------------------
    def all_tasks(self) -> Iterator[Task]:
        """Every task of the instance and its subprocesses, without the iterator's depth limit."""
        yield from self.workflow.tasks.values()
        for sub in self.workflow.subprocesses.values():
            yield from sub.tasks.values()

    def task_count(self) -> int:
        """Number of tasks in the instance's trees (completed ones included)."""
        return len(self.workflow.tasks) + sum(len(sp.tasks) for sp in self.workflow.subprocesses.values())

    def run(self) -> None:
        """Run automatic tasks until the instance waits; guard against the depth trap and runaway trees."""
        limit = self.engine.max_tasks

        def guard(task: Task) -> None:
            # Called after every automatic task: stop a runaway loop early instead of growing forever.
            if self.task_count() > limit:
                raise TaskLimitError(f"instance exceeds {limit} tasks (last element {_element(task)})")

        previous: set[str] | None = None
        for _attempt in range(5):
            try:
                self.workflow.do_engine_steps(did_complete_task=guard)
            except WorkflowError:
                raise
            except Exception as exc:
                raise _script_error(exc) from exc
            if self.task_count() > limit:
                raise TaskLimitError(f"instance exceeds {limit} tasks")
            stuck = [t for t in self.all_tasks() if t.state == TaskState.READY and not t.task_spec.manual]
            # Some steps leave work READY at their very end (a cycle timer after its last firing): another
            # pass runs it. The depth trap makes no progress at all: the same tasks stay READY.
            ids_now = {str(t.id) for t in stuck}
            if not stuck or ids_now == previous:
                break
            previous = ids_now
        if stuck:
            ids = sorted({_element(t) for t in stuck})
            raise EngineStalledError(
                f"automatic tasks stay READY after stepping ({', '.join(ids)}): the task tree is too deep "
                f"({self.task_count()} tasks); loop iterations must be bounded or moved to call activities")

    def find_task(self, task_id: str) -> Task:
        """The SpiffWorkflow task with that id (str uuid), subprocesses included; TaskNotFoundError otherwise."""
        return self._find(task_id)

    def _find(self, task_id: str) -> Task:
        """Task by id (str uuid) in the instance or its subprocesses; TaskNotFoundError otherwise."""
        try:
            uuid = UUID(str(task_id))
        except ValueError:
            raise TaskNotFoundError(f"invalid task id {task_id!r}") from None
        task = self.workflow.tasks.get(uuid)
        if task is None:
            for sub in self.workflow.subprocesses.values():
                task = sub.tasks.get(uuid)
                if task is not None:
                    break
        if task is None:
            raise TaskNotFoundError(f"no task {task_id} in this instance")
        return task

    def complete_user_task(self, task_id: str, data: dict[str, Any]) -> None:
        """Merge data into a READY user/manual task and complete it (call run() afterwards)."""
        task = self._find(task_id)
        if not task.task_spec.manual:
            raise TaskNotReadyError(f"task {task_id} ({_element(task)}) is not a user task")
        if task.state != TaskState.READY:
            raise TaskNotReadyError(f"task {task_id} is {TaskState.get_name(task.state)}, not READY")
        task.data.update(data or {})
        self._guarded(task.run)

    def deliver_job_result(self, task_id: str, result: dict[str, Any] | None) -> None:
        """Complete a parked service task with the worker's result (call run() afterwards)."""
        task = self._job(task_id)
        spec = task.task_spec
        if spec.result_variable:
            task.data[spec.result_variable] = result
        elif result:
            if not isinstance(result, dict):
                raise TaskNotReadyError("a Camunda external task result must be a dict of variables")
            task.data.update(result)
        self._guarded(task.complete)

    def fail_job(self, task_id: str, error_code: str, message: str) -> bool:
        """Throw a BPMN error from a parked service task; True when a boundary event catches it."""
        task = self._job(task_id)
        payload = {"errorCode": error_code, "errorMessage": message}
        current: Task | None = task
        while current is not None:
            catcher = error_catcher(current, error_code)
            if catcher is not None:
                definition = catcher.task_spec.event_definition
                event = BpmnEvent(type(definition)(definition.name, code=error_code), payload=payload,
                                  target=catcher.workflow)
                self._guarded(lambda c=catcher, ev=event: (c.task_spec.catch(c, ev), c.task_spec._update(c)))
                absorb_payload(catcher, definition, payload)
                return True
            owner = current.workflow.parent_task_id
            current = self.workflow.get_task_from_id(owner) if owner is not None else None
        return False

    def _job(self, task_id: str) -> Task:
        """A STARTED AsyncServiceTask by id."""
        task = self._find(task_id)
        if not isinstance(task.task_spec, AsyncServiceTask):
            raise TaskNotReadyError(f"task {task_id} ({_element(task)}) is not a service task")
        if task.state != TaskState.STARTED:
            raise TaskNotReadyError(f"service task {task_id} is {TaskState.get_name(task.state)}, not parked")
        return task

    def _guarded(self, fn: Any) -> Any:
        """Run fn, turning library/script failures into WorkflowScriptError."""
        try:
            return fn()
        except WorkflowError:
            raise
        except Exception as exc:
            raise _script_error(exc) from exc

    # ----- timers and events ---------------------------------------------------------------------
    def _waiting_tasks(self) -> list[Task]:
        """Catching-event tasks registered with the event manager (WAITING)."""
        return list(self.workflow.event_manager.tasks.values())

    def _timers(self) -> list[tuple[Task, Any, str]]:
        """(task, timer definition, element id) of every waiting timer."""
        return [(task, definition, element_id) for task in self._waiting_tasks()
                for definition, element_id in subscriptions(task) if isinstance(definition, TimerEventDefinition)]

    def fire_timer(self, element_id: str) -> None:
        """Fire the timer waiting at element_id now (call run() afterwards)."""
        timers = [(task, definition) for task, definition, element in self._timers() if element == element_id]
        if not timers:
            raise NoTimerWaitingError(f"no timer waits at {element_id}")
        for task, definition in timers:
            self._guarded(lambda task=task, definition=definition: fire(task, definition))

    def fire_due_timers(self, now: datetime) -> list[str]:
        """Fire every waiting timer due at or before now; returns the element ids fired (run() afterwards)."""
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        fired = []
        for task, definition, element_id in self._timers():
            due = timer_due(task, definition)
            if due is not None and due <= now and task.state == TaskState.WAITING:
                self._guarded(lambda task=task, definition=definition: fire(task, definition))
                fired.append(element_id)
        self._guarded(self.workflow.refresh_timers)
        return fired

    def correlate_message(self, name: str, payload: dict[str, Any] | None) -> bool:
        """Deliver a message to this instance's waiting catch event / receive task of that name."""
        return self._deliver(MessageEventDefinition, name, payload or {})

    def broadcast_signal(self, name: str, payload: dict[str, Any] | None) -> bool:
        """Deliver a signal to this instance's waiting catch events of that name."""
        return self._deliver(SignalEventDefinition, name, payload or {})

    def _deliver(self, kind: type[Any], name: str, payload: dict[str, Any]) -> bool:
        """Catch an external message/signal in the waiting tasks that match it."""
        waiting = [(task, definition) for task in self._waiting_tasks() for definition, _ in subscriptions(task)
                   if isinstance(definition, kind) and definition.name == name]
        if not waiting:
            return False
        # Routing to the right instance is the app's job: reuse the instance's own correlations.
        event = BpmnEvent(type(waiting[0][1])(name), payload=payload, correlations=dict(self.workflow.correlations))
        try:
            self._guarded(lambda: self.workflow.send_event(event))
        except WorkflowScriptError as exc:
            if isinstance(exc.__cause__, WorkflowException) and "not waiting" in str(exc.__cause__):
                return False
            raise
        for task, definition in waiting:
            if task.state != TaskState.WAITING:
                absorb_payload(task, definition, payload)
        return True

    def cancel(self) -> None:
        """Cancel the instance (every unfinished task is cancelled)."""
        self._guarded(self.workflow.cancel)

    # ----- snapshot ------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """State (without spec) plus the projections the app writes; consumes thrown events."""
        wf = self.workflow
        thrown = [ThrownEvent(event_type(e.event_definition), e.event_definition.name, e.payload)
                  for e in wf.get_events()]
        user_tasks, jobs, active, completed_tasks = [], [], [], []
        for task in self.all_tasks():
            state = task.state
            if state == TaskState.COMPLETED:
                completed_tasks.append(task)
                continue
            if not state & _ACTIVE:
                continue
            element_id = getattr(task.task_spec, "bpmn_id", None)
            # A boundary event waiting on its activity is a subscription, not an active element.
            if element_id is not None and not (state == TaskState.WAITING and isinstance(task.task_spec, BoundaryEvent)):
                active.append(element_id)
            if state == TaskState.READY and task.task_spec.manual:
                user_tasks.append(self._user_task_view(task))
            elif state == TaskState.STARTED and isinstance(task.task_spec, AsyncServiceTask):
                jobs.append(self._job_view(task))
        completed_tasks.sort(key=lambda t: t.last_state_change)
        completed_ids = list(dict.fromkeys(
            t.task_spec.bpmn_id for t in completed_tasks if getattr(t.task_spec, "bpmn_id", None)))
        done = wf.is_completed()
        return Snapshot(
            state=self.engine.state_serializer.to_json(wf),
            completed=done,
            variables=self._variables(done),
            user_tasks=user_tasks,
            jobs=jobs,
            waiting=[w for t in self._waiting_tasks() for w in self._waiting_views(t)],
            active_element_ids=list(dict.fromkeys(active)),
            completed_element_ids=completed_ids,
            thrown=thrown,
            task_count=self.task_count(),
            cancelled=done and not wf.success,
        )

    def _variables(self, done: bool) -> dict[str, Any]:
        """Business data: the workflow data when completed, else the latest completed tasks' data merged."""
        wf = self.workflow
        if done:
            data = {k: v for k, v in wf.data.items() if k != "data_objects"}
            if data:
                return data
            # A cancelled instance never reached an end event: fall through to its last known data.
        frontier = [t for t in wf.tasks.values() if t.state == TaskState.COMPLETED
                    and not any(c.state == TaskState.COMPLETED for c in t.children)]
        merged: dict[str, Any] = {}
        for task in sorted(frontier, key=lambda t: t.last_state_change):
            merged.update(task.data)
        return merged

    def _user_task_view(self, task: Task) -> UserTaskView:
        """Projection of a READY user task."""
        # Embedded subprocesses have their own spec: route with the deployed process id that owns it.
        process_id = self.spec.owners.get(task.workflow.spec.name, task.workflow.spec.name)
        route = route_user_task(task.task_spec, process_id)
        ready_at = datetime.fromtimestamp(task.last_state_change, tz=UTC)
        due_in = self._due_in(task, route.due_in)
        return UserTaskView(
            task_id=str(task.id), element_id=_element(task), name=task.task_spec.bpmn_name,
            queue=route.queue, form_key=route.form_key, priority=route.priority, due_in=due_in,
            data=dict(task.data), due_at=_safe_due(due_in, ready_at), form_file=route.form_file,
            ui_form_file=route.ui_form_file, process_id=process_id, instructions=route.instructions,
        )

    def _due_in(self, task: Task, due_in: str | None) -> str | None:
        """A dueIn property is an ISO duration, or an expression on the task's data giving one
        (e.g. `answer_due_in`, set by a decision table per channel); None when it gives nothing usable."""
        if not due_in or _safe_due(due_in, datetime.now(UTC)) is not None:
            return due_in
        try:
            value = self.engine.script_engine.environment.evaluate(due_in, dict(task.data))
        except Exception:  # noqa: BLE001 - a task without a due date is better than a task that fails
            return None
        return value if isinstance(value, str) and _safe_due(value, datetime.now(UTC)) is not None else None

    def _job_view(self, task: Task) -> JobView:
        """Projection of a parked service task: its input is the operator params or the variables."""
        spec = task.task_spec
        if spec.operation_params:
            params = self._guarded(lambda: spec.evaluate_params(task))
            job_input = {name: p["value"] for name, p in params.items()}
        else:
            job_input = dict(task.data)
        return JobView(task_id=str(task.id), element_id=_element(task), name=spec.bpmn_name, topic=spec.topic,
                       input=job_input, retries=spec.retries, retry_backoff_base=spec.retry_backoff_base)

    def _waiting_views(self, task: Task) -> list[WaitingView]:
        """Projection of a waiting catch event (message, signal or timer; gateways give one per branch)."""
        views = []
        for definition, element_id in subscriptions(task):
            if isinstance(definition, TimerEventDefinition):
                kind, due = "timer", timer_due(task, definition)
            elif isinstance(definition, MessageEventDefinition):
                kind, due = "message", None
            elif isinstance(definition, SignalEventDefinition):
                kind, due = "signal", None
            else:
                continue
            views.append(WaitingView(type=kind, name=definition.name, element_id=element_id, due_at=due,
                                     correlation_key=None, task_id=str(task.id)))
        return views


def _element(task: Task) -> str:
    """BPMN id of a task's element (spec name for internal tasks)."""
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def _safe_due(due_in: str | None, start: datetime) -> datetime | None:
    """due_at, or None when the dueIn property is not a usable duration."""
    try:
        return due_at(due_in, start)
    except ValueError:
        return None


def _script_error(exc: BaseException) -> WorkflowError:
    """Find the WorkflowScriptError behind a library exception, or build one naming the element."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, WorkflowScriptError):
            return current
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    task = getattr(exc, "task", None)
    element = _element(task) if task is not None else getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
    return WorkflowScriptError(element, f"{exc.__class__.__name__}: {exc}")
