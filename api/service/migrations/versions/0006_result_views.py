"""Stored results laid out for paging (`result_views`), written beside each result.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Results stored before this revision get no row: their pages read the result itself.
    op.create_table(
        "result_views",
        sa.Column("round_id", sa.String(36), sa.ForeignKey("results.round_id"), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("result_views")
