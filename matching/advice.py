"""Advice for one need or one volunteer: feasibility, and the best choices with their
exact regret (what the choice costs the round's best total).

`AdviceBase` is what a service keeps warm per round version: the prepared round, the
best assignment under the hard rules and its residual network (`matching.regret`).

Regret is on the round's score scale and for the pure policy (hard rules, locks and
forbidden pairs; policy rules such as budgets or quotas are not priced): the optimal
total minus the optimal total with the choice forced, 0 for a pair of an optimal
assignment.

- A need of the round: `ResidualNetwork.regrets_at` (one Dijkstra).
- A volunteer: `ResidualNetwork.regrets_of` (one Dijkstra).
- A need not in the round (a draft, or a stored need newer than the round) with one
  slot: the round gains this need. The round's assignment leaves it empty; forcing V into
  it closes a cycle V -> the need -> T -> ... -> V's place (or S where V is unplaced) in
  the residual network of the round plus the need; the need has no other way out, so the
  rest of the cycle is a shortest path from T in the round's own network (with T -> S
  added: V or someone else waits). Two Dijkstras (from T and from S) price every V; the
  regret is the best of those totals (or the round left as it is) minus V's.
- Such a need with several slots: the need becomes a placement of the network with
  capacity `slots`. The round's optimum stays optimal with the need at no slot; each
  slot added is one cheapest gaining cycle through it (successive shortest paths,
  `lifecycle.warm.augment_slot`, the backfill's step), stopping at the first that gains
  nothing, which gives the optimum of the round plus the need. The regrets are then
  `regrets_at` the need in the residual network of that optimum: one network built per
  slot filled plus one, instead of two Dijkstras.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.drafts import with_placements
from volmatch.matching.eligibility import Pairs, schedule
from volmatch.matching.explain.costs import Pricing, pricing
from volmatch.matching.feasibility import Feasibility, feasibility
from volmatch.matching.lifecycle.warm import augment_slot_carrying, carried_potentials
from volmatch.matching.prepared import Prepared
from volmatch.matching.regret import NO_PATH, UNREACHABLE, ResidualNetwork
from volmatch.matching.scoring import Scores, score_pairs
from volmatch.models import Placement

I64 = NDArray[np.int64]

DEFAULT_TOP = 10
"""Recommendations returned unless asked otherwise (a page of candidates)."""


@dataclass(frozen=True)
class Recommendation:
    """One candidate: a volunteer for a need, or a need for a volunteer."""

    volunteer: str
    placement: str
    score: int
    breakdown: dict[str, int]
    regret: int | None
    """None where no assignment allows it (a locked volunteer, a slot held by a lock)."""


@dataclass
class AdviceBase:
    """A prepared round with its best assignment under the hard rules and the residual
    network of that assignment; `last_at` (per volunteer, the placement index of the
    last result or -1) says who is taken."""

    prep: Prepared
    pricing: Pricing
    chosen: NDArray[np.intp]
    last_at: I64
    optimum: int
    _pair_count: dict[str, I64] = field(default_factory=dict, repr=False)

    @property
    def filled(self) -> I64:
        c = self.prep.compiled
        taken = self.last_at[self.last_at >= 0]
        return np.bincount(taken, minlength=c.n_placements).astype(np.int64)


def advice_base(
    prep: Prepared, chosen: NDArray[np.intp], exact: bool, last: NDArray[np.intp] | None = None
) -> AdviceBase:
    """The advice base of a round: `chosen` its solution (`exact`: the pure optimum),
    `last` the pairs of the published/last result when it differs from `chosen`."""
    pr = pricing(prep, chosen, exact)
    c, pairs = prep.compiled, prep.pairs
    best = np.flatnonzero(pr.net.at >= 0)
    opt_pairs = pr.net.at[best]
    optimum = int(prep.scores.total[opt_pairs].sum())
    taken = chosen if last is None else last
    last_at = np.full(c.n_volunteers, -1, dtype=np.int64)
    last_at[pairs.v[taken]] = pairs.p[taken]
    return AdviceBase(prep, pr, np.asarray(chosen, dtype=np.intp), last_at, optimum)


def _ordered(recs: list[Recommendation], top: int, by_volunteer: bool) -> list[Recommendation]:
    """By regret (unreachable last), then score (higher first), then id; at most `top`."""
    big = np.iinfo(np.int64).max

    def key(r: Recommendation) -> tuple[int, int, str]:
        return (
            big if r.regret is None else r.regret,
            -r.score,
            r.placement if by_volunteer else r.volunteer,
        )

    return sorted(recs, key=key)[: max(top, 0)]


def _recs(base: AdviceBase, pairs: I64, regrets: I64) -> list[Recommendation]:
    c, sc, pr = base.prep.compiled, base.prep.scores, base.prep.pairs
    return [
        Recommendation(
            c.volunteer_ids[int(pr.v[k])],
            c.placement_ids[int(pr.p[k])],
            int(sc.total[k]),
            sc.breakdown(int(k)),
            None if g == UNREACHABLE else int(g),
        )
        for k, g in zip(pairs.tolist(), regrets.tolist(), strict=True)
    ]


def recommend_for_placement(
    base: AdviceBase, pi: int, top: int = DEFAULT_TOP
) -> list[Recommendation]:
    """The best volunteers for placement `pi` of the round, by exact regret."""
    pairs, regrets = base.pricing.net.regrets_at(pi)
    return _ordered(_recs(base, pairs, regrets), top, by_volunteer=False)


def recommend_for_volunteer(
    base: AdviceBase, vi: int, top: int = DEFAULT_TOP
) -> list[Recommendation]:
    """The best placements of the round for volunteer `vi`, by exact regret."""
    pairs, regrets = base.pricing.net.regrets_of(vi)
    return _ordered(_recs(base, pairs, regrets), top, by_volunteer=True)


@dataclass(frozen=True)
class DraftPairs:
    """The eligible volunteers of a need not in the round, with their scores."""

    v: I64
    scores: Scores


def draft_pairs(base: AdviceBase, p: Placement, eligible: NDArray[np.bool_]) -> DraftPairs:
    """Score need `p` (compiled against the pool, not recompiled) with each volunteer of
    `eligible`."""
    dc = with_placements(base.prep.compiled, [p])
    v = np.flatnonzero(eligible).astype(np.int32)
    start, months, _ok = schedule(dc, v, np.zeros(len(v), dtype=np.int32))
    pairs = Pairs(
        v, np.zeros(len(v), dtype=np.int32), start.astype(np.int64), months.astype(np.int64)
    )
    return DraftPairs(v.astype(np.int64), score_pairs(dc, pairs))


def draft_regrets(base: AdviceBase, v: I64, score: I64, slots: int = 1) -> I64:
    """Regret of giving volunteer `v[k]` (scoring `score[k]` there) one of the `slots`
    slots of a need the round does not hold (see the module's docstring)."""
    if slots > 1:
        return _multi_slot_regrets(base, v, score, slots)
    net = base.pricing.net
    T, S = net.sink, net.source
    from_t = net.distances_from(T)
    from_s = net.distances_from(S)
    from_s[S] = 0
    big = np.iinfo(np.int64).max // 4
    via_t = np.where(from_t == NO_PATH, big, from_t)
    via_s = np.where(from_s == NO_PATH, big, from_s)
    dist = np.minimum(via_t, via_s)  # T -> S (cost 0) then on from S
    home_pair = net.at[v]
    placed = home_pair >= 0
    home = np.full(len(v), S, dtype=np.int64)
    home[placed] = net.pp[home_pair[placed]]
    back = np.zeros(len(v), dtype=np.int64)
    back[placed] = net.score[home_pair[placed]]
    gain = score - back - dist[home]
    ok = (dist[home] < big) & ~net.locked_v[v]
    if not ok.any():
        return np.full(len(v), UNREACHABLE, dtype=np.int64)
    best = max(0, int(gain[ok].max()))
    return np.where(ok, best - gain, UNREACHABLE).astype(np.int64)


def _multi_slot_regrets(base: AdviceBase, v: I64, score: I64, slots: int) -> I64:
    """`draft_regrets` for a need of several slots: the round plus the need solved by
    augmenting one slot at a time from the round's optimum, then one Dijkstra in the
    residual network of that optimum."""
    net = base.pricing.net
    npl, n_round = net.n_placements, len(net.pv)
    pv = np.concatenate([net.pv, v.astype(np.int64)])
    pp = np.concatenate([net.pp, np.full(len(v), npl, dtype=np.int64)])
    w = np.concatenate([net.score, score.astype(np.int64)])
    lock = net.at[net.locked_v]
    cap = np.concatenate([net.free_capacity + np.bincount(net.pp[lock], minlength=npl), [0]])
    cur = np.sort(net.at[net.at >= 0])
    step = net  # the round's own network holds the need at no slot
    start = None
    for k in range(slots):
        if k:
            step = ResidualNetwork(net.n_volunteers, cap, pv, pp, w, cur, lock, start)
        new, guess = augment_slot_carrying(step, pv, pp, w, cur, npl)
        start = carried_potentials(guess, step.n_placements, npl + 1)
        cap[npl] += 1
        if new is cur:  # no gain: the next slots would stay open too (concavity)
            if k == 0:
                # the round's optimum is that of the round plus the need, which holds
                # nobody: its only way out is an open slot, as with one slot
                return draft_regrets(base, v, score, 1)
            break
        cur = new
    cap[npl] = slots
    whole = ResidualNetwork(net.n_volunteers, cap, pv, pp, w, cur, lock, start)
    pairs, regrets = whole.regrets_at(npl)
    out = np.full(len(v), UNREACHABLE, dtype=np.int64)
    out[pairs - n_round] = regrets
    return out


def recommend_for_draft(
    base: AdviceBase, p: Placement, eligible: NDArray[np.bool_], top: int = DEFAULT_TOP
) -> list[Recommendation]:
    """The best volunteers for a need not in the round, by exact regret (the round plus
    the need with its slots)."""
    dp = draft_pairs(base, p, eligible)
    total = dp.scores.total
    regrets = draft_regrets(base, dp.v, total, p.slots)
    ids = base.prep.compiled.volunteer_ids
    # ordered on arrays (volunteer indices follow their ids), records for the first only
    rank = np.where(regrets == UNREACHABLE, np.iinfo(np.int64).max, regrets)
    order = np.lexsort((dp.v, -total, rank))[: max(top, 0)]
    return [
        Recommendation(
            ids[int(dp.v[k])],
            p.id,
            int(total[k]),
            dp.scores.breakdown(int(k)),
            None if regrets[k] == UNREACHABLE else int(regrets[k]),
        )
        for k in order.tolist()
    ]


@dataclass(frozen=True)
class Availability:
    """Of the eligible volunteers: who is taken in the last result, and who is wanted
    by other needs with open slots."""

    placed_here: int
    placed_elsewhere: int
    unplaced: int
    contested: int
    """Unplaced, and eligible for an open slot of another need."""

    @property
    def likely_free(self) -> int:
        """Unplaced and wanted by no other open slot."""
        return self.unplaced - self.contested


def availability(base: AdviceBase, eligible: NDArray[np.bool_], pi: int | None) -> Availability:
    """Who of `eligible` is likely free for need `pi` (None: a need not in the round)."""
    c, pairs = base.prep.compiled, base.prep.pairs
    at = base.last_at
    here = eligible & (at == pi) if pi is not None else np.zeros_like(eligible)
    unplaced = eligible & (at < 0)
    open_p = base.filled < c.capacity
    if pi is not None:
        open_p[pi] = False
    key = "open_demand"
    demand = base._pair_count.get(key)
    if demand is None:
        keep = open_p[pairs.p]
        demand = np.bincount(pairs.v[keep], minlength=c.n_volunteers).astype(np.int64)
        if pi is None:
            base._pair_count[key] = demand
    contested = unplaced & (demand > 0)
    return Availability(
        int(here.sum()),
        int((eligible & (at >= 0)).sum() - here.sum()),
        int(unplaced.sum()),
        int(contested.sum()),
    )


@dataclass(frozen=True)
class PlacementAdvice:
    """Everything `volmatch advise --placement` says about one need."""

    placement: Placement
    in_round: bool
    feasibility: Feasibility
    availability: Availability
    recommendations: list[Recommendation]

    def as_dict(self) -> dict[str, object]:
        f = self.feasibility
        a = self.availability
        return {
            "placement": self.placement.id,
            "in_round": self.in_round,
            **f.as_dict(),
            "availability": {
                "placed_here": a.placed_here,
                "placed_elsewhere": a.placed_elsewhere,
                "unplaced": a.unplaced,
                "contested": a.contested,
                "likely_free": a.likely_free,
            },
            "recommendations": [_rec_dict(r, "volunteer") for r in self.recommendations],
        }


def _rec_dict(r: Recommendation, side: str) -> dict[str, object]:
    return {side: getattr(r, side), "score": r.score, "breakdown": r.breakdown, "regret": r.regret}


def advise_placement(
    base: AdviceBase, p: Placement, top: int = DEFAULT_TOP, recommend: bool = True
) -> PlacementAdvice:
    """Feasibility, availability and (with `recommend`) the best volunteers of need `p`:
    the round's own need where its id is in the round and `p` is that very need, else a
    need added to the round."""
    c = base.prep.compiled
    pi = c.pindex.get(p.id)
    in_round = pi is not None and c.placements[pi] == p
    f = feasibility(c, p, pi if in_round else None)
    a = availability(base, f.eligible, pi if in_round else None)
    recs: list[Recommendation] = []
    if recommend:
        recs = (
            recommend_for_placement(base, pi, top)
            if in_round and pi is not None
            else recommend_for_draft(base, p, f.eligible, top)
        )
    return PlacementAdvice(p, in_round, f, a, recs)


def advise_volunteer(base: AdviceBase, vi: int, top: int = DEFAULT_TOP) -> dict[str, object]:
    """`volmatch advise --volunteer`: the best placements of the round for `vi`."""
    c = base.prep.compiled
    at = int(base.last_at[vi])
    return {
        "volunteer": c.volunteer_ids[vi],
        "placed_at": None if at < 0 else c.placement_ids[at],
        "recommendations": [
            _rec_dict(r, "placement") for r in recommend_for_volunteer(base, vi, top)
        ],
    }
