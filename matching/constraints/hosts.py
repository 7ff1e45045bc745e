"""Per-host caps, written once: `cap_holds` on counts (ints for the greedy, arrays for
`breaches`, CP-SAT expressions for the model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.constraints.base import IntP, Penalty, RuleContext, segments
from volmatch.matching.eligibility import Pairs
from volmatch.models import Policy


def cap_holds(at_host: Any, policy: Policy) -> Any:
    """No host partner receives more than `max_per_host` volunteers (the policy must
    set it): `at_host` counts those it receives."""
    return at_host <= policy.max_per_host


def breaches(c: CompiledRound, pairs: Pairs, picked: IntP, policy: Policy) -> list[int]:
    """Hosts over the cap in an assignment (none when unset)."""
    if policy.max_per_host is None or not len(picked):
        return []
    hosts, counts = np.unique(c.host[pairs.p[picked]], return_counts=True)
    return [int(h) for h in hosts[~cap_holds(counts, policy)].tolist()]


def add_max_per_host(ctx: RuleContext) -> list[Penalty]:
    """No host partner receives more than `max_per_host` volunteers in the round."""
    limit = ctx.policy.max_per_host
    if limit is None:
        return []
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    held = ctx.outside.get("host", {})
    for h, ids in segments(c.host[pv.p]):
        k = held.get(h, 0)
        if len(ids) + k > limit and not pv.fixed_only(ids):
            m.add(cap_holds(pv.total(ids) + k, ctx.policy)).only_enforce_if(
                ctx.on_record("max_per_host", (h,))
            )
    return []
