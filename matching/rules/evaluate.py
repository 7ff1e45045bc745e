"""Each objective tier's value and each hard rule's breach, counted on an assignment's
arrays without a solver.

The search accepts a window on these values, never on the solver's view, so a window
can only make the round better by the measure the result reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints import gender
from volmatch.matching.constraints.fairness import SCALE
from volmatch.matching.constraints.gender import balance_applies
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.objective import tier_names
from volmatch.matching.rules.repair import hard_breaches
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
        return hard_breaches(self.prep, self.policy, self.prev_pair, picked, locked)

    def gender_misses(self, picked: IntP) -> NDArray[np.int64]:
        """Per placement, genders the balance rule misses (`gender.misses`)."""
        assert self.applies is not None
        return gender.misses(self.prep.compiled, self.prep.pairs, picked)

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
