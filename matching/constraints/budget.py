"""The programme budget, written once: `budget_holds` on a spend (an int for the
greedy and `breaches`, a CP-SAT expression for the model), and `spent`, what an
assignment spends (for `breaches` and for the search's windows, which take what the
pairs they hold fixed spend off the total)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.constraints.base import IntP, Penalty, RuleContext
from volmatch.matching.eligibility import Pairs
from volmatch.models import Policy


def budget_holds(spent: Any, policy: Policy) -> Any:
    """What the placed volunteers cost stays within `budget.total` (the policy must
    set a budget)."""
    assert policy.budget is not None
    return spent <= policy.budget.total


def spent(c: CompiledRound, pairs: Pairs, picked: IntP, policy: Policy) -> int:
    """What the pairs `picked` cost (0 without a budget)."""
    return int(placement_costs(c, policy)[pairs.p[picked]].sum()) if len(picked) else 0


def breaches(c: CompiledRound, pairs: Pairs, picked: IntP, policy: Policy) -> bool:
    """Whether an assignment spends more than the budget (False when unset)."""
    if policy.budget is None:
        return False
    return not budget_holds(spent(c, pairs, picked, policy), policy)


def placement_costs(c: CompiledRound, policy: Policy) -> NDArray[np.int64]:
    """Cost of one volunteer at each placement (its country's cost)."""
    b = policy.budget
    if b is None:
        return np.zeros(c.n_placements, dtype=np.int64)
    by_country = np.array(
        [b.cost.get(code, b.default_cost) for code in c.countries], dtype=np.int64
    )
    return by_country[c.country] if c.n_placements else np.zeros(0, dtype=np.int64)


def add_budget(ctx: RuleContext) -> list[Penalty]:
    """The volunteers placed cost at most the programme's `budget.total`, each costing
    the travel and stipend of their host country (`budget.cost`)."""
    if ctx.policy.budget is None:
        return []
    pv = ctx.vars
    cost = placement_costs(ctx.compiled, ctx.policy)[pv.p]
    ctx.model.add(budget_holds(pv.total(None, cost), ctx.policy)).only_enforce_if(ctx.on("budget"))
    return []
