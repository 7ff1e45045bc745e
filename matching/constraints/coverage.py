"""Urgent needs first: minimum fill per priority level, and urgent coverage."""

from __future__ import annotations

from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from volmatch.matching.constraints.base import RuleContext, segments
from volmatch.models.codes import URGENT_PRIORITY


def add_min_fill(ctx: RuleContext) -> Any:
    """Every placement of a priority level named in `min_fill` gets that many
    volunteers (at most its slots) before any other use of the pool: a hard rule where
    the pool allows it. Returns the total shortfall, which the solver minimises before
    anything else; placements that still fall short are left in
    `ctx.notes["min_fill_short"]` with what they needed."""
    need_by_level = ctx.policy.min_fill
    if not need_by_level:
        return None
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    shortfalls = []
    needs: dict[int, int] = {}
    for p in range(c.n_placements):
        level = int(c.priority[p])
        if level in need_by_level:
            needs[p] = min(int(need_by_level[level]), int(c.capacity[p]))
    by_p = dict(segments(pv.p))
    for p, need in needs.items():
        ids = by_p.get(p, np.zeros(0, dtype=np.intp))
        if pv.fixed_only(ids):
            continue
        short = m.new_int_var(0, need, f"short{p}")
        m.add(pv.total(ids) + short >= need)
        shortfalls.append(short)
    ctx.notes["min_fill_needs"] = needs
    return cp_model.LinearExpr.sum(shortfalls) if shortfalls else None


def urgent_coverage(ctx: RuleContext) -> Any:
    """Slots filled at urgent placements (priority 4 and 5)."""
    pv = ctx.vars
    return pv.total(ctx.compiled.priority[pv.p] >= URGENT_PRIORITY)
