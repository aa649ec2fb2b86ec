"""counters: open tasks per queue and instances per definition and status, kept at every flush

Revision ID: 0005_counters
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

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
    # Overdue counts per queue read a small range of this index instead of the whole queue.
    op.create_index("ix_human_tasks_queue_state_due", "human_tasks", ["queue", "state", "due_at"])
    # Existing rows are counted once here; from now on every flush keeps the counts.
    op.execute("INSERT INTO queue_counters (queue, open) SELECT COALESCE(queue, ''), COUNT(*) FROM human_tasks "
               "WHERE state = 'open' GROUP BY COALESCE(queue, '')")
    op.execute("INSERT INTO instance_counters (definition_key, status, count) SELECT definition_key, status, COUNT(*) "
               "FROM process_instances GROUP BY definition_key, status")


def downgrade():
    op.drop_index("ix_human_tasks_queue_state_due", table_name="human_tasks")
    op.drop_table("instance_counters")
    op.drop_table("queue_counters")
