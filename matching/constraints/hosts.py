"""Per-host caps."""

from __future__ import annotations

from volmatch.matching.constraints.base import Penalty, RuleContext, segments


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
            m.add(pv.total(ids) + k <= limit).only_enforce_if(ctx.on_record("max_per_host", (h,)))
    return []
