"""After the match (issue 18): lifecycles of published rounds, waves, offers and their
append-only events, volunteers' personal links (hashed), outcomes, the reminders'
outbox and backfill proposals. New tables only: existing data is untouched, and rounds
published before this revision simply have no offers.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lifecycles",
        sa.Column("round_id", sa.String(36), sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("wave", sa.Integer, nullable=False),
        sa.Column("offer_days", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("withdrawn", sa.JSON, nullable=False),
        sa.Column("reserves", sa.JSON, nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "waves",
        sa.Column("round_id", sa.String(36), sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("volunteers", sa.JSON, nullable=False),
        sa.Column("placements", sa.JSON, nullable=False),
        sa.Column("opened_by", sa.String(32), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.String(36), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("wave", sa.Integer, nullable=False),
        sa.Column("volunteer_id", sa.String(64), nullable=False),
        sa.Column("placement_id", sa.String(64), nullable=False),
        sa.Column("host_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("months", sa.Integer, nullable=False),
        sa.Column("deadline", TS, nullable=False),
        sa.Column("host_decision", sa.String(16), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    for col in ("round_id", "volunteer_id", "host_id", "state", "deadline"):
        op.create_index(f"ix_offers_{col}", "offers", [col])
    op.create_table(
        "offer_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=False),
        sa.Column("round_id", sa.String(36), nullable=False),
        sa.Column("wave", sa.Integer, nullable=False),
        sa.Column("volunteer_id", sa.String(64), nullable=False),
        sa.Column("placement_id", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("text", sa.String(2000), nullable=False),
    )
    op.create_index("ix_offer_events_offer_id", "offer_events", ["offer_id"])
    op.create_index("ix_offer_events_round_id", "offer_events", ["round_id"])
    op.create_table(
        "offer_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_index("ix_offer_tokens_offer_id", "offer_tokens", ["offer_id"])
    op.create_table(
        "outcomes",
        sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), primary_key=True),
        sa.Column("round_id", sa.String(36), nullable=False),
        sa.Column("volunteer_id", sa.String(64), nullable=False),
        sa.Column("placement_id", sa.String(64), nullable=False),
        sa.Column("host_id", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("completed", sa.Boolean, nullable=False),
        sa.Column("ended_early_reason", sa.String(32), nullable=True),
        sa.Column("host_rating", sa.Integer, nullable=True),
        sa.Column("volunteer_rating", sa.Integer, nullable=True),
        sa.Column("report", sa.String(2000), nullable=False),
        sa.Column("ended_on", sa.Date, nullable=True),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_outcomes_round_id", "outcomes", ["round_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("host_id", sa.String(64), nullable=True),
        sa.Column("round_id", sa.String(36), nullable=True),
        sa.Column("offer_id", sa.Integer, nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.String(4000), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.String(200), nullable=True),
    )
    op.create_index("ix_outbox_host_id", "outbox", ["host_id"])
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_table(
        "backfills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.String(36), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("wave", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.JSON, nullable=False),
        sa.Column("proposal", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirmed_by", sa.String(128), nullable=True),
        sa.Column("confirmed_at", TS, nullable=True),
    )
    op.create_index("ix_backfills_round_id", "backfills", ["round_id"])


def downgrade() -> None:
    for table in (
        "backfills",
        "outbox",
        "outcomes",
        "offer_tokens",
        "offer_events",
        "offers",
        "waves",
        "lifecycles",
    ):
        op.drop_table(table)
