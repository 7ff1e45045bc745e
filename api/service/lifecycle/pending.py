"""Pending backfill proposals: computed after the change that asked for them has
committed, by a thread of the API process (`BackfillRunner`), outside any write
transaction (`backfill.compute_pending`).

A transaction that stores a pending proposal marks its session (`wakeup.note_pending`);
when it commits, the runners of this process wake at once. They also sweep every
`Settings.backfill_sweep_s` and when they start, so a proposal whose process died
between the commit and the proposal (a SIGKILL, a restart) is computed by whichever
process sweeps next. Two processes may solve the same proposal at once: the first to
store it wins, the other finds it no longer pending.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select

from volmatch.api.service.db import Database
from volmatch.api.service.lifecycle import wakeup
from volmatch.api.service.lifecycle.backfill import PENDING, compute_pending, pending_ids
from volmatch.api.service.logs import get_logger
from volmatch.api.service.tables import BackfillRow

log = get_logger("backfill")

PAGE_WAIT_S = 2.0
"""Longest a page waits for the proposal its change asked for: a round without policy
rules solves in well under a second and its page shows the proposal at once; a rules
round's (tens of seconds) shows as being computed and the page asks again."""
POLL_S = 0.05
"""How often `wait_computed` reads the proposal's status."""


def wait_computed(db: Database, backfill_id: int, timeout_s: float) -> bool:
    """Wait, reading in short transactions, until the proposal is no longer pending;
    whether it was within `timeout_s`."""
    end = time.monotonic() + timeout_s
    while True:
        with db.read() as session:
            status = session.scalar(select(BackfillRow.status).where(BackfillRow.id == backfill_id))
        if status != PENDING:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(POLL_S)


class BackfillRunner:
    """Computes the pending proposals of one database, one at a time (the engine is
    CPU-bound: two at once would only share the cores)."""

    def __init__(self, db: Database, sweep_s: float, test_delay_s: float = 0.0) -> None:
        self.db = db
        self.sweep_s = sweep_s
        self.test_delay_s = test_delay_s

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            seen = wakeup.generation()
            try:
                with self.db.read() as session:
                    due = pending_ids(session)
                for backfill_id in due:
                    if self.test_delay_s:
                        stop.wait(self.test_delay_s)
                    if stop.is_set():
                        return
                    status = compute_pending(self.db, backfill_id, stop)
                    log.info("backfill proposal computed", extra=_extra(backfill_id, status))
            except Exception as exc:
                # by type only: a database error's text may quote a record
                log.warning("backfill sweep failed", extra={"exc_type": type(exc).__name__})
            if not stop.is_set():
                wakeup.wait(seen, self.sweep_s)


def _extra(backfill_id: int, status: str | None) -> dict[str, Any]:
    return {"backfill": backfill_id, "status": status or "unchanged"}
