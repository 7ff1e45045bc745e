"""Stored results' eligible pairs and scores (`result_pairs`), written beside each result.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Results stored before this revision get no row: their rounds are prepared from
    # their documents when first explained.
    op.create_table(
        "result_pairs",
        sa.Column("round_id", sa.String(36), sa.ForeignKey("results.round_id"), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("result_pairs")
