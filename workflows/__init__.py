"""Engine adapter around SpiffWorkflow; imports nothing from the app or Flask."""
from .engine import WorkflowEngine
from .errors import (
    BpmnValidationError,
    EngineStalledError,
    NoTimerWaitingError,
    ScriptError,
    TaskLimitError,
    TaskNotFoundError,
    TaskNotReadyError,
    ValidationIssue,
    WorkflowError,
    WorkflowScriptError,
)
from .execution import Execution
from .routing import ServiceTaskInfo, UserTaskInfo
from .views import JobView, LoadedSpec, ProcessModel, Snapshot, ThrownEvent, UserTaskView, WaitingView

__all__ = [
    "BpmnValidationError",
    "EngineStalledError",
    "Execution",
    "JobView",
    "LoadedSpec",
    "NoTimerWaitingError",
    "ProcessModel",
    "ScriptError",
    "ServiceTaskInfo",
    "Snapshot",
    "TaskLimitError",
    "TaskNotFoundError",
    "TaskNotReadyError",
    "ThrownEvent",
    "UserTaskInfo",
    "UserTaskView",
    "ValidationIssue",
    "WaitingView",
    "WorkflowEngine",
    "WorkflowError",
    "WorkflowScriptError",
]
