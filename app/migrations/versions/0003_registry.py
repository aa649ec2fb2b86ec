"""registry: persons, employers, establishments, employments, contributions, cases, payments,
certificates, record access log and gap-free sequences

Revision ID: 0003_registry
Revises: 0001
Create Date: 2026-11-21 10:07:32.331663

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models._types

# revision identifiers, used by Alembic.
revision = '0003_registry'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('verification_code', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=15), nullable=False),
    sa.Column('subject_name', sa.String(length=300), nullable=False),
    sa.Column('statement', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('issued_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=80), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_certificates_verification_code'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_subject'), ['subject'], unique=False)

    op.create_table('employers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=9), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('trade_name', sa.String(length=200), nullable=True),
    sa.Column('search_name', sa.String(length=400), nullable=False),
    sa.Column('activity', sa.String(length=120), nullable=True),
    sa.Column('risk_class', sa.Integer(), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employers')),
    sa.UniqueConstraint('number', name=op.f('uq_employers_number'))
    )
    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employers_search_name'), ['search_name'], unique=False)

    op.create_table('persons',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ssn', sa.String(length=15), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_names', sa.String(length=200), nullable=False),
    sa.Column('birth_name', sa.String(length=100), nullable=True),
    sa.Column('search_name', sa.String(length=400), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('birth_place', sa.String(length=100), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('address_line', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('life_status', sa.String(length=10), nullable=False),
    sa.Column('death_date', sa.Date(), nullable=True),
    sa.Column('created_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('ssn', name=op.f('uq_persons_ssn'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index('ix_persons_birth_date', ['birth_date'], unique=False)
        batch_op.create_index('ix_persons_search_name', ['search_name'], unique=False)

    op.create_table('record_access_logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reader', sa.String(length=80), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=15), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_access_logs'))
    )
    with op.batch_alter_table('record_access_logs', schema=None) as batch_op:
        batch_op.create_index('ix_record_access_logs_reader_at', ['reader', 'at'], unique=False)
        batch_op.create_index('ix_record_access_logs_subject_at', ['subject', 'at'], unique=False)

    op.create_table('registry_sequences',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', 'year', name=op.f('pk_registry_sequences'))
    )
    op.create_table('establishments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('suffix', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address_line', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('headquarters_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('declared_by_headquarters', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_establishments_employer_id_employers')),
    sa.ForeignKeyConstraint(['headquarters_id'], ['establishments.id'], name=op.f('fk_establishments_headquarters_id_establishments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_establishments')),
    sa.UniqueConstraint('employer_id', 'suffix', name='uq_establishments_employer_suffix')
    )
    with op.batch_alter_table('establishments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_establishments_employer_id'), ['employer_id'], unique=False)

    op.create_table('employments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('establishment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('job_title', sa.String(length=120), nullable=True),
    sa.Column('branches', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishments.id'], name=op.f('fk_employments_establishment_id_establishments')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_employments_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employments'))
    )
    with op.batch_alter_table('employments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employments_establishment_id'), ['establishment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_employments_person_id'), ['person_id'], unique=False)

    op.create_table('contribution_periods',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('gross_wage', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('capped_wage', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('pension_employer', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('pension_employee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('family', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('work_injury', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('declared_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['employment_id'], ['employments.id'], name=op.f('fk_contribution_periods_employment_id_employments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_periods')),
    sa.UniqueConstraint('employment_id', 'period', name='uq_contribution_periods_employment_period')
    )
    with op.batch_alter_table('contribution_periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contribution_periods_employment_id'), ['employment_id'], unique=False)
        batch_op.create_index('ix_contribution_periods_period_status', ['period', 'status'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=15), nullable=False),
    sa.Column('case_type', sa.String(length=40), nullable=False),
    sa.Column('process_key', sa.String(length=255), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.String(length=255), nullable=True),
    sa.Column('process_instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('opened_by', sa.String(length=80), nullable=True),
    sa.Column('opened_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', app.models._types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instances.id'], name=op.f('fk_cases_process_instance_id_process_instances'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_process_instance_id'), ['process_instance_id'], unique=False)
        batch_op.create_index('ix_cases_subject_status', ['subject', 'status'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('reference', sa.String(length=60), nullable=True),
    sa.Column('created_at', app.models._types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_payments_case_id_cases')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_payments_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_payments_person_date', ['person_id', 'payment_date'], unique=False)



def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_person_date')
        batch_op.drop_index(batch_op.f('ix_payments_case_id'))

    op.drop_table('payments')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_subject_status')
        batch_op.drop_index(batch_op.f('ix_cases_process_instance_id'))

    op.drop_table('cases')
    with op.batch_alter_table('contribution_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_periods_period_status')
        batch_op.drop_index(batch_op.f('ix_contribution_periods_employment_id'))

    op.drop_table('contribution_periods')
    with op.batch_alter_table('employments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employments_person_id'))
        batch_op.drop_index(batch_op.f('ix_employments_establishment_id'))

    op.drop_table('employments')
    with op.batch_alter_table('establishments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_establishments_employer_id'))

    op.drop_table('establishments')
    op.drop_table('registry_sequences')
    with op.batch_alter_table('record_access_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_record_access_logs_subject_at')
        batch_op.drop_index('ix_record_access_logs_reader_at')

    op.drop_table('record_access_logs')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index('ix_persons_search_name')
        batch_op.drop_index('ix_persons_birth_date')

    op.drop_table('persons')
    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employers_search_name'))

    op.drop_table('employers')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_subject'))

    op.drop_table('certificates')
