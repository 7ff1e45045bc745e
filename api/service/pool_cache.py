"""The stored pool compiled once per version, for advice where no round has a result
yet: the host partners' live feasibility line and their needs' counts then count the
pool itself (`advice.pool_feasibility`), with the matching core's own rules.

Compiled under the default policy (required training, international only), without
preferences (they name needs and do not decide who is eligible), and read again only
when the stored pool changed (its count or latest `updated_at` moved): validating and
compiling 10,000 volunteers costs about a second, and the live line asks at every pause
in typing. One per app (`app.state.pool_cache`), never module-level.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volmatch.api.service.queries import volunteer_rows
from volmatch.api.service.tables import VolunteerRow
from volmatch.matching import compile_round
from volmatch.matching.compiled import CompiledRound
from volmatch.models import Policy, Round, Volunteer


def pool_volunteers(session: Session) -> list[Volunteer]:
    """The stored pool, without preferences."""
    out = []
    for row in volunteer_rows(session):
        data = {k: v for k, v in row.data.items() if k != "preferences"}
        out.append(Volunteer.model_validate(data))
    return out


class PoolCache:
    """The stored pool compiled (no placements), from the cache while current."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._compiled: CompiledRound | None = None

    def compiled(self, session: Session) -> CompiledRound:
        """The stored pool as a compiled round without placements."""
        version = tuple(
            session.execute(select(func.count(), func.max(VolunteerRow.updated_at))).one()
        )
        with self._lock:
            if version == self._version and self._compiled is not None:
                return self._compiled
        compiled = compile_round(
            Round(volunteers=pool_volunteers(session), placements=(), policy=Policy())
        )
        with self._lock:
            self._version, self._compiled = version, compiled
        return compiled
