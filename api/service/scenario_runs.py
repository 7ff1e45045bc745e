"""What-if scenario runs against a stored round, as jobs with progress (the planner
pages; the API's `POST /rounds/{id}/scenarios` answers the same comparison inside the
request).

`start_run` stores the run and solves it on a thread of this process, writing its
progress (variants solved of all) to the row as each variant finishes and the
comparison when done; any page of any process reads the row. A run whose process
stopped stays `running` with an old heartbeat: `RunView.status` then says
`interrupted`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.db import Database
from volmatch.api.service.logs import get_logger
from volmatch.api.service.tables import RoundRow, ScenarioRun, utcnow
from volmatch.models import parse_round
from volmatch.scenarios.model import Scenario, ScenarioError

log = get_logger("scenario_runs")

STALE_AFTER = dt.timedelta(minutes=10)
"""A running run that has not solved a variant for this long lost its process: the
slowest variant of a round the service accepts solves well within it."""
RECENT_RUNS = 20
"""Runs listed on the planner's start page."""


@dataclass(frozen=True)
class RunView:
    """A scenario run as the pages show it."""

    id: str
    round_id: str
    name: str
    status: str
    """queued, running, done, failed, or interrupted (running, but its process died)."""
    done: int
    total: int
    current: str
    comparison: dict[str, Any] | None
    errors: list[str]
    created_at: dt.datetime

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "interrupted")


def _view(row: ScenarioRun, now: dt.datetime | None = None) -> RunView:
    status = row.status
    if status in ("queued", "running") and (now or utcnow()) - row.heartbeat_at > STALE_AFTER:
        status = "interrupted"
    p = row.progress or {}
    return RunView(
        id=row.id, round_id=row.round_id, name=row.name, status=status,
        done=int(p.get("done", 0)), total=int(p.get("total", 0)), current=str(p.get("name", "")),
        comparison=row.comparison, errors=list((row.error or {}).get("errors", [])),
        created_at=row.created_at,
    )


def read_run(session: Session, run_id: str) -> RunView | None:
    row = session.get(ScenarioRun, run_id)
    return None if row is None else _view(row)


def recent_runs(session: Session, limit: int = RECENT_RUNS) -> list[RunView]:
    rows = session.scalars(select(ScenarioRun).order_by(ScenarioRun.created_at.desc())
                           .limit(limit))
    return [_view(r) for r in rows]


def start_run(db: Database, round_id: str, scenario: Scenario, raw: dict[str, Any],
              key_id: str, *, background: bool = True) -> str:
    """Store a run of `scenario` (parsed from `raw`) against round `round_id` and start
    solving it; returns the run's id. `background=False` solves before returning."""
    run_id = str(uuid.uuid4())
    total = len(scenario.variants) + 1
    with db.write() as s:
        s.add(ScenarioRun(
            id=run_id, round_id=round_id, created_by=key_id, name=scenario.name[:200],
            status="queued", progress={"done": 0, "total": total, "name": ""},
            scenario=json.loads(json.dumps(raw, default=str)),
        ))
    if background:
        threading.Thread(target=execute_run, args=(db, run_id, scenario),
                         name=f"scenario-{run_id[:8]}", daemon=True).start()
    else:
        execute_run(db, run_id, scenario)
    return run_id


def _update(db: Database, run_id: str, **fields: Any) -> None:
    with db.write() as s:
        row = s.get(ScenarioRun, run_id)
        if row is None:  # deleted meanwhile (its round erased): nothing to report to
            return
        for k, v in fields.items():
            setattr(row, k, v)
        row.heartbeat_at = utcnow()


def execute_run(db: Database, run_id: str, scenario: Scenario) -> None:
    """Solve the run's base and variants, recording progress and the comparison."""
    from volmatch.scenarios.runner import run_scenario

    with db.read() as s:
        row = s.get(ScenarioRun, run_id)
        round_row = s.get(RoundRow, row.round_id) if row is not None else None
        document = dict(round_row.document) if round_row is not None else None
    if document is None:
        _update(db, run_id, status="failed", finished_at=utcnow(),
                error={"errors": ["the round is no longer stored"]})
        return
    _update(db, run_id, status="running")

    def progress(done: int, total: int, name: str) -> None:
        _update(db, run_id, progress={"done": done, "total": total, "name": name})

    try:
        cmp = run_scenario(parse_round(document), scenario, progress=progress)
    except ScenarioError as exc:
        _update(db, run_id, status="failed", finished_at=utcnow(),
                error={"errors": [str(e) for e in exc.errors]})
        return
    except Exception as exc:  # a bug must not leave the run "running" forever
        # The type only: an exception's text may quote a record (a name).
        log.error("scenario run failed", extra={"run": run_id, "exc_type": type(exc).__name__})
        _update(db, run_id, status="failed", finished_at=utcnow(),
                error={"errors": ["the run failed on the server; see its log"]})
        return
    out = json.loads(json.dumps(cmp.to_dict(), default=str))
    _update(db, run_id, status="done", comparison=out, finished_at=utcnow(),
            progress={"done": len(scenario.variants) + 1, "total": len(scenario.variants) + 1,
                      "name": ""})
