"""API keys expire, are rotated and remember their last use; idempotency records keep
the response headers and are found by age.

Idempotency records of revision 0001 are deleted: they were scoped by a hash of the
Authorization header (also for callers without a valid key) rather than by the key's
id, had no headers to replay, and are short-lived by nature.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", TS, nullable=True))
        batch.add_column(sa.Column("last_used_at", TS, nullable=True))
        batch.add_column(sa.Column("rotated_at", TS, nullable=True))
    op.execute("DELETE FROM idempotency")
    with op.batch_alter_table("idempotency") as batch:
        batch.add_column(sa.Column("response_headers", sa.JSON, nullable=True))
    op.create_index("ix_idempotency_created_at", "idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_created_at", "idempotency")
    with op.batch_alter_table("idempotency") as batch:
        batch.drop_column("response_headers")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("rotated_at")
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
