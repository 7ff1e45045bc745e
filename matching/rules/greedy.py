"""A start that keeps every hard rule: the modelled pairs inserted best first whenever
every rule still holds, groups whole."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.setup import RulesSetup
from volmatch.models import Policy


def greedy_start(
    prep: Prepared, setup: RulesSetup, policy: Policy, skip: frozenset[str]
) -> NDArray[np.bool_] | None:
    """Insert modelled pairs best-first (locks, then the relaxation's, then kept
    previous pairs, then the rest by score) whenever every hard rule still holds;
    groups go in whole. Returns the chosen modelled pairs, or None when the locks alone break
    a rule (then only CP-SAT can say more)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    mp = setup.model_pairs
    n = len(mp)
    pv, pp = pairs.v[mp], pairs.p[mp]
    rank = np.full(n, 3, dtype=np.int64)
    pos = np.full(len(pairs), -1, dtype=np.intp)
    pos[mp] = np.arange(n)
    prev = np.array([i for i in setup.prev_pair.values() if i >= 0], dtype=np.intp)
    # the relaxation already weighs keeping previous pairs (the move bonus) against
    # the rest: its pairs come first
    if len(prev) and "moves" not in skip:
        rank[pos[prev][pos[prev] >= 0]] = 2
    rank[pos[setup.hint][pos[setup.hint] >= 0]] = 1
    locked = pos[setup.locked] if "locked" not in skip else np.zeros(0, dtype=np.intp)
    rank[locked] = 0
    order = np.lexsort((-scores.total[mp], rank))
    cost = placement_costs(c, policy)[pp] if "budget" not in skip else np.zeros(n, np.int64)
    budget = policy.budget.total if policy.budget is not None and "budget" not in skip else None
    nat_cap = (
        None if "nationality_per_placement" in skip else (policy.max_same_nationality_per_placement)
    )
    share = None if "nationality_share" in skip else policy.max_nationality_share_per_country
    host_cap = None if "max_per_host" in skip else policy.max_per_host
    together = policy.group_together
    use_groups = "groups" not in skip
    # Python lists: the loop below looks at one pair at a time, tens of thousands of
    # times, where numpy's per-element access costs more than the work
    pv_l, pp_l = pv.tolist(), pp.tolist()
    cost_l = cost.tolist()
    cap_l = c.capacity.tolist()
    host_of, country_of = c.host.tolist(), c.country.tolist()
    nat_of, gender_of, group_of = c.nationality.tolist(), c.gender.tolist(), c.group.tolist()
    rank_l = rank.tolist()
    placed = [False] * c.n_volunteers
    load = [0] * c.n_placements
    host_load = [0] * len(c.hosts)
    nat_at: dict[tuple[int, int], int] = {}
    in_country = [0] * len(c.countries)
    nat_in: dict[tuple[int, int], int] = {}
    spent = 0
    chosen = np.zeros(n, dtype=np.bool_)
    members = {g: np.flatnonzero(c.group == g) for g in np.unique(c.group[c.group >= 0]).tolist()}
    by_v: dict[int, list[int]] = {}
    for i in np.lexsort((-scores.total[mp], pv)).tolist():
        by_v.setdefault(pv_l[i], []).append(i)
    # a group member's best pair at each placement (or in each country)
    best_at: dict[tuple[int, int], int] = {}
    for g_members in members.values():
        for v in g_members.tolist():
            for j in by_v.get(v, []):
                where = pp_l[j] if together == "placement" else country_of[pp_l[j]]
                best_at.setdefault((v, where), j)
    pct = round(share * 100) if share is not None else 0
    allow = policy.nationality_share_allowance

    def fits_one(i: int) -> bool:
        p, v = pp_l[i], pv_l[i]
        if load[p] >= cap_l[p]:
            return False
        if host_cap is not None and host_load[host_of[p]] >= host_cap:
            return False
        nat = nat_of[v]
        if nat_cap is not None and nat_at.get((p, nat), 0) >= nat_cap:
            return False
        if budget is not None and spent + cost_l[i] > budget:
            return False
        if share is not None:
            co = country_of[p]
            if 100 * (nat_in.get((co, nat), 0) + 1) > pct * (in_country[co] + 1) + 100 * allow:
                return False
        return True

    def fits(batch: list[int]) -> bool:
        if len(batch) == 1:
            return fits_one(batch[0])
        extra_p: dict[int, int] = {}
        extra_h: dict[int, int] = {}
        extra_n: dict[tuple[int, int], int] = {}
        extra_c: dict[int, int] = {}
        extra_cn: dict[tuple[int, int], int] = {}
        money = 0
        for i in batch:
            p, v = pp_l[i], pv_l[i]
            extra_p[p] = extra_p.get(p, 0) + 1
            h = host_of[p]
            extra_h[h] = extra_h.get(h, 0) + 1
            key = (p, nat_of[v])
            extra_n[key] = extra_n.get(key, 0) + 1
            co = country_of[p]
            extra_c[co] = extra_c.get(co, 0) + 1
            ck = (co, nat_of[v])
            extra_cn[ck] = extra_cn.get(ck, 0) + 1
            money += cost_l[i]
        if any(load[p] + k > cap_l[p] for p, k in extra_p.items()):
            return False
        if host_cap is not None and any(host_load[h] + k > host_cap for h, k in extra_h.items()):
            return False
        if nat_cap is not None and any(nat_at.get(k, 0) + x > nat_cap for k, x in extra_n.items()):
            return False
        if budget is not None and spent + money > budget:
            return False
        if share is not None:
            # adding people only loosens the cap of the nationalities not added
            for (co, nat), k in extra_cn.items():
                total = in_country[co] + extra_c[co]
                if 100 * (nat_in.get((co, nat), 0) + k) > pct * total + 100 * allow:
                    return False
        return True

    def take(batch: list[int]) -> None:
        nonlocal spent
        for i in batch:
            p, v = pp_l[i], pv_l[i]
            chosen[i] = True
            placed[v] = True
            if lone is not None and load[p] == 0:
                lone[p] = gender_of[v]
            load[p] += 1
            host_load[host_of[p]] += 1
            key = (p, nat_of[v])
            nat_at[key] = nat_at.get(key, 0) + 1
            co = country_of[p]
            in_country[co] += 1
            nat_in[(co, nat_of[v])] = nat_in.get((co, nat_of[v]), 0) + 1
            spent += cost_l[i]

    later: list[int] = []
    lone: list[int] | None = None  # the gender of a placement's one occupant
    applies: list[bool] = []
    if policy.gender_balance and "gender_balance" not in skip:
        applies = balance_applies(c, pairs).tolist()
        lone = [-1] * c.n_placements

    def makes_a_miss(i: int) -> bool:
        p = pp_l[i]
        if lone is None or not applies[p] or load[p] != 1:
            return False
        both = {lone[p], gender_of[pv_l[i]]}
        return not all(g in both for g in BALANCED_GENDERS)

    locked_set = set(locked.tolist())
    for i in order.tolist():
        v = pv_l[i]
        if placed[v]:
            continue
        g = group_of[v]
        if use_groups and g >= 0 and len(members.get(g, ())) > 1:
            # the whole group, at this pair's placement (or country)
            batch = [i]
            for other in members[g].tolist():
                if other == v:
                    continue
                if placed[other]:
                    batch = []
                    break
                where = pp_l[i] if together == "placement" else country_of[pp_l[i]]
                j = best_at.get((other, where), -1)
                if j < 0:
                    batch = []
                    break
                batch.append(j)
            if batch and (i in locked_set or fits(batch)):
                take(batch)
            continue
        if i in locked_set or fits_one(i):
            if rank_l[i] >= 2 and lone is not None and makes_a_miss(i):
                later.append(i)
                continue
            take([i])
    # a second person of the first one's gender costs the balance penalty: such
    # pairs go in only after every other pair has had its chance
    for i in later:
        if not placed[pv_l[i]] and fits_one(i):
            take([i])
    return chosen
