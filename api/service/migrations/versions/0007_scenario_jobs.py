"""Scenario runs claimed as durable jobs: attempts, worker, lease and fencing token.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Runs stored before this revision were solved on a thread of their process: they
    # keep their state; one left `running` has no lease, and a worker takes it over
    # once its heartbeat is older than a lease (`scenario_runs.claim`).
    op.add_column(
        "scenario_runs", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("scenario_runs", sa.Column("worker", sa.String(128), nullable=True))
    op.add_column("scenario_runs", sa.Column("claim_token", sa.String(32), nullable=True))
    op.add_column("scenario_runs", sa.Column("lease_until", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scenario_runs") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claim_token")
        batch.drop_column("worker")
        batch.drop_column("attempts")
