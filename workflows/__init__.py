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
    "WorkflowEngine", "ProcessModel", "LoadedSpec", "Execution", "Snapshot", "UserTaskView", "JobView",
    "WaitingView", "ThrownEvent", "BpmnValidationError", "ValidationIssue", "WorkflowError",
    "WorkflowScriptError", "ScriptError", "TaskNotFoundError", "TaskNotReadyError", "NoTimerWaitingError",
    "EngineStalledError", "TaskLimitError", "UserTaskInfo", "ServiceTaskInfo",
]
