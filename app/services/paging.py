"""Cursor paging for search endpoints: opaque cursors over the sort key, never OFFSET."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.errors import BadRequestError

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None


def encode_cursor(values: list[Any]) -> str:
    """Opaque cursor from the sort values of the last row of a page."""
    def _plain(v: Any) -> Any:
        return {"$dt": v.isoformat()} if isinstance(v, datetime) else v
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """Sort values back from a cursor; BadRequestError when it was tampered with."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list):
            raise TypeError("not a list")
        return [datetime.fromisoformat(v["$dt"]) if isinstance(v, dict) and "$dt" in v else v for v in values]
    except (ValueError, TypeError, KeyError) as exc:
        raise BadRequestError("invalid page cursor",
                              [{"field": "page.after", "message": "not a cursor this server issued"}]) from exc


def parse_page(page: Any) -> PageRequest:
    """Validate the `page` part of a search body."""
    if page is None:
        return PageRequest(DEFAULT_LIMIT, None)
    if not isinstance(page, dict):
        raise BadRequestError("page must be an object", [{"field": "page", "message": "must be an object"}])
    limit = page.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise BadRequestError(f"page.limit must be an integer from 1 to {MAX_LIMIT}",
                              [{"field": "page.limit", "message": f"integer from 1 to {MAX_LIMIT}"}])
    after = page.get("after")
    if after is not None and not isinstance(after, str):
        raise BadRequestError("page.after must be a string", [{"field": "page.after", "message": "must be a string"}])
    return PageRequest(limit, decode_cursor(after) if after else None)
