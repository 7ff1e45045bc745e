"""The stored pool compiled once per version, for advice where no round has a result
yet: the host partners' live feasibility line and their needs' counts then count the
pool itself (`advice.pool_feasibility`), with the matching core's own rules.

Compiled under the default policy (required training, international only), without
preferences (they name needs and do not decide who is eligible), and read again only
when the stored pool changed (its count or latest `updated_at` moved).

Reading and validating 10,000 stored volunteers costs about a second, compiling them a
tenth of that, so neither is left to a page's first view: `warm` builds the pool on a
background thread (at service start, and whenever a page finds it out of date) and
`ready` answers without building. A rebuild after a change reads again only the
records whose `updated_at` moved (the others keep their validated models): an upload
of a few volunteers costs the compile, not the whole read. One per app
(`app.state.pool_cache`), never module-level.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volmatch.api.service.db import Database
from volmatch.api.service.logs import get_logger
from volmatch.api.service.queries import volunteer_rows
from volmatch.api.service.tables import VolunteerRow
from volmatch.matching import compile_round
from volmatch.matching.compiled import CompiledRound
from volmatch.models import Policy, Round, Volunteer

log = get_logger("pool_cache")


def pool_volunteer(data: dict[str, Any]) -> Volunteer:
    """One stored volunteer record as the pool counts it: without preferences."""
    return Volunteer.model_validate({k: v for k, v in data.items() if k != "preferences"})


def pool_version(session: Session) -> tuple[Any, ...]:
    """What changes whenever the stored pool does: a write moves the latest
    `updated_at`, a deletion (an erasure) the count."""
    return tuple(session.execute(select(func.count(), func.max(VolunteerRow.updated_at))).one())


class PoolCache:
    """The stored pool compiled (no placements), from the cache while current."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._build = threading.Lock()
        """One build at a time: a second asker waits for it, then finds it current."""
        self._version: tuple[Any, ...] | None = None
        self._compiled: CompiledRound | None = None
        self._records: dict[str, tuple[dt.datetime, Volunteer]] = {}
        """The validated volunteers of the last build, by id, with their `updated_at`."""
        self._thread: threading.Thread | None = None

    def ready(self, session: Session) -> CompiledRound | None:
        """The compiled pool if it is current, without building it."""
        version = pool_version(session)
        with self._lock:
            return self._compiled if version == self._version else None

    def compiled(self, session: Session) -> CompiledRound:
        """The stored pool as a compiled round without placements (built here where it
        is not current)."""
        found = self.ready(session)
        if found is not None:
            return found
        with self._build:
            version = pool_version(session)
            with self._lock:
                if version == self._version and self._compiled is not None:
                    return self._compiled
            records = self._read(session)
            compiled = compile_round(
                Round(volunteers=[v for _, v in records.values()], placements=(), policy=Policy())
            )
            with self._lock:
                self._version, self._compiled, self._records = version, compiled, records
            return compiled

    def _read(self, session: Session) -> dict[str, tuple[dt.datetime, Volunteer]]:
        """The stored volunteers by id (in id order), validated again only where their
        `updated_at` moved since the last build."""
        stamps = session.execute(
            select(VolunteerRow.id, VolunteerRow.updated_at).order_by(VolunteerRow.id)
        ).all()
        with self._lock:
            known = self._records
        stale = [vid for vid, at in stamps if vid not in known or known[vid][0] != at]
        # a few changed records by id; most of the pool (the first build) in one scan
        rows = volunteer_rows(session, stale if len(stale) * 2 < len(stamps) else None)
        wanted = set(stale)
        fresh = {
            row.id: (row.updated_at, pool_volunteer(row.data)) for row in rows if row.id in wanted
        }
        out: dict[str, tuple[dt.datetime, Volunteer]] = {}
        for vid, _ in stamps:
            # a row rewritten between the two reads is taken as read the second time:
            # its newer stamp makes the next version check build again
            got = fresh.get(vid) or known.get(vid)
            if got is not None:
                out[vid] = got
        return out

    def warm(self, db: Database) -> None:
        """Build the pool on the background thread unless a build is running there."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._warm, args=(db,), daemon=True, name="volmatch-pool-warm"
                )
                self._thread.start()

    def _warm(self, db: Database) -> None:
        try:
            with db.read() as session:
                self.compiled(session)
        except Exception as exc:  # a background build never takes the service down
            log.warning("background pool warm-up failed", extra={"exc_type": type(exc).__name__})

    def stop(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for a background build: a stopping service must
        not read from a database it is closing."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout=timeout)
