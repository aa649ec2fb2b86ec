"""documents: who placed a legal hold, when and why; when and by whom a document was disposed of

Revision ID: 0008_document_retention
Revises: 0007_search_unaccent
Create Date: 2026-12-02 14:00:00

Plain ADD/DROP COLUMN (no batch copy of the table): on SQLite, recreating `documents` would
cascade-delete the pages of every document. A downgrade keeps the tombstones of disposed
documents (status `disposed`); the hold columns it drops leave `legal_hold` as it was.
"""
import sqlalchemy as sa
from alembic import op

import app.models._types

revision = "0008_document_retention"
down_revision = "0007_search_unaccent"
branch_labels = None
depends_on = None

COLUMNS = (
    ("legal_hold_reason", sa.Text()),
    ("legal_hold_by", sa.String(length=80)),
    ("legal_hold_at", app.models._types.UtcDateTime(timezone=True)),
    ("disposed_at", app.models._types.UtcDateTime(timezone=True)),
    ("disposed_by", sa.String(length=80)),
)


def upgrade():
    for name, type_ in COLUMNS:
        op.add_column("documents", sa.Column(name, type_, nullable=True))


def downgrade():
    for name, _type in reversed(COLUMNS):
        op.drop_column("documents", name)
