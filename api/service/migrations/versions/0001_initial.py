"""Initial schema: hosts, placements, volunteers, rounds, jobs, results, publications,
API keys, idempotency records, erasures.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "placements",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host_id", sa.String(64), sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_placements_host_id", "placements", ["host_id"])
    op.create_table(
        "volunteers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "erasures",
        sa.Column("pseudonym", sa.String(64), primary_key=True),
        sa.Column("erased_at", TS, nullable=False),
    )
    op.create_table(
        "rounds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(36), sa.ForeignKey("rounds.id"), nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("n_volunteers", sa.Integer, nullable=False),
        sa.Column("n_placements", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("round_id", sa.String(36), sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("heartbeat_at", TS, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_lease_until", "jobs", ["lease_until"])
    op.create_table(
        "results",
        sa.Column("round_id", sa.String(36), sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "round_id", sa.String(36), sa.ForeignKey("rounds.id"), nullable=False, unique=True
        ),
        sa.Column("published_by", sa.String(32), nullable=False),
        sa.Column("published_at", TS, nullable=False),
    )
    op.create_table(
        "published_assignments",
        sa.Column("publication_id", sa.Integer, sa.ForeignKey("publications.id"), primary_key=True),
        sa.Column("volunteer_id", sa.String(64), primary_key=True),
        sa.Column("placement_id", sa.String(64), nullable=False),
        sa.Column("host_id", sa.String(64), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("months", sa.Integer, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
    )
    op.create_index("ix_published_assignments_host_id", "published_assignments", ["host_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("host_id", sa.String(64), sa.ForeignKey("hosts.id"), nullable=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "idempotency",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("content_type", sa.String(200), nullable=True),
        sa.Column("response_body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "idempotency",
        "api_keys",
        "published_assignments",
        "publications",
        "results",
        "jobs",
        "rounds",
        "erasures",
        "volunteers",
        "placements",
        "hosts",
    ):
        op.drop_table(name)
