"""hot path: one server-side call applies a transaction's counter deltas; tasks carry their rules

Revision ID: 0009_hot_path
Revises: 0008_document_retention

- `guichet_apply_counters(jsonb)` (PostgreSQL only): the five counter upserts of a commit in one
  round trip, each table's rows in the order given (sorted by the caller, so two transactions
  never lock counter rows in a cycle). SQLite keeps plain upserts: it has one writer anyway.
- `human_tasks.rules`: the four-eyes and completion-check properties of the task's element, copied
  when the task is created so that claiming and completing need not load the definition. NULL on
  rows made before this revision: those still read the rules from the deployed definition.
- `human_tasks.excluded_users`: who the four-eyes rule keeps off an open task, for the inbox.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009_hot_path"
down_revision = "0008_document_retention"
branch_labels = None
depends_on = None

APPLY_COUNTERS = """
CREATE OR REPLACE FUNCTION guichet_apply_counters(deltas jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO element_counters AS c (definition_id, element_id, active, completed, incidents)
    SELECT (r->>'definition_id')::integer, r->>'element_id', (r->>'active')::integer,
           (r->>'completed')::integer, (r->>'incidents')::integer
    FROM jsonb_array_elements(deltas->'elements') WITH ORDINALITY AS t(r, n) ORDER BY n
    ON CONFLICT (definition_id, element_id) DO UPDATE SET active = c.active + EXCLUDED.active,
      completed = c.completed + EXCLUDED.completed, incidents = c.incidents + EXCLUDED.incidents;
  INSERT INTO queue_counters AS c (queue, open)
    SELECT r->>'queue', (r->>'open')::bigint
    FROM jsonb_array_elements(deltas->'queues') WITH ORDINALITY AS t(r, n) ORDER BY n
    ON CONFLICT (queue) DO UPDATE SET open = c.open + EXCLUDED.open;
  INSERT INTO queue_due_counters AS c (queue, due_hour, open)
    SELECT r->>'queue', (r->>'due_hour')::timestamptz, (r->>'open')::bigint
    FROM jsonb_array_elements(deltas->'dues') WITH ORDINALITY AS t(r, n) ORDER BY n
    ON CONFLICT (queue, due_hour) DO UPDATE SET open = c.open + EXCLUDED.open;
  INSERT INTO daily_instance_counters AS c (day, started, completed)
    SELECT r->>'day', (r->>'started')::bigint, (r->>'completed')::bigint
    FROM jsonb_array_elements(deltas->'days') WITH ORDINALITY AS t(r, n) ORDER BY n
    ON CONFLICT (day) DO UPDATE SET started = c.started + EXCLUDED.started,
      completed = c.completed + EXCLUDED.completed;
  INSERT INTO instance_counters AS c (definition_key, status, count)
    SELECT r->>'definition_key', r->>'status', (r->>'count')::bigint
    FROM jsonb_array_elements(deltas->'instances') WITH ORDINALITY AS t(r, n) ORDER BY n
    ON CONFLICT (definition_key, status) DO UPDATE SET count = c.count + EXCLUDED.count;
END
$$
"""


def upgrade():
    op.add_column("human_tasks", sa.Column("rules", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True))
    op.add_column("human_tasks", sa.Column("excluded_users", sa.String(length=1000), nullable=True))
    op.create_index("ix_human_tasks_kept_off", "human_tasks", ["queue"],
                    postgresql_where=sa.text("excluded_users IS NOT NULL"),
                    sqlite_where=sa.text("excluded_users IS NOT NULL"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPLY_COUNTERS)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS guichet_apply_counters(jsonb)")
    op.drop_index("ix_human_tasks_kept_off", table_name="human_tasks")
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_column("excluded_users")
        batch.drop_column("rules")
