"""A start that keeps every hard rule: the modelled pairs inserted best first whenever
every rule still holds, groups whole."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints import hosts, nationality
from volmatch.matching.constraints.budget import budget_holds, placement_costs
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies, balance_misses
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.setup import RulesSetup
from volmatch.models import Policy


def greedy_start(
    prep: Prepared, setup: RulesSetup, policy: Policy, skip: frozenset[str]
) -> NDArray[np.bool_]:
    """Insert modelled pairs best-first (locks, then the relaxation's, then kept
    previous pairs, then the rest by score) whenever every hard rule still holds;
    groups go in whole. Returns the chosen modelled pairs; locks go in whatever they
    break, so the start breaks a rule where the locks do (then only CP-SAT can say
    more)."""
    return Greedy(prep, setup, policy, skip).run()


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


@dataclass
class _Batch:
    """What a batch of pairs (a group) would add, counted per placement, host,
    placement and nationality, country, and country and nationality."""

    placements: dict[int, int] = field(default_factory=dict)
    hosts: dict[int, int] = field(default_factory=dict)
    nationality_at: dict[tuple[int, int], int] = field(default_factory=dict)
    countries: dict[int, int] = field(default_factory=dict)
    nationality_in: dict[tuple[int, int], int] = field(default_factory=dict)
    money: int = 0


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
        self.order: list[int] = np.lexsort((-scores.total[mp], rank)).tolist()
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
        self.members: dict[int, list[int]] = {
            g: np.flatnonzero(c.group == g).tolist()
            for g in np.unique(c.group[c.group >= 0]).tolist()
        }
        self.best_at = self._best_pair_where(np.lexsort((-scores.total[mp], pv)).tolist())
        # gender balance: the gender of a placement's one occupant (None: rule not in force)
        self.lone: list[int] | None = None
        self.applies: list[bool] = []
        if policy.gender_balance and "gender_balance" not in skip:
            self.applies = balance_applies(c, pairs).tolist()
            self.lone = [-1] * c.n_placements

    def _best_pair_where(self, by_volunteer: list[int]) -> dict[tuple[int, int], int]:
        """A group member's best pair at each placement (or in each host country),
        from the modelled pairs ordered by volunteer, best score first."""
        by_v: dict[int, list[int]] = {}
        for i in by_volunteer:
            by_v.setdefault(self.pv[i], []).append(i)
        best_at: dict[tuple[int, int], int] = {}
        for g_members in self.members.values():
            for v in g_members:
                for j in by_v.get(v, []):
                    best_at.setdefault((v, self._where(j)), j)
        return best_at

    def _where(self, i: int) -> int:
        """Where pair i puts its volunteer, as `group_together` counts it."""
        p = self.pp[i]
        return p if self.together == "placement" else self.country_of[p]

    def run(self) -> NDArray[np.bool_]:
        """Insert the pairs in order; returns which modelled pairs were chosen."""
        later: list[int] = []
        for i in self.order:
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
        best pair there (empty when one is placed already or has none)."""
        batch = [i]
        where = self._where(i)
        for other in self.members[g]:
            if other == v:
                continue
            if self.placed[other]:
                return []
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

    def _count(self, batch: list[int]) -> _Batch:
        added = _Batch()
        for i in batch:
            p, v = self.pp[i], self.pv[i]
            added.placements[p] = added.placements.get(p, 0) + 1
            h = self.host_of[p]
            added.hosts[h] = added.hosts.get(h, 0) + 1
            key = (p, self.nat_of[v])
            added.nationality_at[key] = added.nationality_at.get(key, 0) + 1
            co = self.country_of[p]
            added.countries[co] = added.countries.get(co, 0) + 1
            ck = (co, self.nat_of[v])
            added.nationality_in[ck] = added.nationality_in.get(ck, 0) + 1
            added.money += self.cost[i]
        return added

    def fits(self, batch: list[int]) -> bool:
        """Whether the pairs of `batch` together keep every hard rule in force."""
        if len(batch) == 1:
            return self.fits_one(batch[0])
        added = self._count(batch)
        if any(self.load[p] + k > self.cap[p] for p, k in added.placements.items()):
            return False
        policy = self.policy
        if self.host_cap is not None and not all(
            hosts.cap_holds(self.host_load[h] + k, policy) for h, k in added.hosts.items()
        ):
            return False
        if self.nat_cap is not None and not all(
            nationality.cap_holds(self.nat_at.get(k, 0) + x, policy)
            for k, x in added.nationality_at.items()
        ):
            return False
        if self.budget is not None and not budget_holds(self.spent + added.money, policy):
            return False
        if self.share is not None:
            # adding people only loosens the cap of the nationalities not added
            for (co, nat), k in added.nationality_in.items():
                total = self.in_country[co] + added.countries[co]
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
