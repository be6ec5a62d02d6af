"""Indexes for the collector's rubric template and the payouts page at 100,000s of rows.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_campaign_kind_language", "items",
                    ["campaign_id", "kind", "language", "status", "id"])
    op.create_index("ix_comp_campaign_status", "compensation_entries",
                    ["campaign_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_comp_campaign_status", table_name="compensation_entries")
    op.drop_index("ix_items_campaign_kind_language", table_name="items")
