"""How many volunteers of the stored pool are eligible now for each of a host's needs
(the host's "My needs" page), kept per process until the pool or the host's needs change.

The count is the eligible pairs' (every hard rule of `docs/contract.md` passes, under
the default policy) as the matching core finds them (`find_pairs`), the same number as
the live line's (`feasibility`), without the per-rule counts that line also gives. A
host's counts are keyed by the pool's version (its count and latest change) and its
needs' ids and change times, so a repeat view of the page costs a dictionary look-up;
only a changed pool or need counts again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volmatch.api.service.feasibility import PoolCache
from volmatch.api.service.tables import PlacementRow, VolunteerRow
from volmatch.matching import compile_round
from volmatch.matching.eligibility import find_pairs
from volmatch.models import Placement, Policy, Round, Volunteer

HOSTS_KEPT = 512
"""Hosts whose counts are kept per process: a few integers each; more than a programme
has host partners."""


def eligible_counts(volunteers: Sequence[Volunteer], needs: Sequence[Placement]) -> dict[str, int]:
    """Each need's number of eligible volunteers (by need id)."""
    if not needs:
        return {}
    stripped = [p.model_copy(update={"ranking": ()}) for p in needs]
    if not volunteers:
        return {p.id: 0 for p in stripped}
    c = compile_round(Round(volunteers=list(volunteers), placements=stripped, policy=Policy()))
    per = np.bincount(find_pairs(c).p, minlength=c.n_placements)
    return {pid: int(n) for pid, n in zip(c.placement_ids, per.tolist(), strict=True)}


class NeedCounts:
    """Eligible counts of each host's needs, by pool and needs version, least recently
    used host dropped past `kept`; safe to share between request threads. One per app
    (`app.state.need_counts`)."""

    def __init__(self, kept: int = HOSTS_KEPT) -> None:
        self._kept = kept
        self._lock = threading.Lock()
        self._counts: OrderedDict[str, tuple[Hashable, dict[str, int]]] = OrderedDict()
        self.counted = 0
        """How many times counts were computed (tests check the cache)."""

    def of(
        self, session: Session, host: str, rows: Sequence[PlacementRow], pool: PoolCache
    ) -> dict[str, int]:
        """The counts of `rows` (the host's needs as stored) against the stored pool."""
        # the version before the pool: a pool newer than its key is counted again next time
        version = tuple(
            session.execute(select(func.count(), func.max(VolunteerRow.updated_at))).one()
        )
        key = (version, tuple((r.id, str(r.updated_at)) for r in rows))
        with self._lock:
            hit = self._counts.get(host)
            if hit is not None and hit[0] == key:
                self._counts.move_to_end(host)
                return hit[1]
        needs = [Placement.model_validate(r.data) for r in rows]
        counts = eligible_counts(pool.volunteers(session), needs)
        with self._lock:
            self.counted += 1
            self._counts[host] = (key, counts)
            self._counts.move_to_end(host)
            while len(self._counts) > self._kept:
                self._counts.popitem(last=False)
        return counts
