"""Keyset (cursor) conditions for ORDER BY lists with nullable columns, nulls always last."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, or_
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class SortKey:
    column: Any
    descending: bool = False

    def order_by(self) -> ColumnElement[Any]:
        clause = self.column.desc() if self.descending else self.column.asc()
        # NOT NULL columns keep the plain order so that a b-tree index (DESC = NULLS FIRST) serves it.
        return clause.nulls_last() if self.nullable else clause

    @property
    def nullable(self) -> bool:
        return bool(getattr(self.column, "nullable", True))


def _beyond(key: SortKey, value: Any) -> ColumnElement[bool]:
    if value is None:
        return false()
    after = key.column < value if key.descending else key.column > value
    return or_(after, key.column.is_(None)) if key.nullable else after


def _equal(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.column.is_(None) if value is None else key.column == value


def after_cursor(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after the row whose sort values are `values`, in the order of `keys`."""
    branches = []
    for i, key in enumerate(keys):
        prefix = [_equal(k, v) for k, v in zip(keys[:i], values[:i])]
        branches.append(and_(*prefix, _beyond(key, values[i])))
    return or_(*branches)
