"""Global ids for records a field kit may make, the kit they came from, and ledger source keys
that name records by those ids (so an entry made in the field and one made centrally for the
same item are one entry); the kits a store issued or came from, and in a field store the
central items' content hashes.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WITH_UID = ("contributors", "consents", "item_revisions", "reviews", "compensation_entries")


def _random_hex() -> str:
    """32 random hex digits, one per row, in each backend's own SQL."""
    if op.get_bind().dialect.name == "postgresql":
        return "replace(gen_random_uuid()::text, '-', '')"
    return "lower(hex(randomblob(16)))"


def upgrade() -> None:
    for table in WITH_UID:
        op.add_column(table, sa.Column("uid", sa.String(length=32), nullable=True))
        op.add_column(table, sa.Column("kit_id", sa.String(length=32), nullable=True))
        op.execute(f"UPDATE {table} SET uid = {_random_hex()}")
        op.create_index(f"ix_{table}_uid", table, ["uid"], unique=True)
    op.add_column("items", sa.Column("kit_id", sa.String(length=32), nullable=True))
    # ledger source keys by global id: item:<public_id>, audio:<public_id>, review:<uid>
    for prefix, table, column in (("item", "items", "public_id"), ("audio", "items", "public_id"),
                                  ("review", "reviews", "uid")):
        op.execute(
            f"UPDATE compensation_entries SET source_key = '{prefix}:' || "
            f"(SELECT {table}.{column} FROM {table} WHERE CAST({table}.id AS TEXT) = "
            f"substr(compensation_entries.source_key, {len(prefix) + 2})) "
            f"WHERE source_key LIKE '{prefix}:%' AND EXISTS (SELECT 1 FROM {table} WHERE "
            f"CAST({table}.id AS TEXT) = substr(compensation_entries.source_key, {len(prefix) + 2}))")
    op.create_table(
        "kits",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("made_here", sa.Boolean(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_kits_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["created_by"], ["contributors.id"], name=op.f("fk_kits_created_by_contributors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kits")),
    )
    op.create_table(
        "kit_known_content",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_kit_known_content_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("campaign_id", "content_sha256", name=op.f("pk_kit_known_content")),
    )


def downgrade() -> None:
    op.drop_table("kit_known_content")
    op.drop_table("kits")
    op.drop_column("items", "kit_id")
    for table in WITH_UID:
        op.drop_index(f"ix_{table}_uid", table_name=table)
        op.drop_column(table, "kit_id")
        op.drop_column(table, "uid")
