"""Fairness: raise the worst-served nationality's (or host partner's) outcome."""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from volmatch.matching.constraints.base import RuleContext, segments

SCALE = 1000
"""Rates are in thousandths."""


def fairness_floor(ctx: RuleContext) -> cp_model.IntVar:
    """The worst rate, in thousandths, over nationalities (share of the eligible
    volunteers of that nationality who are placed) or host partners (share of their
    slots filled), per `fairness_by`; the fairness tier maximises it."""
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    floor = m.new_int_var(0, SCALE, "fairness")
    if ctx.policy.fairness_by == "nationality":
        has_pair = np.zeros(c.n_volunteers, dtype=np.bool_)
        has_pair[ctx.pairs.v] = True
        size = np.bincount(c.nationality[has_pair], minlength=len(c.countries))
        key = c.nationality[pv.v]
    else:
        size = np.bincount(c.host, weights=c.capacity, minlength=len(c.hosts)).astype(np.int64)
        key = c.host[pv.p]
    for g, ids in segments(key.astype(np.int64)):
        if size[g] > 0:
            m.add(int(size[g]) * floor <= SCALE * pv.total(ids))
    return floor
