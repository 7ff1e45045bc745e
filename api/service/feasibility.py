"""How many volunteers of the current pool are eligible for a need now, and which hard
rules hold the others back: the host partners' live feasibility line and the counts of
their needs list.

Counted on the stored pool under the default policy (required training, international
only), with every hard rule checked on every (volunteer, need) pair by the matching
core's own `check_rules`. This is the interim answer until the advice engine (issue
16) offers its per-requirement advice as a service function; the pages then call that.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volmatch.api.service.queries import volunteer_rows
from volmatch.api.service.tables import VolunteerRow
from volmatch.matching import RULES, check_rules, compile_round
from volmatch.models import Placement, Policy, Round, Volunteer


@dataclass(frozen=True)
class Feasibility:
    """A need against the pool: `eligible` volunteers pass every hard rule; `blocked_by`
    says, per rule that fails someone, how many more would be eligible were that rule
    alone relaxed (largest first); `pool` is the pool's size."""

    placement: str
    pool: int
    eligible: int
    blocked_by: tuple[tuple[str, int], ...]


def pool_volunteers(session: Session) -> list[Volunteer]:
    """The stored pool, without preferences (they name needs and do not decide who is
    eligible)."""
    out = []
    for row in volunteer_rows(session):
        data = {k: v for k, v in row.data.items() if k != "preferences"}
        out.append(Volunteer.model_validate(data))
    return out


class PoolCache:
    """The validated pool of one process, read again only when the stored pool changed
    (its count or latest `updated_at` moved): validating 10,000 volunteers costs about
    a second, and the live line asks for the pool at every pause in typing. One per
    app (`app.state`), never module-level."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._pool: list[Volunteer] = []

    def volunteers(self, session: Session) -> list[Volunteer]:
        """The stored pool as `pool_volunteers` reads it, from the cache when current."""
        version = tuple(session.execute(
            select(func.count(), func.max(VolunteerRow.updated_at))).one())
        with self._lock:
            if version == self._version:
                return self._pool
        pool = pool_volunteers(session)
        with self._lock:
            self._version, self._pool = version, pool
        return pool


def feasibility(volunteers: Sequence[Volunteer], needs: Sequence[Placement],
                policy: Policy | None = None) -> list[Feasibility]:
    """Each need's `Feasibility` against `volunteers` (one compiled round for all)."""
    if not needs:
        return []
    stripped = [p.model_copy(update={"ranking": ()}) for p in needs]
    if not volunteers:
        return [Feasibility(p.id, 0, 0, ()) for p in stripped]
    compiled = compile_round(Round(volunteers=list(volunteers), placements=stripped,
                                   policy=policy or Policy()))
    n = compiled.n_volunteers
    pv = np.arange(n, dtype=np.int64)
    out = []
    for pi in range(compiled.n_placements):
        rules = check_rules(compiled, pv, np.full(n, pi, dtype=np.int64))
        passing = np.ones(n, dtype=np.bool_)
        for ok in rules.values():
            passing &= ok
        eligible = int(passing.sum())
        gains = []
        for name in RULES:
            if name not in rules:
                continue
            others = np.ones(n, dtype=np.bool_)
            for other, ok in rules.items():
                if other != name:
                    others &= ok
            gain = int(others.sum()) - eligible
            if gain > 0:
                gains.append((name, gain))
        gains.sort(key=lambda g: (-g[1], list(RULES).index(g[0])))
        out.append(Feasibility(compiled.placement_ids[pi], n, eligible, tuple(gains)))
    return out
