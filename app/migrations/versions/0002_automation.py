"""automation: job claims (lease, fencing token, worker), error codes, parked results, e-mail outbox

Revision ID: 0002_automation
Revises: 0001
Create Date: 2026-11-21 11:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models._types

# revision identifiers, used by Alembic.
revision = '0002_automation'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_until', app.models._types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('worker', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('result_at', app.models._types.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_jobs_state_sent_at', ['state', 'sent_at'], unique=False)
        batch_op.create_index('ix_jobs_state_lease_until', ['state', 'lease_until'], unique=False)

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=80), nullable=True))

    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recipients', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', app.models._types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'],
                            name=op.f('fk_notifications_instance_id_process_instances'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_notifications_job_id_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('job_id', name=op.f('uq_notifications_job_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_instance_id'), ['instance_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_instance_id'))
    op.drop_table('notifications')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('error_code')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_lease_until')
        batch_op.drop_index('ix_jobs_state_sent_at')
        batch_op.drop_column('result_at')
        batch_op.drop_column('worker')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_token')
        batch_op.drop_column('error_code')
