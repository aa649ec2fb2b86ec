"""Exceptions raised by the engine adapter; the app maps them to HTTP problems or incidents."""
from __future__ import annotations

from dataclasses import dataclass


class WorkflowError(Exception):
    """Base class of every error raised by the workflows package."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a deployment: file name, BPMN element id (or None) and message."""

    file: str | None
    element_id: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        """Return the issue as a JSON-friendly dict (for problem+json `errors`)."""
        return {"file": self.file, "elementId": self.element_id, "message": self.message}


class BpmnValidationError(WorkflowError):
    """A deployment does not validate; `issues` lists every problem found."""

    def __init__(self, issues: list[ValidationIssue]):
        self.issues = list(issues)
        summary = "; ".join(
            f"{i.file or '-'}:{i.element_id or '-'}: {i.message}" for i in self.issues[:5]
        )
        more = f" (+{len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        super().__init__(f"{len(self.issues)} validation issue(s): {summary}{more}")


class ScriptError(WorkflowError):
    """A script or expression failed inside the restricted environment (element not known yet)."""


class WorkflowScriptError(ScriptError):
    """A script, condition or expression of a BPMN element failed."""

    def __init__(self, element_id: str | None, message: str):
        self.element_id = element_id
        self.message = message
        super().__init__(f"{element_id}: {message}" if element_id else message)


class TaskNotFoundError(WorkflowError):
    """No task with this id in the instance."""


class TaskNotReadyError(WorkflowError):
    """The task exists but cannot be completed now (wrong state or wrong kind)."""


class NoTimerWaitingError(WorkflowError):
    """The element does not wait on a timer in this instance."""


class EngineStalledError(WorkflowError):
    """Automatic tasks stay READY after stepping (SpiffWorkflow's max_depth=1000 iterator trap)."""


class TaskLimitError(WorkflowError):
    """The instance's task tree grew past the configured limit (run time grows with its square)."""
