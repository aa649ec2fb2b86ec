"""Who may do what: roles and queue membership, in one place."""
from __future__ import annotations

from app.errors import PermissionDeniedError
from app.models import HumanTask, User

DEPLOY_ROLES = ("admin", "analyst")
OPERATE_ROLES = ("admin", "supervisor")
START_ROLES = ("admin", "analyst", "supervisor", "agent", "cashier", "worker")
# Legal holds and disposal of documents: the people accountable for the records, not the counters.
RETENTION_ROLES = ("admin", "supervisor")


def require_role(user: User, roles: tuple[str, ...], action: str) -> None:
    """Raise PermissionDeniedError unless the user has one of the roles."""
    if user.role not in roles:
        raise PermissionDeniedError(f"role {user.role!r} may not {action}")


def visible_queues(user: User) -> list[str] | None:
    """Queues whose tasks the user sees; None means all."""
    return None if user.sees_all_queues else user.queue_names


def can_see_task(user: User, task: HumanTask) -> bool:
    """Admins and supervisors see every task; others the tasks of their queues or assigned to them."""
    if user.sees_all_queues or task.assignee == user.username:
        return True
    return task.queue is not None and task.queue in user.queue_names
