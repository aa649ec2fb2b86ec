"""counters: open tasks per queue and instances per definition and status, kept at every flush

Revision ID: 0005_counters
Revises: 0001
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import app.models._types

revision = "0005_counters"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "queue_counters",
        sa.Column("queue", sa.String(length=120), nullable=False),
        sa.Column("open", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("queue", name=op.f("pk_queue_counters")),
    )
    op.create_table(
        "instance_counters",
        sa.Column("definition_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("definition_key", "status", name=op.f("pk_instance_counters")),
    )
    op.create_table(
        "queue_due_counters",
        sa.Column("queue", sa.String(length=120), nullable=False),
        sa.Column("due_hour", app.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("open", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("queue", "due_hour", name=op.f("pk_queue_due_counters")),
    )
    op.create_index("ix_queue_due_counters_due_hour", "queue_due_counters", ["due_hour"])
    op.create_table(
        "daily_instance_counters",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_instance_counters")),
    )
    # Overdue counts per queue read a small range of this index instead of the whole queue.
    op.create_index("ix_human_tasks_queue_state_due", "human_tasks", ["queue", "state", "due_at"])
    # The dashboard: oldest waiting tasks, instances started and completed per day.
    op.create_index("ix_human_tasks_state_created", "human_tasks", ["state", "created_at"])
    op.create_index("ix_process_instances_started_at", "process_instances", ["started_at"])
    op.create_index("ix_process_instances_ended_at", "process_instances", ["ended_at"])
    # Existing rows are counted once here; from now on every flush keeps the counts.
    op.execute("INSERT INTO queue_counters (queue, open) SELECT COALESCE(queue, ''), COUNT(*) FROM human_tasks "
               "WHERE state = 'open' GROUP BY COALESCE(queue, '')")
    _count_due_hours()
    for column, kind, where in (("started_at", "started", ""), ("ended_at", "completed", " AND status = 'completed'")):
        op.execute(f"INSERT INTO daily_instance_counters (day, started, completed) "
                   f"SELECT SUBSTR(CAST({column} AS TEXT), 1, 10), "
                   f"{'COUNT(*), 0' if kind == 'started' else '0, COUNT(*)'} FROM process_instances "
                   f"WHERE {column} IS NOT NULL{where} GROUP BY SUBSTR(CAST({column} AS TEXT), 1, 10) "
                   f"ON CONFLICT (day) DO UPDATE SET {kind} = daily_instance_counters.{kind} + excluded.{kind}")
    op.execute("INSERT INTO instance_counters (definition_key, status, count) SELECT definition_key, status, COUNT(*) "
               "FROM process_instances GROUP BY definition_key, status")


def _count_due_hours():
    """Bucket existing open tasks by queue and due hour (in Python: date functions differ per database)."""
    bind = op.get_bind()
    buckets = {}
    rows = bind.execute(sa.text("SELECT queue, due_at FROM human_tasks WHERE state = 'open' AND due_at IS NOT NULL"))
    due_type = app.models._types.UtcDateTime()
    for queue, due_at in rows:
        if isinstance(due_at, str):  # SQLite hands raw text back to a textual query
            due_at = datetime.fromisoformat(due_at)
        due_at = due_type.process_result_value(due_at, bind.dialect)
        key = (queue or "", due_at.replace(minute=0, second=0, microsecond=0))
        buckets[key] = buckets.get(key, 0) + 1
    if buckets:
        table = sa.table("queue_due_counters", sa.column("queue"), sa.column("due_hour", due_type), sa.column("open"))
        op.bulk_insert(table, [{"queue": q, "due_hour": h, "open": n} for (q, h), n in buckets.items()])


def downgrade():
    op.drop_table("daily_instance_counters")
    op.drop_table("queue_due_counters")
    op.drop_index("ix_process_instances_ended_at", table_name="process_instances")
    op.drop_index("ix_process_instances_started_at", table_name="process_instances")
    op.drop_index("ix_human_tasks_state_created", table_name="human_tasks")
    op.drop_index("ix_human_tasks_queue_state_due", table_name="human_tasks")
    op.drop_table("instance_counters")
    op.drop_table("queue_counters")
