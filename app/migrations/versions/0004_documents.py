"""documents: filed documents, per-page OCR text, and the full-text index of each database

Revision ID: 0004_documents
Revises: 0003_registry
Create Date: 2026-11-21 12:00:00

PostgreSQL: document_pages.search_vector is a generated tsvector (French + English
configurations) with a GIN index. SQLite: an external-content FTS5 table document_pages_fts
(rowid = page id) kept in step by triggers.
"""
import sqlalchemy as sa
from alembic import op

import app.models._types

# revision identifiers, used by Alembic.
revision = '0004_documents'
# documents.case_id points to the registry's cases table: it comes after it.
down_revision = '0003_registry'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('documents',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('document_type', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=15), nullable=False),
    sa.Column('process_instance_id', BIG_ID, nullable=True),
    sa.Column('case_id', BIG_ID, nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('receipt_number', sa.String(length=32), nullable=False),
    sa.Column('verification_code', sa.String(length=16), nullable=False),
    sa.Column('received_by', sa.String(length=80), nullable=False),
    sa.Column('received_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ocr_queued_at', app.models._types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ocr_progress_at', app.models._types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ocr_attempts', sa.Integer(), nullable=False),
    sa.Column('indexed_at', app.models._types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notified_at', app.models._types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('retention_class', sa.String(length=40), nullable=False),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_documents_case_id_cases'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instances.id'],
                            name=op.f('fk_documents_process_instance_id_process_instances'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_documents_receipt_number')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_documents_verification_code'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_process_instance_id'), ['process_instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_documents_status_received', ['status', 'received_at'], unique=False)
        batch_op.create_index('ix_documents_subject_received', ['subject', 'received_at'], unique=False)

    op.create_table('document_pages',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('document_id', BIG_ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('rotation', sa.Integer(), nullable=False),
    sa.Column('skew', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                            name=op.f('fk_document_pages_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_pages')),
    sa.UniqueConstraint('document_id', 'number', name='uq_document_pages_document_number')
    )

    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        # Both configurations: French stems for French text, English stems for English text; a
        # query is run in both and OR-ed (app.services.document_search).
        op.execute(
            "ALTER TABLE document_pages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('french'::regconfig, text) || to_tsvector('english'::regconfig, text)) STORED"
        )
        op.execute("CREATE INDEX ix_document_pages_search_vector ON document_pages USING GIN (search_vector)")
    elif dialect == 'sqlite':
        # External-content FTS5 over document_pages, kept in step by triggers (cascaded deletes
        # included), so the index can never disagree with the pages.
        op.execute(
            "CREATE VIRTUAL TABLE document_pages_fts USING fts5("
            "text, content='document_pages', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER document_pages_fts_insert AFTER INSERT ON document_pages BEGIN "
            "INSERT INTO document_pages_fts(rowid, text) VALUES (new.id, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER document_pages_fts_delete AFTER DELETE ON document_pages BEGIN "
            "INSERT INTO document_pages_fts(document_pages_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER document_pages_fts_update AFTER UPDATE OF text ON document_pages BEGIN "
            "INSERT INTO document_pages_fts(document_pages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
            "INSERT INTO document_pages_fts(rowid, text) VALUES (new.id, new.text); END"
        )

def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for trigger in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS document_pages_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS document_pages_fts")
    op.drop_table('document_pages')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_subject_received')
        batch_op.drop_index('ix_documents_status_received')
        batch_op.drop_index(batch_op.f('ix_documents_sha256'))
        batch_op.drop_index(batch_op.f('ix_documents_process_instance_id'))
        batch_op.drop_index(batch_op.f('ix_documents_case_id'))
    op.drop_table('documents')
