"""The service's tables (SQLAlchemy 2 ORM). The schema itself is created by the Alembic
migrations in `volmatch.api.service.migrations`; keep the two in step (a test compares
them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if not isinstance(value, dt.datetime):
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UtcDateTime, dict[str, Any]: JSON}  # noqa: RUF012


class Host(Base):
    __tablename__ = "hosts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PlacementRow(Base):
    __tablename__ = "placements"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VolunteerRow(Base):
    __tablename__ = "volunteers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Erasure(Base):
    """A volunteer erased on request: only the pseudonym and the date are kept."""

    __tablename__ = "erasures"
    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RoundRow(Base):
    """A frozen round document: what was matched, exactly as validated."""

    __tablename__ = "rounds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("rounds.id"), default=None)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    n_volunteers: Mapped[int] = mapped_column(Integer)
    n_placements: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class Job(Base):
    """The solving of a round as a durable job, claimed by one worker at a time."""

    __tablename__ = "jobs"
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(64), default=None)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ResultRow(Base):
    """A round's result; the primary key makes "stored twice" impossible."""

    __tablename__ = "results"
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    worker: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ResultViewRow(Base):
    """A result laid out for paging (`result_pages.ResultView.to_bytes`), stored with it
    so that a result page's first view does not parse the whole result. Absent for
    results stored before revision 0006 and removed by an erasure that touches the
    round: the pages then read the result itself."""

    __tablename__ = "result_views"
    round_id: Mapped[str] = mapped_column(ForeignKey("results.round_id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ResultPairsRow(Base):
    """A result's eligible pairs, scores and chosen pairs (`result_pairs.to_bytes`),
    stored with it by the worker that prepared the round, so that another process
    explains the round without finding and scoring its pairs again. Absent for results
    stored before revision 0008 or by a worker that had ids renamed by an erasure while
    it solved, and removed by an erasure that touches the round: the round is then
    prepared from its document."""

    __tablename__ = "result_pairs"
    round_id: Mapped[str] = mapped_column(ForeignKey("results.round_id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Publication(Base):
    __tablename__ = "publications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), unique=True)
    published_by: Mapped[str] = mapped_column(String(32))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PublishedAssignment(Base):
    __tablename__ = "published_assignments"
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    placement_id: Mapped[str] = mapped_column(String(64))
    host_id: Mapped[str] = mapped_column(String(64), index=True)
    start: Mapped[dt.date] = mapped_column()
    months: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)


class ApiKey(Base):
    """An API key: the public id and a SHA-256 of the secret, never the secret.

    A key past `expires_at` or with `revoked_at` set is refused (401). Rotating a key
    replaces its secret (the old one stops working at once) and keeps its id, role and
    host; `rotated_at` says when. `last_used_at` is written in batches (`key_touch_s`)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"), default=None)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class IdempotencyRecord(Base):
    """A successful POST's response kept under its Idempotency-Key, per API key id: stored
    in the same transaction as the request's own writes, so that a key either has a
    committed answer or no trace at all. Replayed until `Settings.idempotency_ttl_h`."""

    __tablename__ = "idempotency"
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    content_type: Mapped[str | None] = mapped_column(String(200), default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    response_headers: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class WebSession(Base):
    """A signed-in browser of the web pages: the SHA-256 of its cookie's token (never the
    token), the API key it signed in with (a revoked or expired key ends it), its CSRF
    token, and when it ends. Signing out deletes the row."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class SignInLink(Base):
    """A one-time sign-in link of an API key (`volmatch keys create --link`): the SHA-256
    of its token, until when it works, and when it was used (a second use is refused)."""

    __tablename__ = "sign_in_links"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Lifecycle(Base):
    """What became of a published round: its current document (the round as published,
    plus the waves' late volunteers and needs), the placements their hosts withdrew,
    the reserve lists, and `version`, raised by every change of who stands where, so
    that a backfill computed on an older state is refused (optimistic concurrency)."""

    __tablename__ = "lifecycles"
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    wave: Mapped[int] = mapped_column(Integer, default=1)
    offer_days: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    withdrawn: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reserves: Mapped[list[Any]] = mapped_column(JSON, default=list)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Wave(Base):
    """A wave of a round: the late volunteers and needs it added (wave 1: the round
    as published, nothing added)."""

    __tablename__ = "waves"
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    placements: Mapped[list[Any]] = mapped_column(JSON, default=list)
    opened_by: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Offer(Base):
    """One volunteer offered one placement of a published round. `state` is the
    latest `OfferEvent`'s `to_state`; a backfill that moves a pending offer closes it
    (`withdrawn`) and makes a new one."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    wave: Mapped[int] = mapped_column(Integer, default=1)
    volunteer_id: Mapped[str] = mapped_column(String(64), index=True)
    placement_id: Mapped[str] = mapped_column(String(64))
    host_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    score: Mapped[int] = mapped_column(Integer)
    start: Mapped[dt.date] = mapped_column()
    months: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[dt.datetime] = mapped_column(index=True)
    host_decision: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OfferEvent(Base):
    """One change of an offer: append-only (never updated or deleted). `by` is a role
    and key id (`coordinator:ab12...`, `host:H01`, `volunteer:link`, `system`), never
    a person's name; `action` says what was done (`publish`, `reply`, `host`, `state`,
    `expire`, `backfill`, `withdraw`, `outcome`)."""

    __tablename__ = "offer_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    round_id: Mapped[str] = mapped_column(String(36), index=True)
    wave: Mapped[int] = mapped_column(Integer)
    volunteer_id: Mapped[str] = mapped_column(String(64))
    placement_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16), default=None)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    text: Mapped[str] = mapped_column(String(2000), default="")


class OfferToken(Base):
    """A volunteer's personal link to one offer: the public id and a SHA-256 of the
    secret, never the secret. Single use (`used_at`), expires with the offer; issuing
    a new link revokes the earlier ones."""

    __tablename__ = "offer_tokens"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class OutcomeRow(Base):
    """How a deployment ended (one per offer): completed or ended early with a reason,
    both sides' ratings (1-5) and a short report."""

    __tablename__ = "outcomes"
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    round_id: Mapped[str] = mapped_column(String(36), index=True)
    volunteer_id: Mapped[str] = mapped_column(String(64))
    placement_id: Mapped[str] = mapped_column(String(64))
    host_id: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    completed: Mapped[bool] = mapped_column(Boolean)
    ended_early_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    host_rating: Mapped[int | None] = mapped_column(Integer, default=None)
    volunteer_rating: Mapped[int | None] = mapped_column(Integer, default=None)
    report: Mapped[str] = mapped_column(String(2000), default="")
    ended_on: Mapped[dt.date | None] = mapped_column(default=None)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A reminder for a role (a host's, or the coordinators'), kept once per `key` (the
    same reminder is never queued twice); `sent_at` is set when it was e-mailed."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    host_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    round_id: Mapped[str | None] = mapped_column(String(36), default=None)
    offer_id: Mapped[int | None] = mapped_column(Integer, default=None)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(4000))
    due_at: Mapped[dt.datetime] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200), default=None)


class BackfillRow(Base):
    """A backfill proposal: what the engine proposes (`proposal`, a BackfillProposal)
    after `trigger`, computed at the round's lifecycle `version`. Confirming it is
    refused (409) once that version has moved on. `status`: open, confirmed,
    superseded (a newer proposal replaced it)."""

    __tablename__ = "backfills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    wave: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ScenarioRun(Base):
    """A what-if scenario run against a stored round (the planner pages and the API): the
    scenario as posted, its progress while it runs, and the comparison when done. A
    durable job: a worker claims it with a lease (`lease_until`, renewed on a heartbeat)
    and a fencing token, so a run whose worker died is taken over by another."""

    __tablename__ = "scenario_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[dict[str, Any]] = mapped_column(JSON)
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)
    comparison: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Claimed like rounds' jobs (revision 0007): attempts, the worker, its lease and
    # its fencing token.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
