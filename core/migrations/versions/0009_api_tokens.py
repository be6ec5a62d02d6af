"""API tokens: what a field laptop shows the central collector's upload route to push a bundle
(`jamii kit push`), issued by an organiser for one campaign, kept only as a hash, revocable.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_api_tokens_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["created_by"], ["contributors.id"],
                                name=op.f("fk_api_tokens_created_by_contributors")),
        sa.ForeignKeyConstraint(["revoked_by"], ["contributors.id"],
                                name=op.f("fk_api_tokens_revoked_by_contributors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_api_tokens_campaign_id"), "api_tokens", ["campaign_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_campaign_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
