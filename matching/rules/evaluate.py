"""Each objective tier's value and each hard rule's breach, counted on an assignment's
arrays without a solver.

The search accepts a window on these values, never on the solver's view, so a window
can only make the round better by the measure the result reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.constraints.fairness import SCALE
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.objective import tier_names
from volmatch.models import Policy
from volmatch.models.codes import URGENT_PRIORITY

IntP = NDArray[np.intp]


@dataclass
class Evaluator:
    """Each tier's value for an assignment, counted on arrays."""

    prep: Prepared
    policy: Policy
    prev_pair: dict[int, int]

    def __post_init__(self) -> None:
        c, pairs = self.prep.compiled, self.prep.pairs
        self.need = np.zeros(c.n_placements, dtype=np.int64)
        for level, k in self.policy.min_fill.items():
            at = c.priority == level
            self.need[at] = np.minimum(k, c.capacity[at])
        self.applies = balance_applies(c, pairs) if self.policy.gender_balance else None
        self.prev_idx = np.array([i for i in self.prev_pair.values() if i >= 0], dtype=np.intp)
        if self.policy.fairness_by == "nationality":
            has_pair = np.zeros(c.n_volunteers, dtype=np.bool_)
            has_pair[pairs.v] = True
            self.fair_size = np.bincount(c.nationality[has_pair], minlength=len(c.countries))
        else:
            self.fair_size = np.bincount(c.host, weights=c.capacity, minlength=len(c.hosts)).astype(
                np.int64
            )

    def penalties(self, picked: IntP) -> dict[str, int]:
        """Points each soft rule costs (as `matching.rules.report.penalty_values`)."""
        policy = self.policy
        out: dict[str, int] = {}
        if self.applies is not None:
            out["gender_balance"] = int(self.gender_misses(picked).sum()) * (
                policy.gender_balance_penalty
            )
        if self.prev_pair and policy.move_cost:
            kept = np.isin(self.prev_idx, picked).sum()
            out["moves"] = (len(self.prev_pair) - int(kept)) * policy.move_cost
        return out

    def breaches(self, picked: IntP, locked: IntP) -> list[str]:
        """The hard rules `picked` breaks (empty: every one holds)."""
        c, pairs, policy = self.prep.compiled, self.prep.pairs, self.policy
        pv, pp = pairs.v[picked], pairs.p[picked]
        out = []
        if len(np.unique(pv)) < len(pv):
            out.append("one placement per volunteer")
        if (np.bincount(pp, minlength=c.n_placements) > c.capacity).any():
            out.append("slots")
        if len(np.setdiff1d(locked, picked)):
            out.append("locked")
        at = np.full(c.n_volunteers, -1, dtype=np.int64)
        at[pv] = pp
        g = c.group
        if (g >= 0).any():
            key = (
                at
                if policy.group_together == "placement"
                else np.where(at >= 0, c.country[np.maximum(at, 0)], -1)
            )
            for members in _groups(g):
                if len(np.unique(key[members])) > 1:
                    out.append("groups")
                    break
        nat = c.nationality[pv].astype(np.int64)
        n_nat = len(c.countries)
        cap = policy.max_same_nationality_per_placement
        if cap is not None and len(pp) and np.bincount(pp * n_nat + nat).max() > cap:
            out.append("nationality_per_placement")
        share = policy.max_nationality_share_per_country
        if share is not None and len(pp):
            co = c.country[pp].astype(np.int64)
            per_c = np.bincount(co, minlength=n_nat)
            per_cn = np.bincount(co * n_nat + nat, minlength=n_nat * n_nat).reshape(n_nat, n_nat)
            limit = round(share * 100) * per_c[:, None] + 100 * policy.nationality_share_allowance
            if (100 * per_cn > limit).any():
                out.append("nationality_share")
        if (
            policy.max_per_host is not None
            and len(pp)
            and np.bincount(c.host[pp]).max() > policy.max_per_host
        ):
            out.append("max_per_host")
        if (
            policy.budget is not None
            and int(placement_costs(c, policy)[pp].sum()) > policy.budget.total
        ):
            out.append("budget")
        if policy.max_moves is not None and self.prev_pair:
            moved = len(self.prev_pair) - int(np.isin(self.prev_idx, picked).sum())
            if moved > policy.max_moves:
                out.append("max_moves")
        return out

    def gender_misses(self, picked: IntP) -> NDArray[np.int64]:
        """Per placement, genders the balance rule misses."""
        c, pairs = self.prep.compiled, self.prep.pairs
        assert self.applies is not None
        load = np.bincount(pairs.p[picked], minlength=c.n_placements)
        applies = self.applies & (load >= 2)
        miss = np.zeros(c.n_placements, dtype=np.int64)
        for g in BALANCED_GENDERS:
            at = pairs.p[picked][c.gender[pairs.v[picked]] == g]
            miss += applies & (np.bincount(at, minlength=c.n_placements) == 0)
        return miss

    def shortfall(self, picked: IntP) -> NDArray[np.int64]:
        """Per placement, volunteers missing to its `min_fill`."""
        got = np.bincount(self.prep.pairs.p[picked], minlength=self.prep.compiled.n_placements)
        short: NDArray[np.int64] = np.maximum(self.need - got, 0)
        return short

    def value(self, name: str, picked: IntP) -> int:
        """The value of tier `name` for the assignment `picked`."""
        c, pairs = self.prep.compiled, self.prep.pairs
        if name == "min_fill":
            return -int(self.shortfall(picked).sum())
        if name == "urgent_coverage":
            return int((c.priority[pairs.p[picked]] >= URGENT_PRIORITY).sum())
        if name == "fairness":
            key = (
                c.nationality[pairs.v[picked]]
                if self.policy.fairness_by == "nationality"
                else (c.host[pairs.p[picked]])
            )
            got = np.bincount(key, minlength=len(self.fair_size))
            some = self.fair_size > 0
            if not some.any():
                return SCALE
            return int((SCALE * got[some] // self.fair_size[some]).min())
        total = int(self.prep.scores.total[picked].sum())
        return total - sum(self.penalties(picked).values())

    def values(self, picked: IntP) -> list[int]:
        return [self.value(n, picked) for n in tier_names(self.policy)]


def _groups(g: NDArray[np.int32] | NDArray[np.int64]) -> list[IntP]:
    """Members of each group of two or more."""
    order = np.argsort(g, kind="stable")
    order = order[g[order] >= 0]
    cuts = np.flatnonzero(np.diff(g[order])) + 1
    return [m for m in np.split(order, cuts) if len(m) > 1]
