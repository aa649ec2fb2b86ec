"""merge the areas' migrations (automation, registry and documents, counters) into one head

Revision ID: 0006_merge_areas
Revises: 0002_automation, 0004_documents, 0005_counters
"""

revision = "0006_merge_areas"
down_revision = ("0002_automation", "0004_documents", "0005_counters")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
