"""A start that keeps every hard rule: the modelled pairs inserted best first whenever
every rule still holds, groups whole."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints import hosts, nationality
from volmatch.matching.constraints.budget import budget_holds, placement_costs
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies, balance_misses
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.setup import RulesSetup, best_first
from volmatch.models import Policy

STOP_EVERY = 1024
"""Pairs inserted between two looks at the stop signal (a look costs a function call;
a thousand insertions take about a millisecond)."""


def greedy_start(
    prep: Prepared, setup: RulesSetup, policy: Policy, skip: frozenset[str]
) -> NDArray[np.bool_]:
    """Insert modelled pairs best-first (locks, then the relaxation's, then kept
    previous pairs, then the rest by score) whenever every hard rule still holds;
    groups go in whole. Returns the chosen modelled pairs; locks go in whatever they
    break, so the start breaks a rule where the locks do (then only CP-SAT can say
    more)."""
    return Greedy(prep, setup, policy, skip).run()


def _members(group: NDArray[np.int32]) -> dict[int, list[int]]:
    """Group id -> its volunteers (indices, ascending)."""
    who = np.flatnonzero(group >= 0)
    if not len(who):
        return {}
    order = np.argsort(group[who], kind="stable")
    g = group[who][order]
    cuts = np.flatnonzero(g[1:] != g[:-1]) + 1
    ids = g[np.concatenate([[0], cuts])].tolist()
    return dict(zip(ids, (m.tolist() for m in np.split(who[order], cuts)), strict=True))


def _insertion_ranks(
    prep: Prepared, setup: RulesSetup, skip: frozenset[str], policy: Policy | None = None
) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Per modelled pair: 0 locked, 1 the relaxation's (the hint), 2 a kept previous
    pair, 3 the rest; and the positions of the locked pairs among the modelled ones.
    Under `max_moves` the kept previous pairs come before the hint (which moves
    people freely: the relaxation leaves the limit out), so that the start moves
    only those who must and keeps the limit wherever the round allows."""
    mp = setup.model_pairs
    n = len(mp)
    rank = np.full(n, 3, dtype=np.int64)
    pos = np.full(len(prep.pairs), -1, dtype=np.intp)
    pos[mp] = np.arange(n)
    prev = np.array([i for i in setup.prev_pair.values() if i >= 0], dtype=np.intp)
    # the relaxation already weighs keeping previous pairs (the move bonus) against
    # the rest: its pairs come first
    limited = policy is not None and policy.max_moves is not None and "max_moves" not in skip
    hint = pos[setup.hint][pos[setup.hint] >= 0]
    kept = pos[prev][pos[prev] >= 0] if len(prev) else np.zeros(0, dtype=np.intp)
    if limited:
        rank[hint] = 2
        rank[kept] = 1
    else:
        if "moves" not in skip:
            rank[kept] = 2
        rank[hint] = 1
    locked = pos[setup.locked] if "locked" not in skip else np.zeros(0, dtype=np.intp)
    rank[locked] = 0
    return rank, locked


class Greedy:
    """Greedy insertion of the modelled pairs under the hard rules in force.

    The round and what the pairs taken so far use up (slots, host and nationality
    counts, budget) are held as Python lists: the insertion looks at one pair at a
    time, tens of thousands of times, where numpy's per-element access costs more than
    the work.
    """

    def __init__(
        self, prep: Prepared, setup: RulesSetup, policy: Policy, skip: frozenset[str]
    ) -> None:
        c, pairs, scores = prep.compiled, prep.pairs, prep.scores
        mp = setup.model_pairs
        n = len(mp)
        pv, pp = pairs.v[mp], pairs.p[mp]
        rank, locked = _insertion_ranks(prep, setup, skip, policy)
        self.watch = setup.watch
        self.order: list[int] = best_first(rank, scores.total[mp]).tolist()
        self.rank: list[int] = rank.tolist()
        self.locked: set[int] = set(locked.tolist())
        # the hard rules in force (None: not in force)
        cost = placement_costs(c, policy)[pp] if "budget" not in skip else np.zeros(n, np.int64)
        self.budget = (
            policy.budget.total if policy.budget is not None and "budget" not in skip else None
        )
        self.nat_cap = (
            None
            if "nationality_per_placement" in skip
            else policy.max_same_nationality_per_placement
        )
        self.share = (
            None if "nationality_share" in skip else policy.max_nationality_share_per_country
        )
        self.host_cap = None if "max_per_host" in skip else policy.max_per_host
        self.policy = policy
        self.together = policy.group_together
        self.use_groups = "groups" not in skip
        # the modelled pairs and the round
        self.pv: list[int] = pv.tolist()
        self.pp: list[int] = pp.tolist()
        self.cost: list[int] = cost.tolist()
        self.cap: list[int] = c.capacity.tolist()
        self.host_of: list[int] = c.host.tolist()
        self.country_of: list[int] = c.country.tolist()
        self.nat_of: list[int] = c.nationality.tolist()
        self.gender_of: list[int] = c.gender.tolist()
        self.group_of: list[int] = c.group.tolist()
        # what the pairs taken use up
        self.placed = [False] * c.n_volunteers
        self.load = [0] * c.n_placements
        self.host_load = [0] * len(c.hosts)
        self.nat_at: dict[tuple[int, int], int] = {}
        self.in_country = [0] * len(c.countries)
        self.nat_in: dict[tuple[int, int], int] = {}
        self.spent = 0
        self.chosen = np.zeros(n, dtype=np.bool_)
        self.members = _members(c.group)
        self.best_at = self._best_pair_where(prep, mp)
        # each group member's pair in the start's hint (the first, best, when several)
        self.offered: dict[int, int] = {}
        for j in self.order:
            if self.rank[j] == 1 and self.group_of[self.pv[j]] >= 0:
                self.offered.setdefault(self.pv[j], j)
        # gender balance: the gender of a placement's one occupant (None: rule not in force)
        self.lone: list[int] | None = None
        self.applies: list[bool] = []
        if policy.gender_balance and "gender_balance" not in skip:
            self.applies = balance_applies(c, pairs).tolist()
            self.lone = [-1] * c.n_placements

    def _best_pair_where(self, prep: Prepared, mp: NDArray[np.intp]) -> dict[tuple[int, int], int]:
        """A group member's best pair at each placement (or in each host country),
        among the modelled pairs: the highest score, the first such pair on ties."""
        c, pairs = prep.compiled, prep.pairs
        v = pairs.v[mp].astype(np.int64)
        idx = np.flatnonzero(c.group[v] >= 0)
        if not len(idx):
            return {}
        p = pairs.p[mp[idx]]
        if self.together == "placement":
            where, span = p.astype(np.int64), c.n_placements
        else:
            where, span = c.country[p].astype(np.int64), len(c.countries)
        key = v[idx] * span + where
        # by (volunteer, where), best score first, the modelled order on ties (lexsort
        # is stable): the first of each key is the pair wanted
        order = np.lexsort((-prep.scores.total[mp[idx]], key))
        sk = key[order]
        first = np.ones(len(sk), dtype=np.bool_)
        first[1:] = sk[1:] != sk[:-1]
        keys, best = sk[first], idx[order[first]]
        at = zip((keys // span).tolist(), (keys % span).tolist(), strict=True)
        return dict(zip(at, best.tolist(), strict=True))

    def _where(self, i: int) -> int:
        """Where pair i puts its volunteer, as `group_together` counts it."""
        p = self.pp[i]
        return p if self.together == "placement" else self.country_of[p]

    def run(self) -> NDArray[np.bool_]:
        """Insert the pairs in order; returns which modelled pairs were chosen."""
        later: list[int] = []
        watch = self.watch
        for k, i in enumerate(self.order):
            if k % STOP_EVERY == 0:
                watch.check()
            v = self.pv[i]
            if self.placed[v]:
                continue
            g = self.group_of[v]
            if self.use_groups and g >= 0 and len(self.members.get(g, ())) > 1:
                batch = self._group_batch(i, v, g)
                if batch and (i in self.locked or self.fits(batch)):
                    self.take(batch)
                continue
            if i in self.locked or self.fits_one(i):
                if self.rank[i] >= 2 and self.lone is not None and self.makes_a_miss(i):
                    later.append(i)
                    continue
                self.take([i])
        # a second person of the first one's gender costs the balance penalty: such
        # pairs go in only after every other pair has had its chance
        for i in later:
            if not self.placed[self.pv[i]] and self.fits_one(i):
                self.take([i])
        return self.chosen

    def _group_batch(self, i: int, v: int, g: int) -> list[int]:
        """The whole group of v, at pair i's placement (or country): each other member's
        pair there that the start offers (the relaxation's), else its best pair there
        (empty when one is placed already or has none). The offered pair keeps the
        relaxation's plan: the best pair elsewhere in the country takes a slot another
        offered volunteer wanted (couples10-country-gender at 10,000 x 2,000: the
        repaired start 0.26% higher)."""
        batch = [i]
        where = self._where(i)
        for other in self.members[g]:
            if other == v:
                continue
            if self.placed[other]:
                return []
            j = self.offered.get(other, -1)
            if j < 0 or self._where(j) != where:
                j = self.best_at.get((other, where), -1)
            if j < 0:
                return []
            batch.append(j)
        return batch

    def fits_one(self, i: int) -> bool:
        """Whether pair i keeps every hard rule in force."""
        p, v = self.pp[i], self.pv[i]
        if self.load[p] >= self.cap[p]:
            return False
        policy = self.policy
        if self.host_cap is not None and not hosts.cap_holds(
            self.host_load[self.host_of[p]] + 1, policy
        ):
            return False
        nat = self.nat_of[v]
        if self.nat_cap is not None and not nationality.cap_holds(
            self.nat_at.get((p, nat), 0) + 1, policy
        ):
            return False
        if self.budget is not None and not budget_holds(self.spent + self.cost[i], policy):
            return False
        if self.share is not None:
            co = self.country_of[p]
            if not nationality.share_holds(
                self.nat_in.get((co, nat), 0) + 1, self.in_country[co] + 1, policy
            ):
                return False
        return True

    def fits(self, batch: list[int]) -> bool:
        """Whether the pairs of `batch` together keep every hard rule in force. A batch
        is a group (two or three pairs): counting repeats in short lists is quicker
        than building counters, tens of thousands of times per start."""
        if len(batch) == 1:
            return self.fits_one(batch[0])
        ps = [self.pp[i] for i in batch]
        load, cap = self.load, self.cap
        if any(load[p] + ps.count(p) > cap[p] for p in ps):
            return False
        policy = self.policy
        if self.host_cap is not None:
            hs = [self.host_of[p] for p in ps]
            host_load = self.host_load
            if not all(hosts.cap_holds(host_load[h] + hs.count(h), policy) for h in hs):
                return False
        nats = [self.nat_of[self.pv[i]] for i in batch]
        if self.nat_cap is not None:
            at = list(zip(ps, nats, strict=True))
            nat_at = self.nat_at
            if not all(nationality.cap_holds(nat_at.get(k, 0) + at.count(k), policy) for k in at):
                return False
        if self.budget is not None and not budget_holds(
            self.spent + sum(self.cost[i] for i in batch), policy
        ):
            return False
        if self.share is not None:
            # adding people only loosens the cap of the nationalities not added
            cos = [self.country_of[p] for p in ps]
            cn = list(zip(cos, nats, strict=True))
            for co, nat in cn:
                total = self.in_country[co] + cos.count(co)
                k = cn.count((co, nat))
                if not nationality.share_holds(self.nat_in.get((co, nat), 0) + k, total, policy):
                    return False
        return True

    def take(self, batch: list[int]) -> None:
        """Choose the pairs of `batch` and count what they use up."""
        for i in batch:
            p, v = self.pp[i], self.pv[i]
            self.chosen[i] = True
            self.placed[v] = True
            if self.lone is not None and self.load[p] == 0:
                self.lone[p] = self.gender_of[v]
            self.load[p] += 1
            self.host_load[self.host_of[p]] += 1
            key = (p, self.nat_of[v])
            self.nat_at[key] = self.nat_at.get(key, 0) + 1
            co = self.country_of[p]
            self.in_country[co] += 1
            self.nat_in[(co, self.nat_of[v])] = self.nat_in.get((co, self.nat_of[v]), 0) + 1
            self.spent += self.cost[i]

    def makes_a_miss(self, i: int) -> bool:
        """Whether pair i would be the second volunteer at a placement where the rule
        applies and leave a balanced gender missing."""
        p = self.pp[i]
        if self.lone is None or self.load[p] != 1:
            return False
        both = (self.lone[p], self.gender_of[self.pv[i]])
        per_gender = [both.count(g) for g in BALANCED_GENDERS]
        return bool(balance_misses(per_gender, 2, self.applies[p]) > 0)
