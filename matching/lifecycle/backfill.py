"""Backfill: re-match what is still open after declines, expiries and withdrawn needs.

Who stands where after a round was published is given by its *offers* (volunteer ->
placement). Three kinds of volunteer are told apart:

* **frozen** (accepted, in pre-departure, deployed): never moved; their slots are gone;
* **declined** (declined or expired): out of this round, their slots free again;
* **pending** (offered, no answer yet): may move, but only as the policy's `move_cost`
  and `max_moves` allow (each pending offer moved or withdrawn costs `move_cost`
  points; at most `max_moves` of them change).

Everyone else (unplaced volunteers, the free slots) is re-matched. Among the best
assignments the one that keeps the most pending offers is chosen, so a new offer is made
only where something changes. Vacancy chains (a pending volunteer moves to the freed
slot, someone else takes theirs) come out of the optimiser, not a rule of thumb.

For the pure policy (hard rules only, optimal mode, no groups) the proposal is the exact
optimum with the frozen set, for the score plus `move_cost` on each pending offer's own
pair (keeping it earns the points a move would lose) plus one tie-break unit per kept
offer (all below one unit of score): from the published optimum by one augmenting cycle
per freed slot (`matching.lifecycle.warm`) where the standing offers are optimal, else
by a min-cost flow over the free volunteers and the slots left. With
other policy rules the backfill round (`backfill_round`: frozen people locked, declined
people and withdrawn needs forbidden, pending offers as `previous`) goes to the rules
solver, within its gap.

A *wave* is a backfill on a round with late volunteers and needs added (`add_wave`):
the earlier waves' acceptances frozen, their pending offers as above.

A `stop` (`matching.stop`: the service's proposal was superseded while it solved) stops
the backfill: the rules solver mid-search, the flow before and after its one step;
`Stopped` is raised and there is no proposal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.failures import pair_failures
from volmatch.matching.flow import max_score_assignment
from volmatch.matching.lifecycle.standing import Standing, pending_pairs, read_standing
from volmatch.matching.lifecycle.warm import augment_freed_slots
from volmatch.matching.prepared import Prepared, Solution, prepare
from volmatch.matching.previous import pair_index
from volmatch.matching.pure import has_groups
from volmatch.matching.stop import Stop, StopWatch
from volmatch.models import Pair, PreviousAssignment, Round
from volmatch.models.lifecycle import BackfillMove, BackfillProposal, NewOffer
from volmatch.models.reasons import Reason, part, text_of

I64 = NDArray[np.int64]


def is_pure_backfill(prep: Prepared) -> bool:
    """Whether the backfill of this round is one exact min-cost flow (see the module)."""
    policy = prep.compiled.round.policy
    return policy.mode == "optimal" and not policy.rules_in_use() and not has_groups(prep)


def propose_backfill(
    prep: Prepared,
    offers: Mapping[str, str],
    *,
    declined: Iterable[str] = (),
    accepted: Iterable[str] | None = None,
    withdrawn: Iterable[str] = (),
    stop: Stop | None = None,
) -> BackfillProposal:
    """The backfill proposal of a published round (`prep`, prepared once and reusable).

    `offers`: volunteer id -> placement id of every offer made (declined ones included);
    `declined`: who declined or let their offer expire; `accepted`: who accepted or is
    deployed (None: every offer not declined counts as accepted); `withdrawn`: placement
    ids the hosts withdrew (people accepted there are re-matched like pending ones).
    Raises `InvalidBackfill` naming each unknown or contradictory id, and `Stopped`
    when `stop` says stop before the proposal is found.
    """
    st = read_standing(prep, offers, declined, accepted, withdrawn)
    return proposal_of(prep, st, solve_backfill(prep, st, stop))


def solve_backfill(prep: Prepared, st: Standing, stop: Stop | None = None) -> Solution:
    """The backfill's chosen pairs (indices into `prep.pairs`): one exact flow for the
    pure policy, the rules solver otherwise; `Stopped` when `stop` says stop."""
    if not is_pure_backfill(prep):
        return _rules_backfill(prep, st, stop)
    watch = StopWatch(stop)
    watch.check()
    sol = _flow_backfill(prep, st)
    watch.check()
    return sol


def _flow_backfill(prep: Prepared, st: Standing) -> Solution:
    """The exact optimum with the frozen set, keeping the most pending offers among ties:
    from the published optimum by augmenting cycles where it is one (`warm`), else one
    min-cost flow over the free volunteers and slots."""
    c, scores = prep.compiled, prep.scores
    move_cost = c.round.policy.move_cost
    keep = pending_pairs(prep, st)
    keep = keep[keep >= 0]
    # Lexicographic: (score + move_cost per kept offer) first, then the number of offers
    # kept; all tie-break units together stay below one unit of the scaled score.
    scale = len(st.pending_v) + 1
    weight = scores.total * scale
    weight[keep] += move_cost * scale + 1
    chosen = None if st.withdrawn.any() else _warm(prep, st, weight, keep)
    if chosen is None:
        chosen = _cold(prep, st, weight)
    total = int(scores.total[chosen].sum())
    kept = int(np.isin(keep, chosen).sum())
    objective = total - move_cost * (len(st.pending_v) - kept)
    return Solution(chosen=chosen, status="optimal", objective=objective, bound=objective)


def _warm(prep: Prepared, st: Standing, weight: I64, keep: I64) -> NDArray[np.intp] | None:
    """The optimum by augmenting the standing offers, or None where they are not optimal."""
    c, pairs = prep.compiled, prep.pairs
    out = np.zeros(c.n_volunteers, dtype=np.bool_)
    out[st.declined] = True
    freed = [st.offer_p[v] for v in st.declined.tolist()]
    lost = pending_pairs(prep, st) < 0
    freed += st.pending_p[lost].tolist()
    capacity = c.capacity - np.bincount(np.array(freed, dtype=np.int64), minlength=c.n_placements)
    chosen = np.concatenate([st.frozen_pairs, keep])
    got = augment_freed_slots(
        prep, weight, ~out[pairs.v], capacity, chosen, st.frozen_pairs, sorted(freed)
    )
    return None if got is None else got.astype(np.intp)


def _cold(prep: Prepared, st: Standing, weight: I64) -> NDArray[np.intp]:
    """The optimum by one min-cost flow over the free volunteers and the slots left."""
    c, pairs = prep.compiled, prep.pairs
    capacity = c.capacity - np.bincount(pairs.p[st.frozen_pairs], minlength=c.n_placements)
    capacity[st.withdrawn] = 0
    out = np.zeros(c.n_volunteers, dtype=np.bool_)
    out[st.declined] = True
    out[pairs.v[st.frozen_pairs]] = True
    idx = np.flatnonzero(~out[pairs.v] & (capacity[pairs.p] > 0))
    sol = max_score_assignment(c.n_volunteers, capacity, pairs.v[idx], pairs.p[idx], weight[idx])
    return np.sort(np.concatenate([st.frozen_pairs, idx[sol.chosen]])).astype(np.intp)


def backfill_round(
    prep: Prepared,
    offers: Mapping[str, str],
    *,
    declined: Iterable[str] = (),
    accepted: Iterable[str] | None = None,
    withdrawn: Iterable[str] = (),
) -> Round:
    """The round a backfill solves, as a round document: the frozen people locked where
    they are, every pair of a declined volunteer or a withdrawn need forbidden, the
    pending offers as `previous` (so `move_cost` and `max_moves` apply to them).
    Arguments as for `propose_backfill`.
    """
    return standing_round(prep, read_standing(prep, offers, declined, accepted, withdrawn))


def standing_round(prep: Prepared, st: Standing) -> Round:
    c, pairs = prep.compiled, prep.pairs
    r = c.round
    vid, pid = c.volunteer_ids, c.placement_ids
    locks = {(int(pairs.v[i]), int(pairs.p[i])) for i in st.frozen_pairs.tolist()}
    out_v = np.zeros(c.n_volunteers, dtype=np.bool_)
    out_v[st.declined] = True
    barred = np.flatnonzero(out_v[pairs.v] | st.withdrawn[pairs.p])
    old_forbidden = {(f.volunteer, f.placement) for f in r.policy.forbidden}
    forbidden = list(r.policy.forbidden) + [
        Pair(volunteer=vid[v], placement=pid[p])
        for v, p in zip(pairs.v[barred].tolist(), pairs.p[barred].tolist(), strict=True)
        if (vid[v], pid[p]) not in old_forbidden
    ]
    policy = r.policy.model_copy(
        update={
            "locked": tuple(Pair(volunteer=vid[v], placement=pid[p]) for v, p in sorted(locks)),
            "forbidden": tuple(forbidden),
        }
    )
    previous = tuple(
        PreviousAssignment(volunteer=vid[v], placement=pid[p])
        for v, p in zip(st.pending_v.tolist(), st.pending_p.tolist(), strict=True)
    )
    return r.model_copy(update={"policy": policy, "previous": previous})


def _rules_backfill(prep: Prepared, st: Standing, stop: Stop | None = None) -> Solution:
    """The backfill round through the solver its policy asks for, mapped back onto the
    published round's pairs. In stable mode (whose matching knows no `previous`) the
    `max_moves` limit is kept by `_stable_within_moves`."""
    sol = _solve_standing(prep, st, stop)
    limit = prep.compiled.round.policy.max_moves
    if prep.compiled.round.policy.mode == "stable" and limit is not None:
        sol = _stable_within_moves(prep, st, sol, limit, stop)
    return sol


def _stable_within_moves(
    prep: Prepared, st: Standing, sol: Solution, limit: int, stop: Stop | None = None
) -> Solution:
    """The stable backfill with at most `limit` pending offers changed.

    The stable matching of the free market moves pending volunteers only to places they
    rank higher (removing people never makes the others worse off). Where it changes
    more than `limit` offers, the offers that cannot be kept (a hard rule broken now, a
    withdrawn need) change anyway; of the others, those whose volunteers gain most in
    score (then by volunteer id) keep the freedom to move, up to the limit, and the rest
    keep their offers (locked like accepted ones); the free market is matched again."""
    pairs = prep.pairs
    kept_at = st.pending_pair
    now = {int(pairs.v[i]): int(i) for i in sol.chosen.tolist()}
    voluntary: list[tuple[int, str, int]] = []
    forced = 0
    for k, (v, i) in enumerate(zip(st.pending_v.tolist(), kept_at.tolist(), strict=True)):
        if i < 0:
            forced += 1
        elif now.get(v) != i:
            gain = int(prep.scores.total[now[v]]) - int(prep.scores.total[i]) if v in now else 0
            voluntary.append((-gain, prep.compiled.volunteer_ids[v], k))
    room = max(0, limit - forced)
    if len(voluntary) <= room:
        return sol
    free = {k for _, _, k in sorted(voluntary)[:room]}
    stay = np.array(
        [k for k in range(len(st.pending_v)) if kept_at[k] >= 0 and k not in free],
        dtype=np.int64,
    )
    rest = np.setdiff1d(np.arange(len(st.pending_v)), stay)
    narrowed = replace(
        st,
        frozen_pairs=np.unique(np.concatenate([st.frozen_pairs, kept_at[stay]])),
        pending_v=st.pending_v[rest],
        pending_p=st.pending_p[rest],
        pending_pair=kept_at[rest],
    )
    return _solve_standing(prep, narrowed, stop)


def _solve_standing(prep: Prepared, st: Standing, stop: Stop | None = None) -> Solution:
    """The backfill round of `st` through the solver its policy asks for, mapped back
    onto the published round's pairs."""
    from volmatch.matching.solve import solve_prepared

    sub = prepare(standing_round(prep, st))
    sol = solve_prepared(sub, stop)
    c, pairs = prep.compiled, prep.pairs
    at = pair_index(
        c, pairs, sub.pairs.v[sol.chosen].astype(np.int64), sub.pairs.p[sol.chosen].astype(np.int64)
    )
    return Solution(
        chosen=np.sort(at).astype(np.intp),
        status=sol.status,
        objective=sol.objective,
        bound=sol.bound,
        extra=sol.extra,
    )


def proposal_of(prep: Prepared, st: Standing, sol: Solution) -> BackfillProposal:
    """The proposal: the whole new assignment, the new offers, the moves, the change."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    vid, pid = c.volunteer_ids, c.placement_ids
    chosen = sol.chosen
    now = {int(pairs.v[i]): int(i) for i in chosen.tolist()}
    keep = pending_pairs(prep, st)
    standing = np.concatenate([st.frozen_pairs, keep[keep >= 0]])
    total_before = int(scores.total[standing].sum())
    total = int(scores.total[chosen].sum())
    frozen_v = set(pairs.v[st.frozen_pairs].tolist())
    declined_at: dict[int, list[str]] = {}
    for v in st.declined.tolist():
        declined_at.setdefault(st.offer_p[v], []).append(vid[v])
    arrived: dict[int, list[str]] = {}
    changed = []
    for v, i in now.items():
        p = int(pairs.p[i])
        if v not in frozen_v and st.offer_p.get(v) != p:
            arrived.setdefault(p, []).append(vid[v])
            changed.append(v)
    moves: list[BackfillMove] = []
    vacated: dict[int, list[str]] = {}
    for v, p, before in zip(
        st.pending_v.tolist(), st.pending_p.tolist(), st.pending_pair.tolist(), strict=True
    ):
        new_at = now.get(v)
        if new_at is not None and int(pairs.p[new_at]) == p:
            continue
        vacated.setdefault(p, []).append(vid[v])
        moves.append(_move(prep, st, v, p, new_at, before, sorted(arrived.get(p, []))))
    offers: list[NewOffer] = []
    for v in sorted(changed, key=lambda x: vid[x]):
        i = now[v]
        p = int(pairs.p[i])
        freed = declined_at.get(p, []) + vacated.get(p, [])
        if st.withdrawn[p]:
            freed = []
        offers.append(
            NewOffer(
                volunteer=vid[v],
                placement=pid[p],
                score=int(scores.total[i]),
                replaces=tuple(freed),
                moved_from=pid[st.offer_p[v]] if v in st.offer_p and v not in frozen_v else None,
            )
        )
    assignment = tuple(
        sorted(
            zip(
                [vid[v] for v in pairs.v[chosen].tolist()],
                [pid[p] for p in pairs.p[chosen].tolist()],
                strict=True,
            )
        )
    )
    # built from checked arrays: no validation of ~100k assignment rows
    return BackfillProposal.model_construct(
        status=sol.status,
        objective=sol.objective,
        bound=sol.bound,
        total_before=total_before,
        total=total,
        total_change=total - total_before,
        assignment=assignment,
        new_offers=tuple(offers),
        moves=tuple(moves),
        frozen=tuple(sorted(vid[v] for v in frozen_v)),
        declined=tuple(vid[v] for v in st.declined.tolist()),
        withdrawn=tuple(pid[p] for p in np.flatnonzero(st.withdrawn).tolist()),
    )


def _move(
    prep: Prepared,
    st: Standing,
    v: int,
    p: int,
    i: int | None,
    before_i: int,
    taken_by: list[str],
) -> BackfillMove:
    """One pending offer that changes, and why (read off the arrays, true by construction):
    `v` leaves its offer at `p` (pair `before_i`, -1 where it cannot be kept) for pair `i`
    (None: no offer); `taken_by`: who comes to `p`."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    vid, pid = c.volunteer_ids, c.placement_ids
    why: Reason
    if st.withdrawn[p]:
        why = part("backfill_host_withdrew", placement=pid[p])
    elif before_i < 0:
        why = part(
            "backfill_breaks_rule",
            rule_parts=[
                part("rule_failed", rule=k, failure_parts=[r])
                for k, r in pair_failures(c, v, p).items()
            ],
        )
    elif i is None:
        why = part("backfill_offer_withdrawn", placement=pid[p], volunteer=vid[v])
    else:
        chain = {
            "volunteer": vid[v],
            "score": int(scores.total[i]),
            "to": pid[int(pairs.p[i])],
            "was_score": int(scores.total[before_i]),
            "placement": pid[p],
            "gain": f"{int(scores.total[i]) - int(scores.total[before_i]):+d}",
        }
        why = (
            part("backfill_chain_taken", **chain, taken_by=list(taken_by))
            if taken_by
            else part("backfill_chain", **chain)
        )
    return BackfillMove(
        volunteer=vid[v],
        frm=pid[p],
        to=None if i is None else pid[int(pairs.p[i])],
        reason=text_of(why),
        detail=why,
    )


def add_wave(
    r: Round, volunteers: Iterable[object] = (), placements: Iterable[object] = ()
) -> Round:
    """The round with a new wave's late volunteers and needs added (checked as a whole
    round document: ids stay unique, references resolve)."""
    from volmatch.models import parse_round, round_to_dict

    doc = round_to_dict(r)
    doc["volunteers"] = [*doc["volunteers"], *volunteers]
    doc["placements"] = [*doc["placements"], *placements]
    return parse_round(doc)
