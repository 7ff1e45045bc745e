"""The hard rules an assignment breaks, and a repair that takes volunteers out (and puts
previous pairs back, under `max_moves`) until they hold.

A solve whose CP-SAT model found nothing in its time is left with the greedy start,
which breaks a rule wherever the locks or the move limit defeat the insertion: the
result must not claim `feasible` then. `repair` makes it hold where taking people out
can (caps, shares, budget, groups made whole or left out) and `hard_breaches` names
what still does not, for the result's status. Each rule's check is its module's own
(`matching.constraints`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints import budget, groups, hosts, moves, nationality
from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.prepared import Prepared
from volmatch.models import Policy

IntP = NDArray[np.intp]

REPAIR_PASSES = 8
"""Passes of the repair at most: each takes out what breaks a rule, and a member taken
out splits its group, which the next pass takes out whole; a handful always settles."""


def hard_breaches(
    prep: Prepared, policy: Policy, prev_pair: dict[int, int], picked: IntP, locked: IntP
) -> list[str]:
    """The hard rules `picked` breaks (empty: every one holds)."""
    c, pairs = prep.compiled, prep.pairs
    pv, pp = pairs.v[picked], pairs.p[picked]
    out = []
    if len(np.unique(pv)) < len(pv):
        out.append("one placement per volunteer")
    if (np.bincount(pp, minlength=c.n_placements) > c.capacity).any():
        out.append("slots")
    if len(np.setdiff1d(locked, picked)):
        out.append("locked")
    # each policy rule's one check, from its module in matching.constraints
    if groups.breaches(c, pairs, picked, policy.group_together):
        out.append("groups")
    if nationality.placement_breaches(c, pairs, picked, policy):
        out.append("nationality_per_placement")
    if nationality.share_breaches(c, pairs, picked, policy):
        out.append("nationality_share")
    if hosts.breaches(c, pairs, picked, policy):
        out.append("max_per_host")
    if budget.breaches(c, pairs, picked, policy):
        out.append("budget")
    if moves.breaches(prev_pair, picked, policy, pairs.p, c.capacity):
        out.append("max_moves")
    return out


def repair(
    prep: Prepared, policy: Policy, prev_pair: dict[int, int], picked: IntP, locked: IntP
) -> IntP:
    """`picked` with volunteers taken out, lowest scores first, until every hard rule
    holds that taking people out can make hold (locked pairs stay; under `max_moves`,
    previous pairs are put back first and then stay too). Whatever still breaks a rule
    is for `hard_breaches` to name."""
    c, pairs = prep.compiled, prep.pairs
    picked = np.unique(np.asarray(picked, dtype=np.intp))
    keep = np.zeros(len(pairs), dtype=np.bool_)
    keep[locked] = True
    if policy.max_moves is not None and prev_pair:
        picked = _restore_previous(prep, policy, prev_pair, picked, keep)
        prev = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
        keep[np.intersect1d(prev, picked)] = True
    for _ in range(REPAIR_PASSES):
        out = _to_take_out(prep, policy, picked, keep)
        if not len(out):
            break
        # a member taken out takes its whole group with it (locked members stay)
        g = c.group[pairs.v[out]]
        if (g >= 0).any():
            mates = np.isin(c.group[pairs.v[picked]], g[g >= 0]) & ~keep[picked]
            out = np.union1d(out, picked[mates])
        picked = np.setdiff1d(picked, out).astype(np.intp)
    return picked


def _lowest_first(prep: Prepared, among: IntP, keep: NDArray[np.bool_]) -> IntP:
    """The pairs of `among` that may go, lowest score first."""
    free = among[~keep[among]]
    order = np.argsort(prep.scores.total[free], kind="stable")
    out: IntP = free[order]
    return out


def _to_take_out(prep: Prepared, policy: Policy, picked: IntP, keep: NDArray[np.bool_]) -> IntP:
    """Pairs to take out of `picked` this pass: the fewest, lowest scores first, that
    bring each breached cap, share and the budget back within its rule."""
    c, pairs = prep.compiled, prep.pairs
    pv, pp = pairs.v[picked], pairs.p[picked]
    out: list[IntP] = []
    # a volunteer twice, or a placement over its slots: the extra ones
    _, first = np.unique(pv, return_index=True)
    twice = np.setdiff1d(np.arange(len(picked)), first)
    out.append(picked[twice])
    for p in np.flatnonzero(np.bincount(pp, minlength=c.n_placements) > c.capacity).tolist():
        at = _lowest_first(prep, picked[pp == p], keep)
        out.append(at[: max(0, int((pp == p).sum()) - int(c.capacity[p]))])
    split = groups.breaches(c, pairs, picked, policy.group_together)
    if split:
        whole = np.isin(c.group[pv], split)
        out.append(picked[whole & ~keep[picked]])
    nat = c.nationality[pv]
    for p, n in nationality.placement_breaches(c, pairs, picked, policy):
        at = _lowest_first(prep, picked[(pp == p) & (nat == n)], keep)
        cap = policy.max_same_nationality_per_placement
        assert cap is not None
        out.append(at[: max(0, int(((pp == p) & (nat == n)).sum()) - cap)])
    host = c.host[pp]
    for h in hosts.breaches(c, pairs, picked, policy):
        assert policy.max_per_host is not None
        at = _lowest_first(prep, picked[host == h], keep)
        out.append(at[: max(0, int((host == h).sum()) - policy.max_per_host)])
    country = c.country[pp]
    for co, n in nationality.share_breaches(c, pairs, picked, policy):
        of = _lowest_first(prep, picked[(country == co) & (nat == n)], keep)
        total, mine = int((country == co).sum()), int(((country == co) & (nat == n)).sum())
        k = 0
        while k < len(of) and not nationality.share_holds(mine - k, total - k, policy):
            k += 1
        out.append(of[:k])
    if budget.breaches(c, pairs, picked, policy):
        assert policy.budget is not None
        cost = placement_costs(c, policy)[pp]
        # least score per unit of money first
        free = ~keep[picked]
        order = np.argsort(
            prep.scores.total[picked][free] / np.maximum(cost[free], 1), kind="stable"
        )
        over = int(cost.sum()) - policy.budget.total
        saved = np.cumsum(cost[free][order])
        k = int(np.searchsorted(saved, over, side="left")) + 1
        out.append(picked[free][order][:k])
    return np.unique(np.concatenate(out)).astype(np.intp) if out else picked[:0]


def _restore_previous(
    prep: Prepared,
    policy: Policy,
    prev_pair: dict[int, int],
    picked: IntP,
    keep: NDArray[np.bool_],
) -> IntP:
    """Put previous pairs back, best score first, until the move limit holds: each
    volunteer leaves their other pair, and a full placement gives up its lowest-scored
    occupant that is neither locked nor kept at its previous pair."""
    c, pairs, score = prep.compiled, prep.pairs, prep.scores.total
    prev = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
    missing = np.setdiff1d(prev, picked)
    missing = missing[np.argsort(-score[missing], kind="stable")]
    kept = set(np.intersect1d(prev, picked).tolist())
    forced = moves.forced_moves(len(prev_pair) - len(prev), pairs.p[prev], c.capacity)
    need = len(prev_pair) - moves.move_limit(policy, forced) - len(kept)
    by_volunteer = {int(pairs.v[i]): i for i in picked.tolist()}
    at: dict[int, set[int]] = {}
    for i in picked.tolist():
        at.setdefault(int(pairs.p[i]), set()).add(i)

    def drop(j: int) -> None:
        by_volunteer.pop(int(pairs.v[j]), None)
        at[int(pairs.p[j])].discard(j)

    for i in missing.tolist():
        if need <= 0:
            break
        v, p = int(pairs.v[i]), int(pairs.p[i])
        mine = by_volunteer.get(v, -1)
        if mine >= 0 and keep[mine]:
            continue  # locked elsewhere
        here = at.setdefault(p, set())
        if len(here) - (mine in here) >= c.capacity[p]:
            room = [j for j in here if not keep[j] and j not in kept and j != mine]
            if not room:
                continue
            drop(min(room, key=lambda x: int(score[x])))
        if mine >= 0:
            drop(mine)
        here.add(i)
        by_volunteer[v] = i
        kept.add(i)
        need -= 1
    return np.array(sorted(by_volunteer.values()), dtype=np.intp)
