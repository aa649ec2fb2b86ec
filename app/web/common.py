"""Helpers shared by the page blueprints: role checks, the one commit of a form post, navigation, filters."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, request
from flask_babel import format_datetime, format_timedelta
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.api.helpers import in_transaction
from app.errors import PermissionDeniedError
from app.models import User
from app.models._types import utcnow

F = TypeVar("F", bound=Callable[..., Any])

MODELER_ROLES = ("admin", "analyst")
MONITOR_ROLES = ("admin", "supervisor")
INBOX_ROLES = ("admin", "supervisor", "agent", "cashier", "analyst")
DUE_SOON = timedelta(hours=24)

__all__ = ["actor", "in_transaction", "register_page_helpers", "roles_required", "wants_json"]


def actor() -> User:
    """The signed-in user of this page request."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Sign-in required, then one of the roles (403 page otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                raise PermissionDeniedError(f"this page is for the roles {', '.join(roles)}")
            return view(*args, **kwargs)

        return login_required(wrapper)  # type: ignore[return-value]

    return decorate


def wants_json() -> bool:
    """True for the fetch() calls of the page scripts (they ask for JSON)."""
    return request.accept_mimetypes.best == "application/json"


def nav_items(user: Any) -> list[dict[str, Any]]:
    """The areas this role may open, in menu order, the one of the current page marked active."""
    if not getattr(user, "is_authenticated", False):
        return []
    items: list[tuple[str, str, Any]] = []
    if user.role in INBOX_ROLES and user.role != "analyst":
        items.append(("inbox", "/inbox", _l("Inbox")))
    if user.role in MONITOR_ROLES:
        items.append(("monitor", "/monitor", _l("Instances")))
        items.append(("dashboard", "/monitor/dashboard", _l("Dashboard")))
    if user.role in MODELER_ROLES:
        items.append(("modeler", "/modeler", _l("Modeler")))
        items.append(("forms", "/modeler/forms", _l("Forms")))
    path = "/inbox" if request.path.startswith("/tasks/") else request.path
    matches = [url for _, url, _ in items if path == url or path.startswith(url + "/")]
    active = max(matches, key=len) if matches else None
    return [{"key": key, "url": url, "label": label, "active": url == active} for key, url, label in items]


def due_state(due_at: datetime | None, state: str = "open", now: datetime | None = None) -> str | None:
    """'overdue', 'soon' (within 24 h) or None, for the badges of tasks."""
    if due_at is None or state != "open":
        return None
    now = now or utcnow()
    if due_at < now:
        return "overdue"
    if due_at - now < DUE_SOON:
        return "soon"
    return None


STATUS_LABELS = {
    "running": _l("Running"), "suspended": _l("Suspended"), "failed": _l("Failed"), "completed": _l("Completed"),
    "terminated": _l("Terminated"), "open": _l("To do"), "cancelled": _l("Cancelled"),
}
ROLE_LABELS = {
    "admin": _l("Administrator"), "analyst": _l("Analyst"), "supervisor": _l("Supervisor"), "agent": _l("Agent"),
    "cashier": _l("Cashier"), "worker": _l("Service account"),
}


def status_label(status: str) -> Any:
    """The translated name of an instance or task status."""
    return STATUS_LABELS.get(status, status)


def _when(value: datetime | None, fmt: str = "medium") -> str:
    return format_datetime(value, fmt) if value else "—"


def _relative(value: datetime | None) -> str:
    if value is None:
        return "—"
    return format_timedelta(value - utcnow(), add_direction=True, granularity="minute")


def register_page_helpers(app: Flask) -> None:
    """Template filters and globals used by every page."""
    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["relative"] = _relative
    app.jinja_env.globals["due_state"] = due_state
    app.jinja_env.filters["status"] = status_label
    app.jinja_env.filters["role"] = lambda role: ROLE_LABELS.get(role, role)
    app.jinja_env.globals["nav_items"] = lambda: nav_items(current_user)
