"""Explaining a pair of a stored result from the arrays stored with it (`result_pairs`,
format 2), without parsing or compiling the round's document.

A pair's explanation needs the round's pricing (the residual network of its best
assignment: numbers only), the scores of the volunteer's eligible pairs, and, for the
pairs they are not eligible for, the hard rules each fails: those are per pair, so only
the volunteer's record and the few placements shown are read out of the document and
checked alone (`matching.failures.failures_alone`). Parsing and compiling the whole
document took 0.15-0.25 s of a first explanation at 10,000 x 2,000; this reads one
volunteer's record and the placements (kept per round) instead.

The rows are those of `matching.explain.explain_volunteer` on the round prepared from
its document (`tests/api/web/test_coordinator_pages.py`). Rounds whose result has no
such arrays (stored before format 2, or erased since) are explained as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.db import Database
from volmatch.api.service.errors import not_found
from volmatch.api.service.result_pairs import ExplainArrays, explain_arrays
from volmatch.api.service.tables import ResultPairsRow, RoundRow
from volmatch.matching.regret import ResidualNetwork
from volmatch.models import Placement, Policy, Volunteer
from volmatch.models.reasons import Reason

STORED_KEPT: Final = 2
"""Rounds whose stored arrays and network are kept per process (tens of MB each at
10,000 x 2,000), as many as the priced rounds (`rounds_service.PRICED_KEPT`)."""


@dataclass
class StoredRound:
    """A stored result's `ExplainArrays`, the residual network they price on, the best
    total under the hard rules, the round's policy and, once read, its placements'
    records (decoded JSON, in document order). Used under `lock`: the network's
    queries keep state."""

    round_id: str
    arrays: ExplainArrays
    net: ResidualNetwork
    optimum: int
    policy: Policy
    placements: list[dict[str, Any]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _built(session: Session, round_id: str) -> StoredRound | None:
    data = session.scalar(select(ResultPairsRow.data).where(ResultPairsRow.round_id == round_id))
    a = None if data is None else explain_arrays(data)
    if a is None:
        return None
    net = ResidualNetwork(
        len(a.volunteer_ids),
        a.capacity,
        a.pairs.v,
        a.pairs.p,
        a.scores.total,
        a.net,
        a.locked,
    )
    optimum = int(a.scores.total[net.at[net.at >= 0]].sum())
    policy = session.scalar(select(RoundRow.document["policy"]).where(RoundRow.id == round_id))
    return StoredRound(
        round_id, a, net, optimum, Policy.model_validate(policy if isinstance(policy, dict) else {})
    )


class StoredExplanations:
    """`StoredRound`s by round and erasures mark (None kept too: a round without the
    arrays is not read again), least recently used dropped past `kept`."""

    def __init__(self, kept: int = STORED_KEPT) -> None:
        self._kept = kept
        self._lock = threading.Lock()
        self._rounds: OrderedDict[tuple[str, tuple[int, str]], StoredRound | None] = OrderedDict()
        self._building: dict[tuple[str, tuple[int, str]], threading.Lock] = {}
        self.builds = 0
        """How many rounds' arrays were read here and found (tests check the cache)."""

    def get(self, session: Session, round_id: str, mark: tuple[int, str]) -> StoredRound | None:
        """The round's `StoredRound` under `mark`, built once however many ask."""
        key = (round_id, mark)
        with self._lock:
            if key in self._rounds:
                self._rounds.move_to_end(key)
                return self._rounds[key]
            gate = self._building.setdefault(key, threading.Lock())
        try:
            with gate:
                with self._lock:
                    if key in self._rounds:
                        return self._rounds[key]
                found = _built(session, round_id)
                with self._lock:
                    self.builds += found is not None
                    self._rounds[key] = found
                    while len(self._rounds) > self._kept:
                        self._rounds.popitem(last=False)
                return found
        finally:
            with self._lock:
                self._building.pop(key, None)


def _records(db: Database, base: StoredRound, vi: int) -> tuple[Volunteer, list[dict[str, Any]]]:
    """The volunteer's record (read alone out of the document by the database) and the
    placements' records of the round (read once per round)."""
    pos = int(base.arrays.vpos[vi])
    doc = RoundRow.document
    with db.read() as session:
        record = session.scalar(
            select(doc[("volunteers", pos)]).where(RoundRow.id == base.round_id)
        )
        if base.placements is None:
            placements = session.scalar(
                select(doc["placements"]).where(RoundRow.id == base.round_id)
            )
            base.placements = list(placements or [])
    return Volunteer.model_validate(record), base.placements


def explain_stored(
    db: Database,
    base: StoredRound,
    volunteer: str,
    placement: str | None,
    ineligible_limit: int | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`rounds_service.explain_round` of a round from its `StoredRound`: the same rows
    and facts, the same 404s."""
    from volmatch.matching.explain.volunteer import volunteer_rows
    from volmatch.matching.failures import failures_alone

    a = base.arrays
    vi = a.vindex.get(volunteer)
    if vi is None:
        raise not_found("volunteer in this round", volunteer)
    if placement is not None and placement not in a.pindex:
        raise not_found("placement in this round", placement)
    mine = set(a.pairs.p[a.pairs.v == vi].tolist())
    only: Sequence[int]
    if placement is not None:
        only = [a.pindex[placement]]
    elif ineligible_limit is not None:
        # as `explain_round`: every placement they qualify for, the first few others
        others = [p for p in range(len(a.placement_ids)) if p not in mine][:ineligible_limit]
        only = sorted(mine) + others
    else:
        only = range(len(a.placement_ids))
    failing = [p for p in only if p not in mine]
    failed: dict[int, dict[str, Reason]] = {}
    if failing:
        record, placements = _records(db, base, vi)
        records = [Placement.model_validate(placements[int(a.ppos[p])]) for p in failing]
        failed = dict(zip(failing, failures_alone(record, records, base.policy), strict=True))
    with base.lock:
        rows = volunteer_rows(
            base.net,
            a.pairs,
            a.scores,
            a.exact,
            a.chosen,
            vi,
            a.placement_ids,
            list(only),
            failed.__getitem__,
        )
    facts = {"exact": bool(a.exact), "optimum": base.optimum}
    return rows, facts
