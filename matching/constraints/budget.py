"""The programme budget."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.constraints.base import Penalty, RuleContext
from volmatch.models import Policy


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
    ctx.model.add(pv.total(None, cost) <= ctx.policy.budget.total).only_enforce_if(ctx.on("budget"))
    return []
