"""What-if scenario runs against a stored round as durable jobs (the planner pages and
`POST /rounds/{id}/scenarios`), on the same machinery as rounds (`jobs.Worker`).

`enqueue` stores a run as `queued` and returns; a worker (the one embedded in the API
process, or a `volmatch worker`) claims it with a lease and a fencing token, renews the
lease on a heartbeat while solving, writes its progress (variants solved of all) to the
row as each variant finishes, and stores the comparison under the token. A worker that
dies mid-run loses nothing: its lease expires and another worker takes the run over
from the start; after `max_attempts` such losses the run fails, saying so. Any page or
API process reads the row (`read_run`, and `progress_events` as server-sent events).

`cancel` ends a queued or running run at once (status `cancelled`, its event stream
ends): a queued run is never claimed, and the worker of a running one sees the cancel
within `cancel_poll_s` (`heartbeat`), stops the variant it is solving mid-search
(`matching.stop`) and stores nothing (the fencing's `status == "running"` would refuse
it anyway).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from starlette.requests import Request

from volmatch.api.service.db import Database
from volmatch.api.service.heartbeat import Held, beat
from volmatch.api.service.logs import get_logger
from volmatch.api.service.privacy import erased_since, scrub_ids
from volmatch.api.service.queries import lock_row
from volmatch.api.service.settings import Settings
from volmatch.api.service.state_events import state_events
from volmatch.api.service.tables import RoundRow, ScenarioRun, utcnow
from volmatch.matching.stop import Stopped
from volmatch.models import TooManyPairs, parse_round
from volmatch.scenarios.model import Scenario, ScenarioError, parse_scenario

log = get_logger("scenario_runs")

RECENT_RUNS = 20
"""Runs listed on the planner's start page."""
TERMINAL = frozenset({"done", "failed", "cancelled"})


class _LeaseLost(Exception):
    """Another worker took the run over (our lease expired), or the run was cancelled:
    drop our work."""


@dataclass(frozen=True)
class RunView:
    """A scenario run as the pages and the API show it."""

    id: str
    round_id: str
    name: str
    status: str
    """queued, running, done, failed or cancelled."""
    done: int
    total: int
    current: str
    comparison: dict[str, Any] | None
    errors: list[str]
    created_at: dt.datetime
    attempts: int = 0

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def public(self) -> dict[str, Any]:
        """The run as `GET /scenario-runs/{id}` answers it."""
        return {
            "id": self.id,
            "round_id": self.round_id,
            "name": self.name,
            "status": self.status,
            "attempts": self.attempts,
            "progress": {"done": self.done, "total": self.total, "name": self.current},
            "comparison": self.comparison,
            "errors": self.errors,
            "created_at": self.created_at,
        }


def _view(row: ScenarioRun) -> RunView:
    p = row.progress or {}
    return RunView(
        id=row.id,
        round_id=row.round_id,
        name=row.name,
        status=row.status,
        done=int(p.get("done", 0)),
        total=int(p.get("total", 0)),
        current=str(p.get("name", "")),
        comparison=row.comparison,
        errors=list((row.error or {}).get("errors", [])),
        created_at=row.created_at,
        attempts=int(row.attempts or 0),
    )


def read_run(session: Session, run_id: str) -> RunView | None:
    row = session.get(ScenarioRun, run_id)
    return None if row is None else _view(row)


def recent_runs(session: Session, limit: int = RECENT_RUNS) -> list[RunView]:
    rows = session.scalars(select(ScenarioRun).order_by(ScenarioRun.created_at.desc()).limit(limit))
    return [_view(r) for r in rows]


def cancel(session: Session, run_id: str) -> RunView | None:
    """Cancel a queued or running run (None where it does not exist); `RunFinished` once
    it has finished. The worker running it notices at its next lease renewal."""
    row = lock_row(session, ScenarioRun, run_id)
    if row is None:
        return None
    if row.status in TERMINAL:
        raise RunFinished(row.status)
    now = utcnow()
    row.status, row.finished_at, row.lease_until = "cancelled", now, None
    session.flush()
    return _view(row)


class RunFinished(Exception):
    """The run to cancel has finished already (its status is the message)."""


def scenario_of(round_id: str, stored: dict[str, Any]) -> Scenario:
    """The scenario a stored run solves: the pages keep the YAML text they ran (`text`),
    the API the posted document; the base is always the run's round."""
    if "text" in stored:
        from volmatch.scenarios.source import ScenarioTextError, parse_scenario_text

        try:
            return parse_scenario_text(str(stored["text"]), round_id)
        except ScenarioTextError as exc:
            raise ScenarioError([]) from exc
    body = {k: v for k, v in stored.items() if k != "text"}
    return parse_scenario({**body, "base": {"round_id": round_id}})


def enqueue(
    session: Session, round_id: str, scenario: Scenario, raw: dict[str, Any], key_id: str
) -> str:
    """Store a run of `scenario` (parsed from `raw`, kept as posted) against round
    `round_id` for a worker to claim; its id. Committed with the caller's session."""
    run_id = str(uuid.uuid4())
    session.add(
        ScenarioRun(
            id=run_id,
            round_id=round_id,
            created_by=key_id,
            name=scenario.name[:200],
            status="queued",
            attempts=0,
            progress={"done": 0, "total": len(scenario.variants) + 1, "name": ""},
            scenario=json.loads(json.dumps(raw, default=str)),
        )
    )
    session.flush()
    return run_id


def start_run(
    db: Database,
    round_id: str,
    scenario: Scenario,
    raw: dict[str, Any],
    key_id: str,
    *,
    settings: Settings | None = None,
    background: bool = True,
) -> str:
    """`enqueue` in a transaction of its own; with `background=False` this thread
    then claims and solves it before returning (scripts and tests without a worker)."""
    with db.write() as s:
        run_id = enqueue(s, round_id, scenario, raw, key_id)
    if not background:
        run_one(db, settings or Settings(), f"inline:{uuid.uuid4().hex[:6]}", run_id=run_id)
    return run_id


# -- the worker's side --------------------------------------------------------------------


@dataclass(frozen=True)
class RunClaim:
    run_id: str
    token: str
    attempt: int


def claim(
    db: Database, settings: Settings, worker: str, run_id: str | None = None
) -> RunClaim | None:
    """Take the oldest claimable run (queued, or running with an expired lease), or
    `run_id` only; None when there is none. Claims like rounds' jobs: `FOR UPDATE SKIP
    LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` serialising them on SQLite."""
    while True:
        now = utcnow()
        with db.write() as s:
            q = select(ScenarioRun).where(
                or_(
                    ScenarioRun.status == "queued",
                    and_(ScenarioRun.status == "running", ScenarioRun.lease_until < now),
                    # A run started on a thread before revision 0007 has no lease: taken
                    # over once its heartbeat is older than a lease.
                    and_(
                        ScenarioRun.status == "running",
                        ScenarioRun.lease_until.is_(None),
                        ScenarioRun.heartbeat_at < now - dt.timedelta(seconds=settings.lease_s),
                    ),
                )
            )
            if run_id is not None:
                q = q.where(ScenarioRun.id == run_id)
            q = q.order_by(ScenarioRun.created_at, ScenarioRun.id).limit(1)
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            row = s.execute(q).scalar_one_or_none()
            if row is None:
                return None
            if row.status == "running":
                log.warning(
                    "scenario run lease expired; re-claiming",
                    extra={"run": row.id, "attempts": row.attempts},
                )
            if (row.attempts or 0) >= settings.max_attempts:
                row.status, row.finished_at, row.lease_until = "failed", now, None
                row.error = {
                    "errors": [
                        f"the worker running it stopped {row.attempts} "
                        "time(s) without finishing; not retried"
                    ]
                }
                continue
            token = uuid.uuid4().hex
            row.status, row.worker, row.claim_token = "running", worker, token
            row.attempts = (row.attempts or 0) + 1
            row.lease_until = now + dt.timedelta(seconds=settings.lease_s)
            row.heartbeat_at = now
            return RunClaim(row.id, token, row.attempts)


def _renew(db: Database, settings: Settings, c: RunClaim, **fields: Any) -> bool:
    """Extend the lease (and store `fields`) while the run is still ours."""
    now = utcnow()
    with db.write() as s:
        res = s.execute(
            update(ScenarioRun)
            .where(
                ScenarioRun.id == c.run_id,
                ScenarioRun.claim_token == c.token,
                ScenarioRun.status == "running",
            )
            .values(
                lease_until=now + dt.timedelta(seconds=settings.lease_s), heartbeat_at=now, **fields
            )
            .execution_options(synchronize_session=False)
        )
    return bool(getattr(res, "rowcount", 0) == 1)


def _finish(
    db: Database, c: RunClaim, solved: tuple[str, dict[str, Any]] | None = None, **fields: Any
) -> None:
    """Store the outcome under the fencing token (dropped if another worker took over).
    `solved`: the round and its document as the run read them; the ids of volunteers
    erased since are pseudonymised in what is stored (an erasure scrubs the runs stored
    before it, not a run still solving), under the round's lock, as a round's result is
    (`jobs`)."""
    now = utcnow()
    with db.write() as s:
        current = lock_row(s, RoundRow, solved[0]) if solved is not None else None
        renamed = (
            erased_since(solved[1], current.document)
            if solved is not None and current is not None
            else {}
        )
        if renamed:
            fields = {
                k: scrub_ids(v, renamed) if k in ("comparison", "error") else v
                for k, v in fields.items()
            }
        res = s.execute(
            update(ScenarioRun)
            .where(
                ScenarioRun.id == c.run_id,
                ScenarioRun.claim_token == c.token,
                ScenarioRun.status == "running",
            )
            .values(finished_at=now, heartbeat_at=now, lease_until=None, claim_token=None, **fields)
            .execution_options(synchronize_session=False)
        )
    if getattr(res, "rowcount", 0) != 1:
        log.warning(
            "scenario run cancelled or taken over before finishing; outcome dropped",
            extra={"run": c.run_id},
        )


def run_one(db: Database, settings: Settings, worker: str, run_id: str | None = None) -> bool:
    """Claim and solve one run; False when there was none to claim."""
    from volmatch.scenarios.runner import run_scenario

    c = claim(db, settings, worker, run_id)
    if c is None:
        return False
    with db.read() as s:
        row = s.get(ScenarioRun, c.run_id)
        round_row = s.get(RoundRow, row.round_id) if row is not None else None
        document = dict(round_row.document) if round_row is not None else None
        stored = dict(row.scenario) if row is not None else {}
        round_id = row.round_id if row is not None else ""
    if document is None:
        _finish(db, c, status="failed", error={"errors": ["the round is no longer stored"]})
        return True
    finished, held = threading.Event(), Held()

    def cancelled() -> bool:
        with db.read() as s:
            return s.scalar(select(ScenarioRun.status).where(ScenarioRun.id == c.run_id)) == (
                "cancelled"
            )

    def progress(done: int, total: int, name: str) -> None:
        if held.stop() or not _renew(
            db, settings, c, progress={"done": done, "total": total, "name": name}
        ):
            raise _LeaseLost

    heart = threading.Thread(
        target=beat,
        args=(settings, lambda: _renew(db, settings, c), cancelled, finished, held),
        daemon=True,
        name=f"scenario-beat-{c.run_id[:8]}",
    )
    heart.start()
    try:
        cmp = run_scenario(
            parse_round(document),
            scenario_of(round_id, stored),
            progress=progress,
            stop=held.stop,
        )
    except (_LeaseLost, Stopped):
        if cancelled():
            log.info("scenario run cancelled; stopped", extra={"run": c.run_id})
        else:
            log.warning("scenario run lease lost; result dropped", extra={"run": c.run_id})
    except ScenarioError as exc:
        _finish(
            db,
            c,
            (round_id, document),
            status="failed",
            error={"errors": [str(e) for e in exc.errors] or ["the scenario no longer applies"]},
        )
    except TooManyPairs as exc:  # the round or a variant: counts and the limit, no names
        _finish(
            db, c, (round_id, document), status="failed", error={"errors": [str(exc.errors[0])]}
        )
    except Exception as exc:  # a bug must not leave the run "running" forever
        # The type only: an exception's text may quote a record (a name).
        log.error("scenario run failed", extra={"run": c.run_id, "exc_type": type(exc).__name__})
        _finish(
            db, c, status="failed", error={"errors": ["the run failed on the server; see its log"]}
        )
    else:
        total = len(cmp.variants) + 1
        _finish(
            db,
            c,
            (round_id, document),
            status="done",
            comparison=json.loads(json.dumps(cmp.to_dict(), default=str)),
            progress={"done": total, "total": total, "name": ""},
        )
    finally:
        finished.set()
        heart.join(timeout=settings.heartbeat_s + 5)
    return True


def progress_events(db: Database, run_id: str, request: Request) -> AsyncIterator[str]:
    """A run's progress as server-sent events, as for rounds: one `progress` event per
    change (status, attempts, progress), then `end` with the final status."""

    def read() -> dict[str, Any] | None:
        with db.read() as s:
            row = s.get(ScenarioRun, run_id)
            if row is None:
                return None
            return {"status": row.status, "attempts": row.attempts, "progress": row.progress}

    return state_events(request, read, TERMINAL)
