"""Server-side web sessions: a sign-in that survives a reload.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contributor_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("handoff_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contributor_id"], ["contributors.id"],
                                name=op.f("fk_web_sessions_contributor_id_contributors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_web_sessions_token_sha256")),
        sa.UniqueConstraint("handoff_sha256", name=op.f("uq_web_sessions_handoff_sha256")),
    )
    op.create_index("ix_web_sessions_contributor", "web_sessions", ["contributor_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_contributor", table_name="web_sessions")
    op.drop_table("web_sessions")
