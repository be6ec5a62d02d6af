"""Community ratings: rating tasks, who may rate, and one rating per rater and task.

Revision ID: 0004
Revises: 0003

Nothing wrote `ratings` or `model_answers` before this revision (the tables existed in the
first schema, unused), so the new non-null columns need no backfill beyond their defaults.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("rating_settings", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("model_answers") as batch:
        batch.add_column(sa.Column("dataset", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reveals_model", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "rating_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=24), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("answer_a_id", sa.Integer(), nullable=False),
        sa.Column("answer_b_id", sa.Integer(), nullable=True),
        sa.Column("task_key", sa.String(length=80), nullable=False),
        sa.Column("gold", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_rating_tasks_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_rating_tasks_item_id_items")),
        sa.ForeignKeyConstraint(["answer_a_id"], ["model_answers.id"],
                                name=op.f("fk_rating_tasks_answer_a_id_model_answers")),
        sa.ForeignKeyConstraint(["answer_b_id"], ["model_answers.id"],
                                name=op.f("fk_rating_tasks_answer_b_id_model_answers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_tasks")),
        sa.UniqueConstraint("public_id", name=op.f("uq_rating_tasks_public_id")),
        sa.UniqueConstraint("campaign_id", "task_key", name=op.f("uq_rating_tasks_campaign_id_task_key")),
    )
    op.create_index("ix_rating_tasks_campaign_mode", "rating_tasks", ["campaign_id", "mode", "id"])
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=16), nullable=False,
                                   server_default="collector"))
        batch.create_foreign_key(op.f("fk_ratings_task_id_rating_tasks"), "rating_tasks",
                                 ["task_id"], ["id"])
        batch.create_unique_constraint(op.f("uq_ratings_task_id_rater_id"), ["task_id", "rater_id"])
        batch.create_index("ix_ratings_rater_created", ["rater_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.drop_index("ix_ratings_rater_created")
        batch.drop_constraint(op.f("uq_ratings_task_id_rater_id"), type_="unique")
        batch.drop_constraint(op.f("fk_ratings_task_id_rating_tasks"), type_="foreignkey")
        batch.drop_column("source")
        batch.drop_column("task_id")
    op.drop_index("ix_rating_tasks_campaign_mode", table_name="rating_tasks")
    op.drop_table("rating_tasks")
    with op.batch_alter_table("model_answers") as batch:
        batch.drop_column("reveals_model")
        batch.drop_column("dataset")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("rating_settings")
