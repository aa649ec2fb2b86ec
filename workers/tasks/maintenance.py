"""Housekeeping on beat: fold past due-hour buckets so overdue counts stay a few rows per queue."""
from __future__ import annotations

from celery import shared_task

from app.extensions import db
from app.services.counters import fold_past_due_counters


@shared_task(name="counters.fold_due_buckets", ignore_result=True)
def fold_due_buckets() -> int:
    """Fold due-hour buckets older than a day; commit once."""
    folded = fold_past_due_counters()
    db.session.commit()
    return folded
