"""Service settings, read from the environment (prefix `VOLMATCH_`) or given in code.

The tuning numbers (pools, waits, timeouts) live here with a one-line reason each; their
defaults were measured with `benchmarks/load_bench.py` (figures in benchmarks/README.md).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from volmatch.matching.pair_limit import MAX_ROUND_PAIRS

VIEWS_BUILT_AT_START = 10
"""Results without a paging view (stored before revision 0006, or erased since) whose
views a starting service builds in the background, newest first: each is a parse of
the whole result (about 1 s at 10,000 volunteers on a busy machine), so the ones most
likely viewed next, not every result ever stored; older ones are built on first view."""


class Settings(BaseSettings):
    """Everything `volmatch serve` and `volmatch worker` can be told."""

    model_config = SettingsConfigDict(env_prefix="VOLMATCH_", extra="ignore", frozen=True)

    db_url: str = Field(
        "sqlite:///volmatch.db",
        description="SQLAlchemy URL; default an SQLite file in the working directory. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    max_body_bytes: int = Field(
        20_000_000, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_round_volunteers: int = Field(
        50_000, ge=1, description="Largest pool a round may hold (422 above)."
    )
    max_round_placements: int = Field(
        20_000, ge=1, description="Most placements a round may hold (422 above)."
    )
    max_round_pairs: int = Field(
        MAX_ROUND_PAIRS,
        ge=1,
        description="Most candidate (volunteer, placement) pairs a round may have (422 above "
        "when submitted; advice and explanations of a stored round over it say they are "
        "unavailable): each pair costs about 240 bytes while a round's advice is built "
        "(matching.pair_limit).",
    )
    embedded_worker: bool = Field(True, description="Run one job worker inside the API process.")
    lease_s: float = Field(
        30.0, gt=0, description="A claimed job is re-claimed this long after its last heartbeat."
    )
    heartbeat_s: float = Field(5.0, gt=0, description="How often a worker renews its lease.")
    poll_s: float = Field(0.5, gt=0, description="How often an idle worker looks for jobs.")
    cancel_poll_s: float = Field(
        0.5,
        gt=0,
        description="How often a worker solving a round or a scenario run looks whether it was "
        "cancelled (a read of its row): a cancel stops the solve within about this.",
    )
    results_watch_s: float = Field(
        2.0,
        ge=0,
        description="Without an embedded worker: how often to look for a newly stored result "
        "to warm its round for explanations and advice (0: never).",
    )
    views_built_at_start: int = Field(
        VIEWS_BUILT_AT_START,
        ge=0,
        description="At start, build in the background the paging views of this many stored "
        "results that have none (stored before revision 0006, or erased since), newest "
        "first (0: none; the others are built on first view).",
    )
    max_attempts: int = Field(
        3, ge=1, description="A job whose worker died this many times is marked failed."
    )
    worker_test_delay_s: float = Field(
        0.0,
        ge=0,
        description="Test hook: sleep this long before solving, so that tests can kill a "
        "worker mid-solve. Leave at 0.",
    )
    log_level: str = Field("INFO", description="Log level of the service loggers.")
    db_pool_size: int = Field(
        10,
        ge=1,
        le=200,
        description="Database connections per process (PostgreSQL; SQLite reads). Bounded "
        "so that API processes and workers stay under PostgreSQL's max_connections (100 by "
        "default); more would only queue inside the database.",
    )
    db_wait_s: float = Field(
        10.0,
        gt=0,
        description="Longest a request waits for a database connection, SQLite's write "
        "turn or a row lock before it is answered 503 with Retry-After, instead of hanging.",
    )
    queue_wait_s: float = Field(
        30.0,
        gt=0,
        description="Longest a request waits in a burst for its turn at the database (the "
        "queue of requests admitted as connections free up) before it is answered 503 "
        "with Retry-After: long enough to ride out a burst of a thousand clients, short "
        "enough to answer before their own timeouts.",
    )
    statement_timeout_s: float = Field(
        30.0,
        gt=0,
        description="PostgreSQL statement_timeout: no query holds a connection longer.",
    )
    http_threads: int = Field(
        64,
        ge=4,
        description="Threads that run the (synchronous) endpoints of one API process: "
        "enough to keep the database pool busy while others parse and serialise.",
    )
    shutdown_grace_s: float = Field(
        5.0,
        ge=0,
        description="On SIGTERM, in-flight requests get this long to finish; open event "
        "streams and requests still running then are cut.",
    )
    idempotency_ttl_h: float = Field(
        24.0, gt=0, description="How long an Idempotency-Key's answer is kept and replayed."
    )
    key_touch_s: float = Field(
        30.0,
        gt=0,
        description="API keys' last-used times are written in one batch this often (a "
        "write per request would serialise every read on SQLite).",
    )
    lifecycle_tick_s: float = Field(
        60.0,
        gt=0,
        description="How often overdue offers are expired, reminders queued and the outbox "
        "e-mailed: deadlines are days, so a minute is prompt.",
    )
    backfill_sweep_s: float = Field(
        10.0,
        gt=0,
        description="How often the API looks for backfill proposals still pending (a "
        "decline's proposal is computed at once after its commit; the sweep catches one "
        "whose process died in between).",
    )
    backfill_test_delay_s: float = Field(
        0.0,
        ge=0,
        description="Test hook: the backfill runner waits this long before it computes a "
        "pending proposal, so that tests can kill the server in between. Leave at 0.",
    )
    smtp_host: str = Field(
        "",
        description="SMTP server for the reminders' e-mail; empty: no e-mail is sent "
        "(the reminders feed still has everything).",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    smtp_from: str = Field("volmatch@localhost", description="Sender of the reminders.")
    smtp_coordinators: str = Field(
        "", description="Address that gets the coordinators' reminders (empty: none)."
    )
    smtp_hosts: dict[str, str] = Field(
        default_factory=dict,
        description="Host id -> address for the hosts' reminders (JSON in the environment).",
    )
    smtp_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Longest wait for the SMTP server: a dead one only delays the next tick.",
    )
    web_session_h: float = Field(
        12.0,
        gt=0,
        description="A web page session ends this long after sign-in (a working day: a "
        "shared computer in a host's office does not stay signed in overnight).",
    )
    web_link_h: float = Field(
        72.0,
        gt=0,
        description="A one-time sign-in link (`volmatch keys create --link`) works this "
        "long: time for an e-mail to reach a host partner over a weekend.",
    )
