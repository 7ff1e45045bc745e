"""Reserve lists: per placement, the unplaced eligible volunteers who would fill it best,
each with the exact cost to the round of taking them.

The cost is the drop in the round's optimal total if that volunteer gets a slot of the
placement, everyone else re-matched as well as possible (someone may leave the placement
or move elsewhere to make room: a vacancy chain). It comes from the residual network of
the published optimum (`matching.regret.ResidualNetwork`), which is exact for the pure
round: forcing an unplaced volunteer V into P costs the shortest way from P back to the
source S minus V's score at P (the cheapest cycle through the pair; no re-solve and no
LP duals involved). One Dijkstra to S (`ResidualNetwork.to_source`) prices every pair
of every unplaced volunteer at once, so the lists of all placements cost one shortest-
path run plus a sort of those pairs.

Where the round has policy rules or is matched in stable mode, the network is that of the
pure optimum of the same pairs, so the cost is the pure round's, said as such (`exact`
False); the reserves are the volunteers the published result leaves unplaced whom the
pure optimum leaves unplaced too. One that the pure optimum places would need a Dijkstra
of its own (`regrets_of`): too slow for every list of a large round, so it is left off.

A cost of 0 is a tie: taking that volunteer loses nothing. Ranked by cost, then by their
score at the placement (higher first), then by volunteer id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared, locked_pair_indices
from volmatch.matching.pure import needs_rules, solve_pure
from volmatch.matching.regret import NO_PATH, UNREACHABLE, ResidualNetwork

I64 = NDArray[np.int64]

RESERVE_SIZE: Final = 5
"""Reserves listed per placement by default: enough for a few declines in a row."""

METHOD: Final = "residual_network"
"""The name results give the costs' method (`docs/lifecycle.md`): shortest cycles in
the residual network of the optimal flow."""


@dataclass(frozen=True)
class Reserve:
    """One volunteer on a placement's reserve list."""

    volunteer: str
    score: int
    """Their score at the placement."""
    cost: int
    """Exact drop in the round's optimal total if they take a slot of it."""


@dataclass(frozen=True)
class ReserveList:
    """A placement's ranked reserves."""

    placement: str
    reserves: tuple[Reserve, ...]
    exact: bool
    """True: costs against this round's optimum; False: against the pure optimum of its
    pairs (the round has policy rules, or is matched in stable mode)."""

    def as_dict(self) -> dict[str, Any]:
        """The list as JSON (the result document's and the service's shape)."""
        return {
            "placement": self.placement,
            "exact": self.exact,
            "reserves": [
                {"volunteer": x.volunteer, "score": x.score, "cost": x.cost} for x in self.reserves
            ],
        }


def is_exact(prep: Prepared) -> bool:
    """Whether a published result of this round is the pure optimum the costs are of."""
    return prep.compiled.round.policy.mode == "optimal" and not needs_rules(prep)


def reserve_lists(
    prep: Prepared,
    chosen: np.ndarray,
    *,
    placements: Iterable[str] | None = None,
    size: int = RESERVE_SIZE,
    net: ResidualNetwork | None = None,
) -> list[ReserveList]:
    """The reserve list of each placement (all, or those named) of a published round.

    `chosen`: the published assignment as pair indices into `prep.pairs` (a `Solution`'s
    `chosen`). `net`: the residual network of the pure optimum, where the caller has it
    already (built here otherwise).
    """
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    exact = is_exact(prep)
    if net is None:
        base = np.asarray(chosen, dtype=np.int64) if exact else solve_pure(prep).chosen
        net = ResidualNetwork(
            c.n_volunteers,
            c.capacity,
            pairs.v,
            pairs.p,
            scores.total,
            base,
            locked_pair_indices(prep),
        )
    wanted = (
        np.arange(c.n_placements)
        if placements is None
        else np.array([c.pindex[p] for p in placements], dtype=np.int64)
    )
    idx, cost = _priced_pairs(prep, net, np.asarray(chosen, dtype=np.int64), wanted, size)
    lists: dict[int, list[Reserve]] = {}
    vids = c.volunteer_ids
    for p, v, score, k in zip(
        pairs.p[idx].tolist(),
        pairs.v[idx].tolist(),
        scores.total[idx].tolist(),
        cost.tolist(),
        strict=True,
    ):
        lists.setdefault(p, []).append(Reserve(vids[v], score, k))
    return [
        ReserveList(c.placement_ids[p], tuple(lists.get(p, ())), exact) for p in wanted.tolist()
    ]


def _priced_pairs(
    prep: Prepared, net: ResidualNetwork, chosen: I64, wanted: I64, size: int
) -> tuple[I64, I64]:
    """The pairs on the lists (ranked, grouped by placement) and their costs."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    placed = np.zeros(c.n_volunteers, dtype=np.bool_)
    placed[pairs.v[chosen]] = True
    want = np.zeros(c.n_placements, dtype=np.bool_)
    want[wanted] = True
    idx = np.flatnonzero(~placed[pairs.v] & net.usable & want[pairs.p])
    cost = np.full(len(idx), UNREACHABLE, dtype=np.int64)
    home = net.at[pairs.v[idx]]
    free = home < 0
    way = net.to_source()[pairs.p[idx[free]]]
    # volunteers the pure optimum places but the published result does not (rules or
    # stable mode only) stay UNREACHABLE, off the lists: pricing them takes one Dijkstra
    # each (`regrets_of`), 2.7 s on a stable round of 10,000 x 2,000 against a 4 s solve
    cost[free] = np.where(way == NO_PATH, UNREACHABLE, way - scores.total[idx[free]])
    ok = cost != UNREACHABLE
    idx, cost = idx[ok], cost[ok]
    if len(idx) == 0:
        return idx, cost
    idx, cost = _cheapest_per_placement(pairs.p[idx], idx, cost, c.n_placements, size)
    rank = np.empty(c.n_volunteers, dtype=np.int64)
    rank[np.argsort(np.array(c.volunteer_ids, dtype=object), kind="stable")] = np.arange(
        c.n_volunteers
    )
    p = pairs.p[idx]
    order = np.lexsort((rank[pairs.v[idx]], -scores.total[idx], cost, p))
    p = p[order]
    first = np.flatnonzero(np.concatenate([[True], p[1:] != p[:-1]]))
    within = np.arange(len(p)) - np.repeat(first, np.diff(np.append(first, len(p))))
    keep = order[within < size]
    return idx[keep], cost[keep]


def _cheapest_per_placement(
    p: I64, idx: I64, cost: I64, n_placements: int, size: int
) -> tuple[I64, I64]:
    """The pairs whose cost is at most their placement's `size`-th cheapest (ties kept
    for the full ranking): one sort of a single key instead of the ranking's four."""
    span = int(cost.max()) - int(cost.min()) + 1
    if span * max(n_placements, 1) >= 2**62:  # no room for one key: rank them all
        return idx, cost
    key = p.astype(np.int64) * span + (cost - int(cost.min()))
    order = np.argsort(key)
    ps, cs = p[order], cost[order]
    first = np.flatnonzero(np.concatenate([[True], ps[1:] != ps[:-1]]))
    last = np.append(first[1:], len(ps)) - 1
    limit = np.full(n_placements, np.iinfo(np.int64).max, dtype=np.int64)
    limit[ps[first]] = cs[np.minimum(first + size - 1, last)]
    keep = cost <= limit[p]
    return idx[keep], cost[keep]
